use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{DbConn, schema::remote_broadcasts},
    error::Result,
};

/// A remote broadcast (its Note) in the catalog.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = remote_broadcasts)]
pub struct RemoteBroadcast {
    pub id: i64,
    pub remote_stream_id: i64,
    pub object_id: String,
    pub live: bool,
    pub title: String,
    pub listen_url: String,
    pub content_type: String,
    pub bitrate: Option<i32>,
    pub started_at: NaiveDateTime,
    pub heard_at: NaiveDateTime,
    pub unreachable_since: Option<NaiveDateTime>,
    pub hidden: bool,
}

/// A Note's live state as an activity (or a fetch) states it.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = remote_broadcasts)]
pub struct NewRemoteBroadcast {
    pub remote_stream_id: i64,
    pub object_id: String,
    pub live: bool,
    pub title: String,
    pub listen_url: String,
    pub content_type: String,
    pub bitrate: Option<i32>,
    pub started_at: NaiveDateTime,
    pub heard_at: NaiveDateTime,
}

impl RemoteBroadcast {
    /// Stores what a Create or Update says; returns false (and stores nothing) when the Note
    /// belongs to another stream in the catalog: a stream cannot take over another's entry. A
    /// stream is on air once: a new live broadcast replaces the stream's other live ones.
    /// Hearing of it makes it reachable again.
    pub fn upsert(conn: &mut DbConn, new: &NewRemoteBroadcast) -> Result<bool> {
        // The common case, a title change of a known Note: one conditional statement.
        let updated = diesel::update(
            remote_broadcasts::table
                .filter(remote_broadcasts::object_id.eq(&new.object_id))
                .filter(remote_broadcasts::remote_stream_id.eq(new.remote_stream_id)),
        )
        .set((
            new,
            remote_broadcasts::unreachable_since.eq(None::<NaiveDateTime>),
            remote_broadcasts::hidden.eq(false),
        ))
        .execute(conn)?;
        if updated > 0 {
            return Ok(true);
        }
        let elsewhere = diesel::select(diesel::dsl::exists(
            remote_broadcasts::table.filter(remote_broadcasts::object_id.eq(&new.object_id)),
        ))
        .get_result::<bool>(conn)?;
        if elsewhere {
            return Ok(false);
        }
        if new.live {
            diesel::delete(
                remote_broadcasts::table
                    .filter(remote_broadcasts::remote_stream_id.eq(new.remote_stream_id))
                    .filter(remote_broadcasts::live.eq(true)),
            )
            .execute(conn)?;
        }
        diesel::insert_into(remote_broadcasts::table)
            .values(new)
            .execute(conn)?;
        Ok(true)
    }

    /// What the origin said of entry `id` when it was checked; changes nothing (and returns
    /// false) when the entry is gone meanwhile: a Delete that arrived while the origin was being
    /// asked, or another process's pass, is never undone by an insert.
    pub fn refresh(conn: &mut DbConn, id: i64, fresh: &NewRemoteBroadcast) -> Result<bool> {
        let updated = diesel::update(
            remote_broadcasts::table
                .find(id)
                .filter(remote_broadcasts::object_id.eq(&fresh.object_id)),
        )
        .set((
            fresh,
            remote_broadcasts::unreachable_since.eq(None::<NaiveDateTime>),
            remote_broadcasts::hidden.eq(false),
        ))
        .execute(conn)?;
        Ok(updated > 0)
    }

    /// The entry for a Note, if the catalog has it.
    pub fn find(conn: &mut DbConn, object_id: &str) -> Result<Option<Self>> {
        Ok(remote_broadcasts::table
            .filter(remote_broadcasts::object_id.eq(object_id))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Removes the entry for a Note of the stream `remote_stream_id`; returns whether it was
    /// there.
    pub fn delete(conn: &mut DbConn, remote_stream_id: i64, object_id: &str) -> Result<bool> {
        let n = diesel::delete(
            remote_broadcasts::table
                .filter(remote_broadcasts::remote_stream_id.eq(remote_stream_id))
                .filter(remote_broadcasts::object_id.eq(object_id)),
        )
        .execute(conn)?;
        Ok(n > 0)
    }

    /// Live entries nobody told us about since `before`, least recently heard first.
    pub fn list_silent(conn: &mut DbConn, before: NaiveDateTime, limit: i64) -> Result<Vec<Self>> {
        Ok(remote_broadcasts::table
            .filter(remote_broadcasts::live.eq(true))
            .filter(remote_broadcasts::heard_at.lt(before))
            .order(remote_broadcasts::heard_at)
            .limit(limit)
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Its origin did not answer; the first failure is remembered, and the entry counts as heard
    /// now so that it is tried again after the same interval. Unreachable since before
    /// `hide_before`, it is hidden.
    pub fn mark_unreachable(
        conn: &mut DbConn,
        id: i64,
        now: NaiveDateTime,
        hide_before: NaiveDateTime,
    ) -> Result<()> {
        diesel::update(remote_broadcasts::table.find(id))
            .set(remote_broadcasts::heard_at.eq(now))
            .execute(conn)?;
        diesel::update(
            remote_broadcasts::table
                .find(id)
                .filter(remote_broadcasts::unreachable_since.lt(hide_before)),
        )
        .set(remote_broadcasts::hidden.eq(true))
        .execute(conn)?;
        diesel::update(
            remote_broadcasts::table
                .find(id)
                .filter(remote_broadcasts::unreachable_since.is_null()),
        )
        .set(remote_broadcasts::unreachable_since.eq(now))
        .execute(conn)?;
        Ok(())
    }
}
