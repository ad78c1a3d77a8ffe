//! Sign-in and the broadcaster's dashboard: streams with status and followers (approve or
//! reject), recent deliveries, YP URLs (create, shown once with the `<directory>` block; revoke),
//! stream settings. Every form carries the session's CSRF token; a broadcaster reaches only
//! their own streams and tokens.

use actix_web::{
    HttpRequest, HttpResponse,
    cookie::{Cookie, SameSite, time::Duration as CookieAge},
    http::header,
    web,
};
use serde::Deserialize;

use super::pages::html;
use crate::{
    accounts,
    db::models::{Delivery, Follower, OnEnd, Session, Stream, User, YpToken},
    error::{Error, Result},
    federation::follows,
    signin::{self, LOGIN_COOKIE, SESSION_COOKIE},
    state::AppState,
    streams::{self, icecast_directory_block, settings},
    views::{Card, Dashboard, Layout, Login, NewToken, StreamPanel, TokenRow},
};

pub(super) fn layout(state: &AppState) -> Layout {
    Layout {
        site: state.urls.authority(),
    }
}

pub(super) fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// A cookie as this instance sets them: HttpOnly, SameSite=Lax, Secure over https.
fn cookie(state: &AppState, name: &'static str, value: String, age: CookieAge) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.urls.home().scheme() == "https")
        .max_age(age)
        .finish()
}

/// The signed-in session, if the request carries a valid one.
pub(super) async fn session(
    req: &HttpRequest,
    state: &AppState,
) -> Result<Option<(Session, User)>> {
    match req.cookie(SESSION_COOKIE) {
        Some(c) => signin::find(&state.db, c.value(), state.clock.now()).await,
        None => Ok(None),
    }
}

/// The session, and that the form came from one of its pages.
pub(super) async fn checked(
    req: &HttpRequest,
    state: &AppState,
    csrf: &str,
) -> Result<(Session, User)> {
    let Some((session, user)) = session(req, state).await? else {
        return Err(Error::Unauthorized("sign in first".to_owned()));
    };
    if !signin::same(&session.csrf, csrf) {
        return Err(Error::Forbidden(
            "this form is stale or did not come from this site; reload the page".to_owned(),
        ));
    }
    Ok((session, user))
}

/// `GET /login`
pub async fn login_form(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    if session(&req, &state).await?.is_some() {
        return Ok(see_other("/dashboard"));
    }
    login_page(&state, String::new(), None, actix_web::http::StatusCode::OK)
}

