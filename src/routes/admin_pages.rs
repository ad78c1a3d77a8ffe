//! `/admin`: the instance's administration in the browser, for admin accounts: accounts, remote
//! follows, relays, blocks and the delivery queue. The same operations as the CLI and the admin
//! JSON API; every form carries the session's CSRF token.

use activitypub_federation::config::Data;
use actix_web::{HttpRequest, HttpResponse, web::Form};
use serde::Deserialize;

use super::{
    pages::html,
    session::{checked, see_other, session, sign_in_first},
};
use crate::{
    accounts::{self, UserName},
    blocks,
    db::models::{Block, Delivery, Subscription, User},
    delivery,
    error::{Error, Result},
    federation::{
        relays,
        subscribe::{self, Target},
    },
    state::AppState,
    views::Admin,
};

/// The signed-in admin, or why not.
async fn admin_session(req: &HttpRequest, state: &AppState, csrf: &str) -> Result<User> {
    let (_, user) = checked(req, state, csrf).await?;
    if !user.is_admin {
        return Err(Error::Forbidden(format!("{} is not an admin", user.name)));
    }
    Ok(user)
}

/// `GET /admin`
pub async fn page(
    req: HttpRequest,
    data: Data<AppState>,
    query: actix_web::web::Query<Prefill>,
) -> Result<HttpResponse> {
    let Some((session, user)) = session(&req, &data).await? else {
        return Ok(sign_in_first(&req, &data));
    };
    if !user.is_admin {
        return Err(Error::Forbidden(format!("{} is not an admin", user.name)));
    }
    let follow = query
        .into_inner()
        .follow
        .map(|f| crate::text::text(&f, 300));
    render_with(&data, session.csrf, None, follow.unwrap_or_default()).await
}

/// `?follow=`: the remote stream the follow form is filled with (from
/// `/authorize_interaction`, the subscribe template our WebFinger advertises).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Prefill {
    follow: Option<String>,
}

/// `GET /authorize_interaction?uri=…`: someone of this instance wants to follow a remote stream
/// (a "follow from your server" button elsewhere sent them): the admin page, its follow form
/// filled in, for an admin to confirm. Nothing is followed without that POST.
pub async fn authorize_interaction(
    data: Data<AppState>,
    query: actix_web::web::Query<Interaction>,
) -> Result<HttpResponse> {
    let uri = crate::text::text(&query.into_inner().uri, 300);
    if uri.is_empty() {
        return Err(Error::Invalid(
            "uri must name the account to follow (@handle@host or its URL)".to_owned(),
        ));
    }
    let mut target = data.urls.admin();
    target.query_pairs_mut().append_pair("follow", &uri);
    Ok(see_other(target))
}

/// `?uri=` of `/authorize_interaction`.
#[derive(Debug, serde::Deserialize)]
pub struct Interaction {
    #[serde(default)]
    uri: String,
}

async fn render(state: &AppState, csrf: String, note: Option<String>) -> Result<HttpResponse> {
    render_with(state, csrf, note, String::new()).await
}

async fn render_with(
    state: &AppState,
    csrf: String,
    note: Option<String>,
    follow: String,
) -> Result<HttpResponse> {
    let now = state.clock.now();
    let (users, blocks, queue, breakers) = state
        .db
        .read(move |c| {
            Ok((
                User::list(c)?,
                Block::list(c)?,
                Delivery::count_by_state(c)?,
                delivery::open_hosts(c, now)?,
            ))
        })
        .await?;
    let (remote, relays) = subscribe::list_with_relays(state).await?;
    let pair = |s: Subscription| (s.actor_id, s.state.to_string());
    html(&Admin {
        layout: crate::views::Layout::signed_in(&state.urls, true),
        csrf,
        note,
        follow,
        users: users
            .into_iter()
            .map(|u| {
                let role = if u.is_admin { "admin" } else { "broadcaster" };
                let since = u.created_at.format("%Y-%m-%d").to_string();
                (u.name, role, since, u.disabled_at.is_some())
            })
            .collect(),
        remote: remote.into_iter().map(pair).collect(),
        relays: relays.into_iter().map(pair).collect(),
        blocks: blocks.into_iter().map(|b| (b.kind, b.value)).collect(),
        queue,
        breakers,
    })
}

/// A form naming something.
#[derive(Debug, Deserialize)]
pub struct TargetForm {
    #[serde(default)]
    csrf: String,
    target: String,
}

/// `POST /admin/remote`: follow a remote stream.
pub async fn follow_remote(
    req: HttpRequest,
    data: Data<AppState>,
    form: Form<TargetForm>,
) -> Result<HttpResponse> {
    admin_session(&req, &data, &form.csrf).await?;
    subscribe::follow(&data, &Target::parse(&form.target)?).await?;
    Ok(back(&data))
}

