use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{
        DbConn,
        schema::{activities, deliveries},
    },
    error::Result,
};

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt (or being attempted under a lease).
    Pending,
    /// The inbox took it (2xx), or answered 410 Gone.
    Delivered,
    /// Given up: a final 4xx, or retries exhausted.
    Failed,
    /// Dropped before delivery because a newer activity about the same object replaced it.
    Superseded,
}

impl DeliveryState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Superseded => "superseded",
        }
    }
}

/// One activity on its way to one inbox.
#[derive(Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = deliveries)]
pub struct Delivery {
    pub id: i64,
    pub activity_id: i64,
    pub inbox: String,
    pub host: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_until: Option<NaiveDateTime>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("activity", &self.activity_id)
            .field("inbox", &self.inbox)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl Delivery {
    /// Queues `activity_id` for each `(inbox, host)`, due now.
    pub fn insert_many(
        conn: &mut DbConn,
        activity_id: i64,
        targets: &[(String, String)],
        now: NaiveDateTime,
    ) -> Result<usize> {
        let rows: Vec<_> = targets
            .iter()
            .map(|(inbox, host)| {
                (
                    deliveries::activity_id.eq(activity_id),
                    deliveries::inbox.eq(inbox),
                    deliveries::host.eq(host),
                    deliveries::state.eq(DeliveryState::Pending.as_str()),
                    deliveries::attempts.eq(0),
                    deliveries::next_attempt_at.eq(now),
                    deliveries::updated_at.eq(now),
                )
            })
            .collect();
        let mut inserted = 0;
        if let DbConn::Pg(c) = conn
            && !rows.is_empty()
        {
            // Delivered at commit, to every process listening (see `db::listen`).
            diesel::sql_query(crate::db::NOTIFY_DELIVERIES).execute(c)?;
        }
        // Multi-row inserts are not available through the runtime-selected connection, so each
        // backend gets its own (same SQL); chunks stay under SQLite's bound-parameter limit.
        for chunk in rows.chunks(500) {
            let insert = diesel::insert_into(deliveries::table).values(chunk);
            inserted += match conn {
                DbConn::Sqlite(c) => insert.execute(c)?,
                DbConn::Pg(c) => insert.execute(c)?,
            };
        }
        Ok(inserted)
    }

    /// Drops the pending, not yet leased deliveries of activities of the given kinds about
    /// `object_id` (a Delete supersedes a pending Create or Update; a newer Update an older one).
    /// Returns how many it dropped.
    pub fn supersede(
        conn: &mut DbConn,
        object_id: &str,
        kinds: &[&str],
        now: NaiveDateTime,
    ) -> Result<usize> {
        let about = activities::table
            .filter(activities::object_id.eq(object_id))
            .filter(activities::kind.eq_any(kinds))
            .select(activities::id);
        Ok(diesel::update(
            deliveries::table
                .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
                .filter(
                    deliveries::lease_until
                        .is_null()
                        .or(deliveries::lease_until.lt(now)),
                )
                .filter(deliveries::activity_id.eq_any(about)),
        )
        .set((
            deliveries::state.eq(DeliveryState::Superseded.as_str()),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?)
    }

    /// Leases up to `claim.limit` due deliveries to `claim.owner` until `claim.until`, fairly
    /// across hosts: of the first due ones (a window of a few times the limit, in queue order,
    /// which `enqueue` interleaves by host), at most `claim.per_host` per host, the first of
    /// every host before the second of any; hosts in `claim.skip_hosts` (this worker has enough
    /// of theirs) and hosts whose breaker is open are left out. The window keeps a claim's cost
    /// independent of the backlog. On PostgreSQL rows another process is claiming are
    /// skipped (`SKIP LOCKED`), so processes take different work instead of queueing on locks.
    pub fn claim(conn: &mut DbConn, claim: &Claim<'_>) -> Result<Vec<Self>> {
        use diesel::sql_types::{Array, BigInt, Text, Timestamp};
        match conn {
            DbConn::Pg(c) => {
                let sql = "WITH candidates AS (
                        SELECT id, host, next_attempt_at FROM deliveries
                        WHERE state = 'pending' AND next_attempt_at <= $1
                          AND (lease_until IS NULL OR lease_until < $1)
                          AND host <> ALL($2)
                          AND host NOT IN (SELECT host FROM host_breakers WHERE open_until > $1)
                        ORDER BY next_attempt_at, id
                        LIMIT $7
                    ), ranked AS (
                        SELECT id, row_number() OVER (PARTITION BY host ORDER BY next_attempt_at, id) AS rank
                        FROM candidates
                    ), picked AS (
                        SELECT d.id FROM deliveries d JOIN ranked r ON r.id = d.id
                        WHERE r.rank <= $3 AND d.state = 'pending'
                          AND (d.lease_until IS NULL OR d.lease_until < $1)
                        ORDER BY r.rank, d.id
                        LIMIT $4
                        FOR UPDATE OF d SKIP LOCKED
                    )
                    UPDATE deliveries SET lease_owner = $5, lease_until = $6
                    FROM picked WHERE deliveries.id = picked.id
                    RETURNING deliveries.id, deliveries.activity_id, deliveries.inbox, deliveries.host,
                        deliveries.attempts, deliveries.next_attempt_at, deliveries.lease_until";
                let skip_hosts: Vec<&str> = claim.skip_hosts.iter().map(String::as_str).collect();
                Ok(diesel::sql_query(sql)
                    .bind::<Timestamp, _>(claim.now)
                    .bind::<Array<Text>, _>(skip_hosts)
                    .bind::<BigInt, _>(claim.per_host)
                    .bind::<BigInt, _>(claim.limit)
                    .bind::<Text, _>(claim.owner)
                    .bind::<Timestamp, _>(claim.until)
                    .bind::<BigInt, _>(claim.window())
                    .load(c)?)
            }
            DbConn::Sqlite(c) => {
                // One writer: no row locks to skip. Parameters bind in order of appearance.
                let sql = format!(
                    "UPDATE deliveries SET lease_owner = ?, lease_until = ?
                    WHERE id IN (
                        SELECT id FROM (
                            SELECT id, row_number() OVER (PARTITION BY host ORDER BY next_attempt_at, id) AS rank
                            FROM (
                                SELECT id, host, next_attempt_at FROM deliveries
                                WHERE state = 'pending' AND next_attempt_at <= ?
                                  AND (lease_until IS NULL OR lease_until < ?)
                                  {}
                                  AND host NOT IN (SELECT host FROM host_breakers WHERE open_until > ?)
                                ORDER BY next_attempt_at, id
                                LIMIT ?)
                        ) WHERE rank <= ? ORDER BY rank, id LIMIT ?)
                    RETURNING id, activity_id, inbox, host, attempts, next_attempt_at, lease_until",
                    if claim.skip_hosts.is_empty() {
                        String::new()
                    } else {
                        format!("AND host NOT IN ({})", vec!["?"; claim.skip_hosts.len()].join(", "))
                    }
                );
                let mut query = diesel::sql_query(sql)
                    .into_boxed::<diesel::sqlite::Sqlite>()
                    .bind::<Text, _>(claim.owner)
                    .bind::<Timestamp, _>(claim.until)
                    .bind::<Timestamp, _>(claim.now)
                    .bind::<Timestamp, _>(claim.now);
                for host in claim.skip_hosts {
                    query = query.bind::<Text, _>(host.clone());
                }
                Ok(query
                    .bind::<Timestamp, _>(claim.now)
                    .bind::<BigInt, _>(claim.window())
                    .bind::<BigInt, _>(claim.per_host)
                    .bind::<BigInt, _>(claim.limit)
                    .load(c)?)
            }
        }
    }

    /// Moves `host`'s unleased pending deliveries due before `until` to `until` (its breaker
    /// opened): they stop being due, so claims do not walk past them while it is open.
    pub fn postpone_host(
        conn: &mut DbConn,
        host: &str,
        until: NaiveDateTime,
        now: NaiveDateTime,
    ) -> Result<usize> {
        Ok(diesel::update(
            deliveries::table
                .filter(deliveries::host.eq(host))
                .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
                .filter(deliveries::next_attempt_at.lt(until))
                .filter(
                    deliveries::lease_until
                        .is_null()
                        .or(deliveries::lease_until.lt(now)),
                ),
        )
        .set(deliveries::next_attempt_at.eq(until))
        .execute(conn)?)
    }

    /// Extends the leases `owner` holds that are still valid at `now` to `until`; returns the
    /// ids it extended. A lease that ran out is not brought back: another worker may hold the
    /// row by now, or be about to take it.
    pub fn renew_leases(
        conn: &mut DbConn,
        owner: &str,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> Result<Vec<i64>> {
        let renew = diesel::update(
            deliveries::table
                .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
                .filter(deliveries::lease_owner.eq(owner))
                .filter(deliveries::lease_until.gt(now)),
        )
        .set(deliveries::lease_until.eq(until))
        .returning(deliveries::id);
        Ok(match conn {
            DbConn::Sqlite(c) => renew.get_results(c)?,
            DbConn::Pg(c) => renew.get_results(c)?,
        })
    }

    /// Gives back leases `owner` holds on `ids` without counting an attempt (their host's
    /// breaker opened before they were sent).
    pub fn release(conn: &mut DbConn, ids: &[i64], owner: &str) -> Result<usize> {
        Ok(diesel::update(
            deliveries::table
                .filter(deliveries::id.eq_any(ids))
                .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
                .filter(deliveries::lease_owner.eq(owner)),
        )
        .set((
            deliveries::lease_owner.eq(None::<String>),
            deliveries::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?)
    }

    /// Records a successful delivery for each of `ids` whose lease `owner` still holds, in one
    /// statement; a lease that expired and was taken over leaves its row alone.
    pub fn finish_delivered(
        conn: &mut DbConn,
        ids: &[i64],
        owner: &str,
        now: NaiveDateTime,
    ) -> Result<usize> {
        Ok(diesel::update(
            deliveries::table
                .filter(deliveries::id.eq_any(ids))
                .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
                .filter(deliveries::lease_owner.eq(owner)),
        )
        .set((
            deliveries::state.eq(DeliveryState::Delivered.as_str()),
            deliveries::attempts.eq(deliveries::attempts + 1),
            deliveries::lease_owner.eq(None::<String>),
            deliveries::lease_until.eq(None::<NaiveDateTime>),
            deliveries::last_error.eq(None::<String>),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?)
    }

    /// Records the outcome of an attempt made under `owner`'s lease: a final state, or pending
    /// again with a new due time. A lease that was taken over makes this a no-op.
    pub fn finish(
        &self,
        conn: &mut DbConn,
        owner: &str,
        outcome: Finish<'_>,
        now: NaiveDateTime,
    ) -> Result<bool> {
        let changed = diesel::update(
            deliveries::table
                .find(self.id)
                .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
                .filter(deliveries::lease_owner.eq(owner)),
        )
        .set((
            deliveries::state.eq(outcome.state.as_str()),
            deliveries::attempts.eq(self.attempts + 1),
            deliveries::next_attempt_at.eq(outcome.next_attempt_at.unwrap_or(self.next_attempt_at)),
            deliveries::lease_owner.eq(None::<String>),
            deliveries::lease_until.eq(None::<NaiveDateTime>),
            deliveries::last_error.eq(outcome.error),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// The latest deliveries of activities signed by these streams (see [`RecentDelivery`]): (last change, activity
    /// type, inbox, state, last error), newest first.
    pub fn recent_for_streams(
        conn: &mut DbConn,
        stream_ids: &[i64],
        limit: i64,
    ) -> Result<Vec<RecentDelivery>> {
        Ok(deliveries::table
            .inner_join(activities::table)
            .filter(activities::stream_id.eq_any(stream_ids.to_vec()))
            .order((deliveries::updated_at.desc(), deliveries::id.desc()))
            .limit(limit)
            .select((
                deliveries::updated_at,
                activities::kind,
                deliveries::inbox,
                deliveries::state,
                deliveries::last_error,
            ))
            .load(conn)?)
    }

    /// Hosts that pending deliveries go to.
    pub fn pending_hosts(conn: &mut DbConn) -> Result<Vec<String>> {
        Ok(deliveries::table
            .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
            .select(deliveries::host)
            .distinct()
            .load(conn)?)
    }

    /// Fails every pending delivery to `host` with `why` (the host was blocked).
    pub fn fail_host(
        conn: &mut DbConn,
        host: &str,
        why: &str,
        now: NaiveDateTime,
    ) -> Result<usize> {
        Ok(diesel::update(
            deliveries::table
                .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
                .filter(deliveries::host.eq(host)),
        )
        .set((
            deliveries::state.eq(DeliveryState::Failed.as_str()),
            deliveries::last_error.eq(why),
            deliveries::lease_owner.eq(None::<String>),
            deliveries::lease_until.eq(None::<NaiveDateTime>),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?)
    }

    /// Makes failed deliveries pending again, due now (`onair queue retry`).
    pub fn retry_failed(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize> {
        if let DbConn::Pg(c) = conn {
            diesel::sql_query(crate::db::NOTIFY_DELIVERIES).execute(c)?;
        }
        Ok(diesel::update(
            deliveries::table.filter(deliveries::state.eq(DeliveryState::Failed.as_str())),
        )
        .set((
            deliveries::state.eq(DeliveryState::Pending.as_str()),
            deliveries::attempts.eq(0),
            deliveries::next_attempt_at.eq(now),
            deliveries::lease_owner.eq(None::<String>),
            deliveries::lease_until.eq(None::<NaiveDateTime>),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?)
    }

    /// Deletes up to `batch` deliveries that finished (delivered, failed, superseded) before
    /// `before`, and then up to `batch` activities created before it that no delivery refers to
    /// any more; returns how many deliveries. Housekeeping calls it until it returns less than
    /// `batch`, one short transaction each, so a large backlog never holds the writer long.
    pub fn forget_finished(conn: &mut DbConn, before: NaiveDateTime, batch: i64) -> Result<usize> {
        let old: Vec<i64> = deliveries::table
            .filter(deliveries::state.ne(DeliveryState::Pending.as_str()))
            .filter(deliveries::updated_at.lt(before))
            .select(deliveries::id)
            .limit(batch)
            .load(conn)?;
        let forgotten =
            diesel::delete(deliveries::table.filter(deliveries::id.eq_any(&old))).execute(conn)?;
        let referenced = deliveries::table.select(deliveries::activity_id);
        let unused: Vec<i64> = activities::table
            .filter(activities::created_at.lt(before))
            .filter(activities::id.ne_all(referenced))
            .select(activities::id)
            .limit(batch)
            .load(conn)?;
        diesel::delete(activities::table.filter(activities::id.eq_any(&unused))).execute(conn)?;
        Ok(forgotten)
    }

    /// Deletes finished deliveries (delivered, failed, superseded) and the activities no
    /// delivery refers to any more (`onair queue purge`). Pending ones stay.
    pub fn purge_finished(conn: &mut DbConn) -> Result<usize> {
        let purged = diesel::delete(
            deliveries::table.filter(deliveries::state.ne(DeliveryState::Pending.as_str())),
        )
        .execute(conn)?;
        let referenced = deliveries::table.select(deliveries::activity_id);
        diesel::delete(activities::table.filter(activities::id.ne_all(referenced)))
            .execute(conn)?;
        Ok(purged)
    }

    /// How many deliveries are in each state (for `onair queue status` and tests).
    pub fn count_by_state(conn: &mut DbConn) -> Result<Vec<(String, i64)>> {
        Ok(deliveries::table
            .group_by(deliveries::state)
            .select((deliveries::state, diesel::dsl::count_star()))
            .order(deliveries::state)
            .load(conn)?)
    }
}

/// What [`Delivery::claim`] takes.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    /// The claiming worker, recorded on each row it leases.
    pub owner: &'a str,
    pub now: NaiveDateTime,
    pub until: NaiveDateTime,
    pub per_host: i64,
    pub limit: i64,
    pub skip_hosts: &'a [String],
}

impl Claim<'_> {
    /// How many due rows a claim ranks.
    fn window(&self) -> i64 {
        self.limit.saturating_mul(4)
    }
}

/// How an attempt ended, as [`Delivery::finish`] records it.
#[derive(Debug, Clone, Copy)]
pub struct Finish<'a> {
    pub state: DeliveryState,
    /// When to try again (pending only).
    pub next_attempt_at: Option<NaiveDateTime>,
    pub error: Option<&'a str>,
}

/// A delivery as the dashboard lists it: last change, activity type, inbox, state, last error.
pub type RecentDelivery = (NaiveDateTime, String, String, String, Option<String>);
