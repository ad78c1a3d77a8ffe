//! The broadcaster's dashboard: streams with status and followers (approve or
//! reject), recent deliveries, YP URLs (create, shown once with the `<directory>` block; revoke),
//! stream settings. Every form carries the session's CSRF token; a broadcaster reaches only
//! their own streams and tokens.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::Deserialize;

use super::{
    pages::html,
    session::{CsrfForm, checked, see_other, session, sign_in_first},
};
use crate::{
    accounts,
    db::models::{Delivery, Follower, OnEnd, Session, Show, Stream, User, YpToken},
    error::{Error, Result},
    federation::follows::{self, Decision},
    state::AppState,
    streams::{
        self, icecast_setup,
        settings::{Changes, Posts, Profile},
        shows,
    },
    views::{Card, Dashboard, Exchange, NewToken, StreamPanel, TokenRow},
};

/// `GET /dashboard`
pub async fn dashboard(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    match session(&req, &state).await? {
        Some((session, user)) => render(&state, &session, &user, None).await,
        None => Ok(sign_in_first(&req, &state)),
    }
}

async fn render(
    state: &AppState,
    session: &Session,
    user: &User,
    new_token: Option<NewToken>,
) -> Result<HttpResponse> {
    let owner = user.id;
    let (streams, tokens, deliveries) = state
        .db
        .read(move |c| {
            let mut panels = Vec::new();
            for (stream, active) in Stream::list(c, Some(owner))? {
                let followers = Follower::list(c, stream.id)?;
                let shows = Show::active_for_stream(c, stream.id)?;
                panels.push((stream, active, (followers, shows)));
            }
            let ids: Vec<i64> = panels.iter().map(|(s, _, _)| s.id).collect();
            let deliveries = Delivery::recent_for_streams(c, &ids, 20)?;
            Ok((panels, YpToken::list_for_user(c, owner)?, deliveries))
        })
        .await?;
    let streams = streams
        .into_iter()
        .map(|(stream, active, (followers, scheduled))| {
            let now = state.clock.now().and_utc();
            let shows = scheduled
                .iter()
                .map(|s| {
                    let next = shows::Schedule::of(s)
                        .ok()
                        .and_then(|sch| sch.next(now))
                        .map_or_else(
                            || "over".to_owned(),
                            |o| o.start.format("%Y-%m-%d %H:%M UTC").to_string(),
                        );
                    let when = format!(
                        "{} {}, {} min{}",
                        s.starts_local.format("%Y-%m-%d %H:%M"),
                        s.time_zone,
                        s.duration_minutes,
                        if s.weekly { ", weekly" } else { "" }
                    );
                    (s.id, s.title.clone(), when, next)
                })
                .collect();
            let waiting: Vec<String> = followers
                .iter()
                .filter(|f| f.state == crate::db::models::FollowerState::Pending)
                .map(|f| f.actor_id.clone())
                .collect();
            StreamPanel {
                shows,
                card: Card::local(&stream, active.as_ref(), &state.urls),
                handle: stream.handle.clone(),
                followers: followers
                    .iter()
                    .filter(|f| f.state == crate::db::models::FollowerState::Accepted)
                    .count() as i64,
                pending: waiting.len(),
                waiting,
                approval: stream.approve_followers,
                keep_posts: stream.on_end == OnEnd::Update,
                https_url: stream.https_listen_url.clone().unwrap_or_default(),
                display_name: stream.display_name.clone(),
                display_description: stream.display_description.clone(),
                icon_url: stream.icon_url.clone().unwrap_or_default(),
                header_url: stream.header_url.clone().unwrap_or_default(),
                title_edits: stream.title_edits,
                language: stream.language.clone(),
                default_language: state.config.language.clone(),
                post_template: stream.post_template.clone(),
                content_warning: stream.content_warning.clone(),
                show_reminder: stream.show_reminder,
            }
        })
        .collect();
    let tokens = tokens
        .into_iter()
        .map(|t| TokenRow {
            last: last_exchange(&t),
            refused: refused_exchange(&t),
            id: t.id,
            label: t.label,
            created: time(t.created_at),
            used: t.last_used_at.map(time),
            revoked: t.revoked_at.is_some(),
        })
        .collect();
    let deliveries = deliveries
        .into_iter()
        .map(|(at, kind, inbox, state, error)| {
            let state = match error {
                Some(e) if state != "delivered" => format!("{state}: {e}"),
                _ => state,
            };
            (time(at), kind, inbox, state)
        })
        .collect();
    html(&Dashboard {
        layout: crate::views::Layout::signed_in(&state.urls, user.is_admin),
        user: user.name.clone(),
        csrf: session.csrf.clone(),
        new_token,
        streams,
        deliveries,
        tokens,
    })
}

