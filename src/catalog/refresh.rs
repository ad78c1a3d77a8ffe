//! Keeping the catalog true when origins fall silent. A live entry nobody told us about for
//! `catalog.refresh_after` is fetched again from its origin: a 404, a 410, a Tombstone, or a
//! Note that no longer states a live broadcast removes it; a Note still live refreshes it; no
//! answer marks it unreachable, and unreachable for `catalog.hide_after` hides it until its
//! origin answers again. One pass at a time, driven by the server (or a test).

use std::time::Duration;

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use super::remote::LiveNote;
use crate::{
    db::{
        Db,
        models::{NewRemoteBroadcast, RemoteBroadcast},
    },
    error::Result,
    federation::blocks::Blocklist,
    streams::listen_url::is_local,
};

/// Entries fetched per pass.
const PASS: i64 = 50;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Still live at their origin.
    pub live: usize,
    /// Gone at their origin (or no longer live): removed.
    pub removed: usize,
    /// Their origin did not answer.
    pub unreachable: usize,
}

/// What an origin said about a Note.
enum Answer {
    Live(Box<LiveNote>),
    Gone,
    Unreachable(String),
}

/// The refresher: its HTTP client and settings.
#[derive(Debug, Clone)]
pub struct Refresher {
    db: Db,
    clock: crate::clock::Clock,
    blocks: std::sync::Arc<Blocklist>,
    client: reqwest::Client,
    refresh_after: TimeDelta,
    hide_after: TimeDelta,
    allow_private: bool,
}

impl Refresher {
    /// A refresher over the app's state.
    pub fn new(state: &crate::state::AppState) -> Self {
        let catalog = &state.config.catalog;
        Self {
            db: state.db.clone(),
            clock: state.clock.clone(),
            blocks: state.blocks.clone(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .user_agent(concat!("onair/", env!("CARGO_PKG_VERSION")))
                .redirect(reqwest::redirect::Policy::limited(2))
                .build()
                .unwrap_or_default(),
            refresh_after: TimeDelta::seconds(i64::from(catalog.refresh_after)),
            hide_after: TimeDelta::seconds(i64::from(catalog.hide_after)),
            allow_private: state.config.allow_private_networks,
        }
    }

    /// One pass over the entries that went quiet.
    pub async fn pass(&self) -> Result<Refreshed> {
        let now = self.clock.now();
        let cutoff = now - self.refresh_after;
        let quiet = self
            .db
            .read(move |c| RemoteBroadcast::list_silent(c, cutoff, PASS))
            .await?;
        let mut done = Refreshed::default();
        for entry in quiet {
            let answer = self.ask(&entry.object_id).await;
            let hide_before = now - self.hide_after;
            let id = entry.id;
            match answer {
                Answer::Live(note) if note.live => {
                    let fresh = NewRemoteBroadcast {
                        remote_stream_id: entry.remote_stream_id,
                        object_id: entry.object_id.clone(),
                        live: true,
                        title: note.title,
                        listen_url: note.listen_url,
                        content_type: note.content_type,
                        bitrate: note.bitrate,
                        started_at: note.started_at,
                        heard_at: now,
                    };
                    self.db
                        .write(move |c| RemoteBroadcast::upsert(c, &fresh))
                        .await?;
                    done.live += 1;
                }
                Answer::Live(_) | Answer::Gone => {
                    let (stream, object) = (entry.remote_stream_id, entry.object_id.clone());
                    self.db
                        .write(move |c| RemoteBroadcast::delete(c, stream, &object))
                        .await?;
                    tracing::info!(object = %entry.object_id, "catalog entry gone at its origin");
                    done.removed += 1;
                }
                Answer::Unreachable(why) => {
                    self.db
                        .write(move |c| RemoteBroadcast::mark_unreachable(c, id, now, hide_before))
                        .await?;
                    tracing::warn!(object = %entry.object_id, why, "catalog origin unreachable");
                    done.unreachable += 1;
                }
            }
        }
        Ok(done)
    }

    /// Fetches a Note from its origin.
    async fn ask(&self, object_id: &str) -> Answer {
        let Ok(url) = Url::parse(object_id) else {
            return Answer::Gone;
        };
        if (!self.allow_private && is_local(&url))
            || self
                .blocks
                .snapshot()
                .await
                .is_ok_and(|b| b.refusal(&url).is_some())
        {
            return Answer::Gone;
        }
        let res = match self
            .client
            .get(url.clone())
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
        let Ok(body) = res.json::<Value>().await else {
            return Answer::Unreachable("not JSON".to_owned());
        };
        // The document must be the Note asked for (a redirect elsewhere proves nothing).
        if body.get("id").and_then(Value::as_str) != Some(object_id) {
            return Answer::Gone;
        }
        match LiveNote::parse(&body, self.clock.now()) {
            Some(note) => Answer::Live(Box::new(note)),
            None => Answer::Gone,
        }
    }
}
