//! A stream's status or title changed: what open live pages are told, after the commit that made
//! the change and in every process. Inside a write transaction the change is noted with
//! [`stream_changed`]; on SQLite the writer publishes what its committed jobs noted, on
//! PostgreSQL the transaction sends `NOTIFY onair_streams` (delivered at commit to every
//! listening process, this one included) and the listener publishes it.

use std::{cell::RefCell, sync::Arc};

use diesel::RunQueryDsl;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::DbConn;
use crate::error::Result;

/// The PostgreSQL channel.
pub(super) const CHANNEL: &str = "onair_streams";

/// Changes waiting for slow subscribers before the oldest are dropped (a subscriber that falls
/// behind learns it lagged and reads the state afresh).
const CAPACITY: usize = 1024;

/// What changed: the stream, its public status and its title, as a page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamChange {
    /// The local stream's id (0: see [`StreamChange::missed`]).
    pub stream_id: i64,
    /// `live`, `ending` or `offline`.
    pub status: String,
    /// The title now playing (empty when none).
    pub title: String,
}

impl StreamChange {
    /// Changes may have been missed (the listener reconnected): every page should read its
    /// stream again.
    pub fn missed() -> Self {
        Self {
            stream_id: 0,
            status: String::new(),
            title: String::new(),
        }
    }

    /// Whether this is [`StreamChange::missed`].
    pub fn is_missed(&self) -> bool {
        self.stream_id == 0
    }
}

thread_local! {
    /// Changes noted by the SQLite write transaction running on this thread.
    static NOTED: RefCell<Vec<StreamChange>> = const { RefCell::new(Vec::new()) };
}

/// Notes, inside a write transaction, that a stream's status or title changed.
pub fn stream_changed(conn: &mut DbConn, change: StreamChange) -> Result<()> {
    match conn {
        DbConn::Pg(c) => {
            // Far below PostgreSQL's 8,000-byte payload limit: titles are clipped on the way in.
            let payload = serde_json::to_string(&change).unwrap_or_default();
            diesel::sql_query("SELECT pg_notify($1, $2)")
                .bind::<diesel::sql_types::Text, _>(CHANNEL)
                .bind::<diesel::sql_types::Text, _>(payload)
                .execute(c)?;
        }
        DbConn::Sqlite(_) => NOTED.with(|n| n.borrow_mut().push(change)),
    }
    Ok(())
}

/// [`stream_changed`] for several changes at once: one statement on PostgreSQL (the touch batch
/// notes a title change for one touch in seven; a round trip each was a third of its statements).
pub fn streams_changed(conn: &mut DbConn, changes: Vec<StreamChange>) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    match conn {
        DbConn::Pg(c) => {
            let payloads: Vec<String> = changes
                .iter()
                .map(|change| serde_json::to_string(change).unwrap_or_default())
                .collect();
            diesel::sql_query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
                .bind::<diesel::sql_types::Text, _>(CHANNEL)
                .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(payloads)
                .execute(c)?;
        }
        DbConn::Sqlite(_) => NOTED.with(|n| n.borrow_mut().extend(changes)),
    }
    Ok(())
}

/// How many changes this thread has noted (a job's starting mark).
pub(super) fn mark() -> usize {
    NOTED.with(|n| n.borrow().len())
}

/// Forgets what was noted since `mark`: that job was rolled back.
pub(super) fn roll_back_to(mark: usize) {
    NOTED.with(|n| n.borrow_mut().truncate(mark));
}

/// Takes what this thread noted (after a commit, or to discard it).
pub(super) fn take() -> Vec<StreamChange> {
    NOTED.with(|n| std::mem::take(&mut *n.borrow_mut()))
}

/// The process's fan-out of committed changes to whoever subscribed.
#[derive(Clone)]
pub(super) struct Changes {
    sender: broadcast::Sender<Arc<StreamChange>>,
}

impl Default for Changes {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
        }
    }
}

impl Changes {
    pub(super) fn publish(&self, change: StreamChange) {
        // Nobody subscribed is not an error: no page is open.
        let _ = self.sender.send(Arc::new(change));
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Arc<StreamChange>> {
        self.sender.subscribe()
    }
}
