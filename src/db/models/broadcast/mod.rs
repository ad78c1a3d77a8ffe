use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::stored_text;
use crate::{
    db::{
        DbConn,
        schema::{broadcasts, streams},
    },
    error::Result,
};

stored_text! {
    /// Where a broadcast is in its life (DESIGN.md §3).
    pub enum BroadcastState("broadcast state") {
        /// On air: Icecast touches it.
        Live = "live",
        /// Icecast sent `remove`; an `add` within the grace period continues it.
        Ending = "ending",
        /// Over; kept as history.
        Ended = "ended",
    }
}

/// One on-air session of a stream.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = broadcasts)]
pub struct Broadcast {
    pub id: i64,
    pub stream_id: i64,
    #[diesel(deserialize_as = String)]
    pub state: BroadcastState,
    pub sid: Option<String>,
    pub title: String,
    pub listeners: i32,
    pub max_listeners: Option<i32>,
    pub started_at: NaiveDateTime,
    pub last_touch_at: NaiveDateTime,
    pub ending_since: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    /// The title followers were last told (by the Create or an Update), and when.
    pub announced_title: Option<String>,
    pub announced_at: Option<NaiveDateTime>,
    /// Ended with an `Update` rather than a `Delete`: its Note still exists.
    pub kept: bool,
    /// The scheduled show this broadcast is, and its title then.
    pub show_id: Option<i64>,
    pub show_title: Option<String>,
}

/// What a touch batch reads of a live broadcast: enough to match a touch to it and to tell
/// whether its new title must be announced. The hot path decodes these seven columns, not the
/// row's seventeen (on SQLite each timestamp is text to parse).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = broadcasts)]
pub struct TouchedBroadcast {
    pub id: i64,
    pub stream_id: i64,
    #[diesel(deserialize_as = String)]
    pub state: BroadcastState,
    pub sid: Option<String>,
    pub title: String,
    pub announced_title: Option<String>,
    pub announced_at: Option<NaiveDateTime>,
}

impl TouchedBroadcast {
    /// The title followers were last told, and when.
    pub fn announced(&self) -> (Option<&str>, Option<NaiveDateTime>) {
        (self.announced_title.as_deref(), self.announced_at)
    }
}

impl Broadcast {
    /// The title followers were last told, and when.
    pub fn announced(&self) -> (Option<&str>, Option<NaiveDateTime>) {
        (self.announced_title.as_deref(), self.announced_at)
    }
}

type LiveUnchanged = diesel::dsl::Filter<
    diesel::dsl::Find<broadcasts::table, i64>,
    diesel::dsl::And<
        diesel::dsl::Eq<broadcasts::state, &'static str>,
        diesel::dsl::Eq<broadcasts::sid, Option<String>>,
    >,
>;

mod touches;

pub use touches::{TouchRow, TouchUpdate};

