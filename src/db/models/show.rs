use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{DbConn, schema::shows},
    error::Result,
};

/// A scheduled show of a local stream, as stored: wall-clock times in its own zone (see
/// `streams::shows` for what they mean as instants).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = shows)]
pub struct Show {
    pub id: i64,
    pub stream_id: i64,
    pub title: String,
    pub description: String,
    pub starts_local: NaiveDateTime,
    pub duration_minutes: i32,
    pub time_zone: String,
    pub weekly: bool,
    /// Comma-joined local dates a weekly show skips.
    pub exceptions: String,
    pub cancelled_at: Option<NaiveDateTime>,
    /// The occurrence (UTC start) followers were last told of.
    pub announced_start: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// A one-off show that is over: it leaves the active set (it stays for its page).
    pub finished_at: Option<NaiveDateTime>,
    /// The `updated` of the last Update of its Event.
    pub announced_at: Option<NaiveDateTime>,
}

/// What a broadcaster sets of a show (a new one, or the whole of an edited one).
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset)]
#[diesel(table_name = shows)]
pub struct NewShow {
    pub stream_id: i64,
    pub title: String,
    pub description: String,
    pub starts_local: NaiveDateTime,
    pub duration_minutes: i32,
    pub time_zone: String,
    pub weekly: bool,
    pub exceptions: String,
}

impl Show {
    /// Stores a new show and returns it.
    pub fn insert(conn: &mut DbConn, new: &NewShow, now: NaiveDateTime) -> Result<Self> {
        let id: i64 = diesel::insert_into(shows::table)
            .values((new, shows::created_at.eq(now), shows::updated_at.eq(now)))
            .returning(shows::id)
            .get_result(conn)?;
        Ok(shows::table
            .find(id)
            .select(Self::as_select())
            .first(conn)?)
    }

    /// Replaces what the broadcaster set.
    pub fn update(conn: &mut DbConn, id: i64, new: &NewShow, now: NaiveDateTime) -> Result<()> {
        diesel::update(shows::table.find(id))
            .set((new, shows::updated_at.eq(now)))
            .execute(conn)?;
        Ok(())
    }

    /// Notes the occurrence followers were told of, and the `updated` they were told (`None`
    /// for the Create).
    pub fn set_announced(
        conn: &mut DbConn,
        id: i64,
        start: NaiveDateTime,
        updated: Option<NaiveDateTime>,
    ) -> Result<()> {
        diesel::update(shows::table.find(id))
            .set((
                shows::announced_start.eq(start),
                shows::announced_at.eq(updated),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Takes a one-off show that is over out of the active set.
    pub fn finish(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> Result<()> {
        diesel::update(shows::table.find(id).filter(shows::finished_at.is_null()))
            .set(shows::finished_at.eq(now))
            .execute(conn)?;
        Ok(())
    }

    /// Marks a show cancelled (it stays, for its Tombstone).
    pub fn cancel(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> Result<bool> {
        let n = diesel::update(shows::table.find(id).filter(shows::cancelled_at.is_null()))
            .set((shows::cancelled_at.eq(now), shows::updated_at.eq(now)))
            .execute(conn)?;
        Ok(n > 0)
    }

    pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<Self>> {
        Ok(shows::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// A stream's shows that are neither cancelled nor over, oldest first.
    pub fn active_for_stream(conn: &mut DbConn, stream_id: i64) -> Result<Vec<Self>> {
        Ok(shows::table
            .filter(shows::stream_id.eq(stream_id))
            .filter(shows::cancelled_at.is_null())
            .filter(shows::finished_at.is_null())
            .order(shows::id)
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Every show neither cancelled nor over (the instance's calendar and upcoming list; few
    /// per stream).
    pub fn active(conn: &mut DbConn) -> Result<Vec<Self>> {
        Ok(shows::table
            .filter(shows::cancelled_at.is_null())
            .filter(shows::finished_at.is_null())
            .order(shows::id)
            .select(Self::as_select())
            .load(conn)?)
    }
}
