//! The instance actor following remote streams: resolve what the admin typed (`@handle@host`,
//! `acct:`, or the actor's URL), fetch the actor, then record the subscription, its catalog entry
//! and a queued `Follow` in one transaction. Unfollowing queues the `Undo` and drops the entries.

use activitypub_federation::{
    config::Data,
    fetch::{fetch_object_http, webfinger::webfinger_resolve_actor},
    traits::{Actor as _, Object},
};
use serde_json::Value;
use url::Url;

use super::{
    activities::{Activity, FollowRef},
    remote_actor::{ActorJson, RemoteActor},
};
use crate::{
    catalog::remote,
    db::{
        DbConn,
        models::{RemoteStream, Subscription, SubscriptionKind},
    },
    delivery::enqueue_from_instance,
    error::{Error, Result},
    state::AppState,
    urls::Urls,
};

/// Queues the instance actor's `Follow` of `object` to `inbox`, in the caller's transaction;
/// returns the Follow's id (the subscription keeps it, for the Undo).
pub(crate) fn queue_follow(
    c: &mut DbConn,
    urls: &Urls,
    object: &str,
    inbox: Url,
    now: chrono::NaiveDateTime,
) -> Result<Url> {
    let follow = Activity::follow(object, urls);
    enqueue_from_instance(c, &follow, inbox, now)?;
    Ok(follow.id().clone())
}

/// Queues the `Undo` of the Follow behind `sub` (whose object was `object`) to the
/// subscription's inbox, in the caller's transaction.
pub(crate) fn queue_unfollow(
    c: &mut DbConn,
    urls: &Urls,
    sub: &Subscription,
    object: &str,
    now: chrono::NaiveDateTime,
) -> Result<()> {
    let follow = FollowRef::new(Some(sub.follow_id.clone()), urls.instance_actor(), object);
    let inbox = Url::parse(&sub.inbox)
        .map_err(|e| Error::Invalid(format!("stored inbox {}: {e}", sub.inbox)))?;
    enqueue_from_instance(c, &Activity::undo_follow(follow, urls), inbox, now)
}

/// What the admin named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `handle@host`, resolved with WebFinger.
    Account(String),
    /// The actor's id.
    Actor(Url),
}

impl Target {
    /// Reads `@handle@host`, `handle@host`, `acct:handle@host` or an http(s) actor URL.
    pub fn parse(input: &str) -> Result<Self> {
        let input = input.trim();
        if input.starts_with("http://") || input.starts_with("https://") {
            let url = Url::parse(input)
                .map_err(|e| Error::Invalid(format!("{input:?} is not a URL: {e}")))?;
            return Ok(Self::Actor(url));
        }
        let account = input
            .strip_prefix("acct:")
            .unwrap_or(input)
            .trim_start_matches('@');
        match account.split_once('@') {
            Some((handle, host)) if !handle.is_empty() && !host.is_empty() => {
                Ok(Self::Account(account.to_owned()))
            }
            _ => Err(Error::Invalid(format!(
                "{input:?}: give @handle@host, acct:handle@host or the actor's URL"
            ))),
        }
    }
}

/// The actor id a target names (WebFinger for an account).
pub async fn resolve(data: &Data<AppState>, target: &Target) -> Result<Url> {
    match target {
        Target::Actor(url) => Ok(url.clone()),
        Target::Account(account) => {
            let actor: RemoteActor = webfinger_resolve_actor(account, data)
                .await
                .map_err(|e| Error::Remote(format!("could not look up {account}: {e}")))?;
            Ok(actor.id().clone())
        }
    }
}

/// Follows a remote stream actor as the instance actor; returns the subscription (pending until
/// the remote side accepts).
pub async fn follow(data: &Data<AppState>, target: &Target) -> Result<Subscription> {
    let id = resolve(data, target).await?;
    data.blocks.check(&id).await?;
    let document: Value = fetch_object_http(&id, data)
        .await
        .map_err(|e| Error::Remote(format!("could not fetch {id}: {e}")))?
        .object;
    let now = data.clock.now();
    let profile = remote::profile(&document, now)
        .ok_or_else(|| Error::Invalid(format!("{id} is not an actor")))?;
    let json: ActorJson = serde_json::from_value(document)
        .map_err(|e| Error::Invalid(format!("{id} is not an actor we can follow: {e}")))?;
    RemoteActor::verify(&json, &id, data).await?;
    let actor = RemoteActor::from_json(json, data).await?;
    let inbox = actor
        .shared_inbox()
        .cloned()
        .unwrap_or_else(|| actor.inbox());
    let (urls, actor_id) = (data.urls.clone(), actor.id().to_string());
    let subscription = data
        .db
        .write(move |c| {
            RemoteStream::upsert(c, &profile)?;
            let follow_id = queue_follow(c, &urls, &actor_id, inbox, now)?;
            Subscription::upsert(
                c,
                &actor_id,
                actor.inbox().as_str(),
                SubscriptionKind::Stream,
                follow_id.as_str(),
                now,
            )?;
            Subscription::find(c, &actor_id)?.ok_or_else(|| Error::NotFound(actor_id.clone()))
        })
        .await?;
    tracing::info!(actor = %subscription.actor_id, "follow sent");
    Ok(subscription)
}

/// Stops following: `Undo` of our Follow, and the actor's catalog entries go. Returns whether
/// there was a subscription.
pub async fn unfollow(data: &Data<AppState>, target: &Target) -> Result<bool> {
    let id = resolve(data, target).await?;
    let (urls, now) = (data.urls.clone(), data.clock.now());
    let removed = data
        .db
        .write(move |c| {
            let Some(sub) = Subscription::delete(c, id.as_str())? else {
                return Ok(false);
            };
            RemoteStream::delete(c, &sub.actor_id)?;
            queue_unfollow(c, &urls, &sub, &sub.actor_id, now)?;
            Ok(true)
        })
        .await?;
    Ok(removed)
}

/// The remote streams the instance actor follows (not relays), for every front end's list.
pub async fn list(state: &AppState) -> Result<Vec<Subscription>> {
    Ok(list_with_relays(state).await?.0)
}

/// The remote streams followed and the relays subscribed to, from one read (the admin page
/// shows both).
pub async fn list_with_relays(state: &AppState) -> Result<(Vec<Subscription>, Vec<Subscription>)> {
    let subs = state.db.read(Subscription::list).await?;
    Ok(subs.into_iter().partition(|s| !s.kind.is_relay()))
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn targets_in_every_spelling() {
        let account = Target::Account("jazz@radio.example".to_owned());
        for input in [
            "@jazz@radio.example",
            "jazz@radio.example",
            "acct:jazz@radio.example",
        ] {
            assert_eq!(Target::parse(input).unwrap(), account, "{input}");
        }
        assert!(matches!(
            Target::parse("https://radio.example/streams/jazz").unwrap(),
            Target::Actor(_)
        ));
        for bad in ["jazz", "@jazz", "jazz@", "ftp://x", "https://"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
