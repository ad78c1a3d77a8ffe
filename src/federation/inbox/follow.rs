//! Follows of our actors, and their Undos: a stream's follower is recorded (and accepted unless
//! the stream approves followers); a Follow of the instance actor is a relay following back.

use activitypub_federation::{
    config::Data,
    traits::{Actor, Object as _},
};
use url::Url;

use super::wire::Follow;
use crate::{
    db::models::{Follower, FollowerState, Stream},
    error::{Error, Result},
    federation::{follows, relays},
    state::AppState,
};

/// Records the follower and, unless the stream wants to approve followers, accepts it; one
/// transaction either way.
pub(super) async fn receive(follow: Follow, data: &Data<AppState>) -> Result<()> {
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
                FollowerState::Pending
            } else {
                FollowerState::Accepted
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

/// Undo of a Follow of one of our streams: the follower goes. Undo of a Follow of the instance
/// actor is a relay taking back its follow-back (never a 404: that would count against us in
/// the relay's breaker): a LitePub relay's subscription ends with it.
pub(super) async fn undo(follow: Follow, data: &Data<AppState>) -> Result<()> {
    if follow.object == data.urls.instance_actor() {
        return relays::follow_back_undone(data, follow.actor.inner()).await;
    }
    let stream = local_stream(data, &follow.object).await?;
    let who = follow.actor.inner().to_string();
    data.db
        .write(move |c| Follower::delete_by_actor(c, &who, Some(stream)))
        .await?;
    tracing::info!(stream, "unfollowed");
    Ok(())
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
