//! Open live pages' feed: committed stream changes (every process's, on PostgreSQL), sorted by
//! stream so that a page wakes only for its own stream. One task reads the database's change
//! stream and forwards each change to the subscribers of that stream; a stream nobody watches
//! costs a map lookup.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::broadcast::{self, error::RecvError};

use crate::db::{Db, StreamChange};

/// Changes held for one slow page before it learns it lagged (and reads its stream afresh).
const PER_STREAM: usize = 16;

/// Subscriptions by stream.
#[derive(Debug, Default)]
pub struct LiveFeed {
    streams: Mutex<HashMap<i64, broadcast::Sender<Arc<StreamChange>>>>,
}

impl LiveFeed {
    /// The feed of `db`'s changes, forwarded by a task that ends with the last handle.
    pub fn start(db: &Db) -> Arc<Self> {
        let feed = Arc::new(Self::default());
        let weak = Arc::downgrade(&feed);
        let mut changes = db.stream_changes();
        tokio::spawn(async move {
            loop {
                let change = changes.recv().await;
                let Some(feed) = weak.upgrade() else { return };
                match change {
                    Ok(change) if change.is_missed() => feed.everyone_missed(),
                    Ok(change) => feed.forward(change),
                    // Some changes were dropped before we read them: nobody can tell which.
                    Err(RecvError::Lagged(_)) => feed.everyone_missed(),
                    Err(RecvError::Closed) => return,
                }
            }
        });
        feed
    }

    /// The changes of stream `stream_id` from now on (and [`StreamChange::missed`] when some
    /// may have been lost).
    pub fn subscribe(&self, stream_id: i64) -> broadcast::Receiver<Arc<StreamChange>> {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams
            .entry(stream_id)
            .or_insert_with(|| broadcast::channel(PER_STREAM).0)
            .subscribe()
    }

    fn forward(&self, change: Arc<StreamChange>) {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = streams.get(&change.stream_id)
            && sender.send(change.clone()).is_err()
        {
            // Its last page closed.
            streams.remove(&change.stream_id);
        }
    }

    fn everyone_missed(&self) {
        let missed = Arc::new(StreamChange::missed());
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.retain(|_, sender| sender.send(missed.clone()).is_ok());
    }

    /// Streams with pages open (tests, metrics).
    pub fn watched(&self) -> usize {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.retain(|_, sender| sender.receiver_count() > 0);
        streams.len()
    }
}