fn login_page(
    state: &AppState,
    name: String,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse> {
    let csrf = accounts::random_alphanumeric(32);
    let mut res = html(&Login {
        layout: layout(state),
        csrf: csrf.clone(),
        name,
        error,
    })?;
    *res.status_mut() = status;
    res.add_cookie(&cookie(state, LOGIN_COOKIE, csrf, CookieAge::hours(1)))
        .map_err(|e| Error::Render(e.to_string()))?;
    Ok(res)
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /login`
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse> {
    let form = form.into_inner();
    let expected = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_owned());
    if !expected.is_some_and(|e| signin::same(&e, &form.csrf)) {
        return Err(Error::Forbidden(
            "this form is stale or did not come from this site; reload the page".to_owned(),
        ));
    }
    let name = form.name.trim().to_ascii_lowercase();
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let keys = [format!("name:{name}"), format!("ip:{address}")];
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    if !state.attempts.allowed(&keys) {
        return login_page(
            &state,
            name,
            Some("Too many failed attempts; wait a quarter of an hour.".to_owned()),
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let Some(user) = signin::check_password(&state.db, &name, &form.password).await? else {
        state.attempts.failed(&keys);
        return login_page(
            &state,
            name,
            Some("That name and password do not match an account.".to_owned()),
            actix_web::http::StatusCode::UNAUTHORIZED,
        );
    };
    state.attempts.succeeded(keys[0]);
    let (secret, _) = signin::start(&state.db, user.id, state.clock.now()).await?;
    let age = CookieAge::days(signin::SESSION_LIFETIME.num_days());
    let mut res = see_other("/dashboard");
    res.add_cookie(&cookie(&state, SESSION_COOKIE, secret, age))
        .map_err(|e| Error::Render(e.to_string()))?;
    tracing::info!(user = user.id, "signed in");
    Ok(res)
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse> {
    checked(&req, &state, &form.csrf).await?;
    if let Some(c) = req.cookie(SESSION_COOKIE) {
        signin::end(&state.db, c.value()).await?;
    }
    let mut res = see_other("/");
    res.add_cookie(&cookie(
        &state,
        SESSION_COOKIE,
        String::new(),
        CookieAge::ZERO,
    ))
    .map_err(|e| Error::Render(e.to_string()))?;
    Ok(res)
}

/// `GET /dashboard`
pub async fn dashboard(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    match session(&req, &state).await? {
        Some((session, user)) => render(&state, &session, &user, None).await,
        None => Ok(see_other("/login")),
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
                panels.push((stream, active, followers));
            }
            let ids: Vec<i64> = panels.iter().map(|(s, _, _)| s.id).collect();
            let deliveries = Delivery::recent_for_streams(c, &ids, 20)?;
            Ok((panels, YpToken::list_for_user(c, owner)?, deliveries))
        })
        .await?;
    let time = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M").to_string();
    let streams = streams
        .into_iter()
        .map(|(stream, active, followers)| {
            let waiting: Vec<String> = followers
                .iter()
                .filter(|f| f.state == crate::db::models::FollowerState::Pending)
                .map(|f| f.actor_id.clone())
                .collect();
            StreamPanel {
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
            }
        })
        .collect();
    let tokens = tokens
        .into_iter()
        .map(|t| TokenRow {
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
        layout: layout(state),
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
    let (owner, label, now) = (user.id, form.label.clone(), state.clock.now());
    let (token, secret) = state
        .db
        .write(move |c| accounts::create_token(c, owner, &label, now))
        .await?;
    let url = state.urls.yp(&secret);
    let new = NewToken {
        label: token.label,
        block: icecast_directory_block(&url),
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
        .write(move |c| {
            // Another account's token is "not found", as if it did not exist.
            if !YpToken::list_for_user(c, owner)?.iter().any(|t| t.id == id) {
                return Err(Error::NotFound(format!("token {id}")));
            }
            YpToken::revoke(c, id, now).map(|_| ())
        })
        .await?;
    Ok(see_other("/dashboard"))
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
    let (urls, now) = (state.urls.clone(), state.clock.now());
    let (https, allow_private) = (
        form.https_listen_url.clone(),
        state.config.allow_private_networks,
    );
    let profile = (
        form.display_name.clone(),
        form.display_description.clone(),
        form.icon_url.clone(),
    );
    state
        .db
        .write(move |c| {
            let (name, description, icon) = &profile;
            settings::set_profile(c, &mut stream, name, description, icon, &urls, now)?;
            settings::set_https_listen_url(c, &mut stream, &https, allow_private)?;
            settings::set_approval(c, &mut stream, approval, &urls, now)?;
            settings::set_on_end(c, &mut stream, on_end)
        })
        .await?;
    Ok(see_other("/dashboard"))
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
    let (urls, now) = (state.urls.clone(), state.clock.now());
    let (actor, approve) = match form.decision.as_str() {
        "approve" => (form.actor.clone(), true),
        "reject" => (form.actor.clone(), false),
        other => {
            return Err(Error::Invalid(format!(
                "decision is approve or reject, not {other:?}"
            )));
        }
    };
    state
        .db
        .write(move |c| {
            let follower = Follower::find(c, stream.id, &actor)?
                .ok_or_else(|| Error::NotFound(format!("follower {actor}")))?;
            if approve {
                follows::accept(c, &stream, &follower, &urls, now)
            } else {
                follows::reject(c, &stream, &follower, &urls, now)
            }
        })
        .await?;
    Ok(see_other("/dashboard"))
}
