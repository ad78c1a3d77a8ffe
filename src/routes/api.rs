//! `GET /api/v1/streams[/{handle}]`: the public JSON API, local streams and the federated
//! catalog. Other tools depend on this shape; it is documented in the README. Tokens, SIDs and
//! cluster passwords never appear in it.

use actix_web::{HttpResponse, web};
use chrono::{NaiveDateTime, SecondsFormat};
use serde::Serialize;

use super::filters::{ListQuery, Listing};
use crate::{
    db::models::{Broadcast, RemoteBroadcast, RemoteStream, Stream},
    error::{Error, Result},
    listing::{self, Cursor, Listed},
    state::AppState,
    streams::StreamStatus,
    text,
    urls::Urls,
};

/// One stream as the API shows it.
#[derive(Debug, Serialize)]
pub struct StreamItem {
    handle: String,
    name: String,
    description: String,
    genres: Vec<String>,
    homepage: Option<String>,
    listen_url: String,
    content_type: String,
    codec: String,
    bitrate: Option<i32>,
    samplerate: Option<i32>,
    channels: Option<i32>,
    status: &'static str,
    title: Option<String>,
    listeners: i32,
    max_listeners: Option<i32>,
    started_at: Option<String>,
    /// `local`, or the host of the remote instance.
    origin: String,
    /// The stream's ActivityPub actor.
    actor: String,
}

impl StreamItem {
    fn new(stream: Stream, active: Option<Broadcast>, urls: &Urls) -> Self {
        let status = StreamStatus::of(active.as_ref());
        let (name, description) = (
            stream.shown_name().to_owned(),
            stream.shown_description().to_owned(),
        );
        Self {
            name,
            description,
            actor: urls.stream(&stream.handle).into(),
            genres: stream.genre_list().into_iter().map(str::to_owned).collect(),
            homepage: Some(stream.homepage).filter(|h| !h.is_empty()),
            title: active
                .as_ref()
                .map(|b| b.title.clone())
                .filter(|t| !t.is_empty()),
            listeners: active.as_ref().map_or(0, |b| b.listeners),
            max_listeners: active.as_ref().and_then(|b| b.max_listeners),
            started_at: active.as_ref().map(|b| rfc3339(b.started_at)),
            status: status.as_str(),
            origin: "local".to_owned(),
            handle: stream.handle,
            listen_url: stream.listen_url,
            content_type: stream.content_type,
            codec: stream.codec,
            bitrate: stream.bitrate,
            samplerate: stream.samplerate,
            channels: stream.channels,
        }
    }

    /// A stream of the federated catalog.
    fn remote(stream: RemoteStream, live: Option<RemoteBroadcast>) -> Self {
        Self {
            handle: format!("{}@{}", stream.handle, stream.host),
            genres: stream.genre_list().into_iter().map(str::to_owned).collect(),
            description: text::to_text(&stream.summary),
            homepage: stream.url,
            status: if live.is_some() { "live" } else { "offline" },
            title: live
                .as_ref()
                .map(|b| b.title.clone())
                .filter(|t| !t.is_empty()),
            listeners: 0,
            max_listeners: None,
            started_at: live.as_ref().map(|b| rfc3339(b.started_at)),
            listen_url: live
                .as_ref()
                .map(|b| b.listen_url.clone())
                .unwrap_or_default(),
            content_type: live
                .as_ref()
                .map(|b| b.content_type.clone())
                .unwrap_or_default(),
            codec: String::new(),
            bitrate: live.as_ref().and_then(|b| b.bitrate),
            samplerate: None,
            channels: None,
            origin: stream.host,
            actor: stream.actor_id,
            name: stream.name,
        }
    }
}

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `GET /api/v1/streams?status=live|all&origin=local|remote|all&genre=…&q=…&cursor=…&limit=…`
pub async fn list_streams(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let Listing {
        filter,
        origin,
        cursor,
        ..
    } = Listing::try_from(query.into_inner())?;
    let page = listing::list(&state.db, filter, origin, cursor).await?;
    let next = page.next.map(Cursor::render);
    let streams: Vec<StreamItem> = page
        .items
        .into_iter()
        .map(|row| item(row, &state.urls))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "streams": streams, "next": next })))
}

/// `GET /tags/{tag}` as JSON: `{"tag", "streams"}`, live first, items as the list gives them.
pub fn tag_json(tag: &str, items: Vec<Listed>, urls: &Urls) -> HttpResponse {
    let mut streams: Vec<StreamItem> = items.into_iter().map(|row| item(row, urls)).collect();
    streams.sort_by_key(|s| s.status == "offline");
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::VARY, "Accept"))
        .json(serde_json::json!({ "tag": tag, "streams": streams }))
}

fn item(row: Listed, urls: &Urls) -> StreamItem {
    match row {
        Listed::Local(s, b) => StreamItem::new(s, b, urls),
        Listed::Remote(s, b) => StreamItem::remote(s, b),
    }
}

/// `GET /api/v1/streams/{handle}`
pub async fn show_stream(
    state: web::Data<AppState>,
    handle: web::Path<String>,
) -> Result<HttpResponse> {
    if let Some((name, host)) = handle.split_once('@') {
        let (name, host) = (name.to_owned(), host.to_ascii_lowercase());
        let found = state
            .db
            .read(move |c| RemoteStream::find_by_address(c, &name, &host))
            .await?;
        let (stream, live) = found.ok_or_else(|| Error::NotFound(format!("stream {handle}")))?;
        return Ok(HttpResponse::Ok().json(StreamItem::remote(stream, live)));
    }
    let (stream, active) = crate::streams::find(&state.db, &handle).await?;
    Ok(HttpResponse::Ok().json(StreamItem::new(stream, active, &state.urls)))
}
