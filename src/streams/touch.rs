//! The touch, Icecast's "still on air, and this plays now", every 30 s per stream: the hot path.
//!
//! Touches are run in batches ([`Db::batch`]): one transaction for whatever came in while the
//! previous batch ran, with set-based statements (the tokens, then the live broadcasts by SID,
//! then one conditional update of them all). A touch whose new title followers must hear of (on a
//! stream whose titles edit its post: the batch's read says which) runs alone inside the batch, in a savepoint, so that its Update is queued in the transaction that
//! records it; so does a SID touched twice in one batch, so that the later touch wins as it
//! would one after the other. Each rule is the one a lone touch keeps: the token must work, the
//! SID must be live and the owner's, and a write lands only on a broadcast still live under the
//! SID that was read (another process may have ended it or handed it a new SID meanwhile).

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDateTime, TimeDelta};
use diesel::Connection;

use super::{StreamStatus, tell_pages, yp_form::TouchRequest};
use crate::{
    accounts,
    db::{
        Batch, DbConn, StreamChange, commit_lazily,
        models::{Broadcast, Stream, TokenOwner, TouchRow, TouchUpdate, TouchedBroadcast, YpToken},
        streams_changed,
    },
    error::{Error, Result},
    federation::announce,
    urls::Urls,
};

/// One touch waiting for its batch.
#[derive(Debug)]
pub(super) struct Touch {
    /// The hash of the token in the YP URL.
    pub hash: String,
    pub req: TouchRequest,
    pub now: NaiveDateTime,
    /// At most one title Update per broadcast in this span.
    pub interval: TimeDelta,
    pub urls: Urls,
    /// The posts' language for streams whose broadcaster chose none.
    pub language: String,
}

impl Touch {
    fn update(&self) -> TouchUpdate<'_> {
        TouchUpdate {
            title: &self.req.title,
            listeners: self.req.listeners,
            max_listeners: self.req.max_listeners,
            last_touch_at: self.now,
        }
    }
}

/// The batch of touches.
pub(super) struct Touches;

impl Batch for Touches {
    type Job = Touch;
    type Done = ();

    fn run(conn: &mut DbConn, jobs: Vec<Touch>) -> Result<Vec<Result<()>>> {
        commit_lazily(conn)?;
        let owners = token_owners(conn, &jobs)?;
        let sids: Vec<&str> = jobs
            .iter()
            .filter(|j| owners.contains_key(&j.hash))
            .map(|j| j.req.sid.as_str())
            .collect();
        let live: HashMap<String, (TouchedBroadcast, i64, bool)> =
            Broadcast::find_live_by_sids(conn, &sids)?
                .into_iter()
                .filter_map(|(b, owner, edits)| Some((b.sid.clone()?, (b, owner, edits))))
                .collect();
        let mut seen = HashMap::<&str, usize>::new();
        for sid in &sids {
            *seen.entry(sid).or_default() += 1;
        }

        let mut outcomes: Vec<Option<Result<()>>> = jobs.iter().map(|_| None).collect();
        let (mut rows, mut row_jobs, mut alone) = (Vec::new(), Vec::new(), Vec::new());
        for (i, job) in jobs.iter().enumerate() {
            let Some(owner) = owners.get(&job.hash) else {
                outcomes[i] = Some(Err(Error::UnknownToken));
                continue;
            };
            let sid = job.req.sid.as_str();
            match live.get(sid) {
                Some((b, owner_id, edits)) if *owner_id == owner.user_id => {
                    if seen.get(sid).is_some_and(|n| *n > 1)
                        || (*edits
                            && must_announce(b.announced(), &job.req.title, job.now, job.interval))
                    {
                        alone.push(i);
                    } else {
                        row_jobs.push(i);
                        rows.push(TouchRow {
                            id: b.id,
                            sid,
                            touch: job.update(),
                        });
                    }
                }
                _ => outcomes[i] = Some(Err(Error::UnknownSid)),
            }
        }

        let landed: HashSet<i64> = Broadcast::record_touches(conn, &rows)?
            .into_iter()
            .collect();
        let mut titles = Vec::new();
        for (i, row) in row_jobs.into_iter().zip(&rows) {
            let landed = landed.contains(&row.id);
            // Open pages hear of a new title (most touches repeat the last one).
            if let Some((b, ..)) = live
                .get(row.sid)
                .filter(|(b, ..)| landed && b.title != row.touch.title)
            {
                titles.push(StreamChange {
                    stream_id: b.stream_id,
                    status: StreamStatus::Live.as_str().to_owned(),
                    title: row.touch.title.to_owned(),
                });
            }
            outcomes[i] = Some(match landed {
                true => Ok(()),
                false => Err(Error::UnknownSid),
            });
        }
        streams_changed(conn, titles)?;
        for i in alone {
            // A savepoint: a failure here (queueing the Update, say) undoes this touch only.
            outcomes[i] = Some(conn.transaction(|c| touch_alone(c, &jobs[i])));
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Err(Error::UnknownSid)))
            .collect())
    }
}

