//! Keeping the catalog true when origins fall silent. A live entry nobody told us about for
//! `catalog.refresh_after` is fetched again from its origin: a 404, a 410, a Tombstone, or a
//! Note that no longer states a live broadcast removes it; a Note still live refreshes it; no
//! answer marks it unreachable, and unreachable for `catalog.hide_after` hides it until its
//! origin answers again. One pass at a time, driven by the server (or a test); with several
//! processes only one runs it (the server's singleton passes), and its writes are conditional on
//! the row it checked, so even two passes at once cannot bring back a removed entry.

use chrono::TimeDelta;

use super::origin::{Answer, Origin};
use crate::{
    blocks::Blocklist,
    db::{Db, models::RemoteBroadcast},
    error::Result,
};

/// Entries fetched per pass.
const PASS: i64 = 50;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Still live at their origin.
    pub live: usize,
    /// Gone at their origin (or no longer live): removed.
    pub removed: usize,
    /// Their origin did not answer.
    pub unreachable: usize,
}

/// The refresher: its HTTP client and settings.
#[derive(Debug, Clone)]
pub struct Refresher {
    db: Db,
    clock: crate::clock::Clock,
    blocks: std::sync::Arc<Blocklist>,
    origin: Origin,
    refresh_after: TimeDelta,
    hide_after: TimeDelta,
}

impl Refresher {
    /// A refresher over the app's state.
    pub fn new(state: &crate::state::AppState) -> Self {
        let catalog = &state.config.catalog;
        Self {
            db: state.db.clone(),
            clock: state.clock.clone(),
            blocks: state.blocks.clone(),
            origin: Origin::new(state),
            refresh_after: TimeDelta::seconds(i64::from(catalog.refresh_after)),
            hide_after: TimeDelta::seconds(i64::from(catalog.hide_after)),
        }
    }

    /// One pass over the entries that went quiet.
    pub async fn pass(&self) -> Result<Refreshed> {
        let now = self.clock.now();
        let cutoff = now - self.refresh_after;
        let quiet = self
            .db
            .read(move |c| RemoteBroadcast::list_silent(c, cutoff, PASS))
            .await?;
        let mut done = Refreshed::default();
        let blocks = self.blocks.snapshot().await?;
        for entry in quiet {
            let answer = self
                .origin
                .ask(&entry.object_id, &blocks, &self.clock)
                .await;
            let hide_before = now - self.hide_after;
            let id = entry.id;
            match answer {
                Answer::Note(note) if note.live => {
                    let fresh = note.into_row(entry.remote_stream_id, entry.object_id.clone(), now);
                    // Only the row that was checked: if it went meanwhile, it stays gone.
                    if self
                        .db
                        .write(move |c| RemoteBroadcast::refresh(c, id, &fresh))
                        .await?
                    {
                        done.live += 1;
                    }
                }
                Answer::Note(_) | Answer::Event(_) | Answer::Gone => {
                    let (stream, object) = (entry.remote_stream_id, entry.object_id.clone());
                    self.db
                        .write(move |c| RemoteBroadcast::delete(c, stream, &object))
                        .await?;
                    tracing::info!(object = %entry.object_id, "catalog entry gone at its origin");
                    done.removed += 1;
                }
                Answer::Unreachable(why) => {
                    self.db
                        .write(move |c| RemoteBroadcast::mark_unreachable(c, id, now, hide_before))
                        .await?;
                    tracing::warn!(object = %entry.object_id, why, "catalog origin unreachable");
                    done.unreachable += 1;
                }
            }
        }
        Ok(done)
    }
}
