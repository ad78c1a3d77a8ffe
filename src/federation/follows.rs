//! Answering follows: an `Accept` at once (or when the broadcaster approves), a `Reject` when they
//! refuse or remove a follower. Each runs inside the caller's transaction.

use chrono::NaiveDateTime;
use serde_json::{Value, json};
use url::Url;

use crate::{
    accounts::random_alphanumeric,
    db::{
        DbConn,
        models::{Follower, Stream},
    },
    delivery::{Outgoing, enqueue},
    error::{Error, Result},
    urls::Urls,
};

/// The Follow being answered, as the follower sent it (its id is what peers match on).
fn follow_object(stream: &Stream, follower: &Follower, urls: &Urls) -> Value {
    json!({
        "id": follower.follow_id,
        "type": "Follow",
        "actor": follower.actor_id,
        "object": urls.stream(&stream.handle),
    })
}

fn answer(
    conn: &mut DbConn,
    kind: &str,
    stream: &Stream,
    follower: &Follower,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    let id = urls.activity(&random_alphanumeric(22));
    let body = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": kind,
        "actor": urls.stream(&stream.handle),
        "object": follow_object(stream, follower, urls),
    });
    let inbox =
        Url::parse(&follower.inbox).map_err(|e| Error::Invalid(format!("follower inbox: {e}")))?;
    let out = Outgoing {
        ap_id: &id,
        kind,
        object_id: None,
        supersedes: &[],
        stream_id: Some(stream.id),
        body: &body,
    };
    enqueue(conn, &out, [inbox], now)?;
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
    answer(conn, "Accept", stream, follower, urls, now)
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
    answer(conn, "Reject", stream, follower, urls, now)
}

/// What a broadcaster may decide about a follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Accept a pending follower.
    Approve,
    /// Refuse a pending follower.
    Reject,
    /// Remove a follower, pending or accepted (told with a Reject, as Mastodon does).
    Remove,
}

/// The one rule of what may be decided when: approving or rejecting answers a pending follow, so
/// only a pending follower can be approved or rejected; any follower can be removed. Finds
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
    let pending = follower.state == "pending";
    match decision {
        Decision::Approve | Decision::Reject if !pending => Err(Error::Conflict(format!(
            "{actor} already follows {}",
            stream.handle
        ))),
        Decision::Approve => accept(conn, stream, &follower, urls, now),
        Decision::Reject | Decision::Remove => reject(conn, stream, &follower, urls, now),
    }
}
