use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{RemoteBroadcast, StreamFilter, stream_filter::filter_listing};
use crate::{
    db::{
        DbConn,
        schema::{remote_broadcasts, remote_shows, remote_streams},
    },
    error::Result,
};

/// A remote stream actor in the catalog, as it last described itself.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = remote_streams)]
pub struct RemoteStream {
    pub id: i64,
    pub actor_id: String,
    pub host: String,
    pub handle: String,
    pub name: String,
    /// Sanitised HTML.
    pub summary: String,
    pub icon: Option<String>,
    pub url: Option<String>,
    /// Comma-separated, as on local streams.
    pub genres: String,
    pub updated_at: NaiveDateTime,
}

/// What the catalog keeps of a remote stream actor; replaces the row as a whole.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = remote_streams, treat_none_as_null = true)]
pub struct RemoteStreamProfile {
    pub actor_id: String,
    pub host: String,
    pub handle: String,
    pub name: String,
    pub summary: String,
    pub icon: Option<String>,
    pub url: Option<String>,
    pub genres: String,
    pub updated_at: NaiveDateTime,
}

impl RemoteStream {
    /// The genres as a list.
    pub fn genre_list(&self) -> Vec<&str> {
        self.genres.split(',').filter(|g| !g.is_empty()).collect()
    }

    /// Stores the profile (new, or replacing the old one); returns the row's id.
    pub fn upsert(conn: &mut DbConn, profile: &RemoteStreamProfile) -> Result<i64> {
        let changed = diesel::update(
            remote_streams::table.filter(remote_streams::actor_id.eq(&profile.actor_id)),
        )
        .set(profile)
        .execute(conn)?;
        if changed == 0 {
            diesel::insert_into(remote_streams::table)
                .values(profile)
                .execute(conn)?;
        }
        Ok(remote_streams::table
            .filter(remote_streams::actor_id.eq(&profile.actor_id))
            .select(remote_streams::id)
            .first(conn)?)
    }

    /// The catalog's entry for an actor.
    pub fn find(conn: &mut DbConn, actor_id: &str) -> Result<Option<Self>> {
        Ok(remote_streams::table
            .filter(remote_streams::actor_id.eq(actor_id))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Sets the genres (they come with each broadcast's Note).
    pub fn set_genres(conn: &mut DbConn, id: i64, genres: &str) -> Result<()> {
        diesel::update(remote_streams::table.find(id))
            .set(remote_streams::genres.eq(genres))
            .execute(conn)?;
        Ok(())
    }

    /// Removes an actor's entry and its broadcasts; returns whether there was one.
    pub fn delete(conn: &mut DbConn, actor_id: &str) -> Result<bool> {
        let Some(stream) = Self::find(conn, actor_id)? else {
            return Ok(false);
        };
        diesel::delete(
            remote_broadcasts::table.filter(remote_broadcasts::remote_stream_id.eq(stream.id)),
        )
        .execute(conn)?;
        diesel::delete(remote_shows::table.filter(remote_shows::remote_stream_id.eq(stream.id)))
            .execute(conn)?;
        diesel::delete(remote_streams::table.find(stream.id)).execute(conn)?;
        Ok(true)
    }

    /// The hosts the catalog has entries from.
    pub fn hosts(conn: &mut DbConn) -> Result<Vec<String>> {
        Ok(remote_streams::table
            .select(remote_streams::host)
            .distinct()
            .load(conn)?)
    }

    /// Removes every entry from `host`; returns how many streams went.
    pub fn delete_on_host(conn: &mut DbConn, host: &str) -> Result<usize> {
        let ids = remote_streams::table
            .filter(remote_streams::host.eq(host))
            .select(remote_streams::id);
        diesel::delete(
            remote_broadcasts::table.filter(remote_broadcasts::remote_stream_id.eq_any(ids)),
        )
        .execute(conn)?;
        let ids = remote_streams::table
            .filter(remote_streams::host.eq(host))
            .select(remote_streams::id);
        diesel::delete(remote_shows::table.filter(remote_shows::remote_stream_id.eq_any(ids)))
            .execute(conn)?;
        Ok(
            diesel::delete(remote_streams::table.filter(remote_streams::host.eq(host)))
                .execute(conn)?,
        )
    }

    /// Remote streams with their live broadcast, if any (unless hidden because its origin stopped
    /// answering), newest entry first; the filter as for local streams.
    pub fn list_with_broadcast(
        conn: &mut DbConn,
        filter: &StreamFilter,
    ) -> Result<Vec<(Self, Option<RemoteBroadcast>)>> {
        let mut query = remote_streams::table
            .left_join(
                remote_broadcasts::table.on(remote_broadcasts::remote_stream_id
                    .eq(remote_streams::id)
                    .and(remote_broadcasts::live.eq(true))
                    .and(remote_broadcasts::hidden.eq(false))),
            )
            .select((Self::as_select(), Option::<RemoteBroadcast>::as_select()))
            .order(remote_streams::id.desc())
            .limit(filter.limit)
            .into_boxed();
        if filter.live_only {
            query = query.filter(remote_broadcasts::id.nullable().is_not_null());
        }
        filter_listing!(
            query,
            filter,
            id: remote_streams::id,
            genres: remote_streams::genres,
            content_type: remote_broadcasts::content_type.nullable(),
            text: [remote_streams::name, remote_streams::summary, remote_broadcasts::title],
        );
        Ok(query.load(conn)?)
    }

    /// One remote stream by `handle@host`, with its live broadcast.
    pub fn find_by_address(
        conn: &mut DbConn,
        handle: &str,
        host: &str,
    ) -> Result<Option<(Self, Option<RemoteBroadcast>)>> {
        Ok(remote_streams::table
            .left_join(
                remote_broadcasts::table.on(remote_broadcasts::remote_stream_id
                    .eq(remote_streams::id)
                    .and(remote_broadcasts::live.eq(true))
                    .and(remote_broadcasts::hidden.eq(false))),
            )
            .filter(remote_streams::handle.eq(handle))
            .filter(remote_streams::host.eq(host))
            .select((Self::as_select(), Option::<RemoteBroadcast>::as_select()))
            .first(conn)
            .optional()?)
    }
}
