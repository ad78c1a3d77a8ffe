//! `host_breakers`: hosts that stopped answering, shared by every process, so that a dead
//! instance is left alone by all of them rather than hammered by each.

use chrono::NaiveDateTime;
use diesel::{prelude::*, upsert::excluded};

use crate::{
    db::{DbConn, schema::host_breakers},
    error::Result,
};

/// A host that failed lately; open while `open_until` is ahead.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = host_breakers)]
pub struct HostBreaker {
    pub host: String,
    /// Failed attempts since the host last answered.
    pub failures: i32,
    pub opened_at: Option<NaiveDateTime>,
    pub open_until: Option<NaiveDateTime>,
    /// The failure that opened it (or the latest one, while closed).
    pub reason: Option<String>,
    pub updated_at: NaiveDateTime,
}

impl HostBreaker {
    /// Adds `failed` failures (the last one `error`) to `host`; once it has `trip_after` and is
    /// not open, opens it until `until`. Returns when it is open until, if it is.
    pub fn record_failures(
        conn: &mut DbConn,
        host: &str,
        failed: i32,
        error: &str,
        trip_after: i32,
        until: NaiveDateTime,
        now: NaiveDateTime,
    ) -> Result<Option<NaiveDateTime>> {
        use host_breakers::dsl as b;
        let row = (
            b::host.eq(host),
            b::failures.eq(failed),
            b::reason.eq(error),
            b::updated_at.eq(now),
        );
        let add = (
            b::failures.eq(b::failures + excluded(b::failures)),
            b::reason.eq(excluded(b::reason)),
            b::updated_at.eq(now),
        );
        // Two processes may count failures of one host at once: the increment happens in the
        // statement, never read-then-written.
        let insert = diesel::insert_into(b::host_breakers).values(row);
        match conn {
            DbConn::Sqlite(c) => insert
                .on_conflict(b::host)
                .do_update()
                .set(add)
                .execute(c)?,
            DbConn::Pg(c) => insert
                .on_conflict(b::host)
                .do_update()
                .set(add)
                .execute(c)?,
        };
        diesel::update(
            b::host_breakers
                .filter(b::host.eq(host))
                .filter(b::failures.ge(trip_after))
                .filter(b::open_until.is_null().or(b::open_until.le(now))),
        )
        .set((b::opened_at.eq(now), b::open_until.eq(until)))
        .execute(conn)?;
        Ok(b::host_breakers
            .find(host)
            .select(b::open_until)
            .first::<Option<NaiveDateTime>>(conn)
            .optional()?
            .flatten()
            .filter(|until| *until > now))
    }

    /// These hosts answered: their failures are forgotten and their breakers closed.
    pub fn record_answered(conn: &mut DbConn, hosts: &[String]) -> Result<usize> {
        Ok(
            diesel::delete(host_breakers::table.filter(host_breakers::host.eq_any(hosts)))
                .execute(conn)?,
        )
    }

    /// The breakers open at `now`, the longest open first.
    pub fn open(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<Self>> {
        Ok(host_breakers::table
            .filter(host_breakers::open_until.gt(now))
            .order((host_breakers::opened_at, host_breakers::host))
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Forgets closed hosts nothing has failed at since `before` (housekeeping).
    pub fn forget_quiet(conn: &mut DbConn, before: NaiveDateTime) -> Result<usize> {
        Ok(diesel::delete(
            host_breakers::table
                .filter(host_breakers::updated_at.lt(before))
                .filter(
                    host_breakers::open_until
                        .is_null()
                        .or(host_breakers::open_until.lt(before)),
                ),
        )
        .execute(conn)?)
    }
}
