use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{
        DbConn,
        schema::{broadcasts, streams},
    },
    error::Result,
};

/// Where a broadcast is in its life (DESIGN.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastState {
    /// On air: Icecast touches it.
    Live,
    /// Icecast sent `remove`; an `add` within the grace period continues it.
    Ending,
    /// Over; kept as history.
    Ended,
}

impl BroadcastState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Ending => "ending",
            Self::Ended => "ended",
        }
    }
}

impl TryFrom<String> for BroadcastState {
    type Error = String;

    fn try_from(value: String) -> std::result::Result<Self, String> {
        match value.as_str() {
            "live" => Ok(Self::Live),
            "ending" => Ok(Self::Ending),
            "ended" => Ok(Self::Ended),
            _ => Err(format!("unknown broadcast state {value:?}")),
        }
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
}

/// What a touch records.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = broadcasts)]
pub struct TouchUpdate<'a> {
    pub title: &'a str,
    pub listeners: i32,
    pub max_listeners: Option<i32>,
    pub last_touch_at: NaiveDateTime,
}

impl Broadcast {
    /// The stream's broadcast that is live or ending, if any (at most one, by a unique index).
    pub fn find_active(conn: &mut DbConn, stream_id: i64) -> Result<Option<Self>> {
        Ok(broadcasts::table
            .filter(broadcasts::stream_id.eq(stream_id))
            .filter(broadcasts::state.ne(BroadcastState::Ended.as_str()))
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
    /// the old SID stops working.
    pub fn resume(&self, conn: &mut DbConn, sid: &str, now: NaiveDateTime) -> Result<()> {
        diesel::update(broadcasts::table.find(self.id))
            .set((
                broadcasts::state.eq(BroadcastState::Live.as_str()),
                broadcasts::sid.eq(sid),
                broadcasts::last_touch_at.eq(now),
                broadcasts::ending_since.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Records a touch.
    pub fn record_touch(&self, conn: &mut DbConn, touch: &TouchUpdate<'_>) -> Result<()> {
        diesel::update(broadcasts::table.find(self.id))
            .set(touch)
            .execute(conn)?;
        Ok(())
    }

    /// Icecast removed the stream: the broadcast waits out its grace period, and its SID is dropped.
    pub fn begin_ending(&self, conn: &mut DbConn, now: NaiveDateTime) -> Result<()> {
        diesel::update(broadcasts::table.find(self.id))
            .set((
                broadcasts::state.eq(BroadcastState::Ending.as_str()),
                broadcasts::sid.eq(None::<String>),
                broadcasts::ending_since.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Live broadcasts last touched before `cutoff` (Icecast died without a remove).
    pub fn list_silent_since(
        conn: &mut DbConn,
        cutoff: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<Self>> {
        Ok(broadcasts::table
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
            .filter(broadcasts::state.eq(BroadcastState::Ending.as_str()))
            .filter(broadcasts::ending_since.lt(cutoff))
            .order(broadcasts::id)
            .limit(limit)
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Ends the broadcast if it is still in `from` (another process may have ended it already).
    /// Returns whether this call ended it.
    pub fn end(&self, conn: &mut DbConn, from: BroadcastState, now: NaiveDateTime) -> Result<bool> {
        let changed = diesel::update(
            broadcasts::table
                .find(self.id)
                .filter(broadcasts::state.eq(from.as_str())),
        )
        .set((
            broadcasts::state.eq(BroadcastState::Ended.as_str()),
            broadcasts::sid.eq(None::<String>),
            broadcasts::ended_at.eq(now),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Broadcasts on air right now (for the metrics gauge).
    pub fn count_live(conn: &mut DbConn) -> Result<i64> {
        Ok(broadcasts::table
            .filter(broadcasts::state.eq(BroadcastState::Live.as_str()))
            .count()
            .get_result(conn)?)
    }
}
