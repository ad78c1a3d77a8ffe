//! `/admin`: the instance's administration in the browser, for admin accounts: accounts, remote
//! follows, relays, blocks and the delivery queue. The same operations as the CLI and the admin
//! JSON API; every form carries the session's CSRF token.

use activitypub_federation::config::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{
    dashboard::{checked, layout, see_other, session},
    pages::html,
};
use crate::{
    accounts::{self, UserName},
    blocks,
    db::models::{Block, Delivery, Subscription, User},
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
pub async fn page(req: HttpRequest, data: Data<AppState>) -> Result<HttpResponse> {
    let Some((session, user)) = session(&req, &data).await? else {
        return Ok(see_other("/login"));
    };
    if !user.is_admin {
        return Err(Error::Forbidden(format!("{} is not an admin", user.name)));
    }
    render(&data, session.csrf, None).await
}

async fn render(state: &AppState, csrf: String, note: Option<String>) -> Result<HttpResponse> {
    let (users, subs, blocks, queue) = state
        .db
        .read(|c| {
            Ok((
                User::list(c)?,
                Subscription::list(c)?,
                Block::list(c)?,
                Delivery::count_by_state(c)?,
            ))
        })
        .await?;
    let (relays, remote): (Vec<_>, Vec<_>) = subs.into_iter().partition(|s| s.kind.is_relay());
    let pair = |s: Subscription| (s.actor_id, s.state.to_string());
    html(&Admin {
        layout: layout(state),
        csrf,
        note,
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
    })
}

/// A form naming something.
#[derive(Debug, Deserialize)]
pub struct TargetForm {
    #[serde(default)]
    csrf: String,
    target: String,
}

/// `POST /admin/{remote,relays,blocks}` and their `/remove`: one handler, the path says what.
pub async fn act(
    req: HttpRequest,
    data: Data<AppState>,
    form: actix_web::web::Form<TargetForm>,
) -> Result<HttpResponse> {
    admin_session(&req, &data, &form.csrf).await?;
    let target = form.target.trim();
    match req.path() {
        "/admin/remote" => {
            subscribe::follow(&data, &Target::parse(target)?).await?;
        }
        "/admin/remote/remove" => {
            subscribe::unfollow(&data, &Target::parse(target)?).await?;
        }
        "/admin/relays" | "/admin/relays/remove" => {
            let url = url::Url::parse(target)
                .map_err(|e| Error::Invalid(format!("{target:?} is not a URL: {e}")))?;
            if req.path().ends_with("/remove") {
                relays::unsubscribe(&data, &url).await?;
            } else {
                relays::subscribe(&data, &url).await?;
            }
        }
        "/admin/blocks" => {
            let (kind, value) = blocks::parse(target)?;
            let now = data.clock.now();
            data.db
                .write(move |c| blocks::block(c, kind, &value, now))
                .await?;
            data.blocks.invalidate();
        }
        "/admin/blocks/remove" => {
            let (kind, value) = blocks::parse(target)?;
            data.db
                .write(move |c| Block::delete(c, kind, &value))
                .await?;
            data.blocks.invalidate();
        }
        other => return Err(Error::NotFound(other.to_owned())),
    }
    Ok(see_other("/admin"))
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
    form: actix_web::web::Form<UserForm>,
) -> Result<HttpResponse> {
    admin_session(&req, &data, &form.csrf).await?;
    let name = UserName::parse(&form.name)?;
    let admin = form.role == "admin";
    let (password, now, shown) = (
        accounts::generate_password(),
        data.clock.now(),
        name.as_str().to_owned(),
    );
    let secret = password.clone();
    data.db
        .write(move |c| accounts::create_user(c, &name, &secret, admin, now).map(|_| ()))
        .await?;
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
    form: actix_web::web::Form<NameForm>,
) -> Result<HttpResponse> {
    let admin = admin_session(&req, &data, &form.csrf).await?;
    if admin.name == form.name {
        return Err(Error::Invalid(
            "you cannot disable your own account here".to_owned(),
        ));
    }
    let (name, now) = (form.name.clone(), data.clock.now());
    data.db.write(move |c| User::disable(c, &name, now)).await?;
    Ok(see_other("/admin"))
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
    form: actix_web::web::Form<QueueForm>,
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
    Ok(see_other("/admin"))
}
