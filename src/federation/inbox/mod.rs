//! What our inboxes accept. [`super::verifier`] has checked the HTTP signature before any of
//! this runs; an activity that parses as none of ours is dropped after that check, with a 2xx.
//!
//! Nothing one sender signs is trusted about another actor: an activity is taken only from the
//! actor that signed it, and a Follow, Undo or Delete applies only to the signer's own follow
//! relation or account.

mod answer;
mod dedupe;
mod follow;
pub mod wire;

use activitypub_federation::config::Data;

pub use dedupe::forget_old_ids;
use wire::{InboxActivity, Undo, UndoObject};

use super::relays;
use crate::{
    catalog::{intake, relayed},
    db::models::{Follower, ReceivedActivity},
    error::{Error, Result},
    httpsig::Signer,
    state::AppState,
};

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
        InboxActivity::Follow(follow) => follow::receive(follow, data).await,
        InboxActivity::Undo(Undo {
            actor,
            object: UndoObject::Follow(follow),
            ..
        }) if follow.actor == actor => follow::undo(follow, data).await,
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
        InboxActivity::Answer(answer) => answer::receive(answer, data).await,
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
