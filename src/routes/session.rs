//! Signing in and out, and what every signed-in page shares: the session cookie, the CSRF check
//! of each form, the page frame and the redirect after a form.

use actix_web::{
    HttpRequest, HttpResponse,
    cookie::{Cookie, SameSite, time::Duration as CookieAge},
    http::header,
    web,
};
use serde::Deserialize;
use url::Url;

use super::pages::html;
use crate::{
    accounts,
    db::models::{Session, User},
    error::{Error, Result},
    signin::{self, Attempt, LOGIN_COOKIE, SESSION_COOKIE},
    state::AppState,
    views::{Layout, Login},
};

pub(super) fn layout(state: &AppState) -> Layout {
    Layout::new(&state.urls)
}

/// The answer to a form: on to one of our pages (by its path, as browsers resolve it).
pub(super) fn see_other(to: Url) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, &to[url::Position::BeforePath..]))
        .finish()
}

/// A cookie as this instance sets them: HttpOnly, SameSite=Lax, Secure over https.
fn cookie(state: &AppState, name: &'static str, value: String, age: CookieAge) -> Cookie<'static> {
    Cookie::build(name, value)
        .path(state.urls.home().path().to_owned())
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

/// A page that needs a session, for someone without one: sign in, then back to it.
pub(super) fn sign_in_first(req: &HttpRequest, state: &AppState) -> HttpResponse {
    let asked = match req.uri().query() {
        Some(q) => format!("{}?{q}", req.path()),
        None => req.path().to_owned(),
    };
    // The dashboard is where a sign-in goes anyway.
    if asked == state.urls.dashboard().path() {
        return see_other(state.urls.login());
    }
    see_other(state.urls.login_then(&asked))
}

/// `next` when it is a path on this site: `/admin?follow=…` yes; `//evil.example`,
/// `/\evil.example`, `https://…` or anything with control characters no (no open redirect).
fn local_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 2000
        && !next.chars().any(char::is_control);
    ok.then_some(next)
}

/// Where a sign-in goes: the page that asked for it, else the dashboard.
fn after_sign_in(state: &AppState, next: Option<&str>) -> HttpResponse {
    match next.and_then(local_path) {
        Some(path) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, path))
            .finish(),
        None => see_other(state.urls.dashboard()),
    }
}

/// `?next=` of the sign-in form.
#[derive(Debug, Default, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// `GET /login`
pub async fn login_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<Next>,
) -> Result<HttpResponse> {
    let next = query.into_inner().next;
    if session(&req, &state).await?.is_some() {
        return Ok(after_sign_in(&state, next.as_deref()));
    }
    let next = next
        .as_deref()
        .and_then(local_path)
        .unwrap_or("")
        .to_owned();
    login_page(
        &state,
        String::new(),
        next,
        None,
        actix_web::http::StatusCode::OK,
    )
}

fn login_page(
    state: &AppState,
    name: String,
    next: String,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse> {
    let csrf = accounts::random_alphanumeric(32);
    let mut res = html(&Login {
        layout: layout(state),
        csrf: csrf.clone(),
        next,
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
    /// The page that asked for the sign-in.
    #[serde(default)]
    next: String,
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
    let client = super::client::of(&req, &state);
    let now = state.clock.now();
    let user = match signin::attempt(&state.db, &name, &form.password, client, now).await? {
        Attempt::Valid(user) => user,
        Attempt::Limited => {
            tracing::warn!(%client, "sign-in refused: too many failures");
            return login_page(
                &state,
                name,
                form.next.clone(),
                Some("Too many failed attempts; wait a quarter of an hour.".to_owned()),
                actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            );
        }
        Attempt::Wrong => {
            tracing::info!(%client, "sign-in failed");
            return login_page(
                &state,
                name,
                form.next.clone(),
                Some("That name and password do not match an account.".to_owned()),
                actix_web::http::StatusCode::UNAUTHORIZED,
            );
        }
    };
    let (secret, _) = signin::start(&state.db, user.id, state.clock.now()).await?;
    let age = CookieAge::days(signin::SESSION_LIFETIME.num_days());
    let mut res = after_sign_in(&state, Some(&form.next));
    res.add_cookie(&cookie(&state, SESSION_COOKIE, secret, age))
        .map_err(|e| Error::Render(e.to_string()))?;
    tracing::info!(user = user.id, %client, "signed in");
    Ok(res)
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
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
    let mut res = see_other(state.urls.home());
    res.add_cookie(&cookie(
        &state,
        SESSION_COOKIE,
        String::new(),
        CookieAge::ZERO,
    ))
    .map_err(|e| Error::Render(e.to_string()))?;
    Ok(res)
}