/// `POST /admin/remote/remove`: unfollow it.
pub async fn unfollow_remote(
    req: HttpRequest,
    data: Data<AppState>,
    form: Form<TargetForm>,
) -> Result<HttpResponse> {
    admin_session(&req, &data, &form.csrf).await?;
    subscribe::unfollow(&data, &Target::parse(&form.target)?).await?;
    Ok(back(&data))
}

/// `POST /admin/relays`: subscribe to a relay.
pub async fn add_relay(
    req: HttpRequest,
    data: Data<AppState>,
    form: Form<TargetForm>,
) -> Result<HttpResponse> {
    admin_session(&req, &data, &form.csrf).await?;
    relays::subscribe(&data, &relays::parse_url(&form.target)?).await?;
    Ok(back(&data))
}

/// `POST /admin/relays/remove`: unsubscribe.
pub async fn remove_relay(
    req: HttpRequest,
    data: Data<AppState>,
    form: Form<TargetForm>,
) -> Result<HttpResponse> {
    admin_session(&req, &data, &form.csrf).await?;
    relays::unsubscribe(&data, &relays::parse_url(&form.target)?).await?;
    Ok(back(&data))
}

/// `POST /admin/blocks`: block a domain or actor.
pub async fn add_block(
    req: HttpRequest,
    data: Data<AppState>,
    form: Form<TargetForm>,
) -> Result<HttpResponse> {
    admin_session(&req, &data, &form.csrf).await?;
    blocks::add(&data.blocks, &form.target, data.clock.now()).await?;
    Ok(back(&data))
}

/// `POST /admin/blocks/remove`: lift a block (one that is not there is no error here).
pub async fn remove_block(
    req: HttpRequest,
    data: Data<AppState>,
    form: Form<TargetForm>,
) -> Result<HttpResponse> {
    admin_session(&req, &data, &form.csrf).await?;
    blocks::remove(&data.blocks, &form.target).await?;
    Ok(back(&data))
}

/// Back to the admin page after a form.
fn back(state: &AppState) -> HttpResponse {
    see_other(state.urls.admin())
}

/// The new-account form.
#[derive(Debug, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    name: String,
    role: String,
}

/// `POST /admin/users`: the new account's password is shown once, on the page this answers.
pub async fn create_user(
    req: HttpRequest,
    data: Data<AppState>,
    form: Form<UserForm>,
) -> Result<HttpResponse> {
    admin_session(&req, &data, &form.csrf).await?;
    let name = UserName::parse(&form.name)?;
    let (admin, now) = (form.role == "admin", data.clock.now());
    let (user, password) = data
        .db
        .write(move |c| accounts::new_account(c, &name, None, admin, now))
        .await?;
    let (shown, password) = (user.name, password.unwrap_or_default());
    let csrf = form.csrf.clone();
    let note = format!("Account {shown} created. Its password, shown only now: {password}");
    let mut res = render(&data, csrf, Some(note)).await?;
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// A form naming an account.
#[derive(Debug, Deserialize)]
pub struct NameForm {
    #[serde(default)]
    csrf: String,
    name: String,
}

/// `POST /admin/users/disable`: its YP URLs and sessions stop working at once.
pub async fn disable_user(
    req: HttpRequest,
    data: Data<AppState>,
    form: Form<NameForm>,
) -> Result<HttpResponse> {
    let admin = admin_session(&req, &data, &form.csrf).await?;
    let (name, now) = (form.name.clone(), data.clock.now());
    data.db
        .write(move |c| accounts::disable_user(c, &name, Some(&admin), now))
        .await?;
    Ok(back(&data))
}

/// What to do with the delivery queue.
#[derive(Debug, Deserialize)]
pub struct QueueForm {
    #[serde(default)]
    csrf: String,
    action: String,
}

/// `POST /admin/queue`: retry failed deliveries now, or forget finished ones.
pub async fn queue(
    req: HttpRequest,
    data: Data<AppState>,
    form: Form<QueueForm>,
) -> Result<HttpResponse> {
    admin_session(&req, &data, &form.csrf).await?;
    let now = data.clock.now();
    match form.action.as_str() {
        "retry" => {
            data.db
                .write(move |c| Delivery::retry_failed(c, now))
                .await?
        }
        "purge" => data.db.write(Delivery::purge_finished).await?,
        other => return Err(Error::Invalid(format!("retry or purge, not {other:?}"))),
    };
    Ok(back(&data))
}
