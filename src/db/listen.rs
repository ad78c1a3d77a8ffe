//! PostgreSQL's `LISTEN`/`NOTIFY`: a commit that queued deliveries in any process wakes the
//! delivery workers of all of them, and a stream's changed status or title reaches every
//! process's open live pages. (SQLite has one writing process, whose writer does both directly:
//! see [`super::mark_deliveries_queued`] and [`super::changes`].)

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use diesel::{Connection, PgConnection, RunQueryDsl, connection::SimpleConnection};
use tokio::sync::{Notify, oneshot};

use super::changes::{self, Changes, StreamChange};

/// Sent inside a transaction that queues deliveries; PostgreSQL delivers it at commit, once
/// per transaction however often it was sent.
pub const NOTIFY_DELIVERIES: &str = "NOTIFY onair_deliveries";

/// How often the listening connection's socket buffer is looked at: libpq reads what arrived
/// without blocking, so this is the wake-up's latency, at one cheap system call per look.
const LOOK_EVERY: Duration = Duration::from_millis(10);
/// A connection that died without an error is found by a query this often.
const PING_EVERY: Duration = Duration::from_secs(30);
/// Wait before connecting again after a failure (the poll keeps deliveries going meanwhile).
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

/// Starts the listening thread; it wakes `queued` on every delivery notification, publishes
/// every stream change to `published`, and ends when `queued` is dropped (the `Db` is gone).
/// `listening` is sent once the first LISTEN is in place.
pub(super) fn start(
    url: String,
    queued: &Arc<Notify>,
    published: Changes,
    listening: oneshot::Sender<()>,
) {
    let queued = Arc::downgrade(queued);
    let spawned = std::thread::Builder::new()
        .name("onair-listen".to_owned())
        .spawn(move || {
            let mut listening = Some(listening);
            while queued.strong_count() > 0 {
                if let Err(e) = listen(&url, &queued, &published, &mut listening) {
                    tracing::warn!(error = %e, "database notifications: connection lost");
                }
                std::thread::sleep(RECONNECT_AFTER);
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "database notifications: no thread; polling deliveries only, live pages see no changes");
    }
}

/// One connection's life: LISTEN, then pass notifications on until it fails or nobody waits.
fn listen(
    url: &str,
    queued: &Weak<Notify>,
    published: &Changes,
    listening: &mut Option<oneshot::Sender<()>>,
) -> Result<(), String> {
    let mut conn = PgConnection::establish(url).map_err(|e| e.to_string())?;
    conn.batch_execute(&format!(
        "LISTEN onair_deliveries; LISTEN {}",
        changes::CHANNEL
    ))
    .map_err(|e| e.to_string())?;
    match listening.take() {
        Some(listening) => {
            let _ = listening.send(());
        }
        // Reconnected: whatever changed while the connection was down was never heard.
        None => published.publish(StreamChange::missed()),
    }
    let mut last_ping = std::time::Instant::now();
    loop {
        let mut woken = false;
        for notification in conn.notifications_iter() {
            let notification = notification.map_err(|e| e.to_string())?;
            if notification.channel == changes::CHANNEL {
                match serde_json::from_str::<StreamChange>(&notification.payload) {
                    Ok(change) => published.publish(change),
                    Err(e) => tracing::warn!(error = %e, "unreadable stream change notification"),
                }
            } else {
                woken = true;
            }
        }
        let Some(queued) = queued.upgrade() else {
            return Ok(());
        };
        if woken {
            queued.notify_one();
        }
        drop(queued);
        if last_ping.elapsed() > PING_EVERY {
            diesel::sql_query("SELECT 1")
                .execute(&mut conn)
                .map_err(|e| e.to_string())?;
            last_ping = std::time::Instant::now();
        }
        std::thread::sleep(LOOK_EVERY);
    }
}
