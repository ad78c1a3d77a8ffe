use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{
        DbConn,
        schema::{remote_shows, remote_streams},
    },
    error::Result,
};

use super::RemoteStream;

/// A remote stream's scheduled show, as its origin announced it (sanitised).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = remote_shows)]
pub struct RemoteShow {
    pub id: i64,
    pub remote_stream_id: i64,
    pub object_id: String,
    pub title: String,
    pub summary: String,
    pub url: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub live: bool,
    pub heard_at: NaiveDateTime,
}

/// What an announcement says of a remote show.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset)]
#[diesel(table_name = remote_shows)]
pub struct NewRemoteShow {
    pub remote_stream_id: i64,
    pub object_id: String,
    pub title: String,
    pub summary: String,
    pub url: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub live: bool,
    pub heard_at: NaiveDateTime,
}

impl RemoteShow {
    /// Stores or replaces the show at its object id (only the same stream's: an id another
    /// stream announced stays its). Two deliveries of one Event at once both succeed: the
    /// insert gives way to the row the other made, which is then updated.
    pub fn upsert(conn: &mut DbConn, new: &NewRemoteShow) -> Result<()> {
        let insert = diesel::insert_into(remote_shows::table).values(new);
        let inserted = match conn {
            DbConn::Sqlite(c) => insert
                .on_conflict(remote_shows::object_id)
                .do_nothing()
                .execute(c)?,
            DbConn::Pg(c) => insert
                .on_conflict(remote_shows::object_id)
                .do_nothing()
                .execute(c)?,
        };
        if inserted == 0 {
            diesel::update(
                remote_shows::table
                    .filter(remote_shows::object_id.eq(&new.object_id))
                    .filter(remote_shows::remote_stream_id.eq(new.remote_stream_id)),
            )
            .set(new)
            .execute(conn)?;
        }
        Ok(())
    }

    /// How many shows of the stream are kept, and whether `object_id` is one of them. On
    /// PostgreSQL the stream's row is locked first, so that two deliveries at once cannot both
    /// take the last place.
    pub fn held(conn: &mut DbConn, remote_stream_id: i64, object_id: &str) -> Result<(i64, bool)> {
        if let DbConn::Pg(c) = conn {
            remote_streams::table
                .find(remote_stream_id)
                .select(remote_streams::id)
                .for_update()
                .load::<i64>(c)?;
        }
        let ids: Vec<String> = remote_shows::table
            .filter(remote_shows::remote_stream_id.eq(remote_stream_id))
            .select(remote_shows::object_id)
            .load(conn)?;
        Ok((ids.len() as i64, ids.iter().any(|i| i == object_id)))
    }

    /// Removes a stream's show by its object id; whether there was one.
    pub fn delete(conn: &mut DbConn, remote_stream_id: i64, object_id: &str) -> Result<bool> {
        let n = diesel::delete(
            remote_shows::table
                .filter(remote_shows::remote_stream_id.eq(remote_stream_id))
                .filter(remote_shows::object_id.eq(object_id)),
        )
        .execute(conn)?;
        Ok(n > 0)
    }

    /// Removes a show by its object id, whoever announced it; whether there was one.
    pub fn forget(conn: &mut DbConn, object_id: &str) -> Result<bool> {
        let n = diesel::delete(remote_shows::table.filter(remote_shows::object_id.eq(object_id)))
            .execute(conn)?;
        Ok(n > 0)
    }

    /// Shows that end after `from` and start before `to`, soonest first, with their streams.
    pub fn between(
        conn: &mut DbConn,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Result<Vec<(Self, RemoteStream)>> {
        Ok(remote_shows::table
            .inner_join(remote_streams::table)
            .filter(remote_shows::ends_at.gt(from))
            .filter(remote_shows::starts_at.lt(to))
            .order(remote_shows::starts_at)
            .limit(200)
            .select((Self::as_select(), RemoteStream::as_select()))
            .load(conn)?)
    }

    /// Forgets shows that are over (housekeeping); how many went.
    pub fn forget_ended(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize> {
        Ok(
            diesel::delete(remote_shows::table.filter(remote_shows::ends_at.le(now)))
                .execute(conn)?,
        )
    }
}
