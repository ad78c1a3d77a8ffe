//! `GET /api/v1/streams[/{handle}]`: the public JSON API. Other tools depend on this shape; it is
//! documented in the README. Tokens, SIDs and cluster passwords never appear in it.

use actix_web::{HttpResponse, web};
use chrono::{NaiveDateTime, SecondsFormat};
use serde::{Deserialize, Serialize};

use crate::{
    db::models::{Broadcast, Stream, StreamFilter},
    error::{Error, Result},
    state::AppState,
    streams::StreamStatus,
};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

/// Query string of the listing, as sent.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    genre: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

impl TryFrom<ListQuery> for StreamFilter {
    type Error = Error;

    fn try_from(q: ListQuery) -> Result<Self> {
        let live_only = match q.status.as_deref() {
            None | Some("live") => true,
            Some("all") => false,
            Some(other) => {
                return Err(Error::Invalid(format!(
                    "status must be live or all, not {other:?}"
                )));
            }
        };
        let before = q
            .cursor
            .map(|c| {
                c.parse::<i64>()
                    .map_err(|_| Error::Invalid("cursor is not one this API returned".to_owned()))
            })
            .transpose()?;
        let limit = match q.limit {
            None => DEFAULT_LIMIT,
            Some(l) => l
                .parse::<i64>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| {
                    Error::Invalid(format!("limit must be a number from 1 to {MAX_LIMIT}"))
                })?,
        };
        let text = |s: Option<String>, what: &str| -> Result<Option<String>> {
            match s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
                Some(s) if s.chars().count() > 100 => Err(Error::Invalid(format!(
                    "{what} is longer than 100 characters"
                ))),
                other => Ok(other),
            }
        };
        Ok(Self {
            live_only,
            genre: text(q.genre, "genre")?,
            query: text(q.q, "q")?,
            before,
            limit,
        })
    }
}

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
    origin: &'static str,
}

impl StreamItem {
    fn new(stream: Stream, active: Option<Broadcast>) -> Self {
        let status = StreamStatus::of(active.as_ref());
        Self {
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
            origin: "local",
            handle: stream.handle,
            name: stream.name,
            description: stream.description,
            listen_url: stream.listen_url,
            content_type: stream.content_type,
            codec: stream.codec,
            bitrate: stream.bitrate,
            samplerate: stream.samplerate,
            channels: stream.channels,
        }
    }
}

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `GET /api/v1/streams?status=live|all&genre=…&q=…&cursor=…&limit=…`
pub async fn list_streams(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let filter = StreamFilter::try_from(query.into_inner())?;
    let limit = filter.limit;
    let rows = state
        .db
        .read(move |c| Stream::list_with_broadcast(c, &filter))
        .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|(s, _)| s.id.to_string()))
        .flatten();
    let streams: Vec<StreamItem> = rows
        .into_iter()
        .map(|(s, b)| StreamItem::new(s, b))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "streams": streams, "next": next })))
}

/// `GET /api/v1/streams/{handle}`
pub async fn show_stream(
    state: web::Data<AppState>,
    handle: web::Path<String>,
) -> Result<HttpResponse> {
    let (stream, active) = crate::streams::find(&state.db, &handle).await?;
    Ok(HttpResponse::Ok().json(StreamItem::new(stream, active)))
}
