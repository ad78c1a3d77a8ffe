//! Outcomes into the queue, in one transaction per batch: successes in one statement, retries
//! on the backoff schedule, a 410 removes the inbox's followers, released leases go back, and
//! each host's results move its breaker. Only rows whose lease this worker still holds change.

use std::{collections::HashMap, sync::Arc};

use chrono::{NaiveDateTime, TimeDelta};
use rand::Rng;

use super::{
    Step,
    breaker::{HostResults, OPEN_FOR, TRIP_AFTER},
    send::Outcome,
};
use crate::{
    db::{
        Db,
        models::{Delivery, DeliveryState, Finish, Follower, HostBreaker},
    },
    delivery::backoff,
    error::Result,
};

/// What a batch of outcomes did.
#[derive(Debug, Default)]
pub(super) struct Recorded {
    pub(super) step: Step,
    /// Hosts whose breaker is open after it, and until when.
    pub(super) opened: HashMap<String, NaiveDateTime>,
    /// Hosts that answered: their breakers are closed.
    pub(super) answered: Vec<String>,
}

/// Records `results` (attempts made under `owner`'s leases) and gives back the leases on
/// `released` (not attempted: their host's breaker opened first).
pub(super) async fn record(
    db: &Db,
    owner: Arc<str>,
    results: Vec<(Delivery, Outcome)>,
    released: Vec<i64>,
    now: NaiveDateTime,
) -> Result<Recorded> {
    let jitter: Vec<f64> = results
        .iter()
        .map(|_| rand::thread_rng().r#gen::<f64>())
        .collect();
    db.write(move |c| {
        let mut done = Recorded::default();
        if !released.is_empty() {
            Delivery::release(c, &released, &owner)?;
            done.step.deferred += released.len();
        }
        let hosts = HostResults::of(results.iter().map(|(d, o)| (d.host.as_str(), o)));
        let mut delivered = Vec::new();
        for ((d, outcome), jitter) in results.into_iter().zip(jitter) {
            let (state, next, error) = match outcome {
                Outcome::Delivered => {
                    delivered.push(d.id);
                    continue;
                }
                Outcome::Gone => {
                    Follower::delete_by_inbox(c, &d.inbox)?;
                    let gone = "410 Gone: followers removed".to_owned();
                    (DeliveryState::Delivered, None, Some(gone))
                }
                Outcome::Final(e) => (DeliveryState::Failed, None, Some(e)),
                Outcome::Retry(e) | Outcome::Local(e) => match retry_at(d.attempts, jitter, now) {
                    Some(at) => (DeliveryState::Pending, Some(at), Some(e)),
                    None => (DeliveryState::Failed, None, Some(format!("gave up: {e}"))),
                },
            };
            match state {
                DeliveryState::Pending => done.step.retried += 1,
                DeliveryState::Failed => done.step.failed += 1,
                DeliveryState::Delivered | DeliveryState::Superseded => done.step.delivered += 1,
            }
            let finish = Finish {
                state,
                next_attempt_at: next,
                error: error.as_deref(),
            };
            if !d.finish(c, &owner, finish, now)? {
                tracing::warn!(
                    delivery = d.id,
                    "lease lost before the outcome was recorded"
                );
            }
        }
        if !delivered.is_empty() {
            let recorded = Delivery::finish_delivered(c, &delivered, &owner, now)?;
            if recorded < delivered.len() {
                let lost = delivered.len() - recorded;
                tracing::warn!(lost, "leases lost before outcomes were recorded");
            }
            done.step.delivered += recorded;
        }
        if !hosts.answered.is_empty() {
            HostBreaker::record_answered(c, &hosts.answered)?;
        }
        done.answered = hosts.answered;
        for (host, (failures, error)) in hosts.failed {
            let until = now + OPEN_FOR;
            if let Some(until) =
                HostBreaker::record_failures(c, &host, failures, &error, TRIP_AFTER, until, now)?
            {
                Delivery::postpone_host(c, &host, until, now)?;
                done.opened.insert(host, until);
            }
        }
        Ok(done)
    })
    .await
}

/// When retry number `attempts + 1` is due, or `None` to give up.
fn retry_at(attempts: i32, jitter: f64, now: NaiveDateTime) -> Option<NaiveDateTime> {
    let retry = u32::try_from(attempts).unwrap_or(0) + 1;
    let wait = backoff::next_attempt_after(retry, jitter)?;
    Some(now + TimeDelta::from_std(wait).ok()?)
}
