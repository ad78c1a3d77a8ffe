//! What followers are told when a broadcast starts, changes title or ends. Each function runs
//! inside the transaction of the state change (the transactional outbox, DESIGN.md §3).

use chrono::NaiveDateTime;
use serde_json::json;
use url::Url;

use super::note;
use crate::{
    accounts::random_alphanumeric,
    db::{
        DbConn,
        models::{Broadcast, Follower, Stream},
    },
    delivery::{Outgoing, enqueue},
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
    send(
        conn,
        "Create",
        stream,
        note::note(stream, broadcast, urls),
        broadcast.id,
        urls,
        now,
    )
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
    send(
        conn,
        "Update",
        stream,
        note::note(stream, &updated, urls),
        broadcast.id,
        urls,
        now,
    )?;
    Ok(true)
}

/// Off air: `Delete` of the Note (it becomes a Tombstone).
pub fn ended(
    conn: &mut DbConn,
    stream: &Stream,
    broadcast: &Broadcast,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    let id = urls.broadcast(broadcast.id);
    let object = json!({ "id": id, "type": "Tombstone" });
    send(conn, "Delete", stream, object, broadcast.id, urls, now)
}

fn send(
    conn: &mut DbConn,
    kind: &str,
    stream: &Stream,
    object: serde_json::Value,
    broadcast_id: i64,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    let inboxes: Vec<Url> = Follower::inboxes(conn, stream.id)?
        .iter()
        .filter_map(|i| Url::parse(i).ok())
        .collect();
    if inboxes.is_empty() {
        return Ok(());
    }
    let id = urls.activity(&random_alphanumeric(22));
    let body = note::activity(kind, &id, stream, object, urls);
    let object_id = urls.broadcast(broadcast_id);
    let out = Outgoing {
        ap_id: &id,
        kind,
        object_id: Some(&object_id),
        stream_id: Some(stream.id),
        body: &body,
    };
    enqueue(conn, &out, inboxes, now)?;
    Ok(())
}
