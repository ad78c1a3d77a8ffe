//! Housekeeping of the ids of activities already taken (each is processed once).

use crate::{db::models::ReceivedActivity, error::Result};

/// How long an activity id is remembered: senders retry for about two days.
const DEDUPE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::days(3);

/// Forgets activity ids older than the dedupe window, in batches so that no one write holds the
/// database long; returns how many went.
pub async fn forget_old_ids(db: &crate::db::Db, now: chrono::NaiveDateTime) -> Result<usize> {
    const BATCH: i64 = 5_000;
    let mut total = 0;
    loop {
        let before = now - DEDUPE_WINDOW;
        let n = db
            .write(move |c| ReceivedActivity::forget_before(c, before, BATCH))
            .await?;
        total += n;
        if (n as i64) < BATCH {
            return Ok(total);
        }
    }
}
