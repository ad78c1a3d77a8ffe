//! Outcomes into the queue: successes in one statement per lease, retries on the backoff
//! schedule, a 410 removes the inbox's followers. Only the lease holder's rows change.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};
use rand::Rng;

use super::{Step, Worker, send::Outcome};
use crate::{
    db::models::{Delivery, DeliveryState, Follower},
    delivery::backoff,
    error::Result,
};

impl Worker {
    pub(super) async fn record(&self, results: Vec<(Delivery, Outcome)>) -> Result<Step> {
        let now = self.clock.now();
        let jitter: Vec<f64> = results
            .iter()
            .map(|_| rand::thread_rng().r#gen::<f64>())
            .collect();
        self.db
            .write(move |c| {
                let mut step = Step::default();
                // Successes, the bulk, are recorded together; each lease holds for its own rows.
                let mut delivered: HashMap<NaiveDateTime, Vec<i64>> = HashMap::new();
                let mut rest = Vec::new();
                for (pair, jitter) in results.into_iter().zip(jitter) {
                    match (&pair.1, pair.0.lease_until) {
                        (Outcome::Delivered, Some(lease)) => {
                            delivered.entry(lease).or_default().push(pair.0.id);
                        }
                        _ => rest.push((pair, jitter)),
                    }
                }
                for (lease, ids) in delivered {
                    let done = Delivery::finish_delivered(c, &ids, lease, now)?;
                    if done < ids.len() {
                        tracing::warn!(
                            lost = ids.len() - done,
                            "leases lost before outcomes were recorded"
                        );
                    }
                    step.delivered += ids.len();
                }
                for ((d, outcome), jitter) in rest {
                    if let Outcome::Deferred(until) = outcome {
                        d.defer(c, until, now)?;
                        step.deferred += 1;
                        continue;
                    }
                    let (state, next, error) = match outcome {
                        Outcome::Delivered => (DeliveryState::Delivered, None, None),
                        Outcome::Gone => {
                            Follower::delete_by_inbox(c, &d.inbox)?;
                            (
                                DeliveryState::Delivered,
                                None,
                                Some("410 Gone: followers removed".to_owned()),
                            )
                        }
                        Outcome::Final(e) => (DeliveryState::Failed, None, Some(e)),
                        Outcome::Deferred(_) => continue,
                        Outcome::Retry(e) => match retry_at(d.attempts, jitter, now) {
                            Some(at) => (DeliveryState::Pending, Some(at), Some(e)),
                            None => (DeliveryState::Failed, None, Some(format!("gave up: {e}"))),
                        },
                    };
                    match state {
                        DeliveryState::Pending => step.retried += 1,
                        DeliveryState::Failed => step.failed += 1,
                        DeliveryState::Delivered | DeliveryState::Superseded => step.delivered += 1,
                    }
                    if !d.finish(c, state, next, error.as_deref(), now)? {
                        tracing::warn!(
                            delivery = d.id,
                            "lease lost before the outcome was recorded"
                        );
                    }
                }
                Ok(step)
            })
            .await
    }
}

/// When retry number `attempts + 1` is due, or `None` to give up.
fn retry_at(attempts: i32, jitter: f64, now: NaiveDateTime) -> Option<NaiveDateTime> {
    let retry = u32::try_from(attempts).unwrap_or(0) + 1;
    let wait = backoff::next_attempt_after(retry, jitter)?;
    Some(now + TimeDelta::from_std(wait).ok()?)
}
