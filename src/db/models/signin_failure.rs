//! `signin_failures`: failed sign-ins per account name and per client address, shared by every
//! process so that N processes do not allow N times the tries, and kept across restarts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{DbConn, schema::signin_failures},
    error::Result,
};

/// The failed-sign-in counters.
pub struct SigninFailures;

impl SigninFailures {
    /// Whether any of `keys` has `limit` failures or more in the window that began after
    /// `since`.
    pub fn any_at_limit(
        conn: &mut DbConn,
        keys: &[String],
        limit: i32,
        since: NaiveDateTime,
    ) -> Result<bool> {
        use signin_failures::dsl as f;
        let at_limit: i64 = f::signin_failures
            .filter(f::key.eq_any(keys))
            .filter(f::first_at.gt(since))
            .filter(f::failures.ge(limit))
            .count()
            .get_result(conn)?;
        Ok(at_limit > 0)
    }

    /// Counts one failure against each of `keys`; a key whose window began at or before
    /// `since` starts a new one at `now`.
    pub fn count(
        conn: &mut DbConn,
        keys: &[String],
        now: NaiveDateTime,
        since: NaiveDateTime,
    ) -> Result<()> {
        use signin_failures::dsl as f;
        diesel::delete(
            f::signin_failures
                .filter(f::key.eq_any(keys))
                .filter(f::first_at.le(since)),
        )
        .execute(conn)?;
        for key in keys {
            let row = (f::key.eq(key), f::failures.eq(1), f::first_at.eq(now));
            let add = f::failures.eq(f::failures + 1);
            // Two processes may count a failure of one key at once: the increment is done by
            // the statement, never read-then-written.
            let insert = diesel::insert_into(f::signin_failures).values(row);
            match conn {
                DbConn::Sqlite(c) => insert.on_conflict(f::key).do_update().set(add).execute(c)?,
                DbConn::Pg(c) => insert.on_conflict(f::key).do_update().set(add).execute(c)?,
            };
        }
        Ok(())
    }

    /// Forgets a key's failures (its account signed in).
    pub fn clear(conn: &mut DbConn, key: &str) -> Result<()> {
        use signin_failures::dsl as f;
        diesel::delete(f::signin_failures.filter(f::key.eq(key))).execute(conn)?;
        Ok(())
    }

    /// Housekeeping: forgets windows that began at or before `since`.
    pub fn forget_before(conn: &mut DbConn, since: NaiveDateTime) -> Result<usize> {
        use signin_failures::dsl as f;
        Ok(diesel::delete(f::signin_failures.filter(f::first_at.le(since))).execute(conn)?)
    }
}
