//! `/api/v1/admin/…`: the federated catalog's administration as JSON, the same operations as
//! `onair remote`, `onair relay` and `onair block`. Every request authenticates as an admin
//! account with HTTP Basic (`Authorization: Basic base64(name:password)`); use it over https.

use activitypub_federation::config::Data;
use actix_web::{HttpRequest, HttpResponse, http::header, web};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde::Deserialize;
use serde_json::json;

use crate::{
    blocks,
    db::models::{Block, Subscription, User},
    error::{Error, Result},
    federation::{
        relays,
        subscribe::{self, Target},
    },
    signin,
    state::AppState,
};

/// What a POST or DELETE names.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    target: String,
}

/// Checks the request's Basic credentials against an enabled admin account, under the same
/// failed-attempt limits as the sign-in form (`signin::attempt`).
async fn admin(req: &HttpRequest, state: &AppState) -> Result<User> {
    let user = basic_user(req, state, "admin credentials required (HTTP Basic)").await?;
    if !user.is_admin {
        return Err(Error::Forbidden(format!("{} is not an admin", user.name)));
    }
    Ok(user)
}

/// The enabled account whose HTTP Basic credentials the request carries, under the sign-in
/// limits; `required` is the 401's message.
pub(super) async fn basic_user(
    req: &HttpRequest,
    state: &AppState,
    required: &str,
) -> Result<User> {
    let refused = || Error::Unauthorized(required.to_owned());
    let (name, password) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| BASE64.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(n, p)| (n.to_owned(), p.to_owned())))
        .ok_or_else(refused)?;
    let client = super::client::of(req, state);
    let user = match signin::attempt(&state.db, &name, &password, client, state.clock.now()).await?
    {
        signin::Attempt::Valid(user) => user,
        signin::Attempt::Wrong => {
            tracing::info!(%client, "admin API: wrong credentials");
            return Err(refused());
        }
        signin::Attempt::Limited => {
            tracing::warn!(%client, "admin API refused: too many failures");
            return Err(Error::LimitReached(
                "too many failed attempts; wait a quarter of an hour".to_owned(),
            ));
        }
    };
    Ok(user)
}

fn subscription_json(s: &Subscription) -> serde_json::Value {
    json!({ "actor": s.actor_id, "kind": s.kind, "state": s.state, "since": s.created_at.and_utc() })
}

/// Subscriptions as the API lists them.
fn items(subs: &[Subscription]) -> HttpResponse {
    let items: Vec<_> = subs.iter().map(subscription_json).collect();
    HttpResponse::Ok().json(json!({ "items": items }))
}

/// `GET /api/v1/admin/remote`: the remote streams followed.
pub async fn list_remote(req: HttpRequest, data: Data<AppState>) -> Result<HttpResponse> {
    admin(&req, &data).await?;
    Ok(items(&subscribe::list(&data).await?))
}

/// `GET /api/v1/admin/relays`: the relays subscribed to.
pub async fn list_relays(req: HttpRequest, data: Data<AppState>) -> Result<HttpResponse> {
    admin(&req, &data).await?;
    Ok(items(&relays::list(&data).await?))
}

/// `POST /api/v1/admin/remote {"target": "@handle@host"}`: follow a remote stream.
pub async fn follow(
    req: HttpRequest,
    data: Data<AppState>,
    body: web::Json<TargetBody>,
) -> Result<HttpResponse> {
    admin(&req, &data).await?;
    let sub = subscribe::follow(&data, &Target::parse(&body.target)?).await?;
    Ok(HttpResponse::Accepted().json(subscription_json(&sub)))
}

/// `DELETE /api/v1/admin/remote {"target": …}`: unfollow it.
pub async fn unfollow(
    req: HttpRequest,
    data: Data<AppState>,
    body: web::Json<TargetBody>,
) -> Result<HttpResponse> {
    admin(&req, &data).await?;
    match subscribe::unfollow(&data, &Target::parse(&body.target)?).await? {
        true => Ok(HttpResponse::NoContent().finish()),
        false => Err(Error::NotFound(format!(
            "a subscription to {}",
            body.target
        ))),
    }
}

/// `POST /api/v1/admin/relays {"target": "https://relay.example/inbox"}`: subscribe.
pub async fn add_relay(
    req: HttpRequest,
    data: Data<AppState>,
    body: web::Json<TargetBody>,
) -> Result<HttpResponse> {
    admin(&req, &data).await?;
    let sub = relays::subscribe(&data, &relays::parse_url(&body.target)?).await?;
    Ok(HttpResponse::Accepted().json(subscription_json(&sub)))
}

/// `DELETE /api/v1/admin/relays {"target": …}`: unsubscribe.
pub async fn remove_relay(
    req: HttpRequest,
    data: Data<AppState>,
    body: web::Json<TargetBody>,
) -> Result<HttpResponse> {
    admin(&req, &data).await?;
    match relays::unsubscribe(&data, &relays::parse_url(&body.target)?).await? {
        true => Ok(HttpResponse::NoContent().finish()),
        false => Err(Error::NotFound(format!("a relay {}", body.target))),
    }
}

/// `GET /api/v1/admin/blocks`
pub async fn list_blocks(req: HttpRequest, data: Data<AppState>) -> Result<HttpResponse> {
    admin(&req, &data).await?;
    let items: Vec<_> = data
        .db
        .read(Block::list)
        .await?
        .iter()
        .map(|b| json!({ "kind": b.kind, "value": b.value, "since": b.created_at.and_utc() }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// `POST /api/v1/admin/blocks {"target": "spam.example"}`: block, removing what we hold of it.
pub async fn add_block(
    req: HttpRequest,
    data: Data<AppState>,
    body: web::Json<TargetBody>,
) -> Result<HttpResponse> {
    admin(&req, &data).await?;
    let added = blocks::add(&data.blocks, &body.target, data.clock.now()).await?;
    let mut answer = if added.new {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(answer.json(json!({ "kind": added.kind.as_str(), "value": added.value })))
}

/// `DELETE /api/v1/admin/blocks {"target": …}`: lift a block.
pub async fn remove_block(
    req: HttpRequest,
    data: Data<AppState>,
    body: web::Json<TargetBody>,
) -> Result<HttpResponse> {
    admin(&req, &data).await?;
    if !blocks::remove(&data.blocks, &body.target).await?.1 {
        return Err(Error::NotFound(format!("a block of {}", body.target)));
    }
    Ok(HttpResponse::NoContent().finish())
}
