//! A stream with its on-air broadcast: the joined reads the API, the pages and the CLI list.

use diesel::prelude::*;

use super::Stream;
use crate::{
    db::{
        DbConn,
        models::{Broadcast, BroadcastState, StreamFilter, stream_filter::filter_listing},
        schema::{broadcasts, streams},
    },
    error::Result,
};

impl Stream {
    /// One stream by handle, with its on-air broadcast if any.
    pub fn find_with_broadcast(
        conn: &mut DbConn,
        handle: &str,
    ) -> Result<Option<(Self, Option<Broadcast>)>> {
        Ok(with_active_broadcast()
            .filter(streams::handle.eq(handle))
            .select((Self::as_select(), Option::<Broadcast>::as_select()))
            .first(conn)
            .optional()?)
    }

    /// Streams with their on-air broadcast, filtered and paged by `filter`.
    pub fn list_with_broadcast(
        conn: &mut DbConn,
        filter: &StreamFilter,
    ) -> Result<Vec<(Self, Option<Broadcast>)>> {
        let mut query = with_active_broadcast()
            .select((Self::as_select(), Option::<Broadcast>::as_select()))
            .order(streams::id.desc())
            .limit(filter.limit)
            .into_boxed();
        if filter.live_only {
            query = query.filter(
                broadcasts::state
                    .nullable()
                    .eq(BroadcastState::Live.as_str()),
            );
        }
        filter_listing!(
            query,
            filter,
            id: streams::id,
            genres: streams::genres,
            content_type: streams::content_type.nullable(),
            text: [streams::name, streams::description, broadcasts::title],
        );
        Ok(query.load(conn)?)
    }
}

type ActiveOn = diesel::dsl::And<
    diesel::dsl::Eq<broadcasts::stream_id, streams::id>,
    diesel::dsl::NotEq<broadcasts::state, &'static str>,
>;
type WithActiveBroadcast = diesel::dsl::LeftJoinOn<streams::table, broadcasts::table, ActiveOn>;

/// Streams left-joined with the one broadcast that is live or ending, if any.
fn with_active_broadcast() -> WithActiveBroadcast {
    streams::table.left_join(
        broadcasts::table.on(broadcasts::stream_id
            .eq(streams::id)
            .and(broadcasts::state.ne(BroadcastState::Ended.as_str()))),
    )
}

impl Stream {
    /// Every stream, or one owner's, oldest first.
    pub fn list(
        conn: &mut DbConn,
        owner_id: Option<i64>,
    ) -> Result<Vec<(Self, Option<Broadcast>)>> {
        let mut query = with_active_broadcast()
            .select((Self::as_select(), Option::<Broadcast>::as_select()))
            .order(streams::id)
            .into_boxed();
        if let Some(owner) = owner_id {
            query = query.filter(streams::owner_id.eq(owner));
        }
        Ok(query.load(conn)?)
    }
}
