//! Scheduled shows over HTTP: `/shows/{id}` (the Event, or its page), the iCalendar feeds, and
//! `/api/v1/shows` (public list; create, edit and cancel with the broadcaster's HTTP Basic
//! credentials, JSON errors).

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::pages::html;
use crate::{
    db::models::{Show, Stream},
    error::{Error, Result},
    federation::{
        ACTIVITY_JSON,
        event::{self, When},
        wants_activity_json,
    },
    state::AppState,
    streams::shows::{self, ShowInput, calendar},
    views::{Layout, ShowPage, Upcoming},
};

/// A show with its stream, its next (or last) occurrence, and whether it is on air.
struct Found {
    show: Show,
    stream: Stream,
    when: When,
}

async fn find(state: &AppState, id: i64) -> Result<Found> {
    let now = state.clock.now();
    state
        .db
        .read(move |c| {
            let show = Show::find(c, id)?.ok_or_else(|| Error::NotFound(format!("show {id}")))?;
            let stream = Stream::find(c, show.stream_id)?
                .ok_or_else(|| Error::NotFound(format!("show {id}")))?;
            let when = event::when_of(c, &show, now)?;
            Ok(Found { show, stream, when })
        })
        .await
}

/// `GET /shows/{id}`: the Event to ActivityPub clients (410 with a Tombstone once cancelled),
/// else the show's page.
pub async fn show(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let found = find(&state, id.into_inner()).await?;
    let accept = super::accept(&req);
    let urls = &state.urls;
    if wants_activity_json(accept) {
        if found.show.cancelled_at.is_some() {
            let tombstone = event::tombstone(&found.show, urls, found.show.cancelled_at);
            return Ok(HttpResponse::Gone()
                .content_type(ACTIVITY_JSON)
                .insert_header((header::VARY, "Accept"))
                .json(tombstone));
        }
        return Ok(HttpResponse::Ok()
            .content_type(ACTIVITY_JSON)
            .insert_header((header::VARY, "Accept"))
            .json(event::event(&found.stream, &found.show, found.when, urls)));
    }
    let item = Upcoming::of(&found.show, &found.stream, found.when, urls);
    html(&ShowPage {
        layout: Layout::new(urls),
        description: found.show.description.clone(),
        cancelled: found.show.cancelled_at.is_some(),
        calendar: urls.stream_calendar(&found.stream.handle).path().to_owned(),
        item,
    })
}

/// `GET /shows.ics` and `GET /streams/{handle}/shows.ics`: the calendar feeds.
pub async fn instance_calendar(state: web::Data<AppState>) -> Result<HttpResponse> {
    calendar_of(&state, None, format!("onair · {}", state.urls.authority())).await
}

/// `GET /streams/{handle}/shows.ics`
pub async fn stream_calendar(
    state: web::Data<AppState>,
    handle: web::Path<String>,
) -> Result<HttpResponse> {
    let (stream, _) = crate::streams::find(&state.db, &handle).await?;
    let name = format!("{} · {}", stream.shown_name(), state.urls.authority());
    calendar_of(&state, Some(stream.id), name).await
}

async fn calendar_of(state: &AppState, stream: Option<i64>, name: String) -> Result<HttpResponse> {
    let found = state
        .db
        .read(move |c| {
            let shows = match stream {
                Some(id) => Show::active_for_stream(c, id)?,
                None => Show::active(c)?,
            };
            let mut out = Vec::new();
            for show in shows {
                if let Some(stream) = Stream::find(c, show.stream_id)? {
                    out.push((show, stream));
                }
            }
            Ok(out)
        })
        .await?;
    let body = calendar::feed(&name, &found, &state.urls, state.clock.now().and_utc())?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body))
}

/// `?stream=&origin=&from=&to=` of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    stream: Option<String>,
    origin: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// One occurrence as the API shows it.
#[derive(Debug, Serialize)]
struct Item {
    id: i64,
    url: String,
    stream: String,
    title: String,
    description: String,
    start: String,
    end: String,
    time_zone: String,
    weekly: bool,
    live: bool,
    /// `local`, or the remote host.
    origin: String,
}

fn instant(raw: Option<&str>, what: &str, default: DateTime<Utc>) -> Result<DateTime<Utc>> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(default),
        Some(r) => DateTime::parse_from_rfc3339(r)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                Error::Invalid(format!(
                    "{what} must be an RFC 3339 time such as 2026-12-10T20:00:00Z"
                ))
            }),
    }
}

