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

type LiveUnchanged = diesel::dsl::Filter<
    diesel::dsl::Find<broadcasts::table, i64>,
    diesel::dsl::And<
        diesel::dsl::Eq<broadcasts::state, &'static str>,
        diesel::dsl::Eq<broadcasts::sid, Option<String>>,
    >,
>;

/// What a touch records (a missing `max_listeners` keeps the one recorded before).
#[derive(Debug, Clone)]
pub struct TouchUpdate<'a> {
    pub title: &'a str,
    pub listeners: i32,
    pub max_listeners: Option<i32>,
    pub last_touch_at: NaiveDateTime,
}

/// One touch of a batch: the broadcast as it was read (its id and SID) and what to record.
#[derive(Debug, Clone)]
pub struct TouchRow<'a> {
    pub id: i64,
    pub sid: &'a str,
    pub touch: TouchUpdate<'a>,
}

/// A broadcast id a set-based statement returned.
#[derive(QueryableByName)]
struct Landed {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Every touch of a batch in one statement: the rows are passed as arrays and unnested, and only
/// those still live under the SID that was read are written (as in [`Broadcast::record_touch`]).
const RECORD_TOUCHES_PG: &str = "UPDATE broadcasts AS b SET title = t.title,
        listeners = t.listeners, max_listeners = COALESCE(t.max_listeners, b.max_listeners),
        last_touch_at = t.at
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::integer[], $5::integer[],
        $6::timestamp[]) AS t (id, sid, title, listeners, max_listeners, at)
    WHERE b.id = t.id AND b.state = 'live' AND b.sid = t.sid
    RETURNING b.id";

/// [`RECORD_TOUCHES_PG`] for SQLite, which has no arrays: the rows as one JSON array of arrays
/// (one short statement, where a VALUES list would be a long one to parse for every batch:
/// diesel keeps no UPDATE prepared).
const RECORD_TOUCHES_SQLITE: &str = "UPDATE broadcasts SET title = t.title,
        listeners = t.listeners,
        max_listeners = coalesce(t.max_listeners, broadcasts.max_listeners),
        last_touch_at = t.at
    FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS sid,
            json_extract(value, '$[2]') AS title, json_extract(value, '$[3]') AS listeners,
            json_extract(value, '$[4]') AS max_listeners, json_extract(value, '$[5]') AS at
        FROM json_each(?)) AS t
    WHERE broadcasts.id = t.id AND broadcasts.state = 'live' AND broadcasts.sid = t.sid
    RETURNING broadcasts.id";

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
    pub fn find_live_by_sids(conn: &mut DbConn, sids: &[&str]) -> Result<Vec<(Self, i64, bool)>> {
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
        let found: Vec<(Self, Option<i64>, Option<bool>)> = match conn {
            DbConn::Pg(_) => broadcasts::table
                .filter(broadcasts::sid.eq_any(sids))
                .select((Self::as_select(), owner, edits))
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
                .select((Self::as_select(), owner, edits))
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

    /// Records a touch. False if the broadcast is no longer live under this SID (a reaper or a
    /// re-add in another process got there first).
    pub fn record_touch(&self, conn: &mut DbConn, touch: &TouchUpdate<'_>) -> Result<bool> {
        let Some(sid) = self.sid.as_deref() else {
            return Ok(false);
        };
        let row = TouchRow {
            id: self.id,
            sid,
            touch: touch.clone(),
        };
        Ok(Self::record_touches(conn, &[row])? == [self.id])
    }

    /// Records a batch of touches (one row per broadcast), each only if its broadcast is still
    /// live under the SID that was read; returns the ids of those that landed. One statement for
    /// the batch.
    pub fn record_touches(conn: &mut DbConn, rows: &[TouchRow<'_>]) -> Result<Vec<i64>> {
        use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        match conn {
            DbConn::Pg(c) => {
                let landed: Vec<Landed> = diesel::sql_query(RECORD_TOUCHES_PG)
                    .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.id).collect::<Vec<_>>())
                    .bind::<Array<Text>, _>(rows.iter().map(|r| r.sid).collect::<Vec<_>>())
                    .bind::<Array<Text>, _>(rows.iter().map(|r| r.touch.title).collect::<Vec<_>>())
                    .bind::<Array<Integer>, _>(
                        rows.iter().map(|r| r.touch.listeners).collect::<Vec<_>>(),
                    )
                    .bind::<Array<Nullable<Integer>>, _>(
                        rows.iter()
                            .map(|r| r.touch.max_listeners)
                            .collect::<Vec<_>>(),
                    )
                    .bind::<Array<Timestamp>, _>(
                        rows.iter()
                            .map(|r| r.touch.last_touch_at)
                            .collect::<Vec<_>>(),
                    )
                    .load(c)?;
                Ok(landed.into_iter().map(|l| l.id).collect())
            }
            DbConn::Sqlite(c) => {
                let rows: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|r| {
                        let t = &r.touch;
                        serde_json::json!([
                            r.id,
                            r.sid,
                            t.title,
                            t.listeners,
                            t.max_listeners,
                            // As diesel writes a Timestamp to SQLite: TEXT that compares in
                            // time order with the cutoffs it binds (the reaper's).
                            t.last_touch_at.format("%F %T%.f").to_string(),
                        ])
                    })
                    .collect();
                let landed: Vec<Landed> = diesel::sql_query(RECORD_TOUCHES_SQLITE)
                    .bind::<Text, _>(serde_json::Value::Array(rows).to_string())
                    .load(c)?;
                Ok(landed.into_iter().map(|l| l.id).collect())
            }
        }
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
