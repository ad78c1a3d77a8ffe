use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::stored_text;
use crate::{
    db::{DbConn, schema::followers},
    error::Result,
};

stored_text! {
    /// Where a follower is: waiting for the broadcaster, or following.
    pub enum FollowerState("follower state") {
        /// Waiting for the broadcaster's approval.
        Pending = "pending",
        /// Following: gets the stream's activities.
        Accepted = "accepted",
    }
}

/// A remote actor following one of our streams.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = followers)]
pub struct Follower {
    pub id: i64,
    pub stream_id: i64,
    pub actor_id: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    #[diesel(deserialize_as = String)]
    pub state: FollowerState,
    pub created_at: NaiveDateTime,
    /// The id of the Follow, to answer it (Accept or Reject) later.
    pub follow_id: Option<String>,
}

impl Follower {
    /// Adds (or re-adds) `actor_id` as a follower of a stream; returns whether it is new.
    #[expect(
        clippy::too_many_arguments,
        reason = "one column each; a struct would only rename them"
    )]
    pub fn upsert(
        conn: &mut DbConn,
        stream_id: i64,
        actor_id: &str,
        inbox: &str,
        shared_inbox: Option<&str>,
        state: FollowerState,
        follow_id: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<bool> {
        let existing = followers::table
            .filter(followers::stream_id.eq(stream_id))
            .filter(followers::actor_id.eq(actor_id))
            .select(followers::id)
            .first::<i64>(conn)
            .optional()?;
        if let Some(id) = existing {
            diesel::update(followers::table.find(id))
                .set((
                    followers::inbox.eq(inbox),
                    followers::shared_inbox.eq(shared_inbox),
                    followers::follow_id.eq(follow_id),
                ))
                .execute(conn)?;
            return Ok(false);
        }
        diesel::insert_into(followers::table)
            .values((
                followers::stream_id.eq(stream_id),
                followers::actor_id.eq(actor_id),
                followers::inbox.eq(inbox),
                followers::shared_inbox.eq(shared_inbox),
                followers::state.eq(state.as_str()),
                followers::created_at.eq(now),
                followers::follow_id.eq(follow_id),
            ))
            .execute(conn)?;
        Ok(true)
    }

    /// A stream's followers, oldest first.
    pub fn list(conn: &mut DbConn, stream_id: i64) -> Result<Vec<Self>> {
        Ok(followers::table
            .filter(followers::stream_id.eq(stream_id))
            .order(followers::id)
            .select(Self::as_select())
            .load(conn)?)
    }

    /// One follower of a stream.
    pub fn find(conn: &mut DbConn, stream_id: i64, actor_id: &str) -> Result<Option<Self>> {
        Ok(followers::table
            .filter(followers::stream_id.eq(stream_id))
            .filter(followers::actor_id.eq(actor_id))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Marks a pending follower accepted.
    pub fn accept(&self, conn: &mut DbConn) -> Result<()> {
        diesel::update(followers::table.find(self.id))
            .set(followers::state.eq(FollowerState::Accepted.as_str()))
            .execute(conn)?;
        Ok(())
    }

    /// Removes `actor_id` as a follower of one stream (Undo Follow), or of all (actor deleted).
    pub fn delete_by_actor(
        conn: &mut DbConn,
        actor_id: &str,
        stream_id: Option<i64>,
    ) -> Result<usize> {
        let mut query =
            diesel::delete(followers::table.filter(followers::actor_id.eq(actor_id))).into_boxed();
        if let Some(stream) = stream_id {
            query = query.filter(followers::stream_id.eq(stream));
        }
        Ok(query.execute(conn)?)
    }

    /// Inboxes of a stream's accepted followers, a follower's shared inbox in place of its own.
    pub fn inboxes(conn: &mut DbConn, stream_id: i64) -> Result<Vec<String>> {
        let rows: Vec<(String, Option<String>)> = followers::table
            .filter(followers::stream_id.eq(stream_id))
            .filter(followers::state.eq(FollowerState::Accepted.as_str()))
            .select((followers::inbox, followers::shared_inbox))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(inbox, shared)| shared.unwrap_or(inbox))
            .collect())
    }

    /// Removes the followers whose own inbox is `inbox` (it answered 410 Gone). Followers merely
    /// sharing a shared inbox stay: a gone shared inbox says nothing about one account.
    pub fn delete_by_inbox(conn: &mut DbConn, inbox: &str) -> Result<usize> {
        Ok(diesel::delete(followers::table.filter(followers::inbox.eq(inbox))).execute(conn)?)
    }

    /// Every follower actor id of every stream, with the row id (to remove blocked ones).
    pub fn all_actor_ids(conn: &mut DbConn) -> Result<Vec<(i64, String)>> {
        Ok(followers::table
            .select((followers::id, followers::actor_id))
            .load(conn)?)
    }

    /// Removes follower rows by id.
    pub fn delete_ids(conn: &mut DbConn, ids: &[i64]) -> Result<usize> {
        Ok(diesel::delete(followers::table.filter(followers::id.eq_any(ids))).execute(conn)?)
    }

    /// Accepted followers of a stream (the followers collection's `totalItems`).
    pub fn count_accepted(conn: &mut DbConn, stream_id: i64) -> Result<i64> {
        Ok(followers::table
            .filter(followers::stream_id.eq(stream_id))
            .filter(followers::state.eq(FollowerState::Accepted.as_str()))
            .count()
            .get_result(conn)?)
    }
}
