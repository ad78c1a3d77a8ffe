//! `GET /streams/{handle}/events`: Server-Sent Events for an open stream page. The page learns a
//! new title, or that the stream went on or off air, without reloading. Nothing polls: each
//! connection waits on the live feed (changes committed by any process), reads the database only
//! when changes may have been missed, and sends a comment when it has been quiet for a while so
//! that proxies keep the connection open and a gone client is noticed. A client that closes
//! its side ends its stream at once (the server does not allow half-closed connections); each
//! open stream holds a place, capped in total and per client (`limits.event_streams*`).

use std::{sync::Arc, time::Duration};

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use futures_util::stream;
use serde_json::json;
use tokio::{
    sync::broadcast::{
        self,
        error::{RecvError, TryRecvError},
    },
    time::Instant,
};

use crate::{
    db::{StreamChange, models::Broadcast},
    error::{Error, Result},
    guard::streams::{Refusal, Ticket},
    state::AppState,
    streams::StreamStatus,
};

/// A quiet connection gets a comment this often: below the idle timeouts of common proxies
/// (nginx's `proxy_read_timeout` is 60 s by default).
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A connection ends after this long; the browser reconnects by itself.
const LIFETIME: Duration = Duration::from_secs(600);

/// What the page shows: status and title.
fn snapshot(active: Option<&Broadcast>) -> serde_json::Value {
    json!({
        "status": StreamStatus::of(active).as_str(),
        "title": active.map(|b| b.title.as_str()).unwrap_or(""),
    })
}

fn event(now: &serde_json::Value) -> web::Bytes {
    web::Bytes::from(format!("event: now\ndata: {now}\n\n"))
}

/// One open page's connection.
struct Feed {
    state: web::Data<AppState>,
    /// This stream's place among the open ones, freed when the connection ends.
    _ticket: Ticket,
    handle: String,
    changes: broadcast::Receiver<Arc<StreamChange>>,
    last: serde_json::Value,
    started: Instant,
    written: Instant,
}

impl Feed {
    /// The next thing to send, or `None` to end the connection.
    async fn next(&mut self) -> Option<web::Bytes> {
        loop {
            let end = self.started + LIFETIME;
            let quiet_until = (self.written + KEEP_ALIVE).min(end);
            let change = tokio::select! {
                change = self.changes.recv() => change,
                () = tokio::time::sleep_until(quiet_until) => {
                    if Instant::now() >= end {
                        return None;
                    }
                    self.written = Instant::now();
                    return Some(web::Bytes::from_static(b": keep-alive\n\n"));
                }
                () = self.state.shutdown.wait() => return None,
            };
            let now = match change {
                Ok(change) if !change.is_missed() => {
                    json!({ "status": change.status, "title": change.title })
                }
                // Changes may have been lost: read the stream as it is, and drop what is older
                // than that read.
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    let now = self.read().await?;
                    while !matches!(
                        self.changes.try_recv(),
                        Err(TryRecvError::Empty | TryRecvError::Closed)
                    ) {}
                    now
                }
                Err(RecvError::Closed) => return None,
            };
            if now != self.last {
                self.written = Instant::now();
                let bytes = event(&now);
                self.last = now;
                return Some(bytes);
            }
        }
    }

    async fn read(&self) -> Option<serde_json::Value> {
        let key = self.handle.clone();
        let found = self
            .state
            .db
            .read(move |c| crate::db::models::Stream::find_with_broadcast(c, &key))
            .await;
        match found {
            Ok(Some((_, active))) => Some(snapshot(active.as_ref())),
            // Gone, or the database is unavailable: end; the browser retries.
            _ => None,
        }
    }
}

/// The handler: the first event at once, then changes as they come.
pub async fn events(
    state: web::Data<AppState>,
    req: HttpRequest,
    handle: web::Path<String>,
) -> Result<HttpResponse> {
    let client = crate::guard::client_key(super::client::of(&req, &state));
    let ticket = state
        .guards
        .event_streams
        .open(client)
        .map_err(|refusal| match refusal {
            Refusal::Client => {
                state.metrics.refused("event_streams_per_client");
                Error::LimitReached(
                    "too many live pages open from your address; close some and reload".to_owned(),
                )
            }
            Refusal::Full => {
                state.metrics.refused("event_streams");
                Error::Overloaded(
                    "this server has as many live pages open as it can hold; reload later"
                        .to_owned(),
                )
            }
        })?;
    // Subscribed before the first read, so a change committed in between is not missed.
    let (stream, _) = crate::streams::find(&state.db, &handle).await?;
    let changes = state.live.subscribe(stream.id);
    let (_, active) = crate::streams::find(&state.db, &handle).await?;
    let first = snapshot(active.as_ref());
    let opening = web::Bytes::from(format!("retry: 3000\nevent: now\ndata: {first}\n\n"));
    let now = Instant::now();
    let feed = Feed {
        state,
        _ticket: ticket,
        handle: stream.handle,
        changes,
        last: first,
        started: now,
        written: now,
    };
    let rest = stream::unfold(feed, |mut feed| async move {
        let bytes = feed.next().await?;
        Some((Ok::<_, actix_web::Error>(bytes), feed))
    });
    let body = futures_util::StreamExt::chain(
        stream::once(async move { Ok::<_, actix_web::Error>(opening) }),
        rest,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}