/// The working tokens among the batch's, by hash, their use noted (at most once a minute, in the
/// order of their ids so that two processes' batches take the rows' locks in the same order).
fn token_owners(conn: &mut DbConn, jobs: &[Touch]) -> Result<HashMap<String, TokenOwner>> {
    let mut hashes: Vec<&str> = jobs.iter().map(|j| j.hash.as_str()).collect();
    hashes.sort_unstable();
    hashes.dedup();
    let owners: HashMap<String, TokenOwner> =
        YpToken::find_owners(conn, &hashes)?.into_iter().collect();
    let mut used: Vec<(&TokenOwner, NaiveDateTime)> = owners
        .iter()
        .filter_map(|(hash, owner)| {
            let latest = jobs
                .iter()
                .filter(|j| &j.hash == hash)
                .map(|j| j.now)
                .max()?;
            Some((owner, latest))
        })
        .collect();
    used.sort_unstable_by_key(|(owner, _)| owner.token_id);
    for (owner, now) in used {
        YpToken::touch_last_used(conn, owner, now)?;
    }
    Ok(owners)
}

/// One touch on its own: what every touch did before batching, and still what a touch that
/// announces a title does.
fn touch_alone(conn: &mut DbConn, touch: &Touch) -> Result<()> {
    let (req, now) = (&touch.req, touch.now);
    let owner = accounts::token_owner(conn, &touch.hash, now)?;
    let broadcast = Broadcast::find_live_by_sid(conn, req.sid.as_str(), owner.user_id)?
        .ok_or(Error::UnknownSid)?;
    // The stream is read only now, for the Note, off the hot path.
    if must_announce(broadcast.announced(), &req.title, now, touch.interval) {
        let stream = Stream::find(conn, broadcast.stream_id)?.ok_or(Error::UnknownSid)?;
        let current = Broadcast {
            title: req.title.clone(),
            ..broadcast.clone()
        };
        announce::touched(
            conn,
            &stream,
            &current,
            touch.interval,
            &touch.urls,
            &touch.language,
            now,
        )?;
    }
    if !broadcast.record_touch(conn, &touch.update())? {
        return Err(Error::UnknownSid);
    }
    if broadcast.title != req.title {
        tell_pages(conn, broadcast.stream_id, StreamStatus::Live, &req.title)?;
    }
    Ok(())
}

/// Whether followers must now hear of `title`, given what they were last told and when: they
/// were not told it, and not told anything for `interval` (so that a burst of titles becomes one
/// Update, with the latest).
fn must_announce(
    (told, at): (Option<&str>, Option<NaiveDateTime>),
    title: &str,
    now: NaiveDateTime,
    interval: TimeDelta,
) -> bool {
    told != Some(title) && (interval.is_zero() || at.is_none_or(|t| now - t >= interval))
}
