//! What our inboxes accept. [`super::verifier`] has checked the HTTP signature before any of
//! this runs; an activity that parses as none of ours is dropped after that check, with a 2xx.
//!
//! Nothing one sender signs is trusted about another actor: an activity is taken only from the
//! actor that signed it, and a Follow, Undo or Delete applies only to the signer's own follow
//! relation or account.

use activitypub_federation::{
    config::Data,
    fetch::object_id::ObjectId,
    kinds::activity::{AnnounceType, DeleteType, FollowType, UndoType},
    traits::{Actor, Object as _},
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{relays, remote_actor::RemoteActor};
use crate::{
    catalog::{intake, relayed},
    db::models::{Follower, ReceivedActivity, RemoteStream, Stream, Subscription},
    error::{Error, Result},
    federation::follows,
    httpsig::Signer,
    state::AppState,
};

/// `Follow` of one of our streams.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Follow {
    id: Url,
    #[serde(rename = "type")]
    kind: FollowType,
    actor: ObjectId<RemoteActor>,
    object: Url,
}

/// `Undo` of a `Follow` (embedded, as Mastodon and Fedify send it).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Undo {
    id: Url,
    // Typed so that only an Undo matches this variant.
    #[serde(rename = "type")]
    _kind: UndoType,
    actor: ObjectId<RemoteActor>,
    object: UndoObject,
}

/// What an Undo undoes: a Follow we understand, or anything else (ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum UndoObject {
    Follow(Follow),
    Other(serde_json::Value),
}

/// `Delete` of an actor by itself (an account gone away).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delete {
    id: Url,
    #[serde(rename = "type")]
    _kind: DeleteType,
    actor: ObjectId<RemoteActor>,
    object: IdOrObject,
}

/// A reference given as a bare URL or as an object with an `id`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum IdOrObject {
    Id(Url),
    Object { id: Url },
}

impl IdOrObject {
    fn id(&self) -> &Url {
        match self {
            Self::Id(id) | Self::Object { id } => id,
        }
    }
}

/// `Accept` or `Reject` of a Follow the instance actor sent.
#[derive(Debug, Clone, Deserialize)]
pub struct Answer {
    id: Url,
    #[serde(rename = "type")]
    kind: AnswerKind,
    actor: ObjectId<RemoteActor>,
    object: IdOrObject,
}

/// The two answers to a Follow.
#[derive(Debug, Clone, Copy, Deserialize)]
pub enum AnswerKind {
    Accept,
    Reject,
}

/// `Create` or `Update` of an object: a broadcast Note, or an actor's own profile.
#[derive(Debug, Clone, Deserialize)]
pub struct Publish {
    id: Url,
    #[serde(rename = "type")]
    _kind: PublishKind,
    actor: ObjectId<RemoteActor>,
    object: serde_json::Value,
}

/// The activities that publish an object.
#[derive(Debug, Clone, Copy, Deserialize)]
pub enum PublishKind {
    Create,
    Update,
}

/// `Announce` of an object: what a LitePub relay sends.
#[derive(Debug, Clone, Deserialize)]
pub struct Announce {
    id: Url,
    #[serde(rename = "type")]
    _kind: AnnounceType,
    actor: ObjectId<RemoteActor>,
    object: serde_json::Value,
}

/// Any other verified activity: accepted and dropped.
#[derive(Debug, Clone, Deserialize)]
pub struct Other {
    id: Url,
    actor: Url,
}

/// Everything the inbox parses; the catch-all comes last so that ours match first.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum InboxActivity {
    Follow(Follow),
    Undo(Undo),
    Delete(Delete),
    Answer(Answer),
    Publish(Publish),
    Announce(Announce),
    Other(Other),
}

impl InboxActivity {
    fn id(&self) -> &Url {
        match self {
            Self::Follow(a) => &a.id,
            Self::Undo(a) => &a.id,
            Self::Delete(a) => &a.id,
            Self::Answer(a) => &a.id,
            Self::Publish(a) => &a.id,
            Self::Announce(a) => &a.id,
            Self::Other(a) => &a.id,
        }
    }

