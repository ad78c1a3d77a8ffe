//! A stand-in ActivityPub relay on a local port: an `Application` actor at `/actor` with a key,
//! an inbox at `/inbox` that records what it receives, and signed sends to other inboxes (what
//! a relay does when it passes an activity on).

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use aws_lc_rs::rsa::KeyPair;
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use onair::httpsig::{body_digest, sign_post};
use url::Url;

pub struct Relay {
    pub actor: String,
    pub inbox: String,
    key: KeyPair,
    pub received: Arc<Mutex<Vec<serde_json::Value>>>,
}

pub async fn start_relay() -> Relay {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let (public, private) = onair::httpsig::generate().await.unwrap();
    let actor = format!("{base}/actor");
    let document = serde_json::json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor, "type": "Application", "preferredUsername": "relay",
        "inbox": format!("{base}/inbox"),
        "publicKey": { "id": format!("{actor}#main-key"), "owner": actor, "publicKeyPem": public },
    });
    let received = Arc::new(Mutex::new(Vec::new()));
    let (doc, seen) = (web::Data::new(document), web::Data::new(received.clone()));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(doc.clone())
            .app_data(seen.clone())
            .route(
                "/actor",
                web::get().to(|doc: web::Data<serde_json::Value>| async move {
                    HttpResponse::Ok()
                        .content_type("application/activity+json")
                        .json(doc.get_ref())
                }),
            )
            .route(
                "/inbox",
                web::post().to(
                    |body: web::Bytes,
                     seen: web::Data<Arc<Mutex<Vec<serde_json::Value>>>>| async move {
                        if let Ok(v) = serde_json::from_slice(&body) {
                            seen.lock().unwrap().push(v);
                        }
                        HttpResponse::Accepted().finish()
                    },
                ),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap();
    tokio::spawn(server.run());
    let b64: String = private
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    Relay {
        inbox: format!("{base}/inbox"),
        actor,
        key: KeyPair::from_pkcs8(&BASE64.decode(b64).unwrap()).unwrap(),
        received,
    }
}

impl Relay {
    /// POSTs `body` to `inbox`, signed as the relay; returns the status.
    pub async fn send(&self, inbox: &str, body: &serde_json::Value) -> u16 {
        let inbox: Url = inbox.parse().unwrap();
        let body = body.to_string();
        let key_id: Url = format!("{}#main-key", self.actor).parse().unwrap();
        let digest = body_digest(body.as_bytes());
        let h = sign_post(&self.key, &key_id, &inbox, &digest, chrono::Utc::now()).unwrap();
        reqwest::Client::new()
            .post(inbox)
            .header("content-type", "application/activity+json")
            .header("date", h.date)
            .header("digest", h.digest)
            .header("signature", h.signature)
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The types of what the relay received, in order.
    pub fn kinds(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|v| v["type"].as_str().unwrap_or("").to_owned())
            .collect()
    }
}
