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
#[derive(Clone, Queryable, Selectable)]
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

    /// Ids of pending deliveries due by `now` and not leased by a live worker, oldest first.
    pub fn list_due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> Result<Vec<i64>> {
        Ok(deliveries::table
            .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
            .filter(deliveries::next_attempt_at.le(now))
            .filter(
                deliveries::lease_until
                    .is_null()
                    .or(deliveries::lease_until.lt(now)),
            )
            .order((deliveries::next_attempt_at, deliveries::id))
            .limit(limit)
            .select(deliveries::id)
            .load(conn)?)
    }

    /// Takes a lease on each of `ids` that is still pending and not leased by a live worker, in
    /// two statements; returns the ones taken. `until` must be unique to this claim (the worker
    /// adds a random part): the rows carrying it afterwards are exactly the ones this call took.
    pub fn claim_many(
        conn: &mut DbConn,
        ids: &[i64],
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> Result<Vec<Self>> {
        diesel::update(
            deliveries::table
                .filter(deliveries::id.eq_any(ids))
                .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
                .filter(
                    deliveries::lease_until
                        .is_null()
                        .or(deliveries::lease_until.lt(now)),
                ),
        )
        .set(deliveries::lease_until.eq(until))
        .execute(conn)?;
        Ok(deliveries::table
            .filter(deliveries::id.eq_any(ids))
            .filter(deliveries::lease_until.eq(until))
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Records a successful delivery for each of `ids` attempted under the lease `lease`, in one
    /// statement; a lease that expired and was taken over leaves its row alone.
    pub fn finish_delivered(
        conn: &mut DbConn,
        ids: &[i64],
        lease: NaiveDateTime,
        now: NaiveDateTime,
    ) -> Result<usize> {
        Ok(diesel::update(
            deliveries::table
                .filter(deliveries::id.eq_any(ids))
                .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
                .filter(deliveries::lease_until.eq(lease)),
        )
        .set((
            deliveries::state.eq(DeliveryState::Delivered.as_str()),
            deliveries::attempts.eq(deliveries::attempts + 1),
            deliveries::lease_until.eq(None::<NaiveDateTime>),
            deliveries::last_error.eq(None::<String>),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?)
    }

    /// Records the outcome of an attempt made under the lease `lease`: a final state, or pending
    /// again with a new due time. A lease that expired and was taken over makes this a no-op.
    pub fn finish(
        &self,
        conn: &mut DbConn,
        state: DeliveryState,
        next_attempt_at: Option<NaiveDateTime>,
        error: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<bool> {
        let changed = diesel::update(
            deliveries::table
                .find(self.id)
                .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
                .filter(deliveries::lease_until.eq(self.lease_until)),
        )
        .set((
            deliveries::state.eq(state.as_str()),
            deliveries::attempts.eq(self.attempts + 1),
            deliveries::next_attempt_at.eq(next_attempt_at.unwrap_or(self.next_attempt_at)),
            deliveries::lease_until.eq(None::<NaiveDateTime>),
            deliveries::last_error.eq(error),
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
            deliveries::lease_until.eq(None::<NaiveDateTime>),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?)
    }

    /// Makes failed deliveries pending again, due now (`onair queue retry`).
    pub fn retry_failed(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize> {
        Ok(diesel::update(
            deliveries::table.filter(deliveries::state.eq(DeliveryState::Failed.as_str())),
        )
        .set((
            deliveries::state.eq(DeliveryState::Pending.as_str()),
            deliveries::attempts.eq(0),
            deliveries::next_attempt_at.eq(now),
            deliveries::lease_until.eq(None::<NaiveDateTime>),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?)
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

    /// Puts a claimed delivery back for later without counting an attempt (its host's circuit
    /// breaker is open).
    pub fn defer(&self, conn: &mut DbConn, until: NaiveDateTime, now: NaiveDateTime) -> Result<()> {
        diesel::update(
            deliveries::table
                .find(self.id)
                .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
                .filter(deliveries::lease_until.eq(self.lease_until)),
        )
        .set((
            deliveries::next_attempt_at.eq(until),
            deliveries::lease_until.eq(None::<NaiveDateTime>),
            deliveries::last_error.eq("host unreachable: circuit breaker open"),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?;
        Ok(())
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

/// A delivery as the dashboard lists it: last change, activity type, inbox, state, last error.
pub type RecentDelivery = (NaiveDateTime, String, String, String, Option<String>);
