use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{DbConn, schema::followers},
    error::Result,
};

/// A remote actor following one of our streams.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = followers)]
pub struct Follower {
    pub id: i64,
    pub stream_id: i64,
    pub actor_id: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    /// `pending` (waiting for the broadcaster's approval) or `accepted`.
    pub state: String,
    pub created_at: NaiveDateTime,
}

impl Follower {
    /// Removes the followers whose own inbox is `inbox` (it answered 410 Gone). Followers merely
    /// sharing a shared inbox stay: a gone shared inbox says nothing about one account.
    pub fn delete_by_inbox(conn: &mut DbConn, inbox: &str) -> Result<usize> {
        Ok(diesel::delete(followers::table.filter(followers::inbox.eq(inbox))).execute(conn)?)
    }

    /// Accepted followers of a stream (the followers collection's `totalItems`).
    pub fn count_accepted(conn: &mut DbConn, stream_id: i64) -> Result<i64> {
        Ok(followers::table
            .filter(followers::stream_id.eq(stream_id))
            .filter(followers::state.eq("accepted"))
            .count()
            .get_result(conn)?)
    }
}