impl Broadcast {
    /// The stream's broadcast that is live or ending, if any (at most one, by a unique index).
    pub fn find_active(conn: &mut DbConn, stream_id: i64) -> Result<Option<Self>> {
        Ok(broadcasts::table
            .filter(broadcasts::stream_id.eq(stream_id))
            .filter(on_air())
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// The live broadcast holding `sid`, if it belongs to one of `owner_id`'s streams.
    pub fn find_live_by_sid(conn: &mut DbConn, sid: &str, owner_id: i64) -> Result<Option<Self>> {
        Ok(broadcasts::table
            .inner_join(streams::table)
            .filter(broadcasts::sid.eq(sid))
            .filter(broadcasts::state.eq(BroadcastState::Live.as_str()))
            .filter(streams::owner_id.eq(owner_id))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// The live broadcasts holding any of `sids`, each with its stream's owner and whether the
    /// stream's titles edit its post. Found by SID alone (the unique index, whatever the planner
    /// knows of the table), checked for being live here.
    pub fn find_live_by_sids(
        conn: &mut DbConn,
        sids: &[&str],
    ) -> Result<Vec<(TouchedBroadcast, i64, bool)>> {
        // The owner as a subquery per row rather than a join: a join let PostgreSQL's planner,
        // knowing nothing of the tables yet, hash all of streams for each batch.
        let owner = streams::table
            .filter(streams::id.eq(broadcasts::stream_id))
            .select(streams::owner_id)
            .single_value();
        let edits = streams::table
            .filter(streams::id.eq(broadcasts::stream_id))
            .select(streams::title_edits)
            .single_value();
        let found: Vec<(TouchedBroadcast, Option<i64>, Option<bool>)> = match conn {
            DbConn::Pg(_) => broadcasts::table
                .filter(broadcasts::sid.eq_any(sids))
                .select((TouchedBroadcast::as_select(), owner, edits))
                .load(conn)?,
            // The SIDs as one JSON array: an `IN (?, ?, …)` list is a statement per batch size,
            // parsed anew each time (diesel does not keep it prepared).
            DbConn::Sqlite(_) => broadcasts::table
                .filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>(
                        "broadcasts.sid IN (SELECT value FROM json_each(",
                    )
                    .bind::<diesel::sql_types::Text, _>(serde_json::json!(sids).to_string())
                    .sql("))"),
                )
                .select((TouchedBroadcast::as_select(), owner, edits))
                .load(conn)?,
        };
        Ok(found
            .into_iter()
            .filter(|(b, ..)| b.state == BroadcastState::Live)
            .filter_map(|(b, owner, edits)| Some((b, owner?, edits?)))
            .collect())
    }

    /// Starts a new broadcast of a stream under a fresh SID.
    pub fn insert_live(
        conn: &mut DbConn,
        stream_id: i64,
        sid: &str,
        now: NaiveDateTime,
    ) -> Result<Self> {
        diesel::insert_into(broadcasts::table)
            .values((
                broadcasts::stream_id.eq(stream_id),
                broadcasts::state.eq(BroadcastState::Live.as_str()),
                broadcasts::sid.eq(sid),
                broadcasts::title.eq(""),
                broadcasts::listeners.eq(0),
                broadcasts::started_at.eq(now),
                broadcasts::last_touch_at.eq(now),
            ))
            .execute(conn)?;
        Ok(broadcasts::table
            .filter(broadcasts::sid.eq(sid))
            .select(Self::as_select())
            .first(conn)?)
    }

    /// Puts an existing broadcast (live, or ending within its grace) back on air under a new SID;
    /// the old SID stops working. False if another process changed it meanwhile.
    pub fn resume(&self, conn: &mut DbConn, sid: &str, now: NaiveDateTime) -> Result<bool> {
        let on_air = (
            broadcasts::state.eq(BroadcastState::Live.as_str()),
            broadcasts::sid.eq(sid),
            broadcasts::last_touch_at.eq(now),
            broadcasts::ending_since.eq(None::<NaiveDateTime>),
        );
        let changed = match self.state {
            BroadcastState::Live => diesel::update(self.live_unchanged())
                .set(on_air)
                .execute(conn)?,
            BroadcastState::Ending => diesel::update(
                broadcasts::table
                    .find(self.id)
                    .filter(broadcasts::state.eq(BroadcastState::Ending.as_str()))
                    .filter(broadcasts::ending_since.eq(self.ending_since)),
            )
            .set(on_air)
            .execute(conn)?,
            BroadcastState::Ended => 0,
        };
        Ok(changed == 1)
    }

    /// Icecast removed the stream: the broadcast waits out its grace period, and its SID is
    /// dropped. False if the broadcast changed meanwhile.
    pub fn begin_ending(&self, conn: &mut DbConn, now: NaiveDateTime) -> Result<bool> {
        let changed = diesel::update(self.live_unchanged())
            .set((
                broadcasts::state.eq(BroadcastState::Ending.as_str()),
                broadcasts::sid.eq(None::<String>),
                broadcasts::ending_since.eq(now),
            ))
            .execute(conn)?;
        Ok(changed == 1)
    }

    /// This live row, as long as it is still live under the SID that was read: updates are
    /// conditional on that, so a touch never lands on a broadcast another process just ended or
    /// handed a new SID.
    fn live_unchanged(&self) -> LiveUnchanged {
        broadcasts::table.find(self.id).filter(
            broadcasts::state
                .eq(BroadcastState::Live.as_str())
                .and(broadcasts::sid.eq(self.sid.clone())),
        )
    }

    /// Live broadcasts last touched before `cutoff` (Icecast died without a remove).
    pub fn list_silent_since(
        conn: &mut DbConn,
        cutoff: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<Self>> {
        Ok(broadcasts::table
            .filter(on_air())
            .filter(broadcasts::state.eq(BroadcastState::Live.as_str()))
            .filter(broadcasts::last_touch_at.lt(cutoff))
            .order(broadcasts::id)
            .limit(limit)
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Ending broadcasts whose grace started before `cutoff`.
    pub fn list_ending_since(
        conn: &mut DbConn,
        cutoff: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<Self>> {
        Ok(broadcasts::table
            .filter(on_air())
            .filter(broadcasts::state.eq(BroadcastState::Ending.as_str()))
            .filter(broadcasts::ending_since.lt(cutoff))
            .order(broadcasts::id)
            .limit(limit)
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Ends the broadcast if it is still idle since before `cutoff`: live and last touched, or
    /// ending and removed, before it. Another process may have touched, resumed or ended it
    /// meanwhile; returns whether this call ended it.
    pub fn end_if_idle(
        &self,
        conn: &mut DbConn,
        cutoff: NaiveDateTime,
        now: NaiveDateTime,
    ) -> Result<bool> {
        let target = broadcasts::table.find(self.id);
        let end = (
            broadcasts::state.eq(BroadcastState::Ended.as_str()),
            broadcasts::sid.eq(None::<String>),
            broadcasts::ended_at.eq(now),
        );
        let changed = match self.state {
            BroadcastState::Live => diesel::update(
                target
                    .filter(broadcasts::state.eq(BroadcastState::Live.as_str()))
                    .filter(broadcasts::last_touch_at.lt(cutoff)),
            )
            .set(end)
            .execute(conn)?,
            BroadcastState::Ending => diesel::update(
                target
                    .filter(broadcasts::state.eq(BroadcastState::Ending.as_str()))
                    .filter(broadcasts::ending_since.lt(cutoff)),
            )
            .set(end)
            .execute(conn)?,
            BroadcastState::Ended => 0,
        };
        Ok(changed == 1)
    }

    /// Every broadcast ever (NodeInfo's `localPosts`).
    pub fn count(conn: &mut DbConn) -> Result<i64> {
        Ok(broadcasts::table.count().get_result(conn)?)
    }

    /// Streams with a broadcast started since `since` (NodeInfo's active users).
    pub fn count_streams_since(conn: &mut DbConn, since: NaiveDateTime) -> Result<i64> {
        Ok(broadcasts::table
            .filter(broadcasts::started_at.ge(since))
            .select(diesel::dsl::count(broadcasts::stream_id).aggregate_distinct())
            .get_result(conn)?)
    }

    /// Notes what followers were just told.
    pub fn set_announced(
        conn: &mut DbConn,
        id: i64,
        title: &str,
        now: NaiveDateTime,
    ) -> Result<()> {
        diesel::update(broadcasts::table.find(id))
            .set((
                broadcasts::announced_title.eq(title),
                broadcasts::announced_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Marks the broadcast as the occurrence starting at `start` of the show `show_id`.
    pub fn set_show(
        conn: &mut DbConn,
        id: i64,
        show_id: i64,
        title: &str,
        start: NaiveDateTime,
    ) -> Result<()> {
        diesel::update(broadcasts::table.find(id))
            .set((
                broadcasts::show_id.eq(show_id),
                broadcasts::show_title.eq(title),
                broadcasts::show_start.eq(start),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Whether a broadcast of the show is on air (or ending), and which occurrence (its UTC
    /// start) it is: `Some(None)` for one that went on air before occurrences were recorded.
    pub fn show_on_air(conn: &mut DbConn, show_id: i64) -> Result<Option<Option<NaiveDateTime>>> {
        Ok(broadcasts::table
            .filter(broadcasts::show_id.eq(show_id))
            .filter(broadcasts::state.ne(BroadcastState::Ended.as_str()))
            .select(broadcasts::show_start)
            .first(conn)
            .optional()?)
    }

    /// Keeps an ending broadcast's Note (it ends with an `Update`, not a `Delete`).
    pub fn set_kept(conn: &mut DbConn, id: i64) -> Result<()> {
        diesel::update(broadcasts::table.find(id))
            .set(broadcasts::kept.eq(true))
            .execute(conn)?;
        Ok(())
    }

    /// A stream's broadcasts whose Note exists (on air, or ended and kept), newest first, before
    /// the id `before`: the outbox.
    pub fn list_published(
        conn: &mut DbConn,
        stream_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Self>> {
        let mut query = broadcasts::table
            .filter(broadcasts::stream_id.eq(stream_id))
            .filter(published())
            .order(broadcasts::id.desc())
            .limit(limit)
            .select(Self::as_select())
            .into_boxed();
        if let Some(before) = before {
            query = query.filter(broadcasts::id.lt(before));
        }
        Ok(query.load(conn)?)
    }

    /// How many of a stream's broadcasts have a Note.
    pub fn count_published(conn: &mut DbConn, stream_id: i64) -> Result<i64> {
        Ok(broadcasts::table
            .filter(broadcasts::stream_id.eq(stream_id))
            .filter(published())
            .count()
            .get_result(conn)?)
    }

    /// One broadcast by id.
    pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<Self>> {
        Ok(broadcasts::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Broadcasts on air right now (for the metrics gauge).
    pub fn count_live(conn: &mut DbConn) -> Result<i64> {
        Ok(broadcasts::table
            .filter(on_air())
            .filter(broadcasts::state.eq(BroadcastState::Live.as_str()))
            .count()
            .get_result(conn)?)
    }
}

/// `state <> 'ended'` spelled as a literal, the predicate of the partial indexes
/// `broadcasts_on_air` (by id, for the reaper) and `broadcasts_one_active` (by stream), so that
/// either backend's planner reads the on-air broadcasts through them (a bound parameter would
/// not match a partial index), not the table with its history. Broadcasts have no other index on
/// their state: see the migration `touch_in_place`.
fn on_air() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("broadcasts.state <> 'ended'")
}

type Published = diesel::dsl::Or<
    diesel::dsl::NotEq<broadcasts::state, &'static str>,
    diesel::dsl::Eq<broadcasts::kept, bool>,
>;

/// Broadcasts whose Note exists: not ended, or ended with an `Update`.
fn published() -> Published {
    broadcasts::state
        .ne(BroadcastState::Ended.as_str())
        .or(broadcasts::kept.eq(true))
}
