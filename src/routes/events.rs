//! `GET /streams/{handle}/events`: Server-Sent Events for an open stream page. The page learns a
//! new title, or that the stream went on or off air, without reloading. Each connection reads
//! the stream's state every couple of seconds (one indexed read), which stays right whichever
//! process handled the YP touch.

use std::time::Duration;

use actix_web::{HttpResponse, http::header, web};
use futures_util::stream;
use serde_json::json;

use crate::{error::Result, state::AppState, streams::StreamStatus};

/// How often a connection looks at the stream.
const EVERY: Duration = Duration::from_secs(2);
/// A connection ends after this long; the browser reconnects by itself.
const LIFETIME: Duration = Duration::from_secs(600);

/// What the page shows: status and title.
fn snapshot(active: Option<&crate::db::models::Broadcast>) -> serde_json::Value {
    json!({
        "status": StreamStatus::of(active).as_str(),
        "title": active.map(|b| b.title.as_str()).unwrap_or(""),
    })
}

pub async fn events(state: web::Data<AppState>, handle: web::Path<String>) -> Result<HttpResponse> {
    let (stream, active) = crate::streams::find(&state.db, &handle).await?;
    let first = snapshot(active.as_ref());
    let started = tokio::time::Instant::now();
    let init = (state, stream.handle, first, true);
    let events = stream::unfold(init, move |(state, handle, last, first_round)| async move {
        if first_round {
            let event = format!("retry: 3000\nevent: now\ndata: {last}\n\n");
            return Some((
                Ok::<_, actix_web::Error>(web::Bytes::from(event)),
                (state, handle, last, false),
            ));
        }
        loop {
            if started.elapsed() > LIFETIME {
                return None;
            }
            tokio::time::sleep(EVERY).await;
            let key = handle.clone();
            let now = match state
                .db
                .read(move |c| crate::db::models::Stream::find_with_broadcast(c, &key))
                .await
            {
                Ok(Some((_, active))) => snapshot(active.as_ref()),
                // Gone, or the database is unavailable: end; the browser retries.
                _ => return None,
            };
            if now != last {
                let event = format!("event: now\ndata: {now}\n\n");
                return Some((Ok(web::Bytes::from(event)), (state, handle, now, false)));
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(events))
}