/// The new-token form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    label: String,
}

/// `POST /dashboard/tokens`: the new YP URL is in this answer and nowhere else.
pub async fn create_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse> {
    let (session, user) = checked(&req, &state, &form.csrf).await?;
    let (owner, label, now) = (user.clone(), form.label.clone(), state.clock.now());
    let (token, secret) = state
        .db
        .write(move |c| accounts::new_token(c, &owner, &label, now))
        .await?;
    let url = state.urls.yp(&secret);
    let new = NewToken {
        label: token.label,
        block: icecast_setup(&url),
        id: token.id,
        url: url.into(),
    };
    let mut res = render(&state, &session, &user, Some(new)).await?;
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// `POST /dashboard/tokens/{id}/revoke`
pub async fn revoke_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse> {
    let (_, user) = checked(&req, &state, &form.csrf).await?;
    let (owner, id, now) = (user.id, id.into_inner(), state.clock.now());
    state
        .db
        .write(move |c| accounts::revoke_token(c, id, Some(owner), now))
        .await?;
    Ok(see_other(state.urls.dashboard()))
}

/// The broadcaster's own stream `handle`; another account's is "not found".
async fn own_stream(state: &AppState, user: &User, handle: &str) -> Result<Stream> {
    let (stream, _) = streams::find(&state.db, handle).await?;
    if stream.owner_id != user.id {
        return Err(Error::NotFound(format!("stream {handle}")));
    }
    Ok(stream)
}

/// The settings form of a stream.
#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    approval: String,
    on_end: String,
    #[serde(default)]
    https_listen_url: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    display_description: String,
    #[serde(default)]
    icon_url: String,
    #[serde(default)]
    header_url: String,
    /// `on` or `off` (absent: off).
    #[serde(default)]
    title_edits: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    post_template: String,
    #[serde(default)]
    content_warning: String,
    /// Minutes; empty: none (absent: unchanged).
    show_reminder: Option<String>,
}

/// The form, parsed: every setting it shows, as one change.
impl TryFrom<&SettingsForm> for Changes {
    type Error = Error;

    fn try_from(form: &SettingsForm) -> Result<Self> {
        let approval = match form.approval.as_str() {
            "on" => true,
            "off" => false,
            other => {
                return Err(Error::Invalid(format!(
                    "approval is on or off, not {other:?}"
                )));
            }
        };
        let on_end = match form.on_end.as_str() {
            "delete" => OnEnd::Delete,
            "update" => OnEnd::Update,
            other => {
                return Err(Error::Invalid(format!(
                    "on_end is delete or update, not {other:?}"
                )));
            }
        };
        let title_edits = match form.title_edits.as_str() {
            "on" => true,
            "off" | "" => false,
            other => {
                return Err(Error::Invalid(format!(
                    "title_edits is on or off, not {other:?}"
                )));
            }
        };
        let show_reminder = match form.show_reminder.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(0),
            Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
                Error::Invalid(format!(
                    "the show reminder is a number of minutes, not {raw:?}"
                ))
            })?),
        };
        Ok(Changes {
            show_reminder,
            posts: Some(Posts {
                title_edits,
                language: form.language.clone(),
                template: form.post_template.clone(),
                content_warning: form.content_warning.clone(),
            }),
            header: Some(form.header_url.clone()),
            profile: Some(Profile {
                name: form.display_name.clone(),
                description: form.display_description.clone(),
                icon: form.icon_url.clone(),
            }),
            https_listen_url: Some(form.https_listen_url.clone()),
            approval: Some(approval),
            on_end: Some(on_end),
        })
    }
}

/// `POST /dashboard/streams/{handle}/settings`
pub async fn stream_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    handle: web::Path<String>,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse> {
    let (_, user) = checked(&req, &state, &form.csrf).await?;
    let mut stream = own_stream(&state, &user, &handle).await?;
    let changes = Changes::try_from(&*form)?;
    let (config, urls, now) = (state.config.clone(), state.urls.clone(), state.clock.now());
    state
        .db
        .write(move |c| changes.apply(c, &mut stream, &config, &urls, now))
        .await?;
    Ok(see_other(state.urls.dashboard()))
}

/// Approve or reject a pending follower.
#[derive(Debug, Deserialize)]
pub struct FollowerForm {
    #[serde(default)]
    csrf: String,
    actor: String,
    decision: String,
}

