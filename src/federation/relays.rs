//! ActivityPub relays, both kinds FEP-ae0c describes. A Mastodon-kind relay is named by its
//! inbox (`…/inbox`): we send it a `Follow` of the Public collection, it forwards what
//! subscribers send it, signed by itself. A LitePub-kind relay is an actor: we follow it, it
//! follows us back, and it `Announce`s what subscribers send it. Either way our broadcasts'
//! activities also go to its inbox, and what arrives through it is taken only after the object
//! was fetched from its origin ([`crate::catalog::relayed`]).

use activitypub_federation::{
    config::Data,
    fetch::object_id::ObjectId,
    traits::{Actor as _, Object as _},
};
use url::Url;

use super::{
    activities::{Activity, FollowRef, Kind},
    remote_actor::RemoteActor,
    subscribe::{queue_follow, queue_unfollow},
    vocab::PUBLIC,
};
use crate::{
    db::models::{Subscription, SubscriptionKind, SubscriptionState},
    delivery::enqueue_from_instance,
    error::{Error, Result},
    state::AppState,
};

/// Subscribes the instance actor to the relay at `url` (an inbox URL for the Mastodon kind, the
/// relay's actor for the LitePub kind). Pending until the relay accepts.
pub async fn subscribe(data: &Data<AppState>, url: &Url) -> Result<Subscription> {
    let (kind, actor_id, inbox, object) = if url.path().ends_with("/inbox") {
        (
            SubscriptionKind::Relay,
            url.clone(),
            url.clone(),
            PUBLIC.to_owned(),
        )
    } else {
        let actor = ObjectId::<RemoteActor>::from(url.clone())
            .dereference_forced(data)
            .await
            .map_err(|e| Error::Remote(format!("could not fetch the relay {url}: {e}")))?;
        let inbox = actor
            .shared_inbox()
            .cloned()
            .unwrap_or_else(|| actor.inbox());
        (
            SubscriptionKind::LitePubRelay,
            actor.id().clone(),
            inbox,
            actor.id().to_string(),
        )
    };
    data.blocks.check(&actor_id).await?;
    let (urls, now) = (data.urls.clone(), data.clock.now());
    let sub = data
        .db
        .write(move |c| {
            let follow_id = queue_follow(c, &urls, &object, inbox.clone(), now)?;
            Subscription::upsert(
                c,
                actor_id.as_str(),
                inbox.as_str(),
                kind,
                follow_id.as_str(),
                now,
            )?;
            Subscription::find(c, actor_id.as_str())?
                .ok_or_else(|| Error::NotFound(actor_id.to_string()))
        })
        .await?;
    tracing::info!(relay = %sub.actor_id, kind = kind.as_str(), "relay subscription sent");
    Ok(sub)
}

/// Unsubscribes from a relay: `Undo` of our Follow. Returns whether there was a subscription.
pub async fn unsubscribe(data: &Data<AppState>, url: &Url) -> Result<bool> {
    let (urls, now, key) = (data.urls.clone(), data.clock.now(), url.to_string());
    data.db
        .write(move |c| {
            let Some(sub) = Subscription::find(c, &key)?.filter(|s| s.kind.is_relay()) else {
                return Ok(false);
            };
            Subscription::delete(c, &sub.actor_id)?;
            let object = if sub.kind == SubscriptionKind::Relay {
                PUBLIC.to_owned()
            } else {
                sub.actor_id.clone()
            };
            queue_unfollow(c, &urls, &sub, &object, now)?;
            Ok(true)
        })
        .await
}

/// Whether `signer` speaks for a relay we subscribed to (same host as the subscription); only
/// one that accepted us, unless `pending_too`.
pub async fn is_relay(data: &Data<AppState>, signer: &Url, pending_too: bool) -> Result<bool> {
    let relays = data
        .db
        .read(move |c| {
            let all = Subscription::list(c)?;
            Ok(all
                .into_iter()
                .filter(|s| {
                    s.kind.is_relay() && (pending_too || s.state == SubscriptionState::Accepted)
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(relays
        .iter()
        .any(|r| Url::parse(&r.actor_id).is_ok_and(|u| u.authority() == signer.authority())))
}

/// A LitePub relay following the instance actor back: accepted (signed by the instance actor);
/// anyone else's Follow of the instance actor is ignored.
pub async fn follow_back(
    data: &Data<AppState>,
    follower: &RemoteActor,
    follow_id: &Url,
) -> Result<()> {
    if !is_relay(data, follower.id(), true).await? {
        tracing::info!(actor = %follower.id(), "Follow of the instance actor ignored");
        return Ok(());
    }
    let (urls, now) = (data.urls.clone(), data.clock.now());
    let follow = FollowRef::new(
        Some(follow_id.to_string()),
        follower.id(),
        urls.instance_actor(),
    );
    let accept = Activity::answer(Kind::Accept, urls.instance_actor(), follow, &urls);
    let inbox = follower
        .shared_inbox()
        .cloned()
        .unwrap_or_else(|| follower.inbox());
    data.db
        .write(move |c| enqueue_from_instance(c, &accept, inbox, now))
        .await
}

/// A relay took back its follow of the instance actor. For a LitePub relay that follow is its
/// half of the subscription, so the subscription ends (rejected: nothing more is sent to it,
/// and the admin page says so); a Mastodon-kind relay's follow-back was never part of it.
pub async fn follow_back_undone(data: &Data<AppState>, actor: &Url) -> Result<()> {
    let (id, now) = (actor.to_string(), data.clock.now());
    let ended = data
        .db
        .write(move |c| {
            let Some(sub) = Subscription::find(c, &id)? else {
                return Ok(false);
            };
            if sub.kind != SubscriptionKind::LitePubRelay {
                return Ok(false);
            }
            Subscription::set_state(c, sub.id, SubscriptionState::Rejected, now)?;
            Ok(true)
        })
        .await?;
    tracing::info!(%actor, ended, "follow of the instance actor undone");
    Ok(())
}

/// A relay as an admin names it (its inbox or actor URL), parsed the same for every front end.
pub fn parse_url(input: &str) -> Result<Url> {
    let input = input.trim();
    Url::parse(input).map_err(|e| Error::Invalid(format!("{input:?} is not a relay URL: {e}")))
}

/// The relays subscribed to, both kinds, for every front end's list.
pub async fn list(state: &AppState) -> Result<Vec<Subscription>> {
    Ok(super::subscribe::list_with_relays(state).await?.1)
}
