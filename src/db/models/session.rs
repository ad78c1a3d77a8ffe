use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::User;
use crate::{
    db::{
        DbConn,
        schema::{sessions, users},
    },
    error::Result,
};

/// A signed-in browser: the hash of its cookie's secret, whose it is, its CSRF token.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl Session {
    /// Stores a new session.
    pub fn insert(
        conn: &mut DbConn,
        id_hash: &str,
        user_id: i64,
        csrf: &str,
        now: NaiveDateTime,
        expires_at: NaiveDateTime,
    ) -> Result<()> {
        diesel::insert_into(sessions::table)
            .values((
                sessions::id_hash.eq(id_hash),
                sessions::user_id.eq(user_id),
                sessions::csrf.eq(csrf),
                sessions::created_at.eq(now),
                sessions::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// The unexpired session with this hash, with its account if that is not disabled.
    pub fn find_valid(
        conn: &mut DbConn,
        id_hash: &str,
        now: NaiveDateTime,
    ) -> Result<Option<(Self, User)>> {
        Ok(sessions::table
            .inner_join(users::table)
            .filter(sessions::id_hash.eq(id_hash))
            .filter(sessions::expires_at.gt(now))
            .filter(users::disabled_at.is_null())
            .select((Self::as_select(), User::as_select()))
            .first(conn)
            .optional()?)
    }

    /// Ends a session (sign-out).
    pub fn delete(conn: &mut DbConn, id_hash: &str) -> Result<()> {
        diesel::delete(sessions::table.find(id_hash)).execute(conn)?;
        Ok(())
    }

    /// Forgets sessions that expired before `now`.
    pub fn delete_expired(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize> {
        Ok(diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)?)
    }
}
