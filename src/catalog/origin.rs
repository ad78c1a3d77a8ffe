//! Asking a Note's origin what it says now: the refresher's check of a quiet entry, and the
//! verification of an announcement a relay passed on. Plain GETs; onair serves broadcasts
//! without requiring signed fetches.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use super::{event::RemoteEvent, remote::LiveNote};
use crate::{blocks::Snapshot, clock::Clock, net::is_local, state::AppState};

/// The largest Note taken from an origin: ours are about 2 KiB.
const MAX_NOTE: usize = 256 * 1024;

/// What an origin said about a Note.
#[derive(Debug)]
pub enum Answer {
    /// The Note, as its origin serves it now.
    Note(Box<LiveNote>),
    /// A scheduled show's Event, as its origin serves it now.
    Event(Box<RemoteEvent>),
    /// 404, 410, a Tombstone, or a document that states no live broadcast.
    Gone,
    /// No usable answer (network, 5xx, not JSON); says why.
    Unreachable(String),
}

/// The HTTP side of asking origins.
#[derive(Debug, Clone)]
pub struct Origin {
    client: reqwest::Client,
    allow_private: bool,
}

impl Origin {
    /// The client origins are asked with; `allow_private` lets it reach hosts on loopback and
    /// private networks (tests, home setups). Made once per process and kept in the app state.
    pub fn client(allow_private: bool, extra_roots: &[reqwest::Certificate]) -> reqwest::Client {
        crate::net::client(allow_private, extra_roots)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default()
    }

    /// Asking origins with the app's client and policy.
    pub fn new(state: &AppState) -> Self {
        Self {
            client: state.origin_client.clone(),
            allow_private: state.config.allow_private_networks,
        }
    }

    /// Fetches the Note `object_id` from its origin. A blocked or (unless allowed) private host
    /// counts as gone: nothing from there is taken.
    pub async fn ask(&self, object_id: &str, blocks: &Snapshot, clock: &Clock) -> Answer {
        let Ok(url) = Url::parse(object_id) else {
            return Answer::Gone;
        };
        // Off private networks, only https: a catalog entry's origin is a public server.
        let private_refused = !self.allow_private && (is_local(&url) || url.scheme() != "https");
        if private_refused || blocks.refusal(&url).is_some() {
            return Answer::Gone;
        }
        let res = match self
            .client
            .get(url)
            .header("accept", "application/activity+json")
            .send()
            .await
        {
            Ok(res) => res,
            Err(e) => return Answer::Unreachable(e.to_string()),
        };
        match res.status() {
            StatusCode::NOT_FOUND | StatusCode::GONE => return Answer::Gone,
            s if !s.is_success() => return Answer::Unreachable(format!("HTTP {s}")),
            _ => {}
        }
        let body = match crate::net::body_limited(res, MAX_NOTE).await {
            Ok(body) => body,
            Err(e) => return Answer::Unreachable(e),
        };
        let Ok(body) = serde_json::from_slice::<Value>(&body) else {
            return Answer::Unreachable("not JSON".to_owned());
        };
        // It must be the document asked for, attributed to an actor of its own host.
        if body.get("id").and_then(Value::as_str) != Some(object_id) {
            return Answer::Gone;
        }
        if let Some(event) = RemoteEvent::parse(&body) {
            return if event.attributed_to.authority() == event.id.authority() {
                Answer::Event(Box::new(event))
            } else {
                Answer::Gone
            };
        }
        match LiveNote::parse(&body, clock.now()) {
            Some(note) if note.attributed_to.authority() == note.id.authority() => {
                Answer::Note(Box::new(note))
            }
            _ => Answer::Gone,
        }
    }
}
