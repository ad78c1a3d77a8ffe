//! Actor documents: `/streams/{handle}` (ActivityPub JSON or a page, by `Accept`), its followers
//! and outbox collections, and the instance actor `/actor`.

use actix_web::{HttpRequest, HttpResponse, http::header, web};

use crate::{
    db::models::{Activity, Broadcast, BroadcastState, Follower, Stream},
    error::{Error, Result},
    federation::{
        ACTIVITY_JSON, activities,
        actor::{Application, Service},
        collections::{OUTBOX_PAGE, OrderedCollection, OrderedCollectionPage},
        note, wants_activity_json,
    },
    keys,
    state::AppState,
    streams,
};

/// `GET /streams/{handle}`
#[tracing::instrument(skip_all, fields(handle = %handle))]
pub async fn show_stream(
    state: web::Data<AppState>,
    handle: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let (stream, active) = streams::find(&state.db, &handle).await?;
    let accept = super::accept(&req);
    if !wants_activity_json(accept) {
        return super::pages::stream_page(&state, &stream, active.as_ref()).await;
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
    Ok(activity_json(&OrderedCollection::followers(
        &handle,
        total,
        &state.urls,
    )))
}

/// Query of `/streams/{handle}/outbox`: no query is the collection, `page=true` its newest
/// page, `before` the cursor of older pages.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    page: Option<bool>,
    before: Option<i64>,
}

/// `GET /streams/{handle}/outbox`: the `Create` of every broadcast whose Note exists (on air, or
/// ended and kept), newest first, in pages.
pub async fn outbox(
    state: web::Data<AppState>,
    handle: web::Path<String>,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse> {
    let (stream, _) = streams::find(&state.db, &handle).await?;
    let urls = &state.urls;
    let OutboxQuery { page, before } = query.into_inner();
    if page != Some(true) && before.is_none() {
        let id = stream.id;
        let total = state
            .db
            .read(move |c| Broadcast::count_published(c, id))
            .await?;
        return Ok(activity_json(&OrderedCollection::outbox(
            &handle, total, urls,
        )));
    }
    let id = stream.id;
    let broadcasts = state
        .db
        .read(move |c| Broadcast::list_published(c, id, before, OUTBOX_PAGE))
        .await?;
    let page =
        OrderedCollectionPage::outbox(&stream, before, &broadcasts, urls, &state.config.language);
    Ok(activity_json(&page))
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

/// `GET /broadcasts/{id}`: the Note (ActivityPub JSON, or a redirect to the stream page for
/// browsers) while on air or when its stream keeps ended posts, else `410 Gone` with a Tombstone
/// once it ended.
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
    let accept = super::accept(&req);
    if broadcast.state == BroadcastState::Ended && !broadcast.kept {
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
    Ok(activity_json(&note::note(
        &stream,
        &broadcast,
        &state.urls,
        &state.config.language,
    )))
}

/// `GET /activities/{id}`: an activity we sent, as we sent it, when it was public (a Create,
/// Update or Delete of a broadcast, an actor Update). Follows, Accepts and Rejects name who
/// follows whom, so they stay private (404, as Mastodon answers for them).
#[tracing::instrument(skip_all, fields(id = %id))]
pub async fn show_activity(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let ap_id = state.urls.activity(&id).to_string();
    let found = state
        .db
        .read(move |c| Activity::find_by_ap_id(c, &ap_id))
        .await?
        .filter(|a| activities::is_public(&a.body));
    let activity = found.ok_or_else(|| Error::NotFound(format!("activity {id}")))?;
    Ok(HttpResponse::Ok()
        .content_type(ACTIVITY_JSON)
        .body(activity.body))
}