    fn actor(&self) -> &Url {
        match self {
            Self::Follow(a) => a.actor.inner(),
            Self::Undo(a) => a.actor.inner(),
            Self::Delete(a) => a.actor.inner(),
            Self::Answer(a) => a.actor.inner(),
            Self::Publish(a) => a.actor.inner(),
            Self::Announce(a) => a.actor.inner(),
            Self::Other(a) => &a.actor,
        }
    }
}

/// Takes an activity whose request `signer` signed (the signature was verified).
pub async fn receive(data: &Data<AppState>, signer: &Signer, body: &[u8]) -> Result<()> {
    let activity: InboxActivity = serde_json::from_slice(body)
        .map_err(|e| Error::Invalid(format!("not an activity this inbox can read: {e}")))?;
    if activity.id().authority() != activity.actor().authority() {
        return Err(Error::Invalid(format!(
            "the activity {} is not on its actor's host",
            activity.id()
        )));
    }
    data.blocks.check(activity.actor()).await?;
    if activity.actor() != &signer.actor {
        // Verified, but signed by someone else: a relay passing on what its subscribers sent
        // (taken only as far as the origin confirms it), or a forgery (dropped).
        let relayed = match &activity {
            InboxActivity::Publish(p) => Some(p.object.clone()),
            InboxActivity::Delete(d) => Some(serde_json::json!(d.object.id())),
            _ => None,
        };
        if let Some(object) = relayed
            && relays::is_relay(data, &signer.actor, false).await?
        {
            let taken = relayed::take(data, &object).await?;
            tracing::debug!(activity = %activity.id(), ?taken, "relayed");
            return Ok(());
        }
        tracing::info!(activity = %activity.id(), signer = %signer.actor, "not signed by its actor; dropped");
        return Ok(());
    }
    let now = data.clock.now();
    // Announcements are the inbox's bulk: each is taken, its duplicate check included, in one
    // write.
    let activity = match activity {
        InboxActivity::Publish(publish) => {
            let (id, actor) = (&publish.id, publish.actor.inner());
            let taken = intake::publish(&data.db, id, actor, &publish.object, now).await?;
            tracing::debug!(activity = %id, ?taken, "publish");
            return Ok(());
        }
        other => other,
    };
    let id = activity.id().to_string();
    let key = id.clone();
    // A redelivered activity is processed once.
    if !data
        .db
        .write(move |c| ReceivedActivity::first_time(c, &key, now))
        .await?
    {
        tracing::debug!(activity = %id, "duplicate ignored");
        return Ok(());
    }
    match activity {
        InboxActivity::Follow(follow) => receive_follow(follow, data).await,
        InboxActivity::Undo(Undo {
            actor,
            object: UndoObject::Follow(follow),
            ..
        }) if follow.actor == actor => {
            let stream = local_stream(data, &follow.object).await?;
            let who = actor.inner().to_string();
            data.db
                .write(move |c| Follower::delete_by_actor(c, &who, Some(stream)))
                .await?;
            tracing::info!(stream, "unfollowed");
            Ok(())
        }
        InboxActivity::Delete(delete) if delete.object.id() == delete.actor.inner() => {
            let who = delete.actor.inner().to_string();
            data.db
                .write(move |c| {
                    Follower::delete_by_actor(c, &who, None)?;
                    crate::db::models::RemoteActorRow::delete(c, &who)
                })
                .await?;
            intake::delete(&data.db, delete.actor.inner(), delete.object.id()).await?;
            data.verifier.forget(delete.actor.inner());
            tracing::info!(actor = %delete.actor.inner(), "actor deleted");
            Ok(())
        }
        InboxActivity::Delete(delete) => {
            let taken = intake::delete(&data.db, delete.actor.inner(), delete.object.id()).await?;
            tracing::debug!(object = %delete.object.id(), ?taken, "delete");
            Ok(())
        }
        InboxActivity::Answer(answer) => receive_answer(answer, data).await,
        InboxActivity::Announce(announce) => {
            if relays::is_relay(data, announce.actor.inner(), false).await? {
                let taken = relayed::take(data, &announce.object).await?;
                tracing::debug!(activity = %announce.id, ?taken, "announced by a relay");
            }
            Ok(())
        }
        other => {
            tracing::debug!(activity = %other.id(), "verified activity ignored");
            Ok(())
        }
    }
}

