//! What followers are told when a broadcast starts, changes title or ends, and when a stream's
//! profile changes. Each function runs inside the transaction of the state change (the
//! transactional outbox, DESIGN.md §3).

use chrono::NaiveDateTime;
use serde_json::json;
use url::Url;

use super::{actor::Service, note};
use crate::{
    accounts::random_alphanumeric,
    db::{
        DbConn,
        models::{Broadcast, BroadcastState, Follower, OnEnd, Stream, StreamKeys, Subscription},
    },
    delivery::{Outgoing, SUPERSEDED_BY_DELETE, SUPERSEDED_BY_UPDATE, enqueue},
    error::Result,
    urls::Urls,
};

/// Go on air: `Create` of the broadcast's Note.
pub fn started(
    conn: &mut DbConn,
    stream: &Stream,
    broadcast: &Broadcast,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    Broadcast::set_announced(conn, broadcast.id, &broadcast.title, now)?;
    let object = note::note(stream, broadcast, urls);
    let about = About::broadcast(broadcast.id, urls, &[]);
    send(conn, "Create", stream, object, &about, urls, now)
}

/// A new title: `Update` of the Note, unless followers were told less than `interval` ago (the
/// next touch after that sends the latest title, so a burst of titles becomes one Update).
pub fn touched(
    conn: &mut DbConn,
    stream: &Stream,
    broadcast: &Broadcast,
    interval: chrono::TimeDelta,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<bool> {
    let told = broadcast.announced_title.as_deref() == Some(broadcast.title.as_str());
    let recently = broadcast.announced_at.is_some_and(|t| now - t < interval);
    if told || recently {
        return Ok(false);
    }
    Broadcast::set_announced(conn, broadcast.id, &broadcast.title, now)?;
    let mut updated = broadcast.clone();
    updated.announced_at = Some(now);
    let object = note::note(stream, &updated, urls);
    let about = About::broadcast(broadcast.id, urls, SUPERSEDED_BY_UPDATE);
    send(conn, "Update", stream, object, &about, urls, now)?;
    Ok(true)
}

/// Off air: `Delete` of the Note (it becomes a Tombstone), or, when the stream keeps ended
/// posts, an `Update` that says it was on air. Either way pending go-live news is dropped.
pub fn ended(
    conn: &mut DbConn,
    stream: &Stream,
    broadcast: &Broadcast,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    let about = About::broadcast(broadcast.id, urls, SUPERSEDED_BY_DELETE);
    match stream.on_end {
        OnEnd::Delete => {
            let object = json!({ "id": about.object, "type": "Tombstone" });
            send(conn, "Delete", stream, object, &about, urls, now)
        }
        OnEnd::Update => {
            Broadcast::set_kept(conn, broadcast.id)?;
            let over = Broadcast {
                state: BroadcastState::Ended,
                ended_at: Some(now),
                announced_at: Some(now),
                kept: true,
                ..broadcast.clone()
            };
            let object = note::note(stream, &over, urls);
            send(conn, "Update", stream, object, &about, urls, now)
        }
    }
}

/// The stream's name, description, genres, homepage, format or follower approval changed:
/// `Update` of the actor, so followers' servers refresh the profile. Nothing when the actor was
/// never served (no key pair yet): nobody can follow it then.
pub fn profile_changed(
    conn: &mut DbConn,
    stream: &Stream,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    let Some(public_key) = StreamKeys::public_key(conn, stream.id)? else {
        return Ok(());
    };
    let actor = json!(Service::new(stream, public_key, urls));
    let about = About {
        object: urls.stream(&stream.handle),
        supersedes: SUPERSEDED_BY_UPDATE,
    };
    send(conn, "Update", stream, actor, &about, urls, now)
}

/// The object an activity is about, and what pending news of it the activity replaces.
struct About {
    object: Url,
    supersedes: &'static [&'static str],
}

impl About {
    fn broadcast(id: i64, urls: &Urls, supersedes: &'static [&'static str]) -> Self {
        Self {
            object: urls.broadcast(id),
            supersedes,
        }
    }
}

fn send(
    conn: &mut DbConn,
    kind: &str,
    stream: &Stream,
    object: serde_json::Value,
    about: &About,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    // Followers, and the relays that accepted us: every broadcast activity is public.
    let mut inboxes = Follower::inboxes(conn, stream.id)?;
    inboxes.extend(Subscription::relay_inboxes(conn)?);
    let inboxes: Vec<Url> = inboxes.iter().filter_map(|i| Url::parse(i).ok()).collect();
    if inboxes.is_empty() {
        return Ok(());
    }
    let id = urls.activity(&random_alphanumeric(22));
    let body = note::activity(kind, &id, stream, object, urls);
    let out = Outgoing {
        ap_id: &id,
        kind,
        object_id: Some(&about.object),
        supersedes: about.supersedes,
        stream_id: Some(stream.id),
        body: &body,
    };
    enqueue(conn, &out, inboxes, now)?;
    Ok(())
}
