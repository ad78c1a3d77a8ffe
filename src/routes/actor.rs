//! Actor documents: `/streams/{handle}` (ActivityPub JSON or a page, by `Accept`), its followers
//! and outbox collections, and the instance actor `/actor`.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde_json::json;

use crate::{
    db::models::{Broadcast, BroadcastState, Follower, Stream},
    error::{Error, Result},
    federation::{
        ACTIVITY_JSON,
        actor::{Application, Service},
        keys, note, wants_activity_json,
    },
    state::AppState,
    streams::{self, StreamStatus},
};

/// `GET /streams/{handle}`
#[tracing::instrument(skip_all, fields(handle = %handle))]
pub async fn show_stream(
    state: web::Data<AppState>,
    handle: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let (stream, active) = streams::find(&state.db, &handle).await?;
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !wants_activity_json(accept) {
        let status = StreamStatus::of(active.as_ref());
        let title = active.as_ref().map(|b| b.title.as_str()).unwrap_or("");
        return Ok(page(&stream, status, title, &state.urls.authority()));
    }
    let public_key = keys::stream_public_key(&state.db, &state.clock, stream.id).await?;
    Ok(activity_json(&Service::new(
        &stream,
        public_key,
        &state.urls,
    )))
}

/// `GET /streams/{handle}/followers`: the count only, as Mastodon publishes it.
pub async fn followers(
    state: web::Data<AppState>,
    handle: web::Path<String>,
) -> Result<HttpResponse> {
    let (stream, _) = streams::find(&state.db, &handle).await?;
    let total = state
        .db
        .read(move |c| Follower::count_accepted(c, stream.id))
        .await?;
    Ok(activity_json(&json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": state.urls.stream_followers(&handle),
        "type": "OrderedCollection",
        "totalItems": total,
    })))
}

/// `GET /streams/{handle}/outbox`: empty until broadcasts are announced (the next step).
pub async fn outbox(state: web::Data<AppState>, handle: web::Path<String>) -> Result<HttpResponse> {
    streams::find(&state.db, &handle).await?;
    Ok(activity_json(&json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": state.urls.stream_outbox(&handle),
        "type": "OrderedCollection",
        "totalItems": 0,
        "orderedItems": [],
    })))
}

/// `GET /actor`
pub async fn instance_actor(state: web::Data<AppState>) -> HttpResponse {
    activity_json(&Application::new(
        state.instance_keys.public_key_pem.clone(),
        &state.urls,
    ))
}

fn activity_json(body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ACTIVITY_JSON)
        .insert_header((header::VARY, "Accept"))
        .json(body)
}

/// The plain page of a stream (the web issue brings templates and the player).
fn page(stream: &Stream, status: StreamStatus, title: &str, authority: &str) -> HttpResponse {
    let e = |s: &str| html_escape::encode_text(s).into_owned();
    let listen = html_escape::encode_double_quoted_attribute(&stream.listen_url).into_owned();
    let now = match (status, title) {
        (StreamStatus::Live, "") => "<p>On air.</p>".to_owned(),
        (StreamStatus::Live, t) => format!("<p>On air: {}</p>", e(t)),
        (StreamStatus::Ending, _) => "<p>Just went off air.</p>".to_owned(),
        (StreamStatus::Offline, _) => "<p>Off air.</p>".to_owned(),
    };
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{name}</title></head><body><main><h1>{name}</h1>\
         <p>Follow from your fediverse account: <code>@{handle}@{authority}</code></p>\
         {now}<p><a href=\"{listen}\">Listen</a></p><p>{description}</p></main></body></html>\n",
        name = e(&stream.name),
        handle = e(&stream.handle),
        authority = e(authority),
        description = e(&stream.description),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::VARY, "Accept"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'",
        ))
        .body(body)
}

/// `GET /broadcasts/{id}`: the Note while on air (ActivityPub JSON, or a redirect to the stream
/// page for browsers), `410 Gone` with a Tombstone once it ended.
pub async fn show_broadcast(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let id = id.into_inner();
    let found = state
        .db
        .read(move |c| match Broadcast::find(c, id)? {
            Some(b) => Ok(Stream::find(c, b.stream_id)?.map(|s| (s, b))),
            None => Ok(None),
        })
        .await?;
    let (stream, broadcast) = found.ok_or_else(|| Error::NotFound(format!("broadcast {id}")))?;
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if broadcast.state == BroadcastState::Ended {
        let tombstone = note::tombstone(&state.urls.broadcast(id), broadcast.ended_at);
        return Ok(HttpResponse::Gone()
            .content_type(ACTIVITY_JSON)
            .json(tombstone));
    }
    if !wants_activity_json(accept) {
        let page = state.urls.stream(&stream.handle).to_string();
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, page))
            .finish());
    }
    Ok(activity_json(&note::note(&stream, &broadcast, &state.urls)))
}