/// `POST /dashboard/streams/{handle}/followers`
pub async fn decide_follower(
    req: HttpRequest,
    state: web::Data<AppState>,
    handle: web::Path<String>,
    form: web::Form<FollowerForm>,
) -> Result<HttpResponse> {
    let (_, user) = checked(&req, &state, &form.csrf).await?;
    let stream = own_stream(&state, &user, &handle).await?;
    let decision = match form.decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        other => {
            return Err(Error::Invalid(format!(
                "decision is approve or reject, not {other:?}"
            )));
        }
    };
    let (urls, now, actor) = (state.urls.clone(), state.clock.now(), form.actor.clone());
    state
        .db
        .write(move |c| follows::decide(c, &stream, &actor, decision, &urls, now))
        .await?;
    Ok(see_other(state.urls.dashboard()))
}

/// A time as the dashboard shows it (UTC, to the minute).
fn time(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// The token's last request, for people.
fn last_exchange(t: &YpToken) -> Option<Exchange> {
    Some(Exchange {
        at: time(t.last_request_at?),
        action: t.last_action.clone()?,
        ok: t.last_ok?,
        message: t.last_message.clone().unwrap_or_default(),
    })
}

/// The token's last refusal.
fn refused_exchange(t: &YpToken) -> Option<Exchange> {
    Some(Exchange {
        at: time(t.refused_at?),
        action: t.refused_action.clone()?,
        ok: false,
        message: t.refused_message.clone().unwrap_or_default(),
    })
}

/// `GET /dashboard/tokens/{id}`: what Icecast last did with one of the broadcaster's YP URLs,
/// as JSON, for the new-URL panel's "waiting for Icecast" line (`state`: `waiting`, `ok` or
/// `refused`, with Icecast's `message`).
pub async fn token_status(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse> {
    let Some((_, user)) = session(&req, &state).await? else {
        return Err(Error::Unauthorized("sign in first".to_owned()));
    };
    let (owner, id) = (user.id, id.into_inner());
    let token = state
        .db
        .read(move |c| YpToken::list_for_user(c, owner))
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| Error::NotFound(format!("YP URL {id}")))?;
    let body = match last_exchange(&token) {
        None => serde_json::json!({ "state": "waiting" }),
        Some(x) => serde_json::json!({
            "state": if x.ok { "ok" } else { "refused" },
            "action": x.action,
            "message": x.message,
            "at": x.at,
        }),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

/// The schedule form of a stream.
#[derive(Debug, Deserialize)]
pub struct ShowForm {
    #[serde(default)]
    csrf: String,
    title: String,
    #[serde(default)]
    description: String,
    /// `2026-12-10T20:00`, as `<input type="datetime-local">` sends it.
    start: String,
    duration_minutes: String,
    time_zone: String,
    /// `once` or `weekly`.
    repeat: String,
    /// Skipped dates, comma-separated.
    #[serde(default)]
    exceptions: String,
}

/// `POST /dashboard/streams/{handle}/shows`
pub async fn schedule_show(
    req: HttpRequest,
    state: web::Data<AppState>,
    handle: web::Path<String>,
    form: web::Form<ShowForm>,
) -> Result<HttpResponse> {
    let (_, user) = checked(&req, &state, &form.csrf).await?;
    let stream = own_stream(&state, &user, &handle).await?;
    let form = form.into_inner();
    let duration = form.duration_minutes.trim().parse::<i64>().map_err(|_| {
        Error::Invalid(format!(
            "the duration is a number of minutes, not {:?}",
            form.duration_minutes
        ))
    })?;
    let weekly = match form.repeat.as_str() {
        "weekly" => true,
        "once" => false,
        other => {
            return Err(Error::Invalid(format!(
                "repeat is once or weekly, not {other:?}"
            )));
        }
    };
    let input = shows::ShowInput {
        title: form.title,
        description: form.description,
        start: form.start,
        end: String::new(),
        duration_minutes: Some(duration),
        time_zone: form.time_zone,
        weekly,
        exceptions: form.exceptions.split(',').map(str::to_owned).collect(),
    };
    let (urls, now) = (state.urls.clone(), state.clock.now());
    state
        .db
        .write(move |c| shows::add(c, &stream, &input, &urls, now).map(drop))
        .await?;
    Ok(see_other(state.urls.dashboard()))
}

/// `POST /dashboard/shows/{id}/cancel`
pub async fn cancel_show(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse> {
    let (_, user) = checked(&req, &state, &form.csrf).await?;
    let id = id.into_inner();
    let owner = user.id;
    let stream = state
        .db
        .read(move |c| {
            let show = Show::find(c, id)?;
            let stream = match show {
                Some(s) => Stream::find(c, s.stream_id)?,
                None => None,
            };
            Ok(stream.filter(|s| s.owner_id == owner))
        })
        .await?
        .ok_or_else(|| Error::NotFound(format!("show {id}")))?;
    let (urls, now) = (state.urls.clone(), state.clock.now());
    state
        .db
        .write(move |c| shows::cancel(c, &stream, id, &urls, now))
        .await?;
    Ok(see_other(state.urls.dashboard()))
}
