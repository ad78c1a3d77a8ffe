//! Local HTTP inboxes that record what they receive.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

/// One POST a sink received: path, headers, body.
pub type Request = (String, Vec<(String, String)>, String);

/// What a sink saw.
#[derive(Clone, Default)]
pub struct Seen(pub Arc<Mutex<Vec<Request>>>);

impl Seen {
    /// The path of every request, in order.
    pub fn paths(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _, _)| p.clone())
            .collect()
    }
    /// The `type` of every activity received, in order.
    pub fn kinds(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, _, body)| {
                serde_json::from_str::<serde_json::Value>(body).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    /// Every activity received, parsed, in order.
    pub fn activities(&self) -> Vec<serde_json::Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, _, body)| serde_json::from_str(body).unwrap())
            .collect()
    }

    /// How many requests went to `path`.
    pub fn count(&self, path: &str) -> usize {
        self.paths().iter().filter(|p| *p == path).count()
    }
}

async fn sink(req: HttpRequest, body: web::Bytes, seen: web::Data<Seen>) -> HttpResponse {
    let path = req.path().to_owned();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    seen.0.lock().unwrap().push((
        path.clone(),
        headers,
        String::from_utf8_lossy(&body).into_owned(),
    ));
    match path.rsplit('/').next().unwrap() {
        "gone" => HttpResponse::Gone().finish(),
        "bad" => HttpResponse::BadRequest().finish(),
        "flaky" => HttpResponse::InternalServerError().finish(),
        _ => HttpResponse::Accepted().finish(),
    }
}

/// A local inbox server; returns its base URL and what it saw.
pub fn start_sink() -> (String, Seen) {
    let seen = Seen::default();
    let data = web::Data::new(seen.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(sink))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    (format!("http://localhost:{port}"), seen)
}
