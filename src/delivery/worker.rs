//! The delivery worker: one step claims due deliveries, sends them with bounded concurrency (in
//! total and per host), and records each outcome. `run_until_stopped` loops the step (resting a
//! quarter second when nothing is due, or until this process commits new deliveries); tests call
//! [`Worker::deliver_due`] to drain the queue without sleeping. Its parts: `prepare` (bodies,
//! keys, batch signing), `send` (one request and what its answer means), `record` (outcomes into
//! the queue), `breaker` (hosts left alone after repeated failures).
//!
//! ```text
//!  list due ─▶ claim all (one UPDATE: lease) ─▶ sign (batch per core) ─▶ POST ─┬─ 2xx ────────▶ delivered (one UPDATE for all)
//!                                                                            ├─ 410 ────────▶ delivered, follower removed
//!                                                                            ├─ other 4xx ──▶ failed (final)
//!                                                                            └─ 408/429/5xx ▶ pending, backoff (or failed)
//! ```

mod breaker;
mod prepare;
mod record;
mod send;

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{NaiveDateTime, TimeDelta};
use futures_util::{StreamExt, stream};
use rand::Rng;
use tokio::sync::Semaphore;
use url::Url;

use self::{
    breaker::Breaker,
    prepare::{Prepared, sign_batch},
    send::Outcome,
};
use crate::{
    blocks::Blocklist,
    clock::Clock,
    db::{Db, models::Delivery},
    error::Result,
    httpsig::KeyCache,
    state::AppState,
    urls::Urls,
};

/// How long the worker rests when nothing is due, unless this process queues something: what
/// another process queues waits at most this long to start.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// How much the worker does at once.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests in flight in total.
    pub total: usize,
    /// Requests in flight to one host.
    pub per_host: usize,
    /// How long a claimed delivery stays ours; past it another worker may retry it.
    pub lease: Duration,
    /// Deliver to loopback and private addresses too (tests, home setups).
    pub allow_private: bool,
    /// Time allowed for one request.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            total: 64,
            per_host: 8,
            // Requests time out after 10 s; a lease a little longer lets a crashed process's
            // deliveries be retried soon after a restart.
            lease: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            allow_private: false,
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Step {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
    /// Not attempted because the host's circuit breaker is open.
    pub deferred: usize,
}

impl Step {
    /// Nothing was due.
    pub fn is_idle(&self) -> bool {
        *self == Self::default()
    }
}

/// Sends queued activities.
#[derive(Clone, Debug)]
pub struct Worker {
    db: Db,
    clock: Clock,
    urls: Urls,
    client: reqwest::Client,
    keys: Arc<KeyCache>,
    breaker: Arc<Breaker>,
    limits: Limits,
    blocks: Option<Arc<Blocklist>>,
}

impl Worker {
    /// A worker over `db`.
    pub fn new(db: Db, clock: Clock, urls: Urls, limits: Limits) -> Self {
        let client = crate::net::client(limits.allow_private)
            .timeout(limits.timeout)
            .build()
            .unwrap_or_default();
        Self {
            db,
            clock,
            urls,
            client,
            keys: Arc::new(KeyCache::default()),
            breaker: Arc::new(Breaker::default()),
            limits,
            blocks: None,
        }
    }

    /// The worker of `state`: its database, clock, URLs and block list, private networks
    /// allowed as configured, `limits` otherwise.
    pub fn from_state(state: &AppState, limits: Limits) -> Self {
        Self::new(
            state.db.clone(),
            state.clock.clone(),
            state.urls.clone(),
            Limits {
                allow_private: state.config.allow_private_networks,
                ..limits
            },
        )
        .with_blocklist(state.blocks.clone())
    }

    /// Deliveries to blocked hosts (or, in allow-list mode, unlisted ones) fail without a
    /// request.
    #[must_use]
    pub fn with_blocklist(mut self, blocks: Arc<Blocklist>) -> Self {
        self.blocks = Some(blocks);
        self
    }

