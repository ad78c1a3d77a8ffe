//! The durable delivery queue (DESIGN.md §5): an activity is stored once, with one row per target
//! inbox, in the same transaction as the state change that caused it; workers in any process
//! claim due rows under a lease, sign at send time and record the outcome.

pub mod backoff;
pub mod worker;

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use serde::Serialize;
use url::Url;

use crate::{
    db::{
        Db, DbConn,
        models::{Activity, Delivery, HostBreaker, NewActivity},
    },
    error::Result,
};

/// An activity to send: serialised as its body; it names its own id, type and what it supersedes,
/// so that the queue row cannot disagree with what goes on the wire.
pub trait Outgoing: Serialize {
    /// The activity's id.
    fn ap_id(&self) -> &Url;
    /// The ActivityStreams type (`Create`, `Update`, `Delete`, `Accept`, …).
    fn kind(&self) -> &'static str;
    /// What it is about, for supersession.
    fn object_id(&self) -> Option<&Url>;
    /// The kinds of pending activity about the same object that this one makes pointless: see
    /// [`SUPERSEDED_BY_DELETE`] and [`SUPERSEDED_BY_UPDATE`].
    fn supersedes(&self) -> &'static [&'static str];
}

/// A `Delete` (or the `Update` that ends a broadcast) makes every pending `Create` or `Update` of
/// the object pointless: a follower who was unreachable while a stream went on and off air gets
/// the end at most, never a stale go-live post.
pub const SUPERSEDED_BY_DELETE: &[&str] = &["Create", "Update"];

/// A newer `Update` replaces an older pending one.
pub const SUPERSEDED_BY_UPDATE: &[&str] = &["Update"];

/// Stores `out` once and queues it for every distinct inbox. Call it inside the transaction of
/// the state change, so that neither can exist without the other. Pending, unclaimed deliveries
/// of the kinds `out.supersedes()` names, about the same object, are dropped first. `stream_id` is
/// the signing stream actor, or `None` for the instance actor.
pub fn enqueue(
    conn: &mut DbConn,
    out: &impl Outgoing,
    stream_id: Option<i64>,
    inboxes: impl IntoIterator<Item = Url>,
    now: NaiveDateTime,
) -> Result<usize> {
    let targets: BTreeSet<(String, String)> = inboxes
        .into_iter()
        .filter_map(|u| Some((host_of(&u)?, u.into())))
        .map(|(h, u)| (u, h))
        .collect();
    if let Some(object) = out.object_id()
        && !out.supersedes().is_empty()
    {
        Delivery::supersede(conn, object.as_str(), out.supersedes(), now)?;
    }
    let body = serde_json::to_string(out)
        .map_err(|e| crate::error::Error::Render(format!("activity body: {e}")))?;
    let id = Activity::insert(
        conn,
        &NewActivity {
            ap_id: out.ap_id().as_str(),
            kind: out.kind(),
            object_id: out.object_id().map(Url::as_str),
            stream_id,
            body: &body,
            created_at: now,
        },
    )?;
    let targets = interleave_hosts(targets);
    if !targets.is_empty() {
        crate::db::mark_deliveries_queued();
    }
    Delivery::insert_many(conn, id, &targets, now)
}

/// Orders `(inbox, host)` pairs so that hosts take turns: the first inbox of every host, then
/// the second of every host, and so on. Claims take due work in queue order, so a host with
/// 9,000 followers queued first would otherwise be everyone else's wait.
fn interleave_hosts(targets: BTreeSet<(String, String)>) -> Vec<(String, String)> {
    let mut by_host: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (inbox, host) in targets {
        by_host.entry(host).or_default().push(inbox);
    }
    let mut columns: Vec<(String, std::vec::IntoIter<String>)> = by_host
        .into_iter()
        .map(|(host, inboxes)| (host, inboxes.into_iter()))
        .collect();
    let mut out = Vec::new();
    while !columns.is_empty() {
        columns.retain_mut(|(host, inboxes)| match inboxes.next() {
            Some(inbox) => {
                out.push((inbox, host.clone()));
                true
            }
            None => false,
        });
    }
    out
}

/// Queues an activity the instance actor signs to one inbox: its Follows, Undos and Accepts,
/// which nothing supersedes.
pub fn enqueue_from_instance(
    conn: &mut DbConn,
    out: &impl Outgoing,
    inbox: Url,
    now: NaiveDateTime,
) -> Result<()> {
    enqueue(conn, out, None, [inbox], now).map(|_| ())
}

/// A host every process leaves alone for now, as the admin page and `onair queue status` show
/// it (times in UTC, to the second).
#[derive(Debug, Clone)]
pub struct OpenHost {
    pub host: String,
    pub since: String,
    pub until: String,
    /// The failure that opened it, and how many came in a row.
    pub why: String,
}

/// The hosts whose circuit breaker is open at `now`, the longest open first.
pub fn open_hosts(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<OpenHost>> {
    let time = |t: Option<NaiveDateTime>| {
        t.map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
    };
    Ok(HostBreaker::open(conn, now)?
        .into_iter()
        .map(|b| OpenHost {
            since: time(b.opened_at),
            until: time(b.open_until),
            why: format!(
                "{} ({} failures in a row)",
                b.reason.unwrap_or_default(),
                b.failures
            ),
            host: b.host,
        })
        .collect())
}

/// Deliveries forgotten per transaction: a backlog goes in short steps, never one long write.
const FORGET_BATCH: i64 = 1000;

/// Forgets deliveries that finished more than `retention_days` before `now` (delivered,
/// failed or superseded: failed ones stay visible that long too), the activities nothing
/// refers to any more, and breakers of hosts quiet that long. Returns how many deliveries.
pub async fn forget_finished(db: &Db, now: NaiveDateTime, retention_days: u32) -> Result<usize> {
    let before = now - chrono::TimeDelta::days(retention_days.into());
    let mut forgotten = 0;
    loop {
        let n = db
            .write(move |c| Delivery::forget_finished(c, before, FORGET_BATCH))
            .await?;
        forgotten += n;
        if n < usize::try_from(FORGET_BATCH).unwrap_or(usize::MAX) {
            break;
        }
    }
    db.write(move |c| HostBreaker::forget_quiet(c, before))
        .await?;
    Ok(forgotten)
}

/// `host[:port]`, the unit of per-host limits.
fn host_of(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::interleave_hosts;

    #[test]
    fn hosts_take_turns_in_the_queue() {
        let targets: BTreeSet<(String, String)> = [
            ("https://big/u1", "big"),
            ("https://big/u2", "big"),
            ("https://big/u3", "big"),
            ("https://small/u1", "small"),
        ]
        .into_iter()
        .map(|(i, h)| (i.to_owned(), h.to_owned()))
        .collect();
        let hosts: Vec<String> = interleave_hosts(targets)
            .into_iter()
            .map(|(_, h)| h)
            .collect();
        assert_eq!(hosts, ["big", "small", "big", "big"]);
    }
}
