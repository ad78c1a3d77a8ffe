//! Answering follows: an `Accept` at once (or when the broadcaster approves), a `Reject` when they
//! refuse or remove a follower. Each runs inside the caller's transaction.

use chrono::NaiveDateTime;
use url::Url;

use super::activities::{Activity, FollowRef, Kind};
use crate::{
    db::{
        DbConn,
        models::{Follower, FollowerState, Stream},
    },
    delivery::enqueue,
    error::{Error, Result},
    urls::Urls,
};

/// Sends the stream's `Accept` or `Reject` of the Follow as the follower sent it (its id is what
/// peers match on).
fn answer(
    conn: &mut DbConn,
    kind: Kind,
    stream: &Stream,
    follower: &Follower,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    let actor = urls.stream(&stream.handle);
    let follow = FollowRef::new(follower.follow_id.clone(), &follower.actor_id, &actor);
    let activity = Activity::answer(kind, actor, follow, urls);
    let inbox =
        Url::parse(&follower.inbox).map_err(|e| Error::Invalid(format!("follower inbox: {e}")))?;
    enqueue(conn, &activity, Some(stream.id), [inbox], now)?;
    Ok(())
}

/// Accepts a (pending) follower and tells it so.
pub fn accept(
    conn: &mut DbConn,
    stream: &Stream,
    follower: &Follower,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    follower.accept(conn)?;
    answer(conn, Kind::Accept, stream, follower, urls, now)
}

/// Refuses a pending follower, or removes an accepted one, and tells it so.
pub fn reject(
    conn: &mut DbConn,
    stream: &Stream,
    follower: &Follower,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    Follower::delete_by_actor(conn, &follower.actor_id, Some(stream.id))?;
    answer(conn, Kind::Reject, stream, follower, urls, now)
}

/// What a broadcaster may decide about a follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Accept a pending follower.
    Approve,
    /// Refuse a pending follower, or (as before the one rule) drop an accepted one.
    Reject,
    /// Remove a follower, pending or accepted (told with a Reject, as Mastodon does).
    Remove,
}

/// The one rule of what may be decided when: approving answers a pending follow, so only a
/// pending follower can be approved (an accepted one is not sent a second Accept); rejecting or
/// removing works on any follower, which is told with a Reject. Finds
/// `actor` among the stream's followers, changes its state and queues the answer, all in the
/// caller's transaction.
pub fn decide(
    conn: &mut DbConn,
    stream: &Stream,
    actor: &str,
    decision: Decision,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    let follower = Follower::find(conn, stream.id, actor)?
        .ok_or_else(|| Error::NotFound(format!("follower {actor}")))?;
    let pending = follower.state == FollowerState::Pending;
    match decision {
        Decision::Approve if !pending => Err(Error::Conflict(format!(
            "{actor} already follows {}",
            stream.handle
        ))),
        Decision::Approve => accept(conn, stream, &follower, urls, now),
        Decision::Reject | Decision::Remove => reject(conn, stream, &follower, urls, now),
    }
}