    /// One step: claims what is due (up to twice the total concurrency), sends it, records it.
    pub async fn deliver_due(&self) -> Result<Step> {
        let now = self.clock.now();
        let limit = i64::try_from(self.limits.total * 2).unwrap_or(i64::MAX);
        let due = self
            .db
            .read(move |c| Delivery::list_due(c, now, limit))
            .await?;
        if due.is_empty() {
            return Ok(Step::default());
        }
        let until = lease_until(now, self.limits.lease);
        let claimed = self
            .db
            .write(move |c| Delivery::claim_many(c, &due, now, until))
            .await?;
        let blocked = match &self.blocks {
            Some(b) => Some(b.snapshot().await?),
            None => None,
        };
        let hosts: HashMap<String, Arc<Semaphore>> = claimed
            .iter()
            .map(|d| {
                (
                    d.host.clone(),
                    Arc::new(Semaphore::new(self.limits.per_host)),
                )
            })
            .collect();
        // Each activity is read, and its signer resolved, once per step, not once per inbox.
        let mut prepared: HashMap<i64, std::result::Result<Arc<Prepared>, String>> = HashMap::new();
        for d in &claimed {
            if let std::collections::hash_map::Entry::Vacant(slot) = prepared.entry(d.activity_id) {
                slot.insert(
                    self.prepare(d.activity_id)
                        .await
                        .map(Arc::new)
                        .map_err(|e| e.to_string()),
                );
            }
        }
        // Only what will be attempted is signed: not deliveries to blocked hosts or to hosts
        // whose breaker is open.
        let attempted: Vec<&Delivery> = claimed
            .iter()
            .filter(|d| self.breaker.open_until(&d.host, now).is_none())
            .filter(|d| {
                let inbox = Url::parse(&d.inbox).ok();
                let refused = blocked.as_ref().zip(inbox.as_ref());
                refused.is_none_or(|(b, inbox)| b.refusal(inbox).is_none())
            })
            .collect();
        let mut signed = sign_batch(&attempted, &prepared).await;
        let results: Vec<(Delivery, Outcome)> = stream::iter(claimed)
            .map(|d| {
                let gate = hosts.get(&d.host).cloned();
                let activity = prepared.get(&d.activity_id).cloned();
                let headers = signed.remove(&d.id);
                let refusal = blocked.as_ref().and_then(|b| {
                    let inbox = Url::parse(&d.inbox).ok()?;
                    b.refusal(&inbox)
                });
                async move {
                    let _permit = match &gate {
                        Some(g) => g.acquire().await.ok(),
                        None => None,
                    };
                    let outcome = match (self.breaker.open_until(&d.host, now), activity) {
                        _ if refusal.is_some() => Outcome::Final(refusal.unwrap_or_default()),
                        (Some(until), _) => Outcome::Deferred(until),
                        (None, Some(Ok(activity))) => {
                            let outcome = self.attempt(&d, &activity, headers).await;
                            self.breaker.record(
                                &d.host,
                                !matches!(outcome, Outcome::Retry(_)),
                                now,
                            );
                            outcome
                        }
                        (None, Some(Err(e))) => Outcome::Retry(e),
                        (None, None) => Outcome::Retry("not prepared".to_owned()),
                    };
                    (d, outcome)
                }
            })
            .buffer_unordered(self.limits.total)
            .collect()
            .await;
        self.record(results).await
    }

    /// Steps until the task is aborted, resting briefly whenever nothing was due.
    pub async fn run_until_stopped(self) {
        loop {
            match self.deliver_due().await {
                // Woken early by a commit of this process that queued deliveries; what other
                // processes queue, and retries coming due, are found by the poll.
                Ok(step) if step.is_idle() => {
                    let _ = tokio::time::timeout(IDLE_POLL, self.db.deliveries_queued()).await;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "delivery step failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// A lease end unique to one claim: `lease` from now, plus a random fraction of a second, cut to
/// microseconds (what PostgreSQL stores), so the rows carrying it are exactly this claim's.
fn lease_until(now: NaiveDateTime, lease: Duration) -> NaiveDateTime {
    let base = now + TimeDelta::from_std(lease).unwrap_or(TimeDelta::seconds(30));
    let micros = base.and_utc().timestamp_micros() + rand::thread_rng().gen_range(0..1_000_000);
    chrono::DateTime::from_timestamp_micros(micros).map_or(base, |t| t.naive_utc())
}
