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

impl Seen {
    /// Waits until at least `n` requests arrived (30 s at most: then the test fails).
    pub async fn wait_for(&self, n: usize) {
        wait_until(
            || self.0.lock().unwrap().len() >= n,
            &format!("{n} requests"),
        )
        .await;
    }
}

/// Polls `done` (every 5 ms) until it holds; fails the test after 30 s. For conditions another
/// task brings about, where no event to wait on exists.
pub async fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited 30 s for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// An inbox server that takes every request at once and answers none until [`HeldSink::release`]:
/// an instance that is slow to answer, for as long as a test wants.
pub struct HeldSink {
    pub url: String,
    pub seen: Seen,
    release: tokio::sync::watch::Sender<bool>,
}

impl HeldSink {
    pub fn start() -> Self {
        let seen = Seen::default();
        let (release, released) = tokio::sync::watch::channel(false);
        let data = web::Data::new((seen.clone(), released));
        let server = HttpServer::new(move || {
            App::new().app_data(data.clone()).default_service(web::to(
                |req: HttpRequest,
                 body: web::Bytes,
                 data: web::Data<(Seen, tokio::sync::watch::Receiver<bool>)>| async move {
                    data.0.0.lock().unwrap().push((
                        req.path().to_owned(),
                        Vec::new(),
                        String::from_utf8_lossy(&body).into_owned(),
                    ));
                    let mut released = data.1.clone();
                    let _ = released.wait_for(|r| *r).await;
                    HttpResponse::Accepted().finish()
                },
            ))
        })
        .workers(1)
        .max_connections(10_000)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Self {
            url: format!("http://localhost:{port}"),
            seen,
            release,
        }
    }

    /// Answers everything held, and everything from now on.
    pub fn release(&self) {
        self.release.send_replace(true);
    }
}

/// An inbox that reads the request, then sends its answer one byte every 100 ms, forever: a
/// slow reader's mirror image, which only the request timeout ends. Returns its base URL.
pub fn start_trickler() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0; 4096];
                let _ = socket.read(&mut buf).await;
                let answer = b"HTTP/1.1 202 Accepted\r\nX-Trickle: ";
                for byte in answer.iter().chain(std::iter::repeat(&b'a')) {
                    if socket.write_all(&[*byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            });
        }
    });
    format!("http://localhost:{port}")
}