/// The answer to one of the instance actor's Follows: the subscription becomes accepted, or is
/// rejected and its catalog entries go.
async fn receive_answer(answer: Answer, data: &Data<AppState>) -> Result<()> {
    let (follow, actor, now) = (
        answer.object.id().to_string(),
        answer.actor.inner().to_string(),
        data.clock.now(),
    );
    let kind = answer.kind;
    let matched = data
        .db
        .write(move |c| {
            let state = match kind {
                AnswerKind::Accept => "accepted",
                AnswerKind::Reject => "rejected",
            };
            let Some(sub) = Subscription::find_by_follow(c, &follow)? else {
                return Ok(false);
            };
            // The followed actor answers; a Mastodon-kind relay, subscribed by its inbox, answers
            // as its actor on the same host.
            let same_host = |a: &str, b: &str| {
                let host = |s: &str| Url::parse(s).ok().map(|u| u.authority().to_owned());
                host(a).is_some() && host(a) == host(b)
            };
            let ours =
                sub.actor_id == actor || (sub.kind != "stream" && same_host(&sub.actor_id, &actor));
            if !ours {
                return Ok(false);
            }
            Subscription::set_state(c, sub.id, state, now)?;
            if matches!(kind, AnswerKind::Reject) {
                RemoteStream::delete(c, &sub.actor_id)?;
            }
            Ok(true)
        })
        .await?;
    tracing::info!(actor = %answer.actor.inner(), ?kind, matched, "follow answered");
    Ok(())
}

/// How long an activity id is remembered: senders retry for about two days.
const DEDUPE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::days(3);

/// Forgets activity ids older than the dedupe window, in batches so that no one write holds the
/// database long; returns how many went.
pub async fn forget_old_ids(db: &crate::db::Db, now: chrono::NaiveDateTime) -> Result<usize> {
    const BATCH: i64 = 5_000;
    let mut total = 0;
    loop {
        let before = now - DEDUPE_WINDOW;
        let n = db
            .write(move |c| ReceivedActivity::forget_before(c, before, BATCH))
            .await?;
        total += n;
        if (n as i64) < BATCH {
            return Ok(total);
        }
    }
}

/// The id of the local stream an actor URL names; 404 otherwise.
async fn local_stream(data: &Data<AppState>, actor: &Url) -> Result<i64> {
    let handle = data
        .urls
        .handle_of(actor)
        .ok_or_else(|| Error::NotFound(format!("{actor} is not a stream here")))?;
    // Through the model, not `streams::find`: federation sits below the domain.
    let key = handle.clone();
    let found = data
        .db
        .read(move |c| Stream::find_with_broadcast(c, &key))
        .await?;
    found
        .map(|(s, _)| s.id)
        .ok_or_else(|| Error::NotFound(format!("stream {handle}")))
}

/// Records the follower and, unless the stream wants to approve followers, accepts it; one
/// transaction either way.
async fn receive_follow(follow: Follow, data: &Data<AppState>) -> Result<()> {
    if follow.object == data.urls.instance_actor() {
        let follower = follow.actor.dereference(data).await?;
        return relays::follow_back(data, &follower, &follow.id).await;
    }
    let stream_id = local_stream(data, &follow.object).await?;
    let follower = follow.actor.dereference(data).await?;
    let (now, urls, inbox) = (data.clock.now(), data.urls.clone(), follower.inbox());
    let shared = follower.shared_inbox().map(ToString::to_string);
    let (actor_id, follow_id) = (follower.id().to_string(), follow.id.to_string());
    let pending = data
        .db
        .write(move |c| {
            let stream = Stream::find(c, stream_id)?
                .ok_or_else(|| Error::NotFound(format!("stream {stream_id}")))?;
            let state = if stream.approve_followers {
                "pending"
            } else {
                "accepted"
            };
            Follower::upsert(
                c,
                stream_id,
                &actor_id,
                inbox.as_str(),
                shared.as_deref(),
                state,
                Some(&follow_id),
                now,
            )?;
            if !stream.approve_followers {
                let row = Follower::find(c, stream_id, &actor_id)?
                    .ok_or_else(|| Error::NotFound(actor_id.clone()))?;
                follows::accept(c, &stream, &row, &urls, now)?;
            }
            Ok(stream.approve_followers)
        })
        .await?;
    tracing::info!(stream = stream_id, pending, "followed");
    Ok(())
}
