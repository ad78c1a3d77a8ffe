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
    /// Counts one attempt against each of `keys`, before its password is checked, and returns
    /// each key's count in its window (a window that began at or before `since` starts over at
    /// `now`). Counting first means a burst of guesses sent at once is refused as it arrives,
    /// not after every one of them was checked.
    pub fn reserve(
        conn: &mut DbConn,
        keys: &[String],
        now: NaiveDateTime,
        since: NaiveDateTime,
    ) -> Result<Vec<i32>> {
        use signin_failures::dsl as f;
        diesel::delete(
            f::signin_failures
                .filter(f::key.eq_any(keys))
                .filter(f::first_at.le(since)),
        )
        .execute(conn)?;
        let mut counts = Vec::with_capacity(keys.len());
        for key in keys {
            let row = (f::key.eq(key), f::failures.eq(1), f::first_at.eq(now));
            let add = f::failures.eq(f::failures + 1);
            // Two processes may count one key at once: the increment is the statement's.
            let insert = diesel::insert_into(f::signin_failures).values(row);
            counts.push(match conn {
                DbConn::Sqlite(c) => insert
                    .on_conflict(f::key)
                    .do_update()
                    .set(add)
                    .returning(f::failures)
                    .get_result(c)?,
                DbConn::Pg(c) => insert
                    .on_conflict(f::key)
                    .do_update()
                    .set(add)
                    .returning(f::failures)
                    .get_result(c)?,
            });
        }
        Ok(counts)
    }

    /// Takes back an attempt counted against `key` (it was not a failure).
    pub fn take_back(conn: &mut DbConn, key: &str) -> Result<()> {
        use signin_failures::dsl as f;
        diesel::update(
            f::signin_failures
                .filter(f::key.eq(key))
                .filter(f::failures.gt(0)),
        )
        .set(f::failures.eq(f::failures - 1))
        .execute(conn)?;
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