/// `GET /api/v1/shows`: occurrences from `from` (default now) to `to` (default a week on, at
/// most a year), of one stream or all; `origin` is `local` or `all` (remote shows are not
/// collected yet: the same list).
pub async fn api_list(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let q = query.into_inner();
    let now = state.clock.now().and_utc();
    let from = instant(q.from.as_deref(), "from", now)?;
    let to = instant(q.to.as_deref(), "to", from + TimeDelta::days(7))?;
    if to <= from || to - from > TimeDelta::days(366) {
        return Err(Error::Invalid(
            "to must be after from, and at most a year later".to_owned(),
        ));
    }
    let (local, remote) = match q.origin.as_deref() {
        None | Some("all") => (true, q.stream.is_none()),
        Some("local") => (true, false),
        Some("remote") => (false, true),
        Some(other) => {
            return Err(Error::Invalid(format!(
                "origin is local, remote or all, not {other:?}"
            )));
        }
    };
    let stream_id = match q.stream.as_deref() {
        Some(h) => Some(crate::streams::find(&state.db, h).await?.0.id),
        None => None,
    };
    let urls = &state.urls;
    let found = if local {
        shows::occurrences(&state.db, stream_id, from, to).await?
    } else {
        Vec::new()
    };
    let mut items: Vec<Item> = found
        .into_iter()
        .map(|(show, stream, when)| Item {
            id: show.id,
            url: urls.show(show.id).into(),
            stream: stream.handle,
            title: show.title,
            description: show.description,
            start: when.start.to_rfc3339(),
            end: when.end.to_rfc3339(),
            time_zone: show.time_zone,
            weekly: show.weekly,
            live: when.live,
            origin: "local".to_owned(),
        })
        .collect();
    if remote {
        let (f, t) = (from.naive_utc(), to.naive_utc());
        let found = state
            .db
            .read(move |c| crate::db::models::RemoteShow::between(c, f, t))
            .await?;
        items.extend(found.into_iter().map(|(show, stream)| Item {
            id: show.id,
            url: show.url.unwrap_or(show.object_id),
            stream: format!("{}@{}", stream.handle, stream.host),
            title: show.title,
            description: show.summary,
            start: show.starts_at.and_utc().to_rfc3339(),
            end: show.ends_at.and_utc().to_rfc3339(),
            time_zone: show.time_zone,
            weekly: false,
            live: show.live,
            origin: stream.host,
        }));
        items.sort_by(|a, b| a.start.cmp(&b.start));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "shows": items })))
}

/// A show as a client posts it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowBody {
    /// The stream's handle (creating; ignored when editing).
    #[serde(default)]
    stream: String,
    title: String,
    #[serde(default)]
    description: String,
    start: String,
    #[serde(default)]
    end: String,
    duration_minutes: Option<i64>,
    time_zone: String,
    #[serde(default)]
    weekly: bool,
    #[serde(default)]
    exceptions: Vec<String>,
}

impl From<ShowBody> for ShowInput {
    fn from(b: ShowBody) -> Self {
        Self {
            title: b.title,
            description: b.description,
            start: b.start,
            end: b.end,
            duration_minutes: b.duration_minutes,
            time_zone: b.time_zone,
            weekly: b.weekly,
            exceptions: b.exceptions,
        }
    }
}

/// The broadcaster's stream, by handle: theirs or 404.
async fn own_stream(state: &AppState, user: i64, handle: &str) -> Result<Stream> {
    let (stream, _) = crate::streams::find(&state.db, handle).await?;
    if stream.owner_id != user {
        return Err(Error::NotFound(format!("stream {handle}")));
    }
    Ok(stream)
}

fn show_json(show: &Show, state: &AppState) -> serde_json::Value {
    serde_json::json!({
        "id": show.id,
        "url": state.urls.show(show.id),
        "title": show.title,
        "start": show.starts_local.format("%Y-%m-%d %H:%M").to_string(),
        "duration_minutes": show.duration_minutes,
        "time_zone": show.time_zone,
        "weekly": show.weekly,
        "exceptions": show.exceptions.split(',').filter(|e| !e.is_empty()).collect::<Vec<_>>(),
        "cancelled": show.cancelled_at.is_some(),
    })
}

async fn broadcaster(req: &HttpRequest, state: &AppState) -> Result<crate::db::models::User> {
    super::admin::basic_user(
        req,
        state,
        "the broadcaster's credentials are required (HTTP Basic)",
    )
    .await
}

/// The body, read after the credentials (an anonymous caller learns nothing of its shape).
fn parse_body(body: &[u8]) -> Result<ShowBody> {
    serde_json::from_slice(body).map_err(|e| Error::Invalid(format!("the show as JSON: {e}")))
}

/// `POST /api/v1/shows`: 201 with the show.
pub async fn api_create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let user = broadcaster(&req, &state).await?;
    let body = parse_body(&body)?;
    let stream = own_stream(&state, user.id, &body.stream).await?;
    let (input, urls, now) = (ShowInput::from(body), state.urls.clone(), state.clock.now());
    let show = state
        .db
        .write(move |c| shows::add(c, &stream, &input, &urls, now))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, state.urls.show(show.id).as_str()))
        .json(show_json(&show, &state)))
}

/// The broadcaster's show by id, with its stream.
async fn own_show(state: &AppState, user: i64, id: i64) -> Result<Stream> {
    let found = find(state, id).await?;
    if found.stream.owner_id != user || found.show.cancelled_at.is_some() {
        return Err(Error::NotFound(format!("show {id}")));
    }
    Ok(found.stream)
}

/// `PUT /api/v1/shows/{id}`: the whole show again; followers get one Update.
pub async fn api_edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let user = broadcaster(&req, &state).await?;
    let id = id.into_inner();
    let stream = own_show(&state, user.id, id).await?;
    let (input, urls, now) = (
        ShowInput::from(parse_body(&body)?),
        state.urls.clone(),
        state.clock.now(),
    );
    let show = state
        .db
        .write(move |c| shows::edit(c, &stream, id, &input, &urls, now))
        .await?;
    Ok(HttpResponse::Ok().json(show_json(&show, &state)))
}

/// `DELETE /api/v1/shows/{id}`: cancelled; followers get a Delete (204).
pub async fn api_cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse> {
    let user = broadcaster(&req, &state).await?;
    let id = id.into_inner();
    let stream = own_show(&state, user.id, id).await?;
    let (urls, now) = (state.urls.clone(), state.clock.now());
    state
        .db
        .write(move |c| shows::cancel(c, &stream, id, &urls, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
