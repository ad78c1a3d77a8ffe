//! The delivery worker: a continuous sender (`sender`) that claims due deliveries fairly across
//! hosts, signs each claim in one batch per core, starts requests as slots free up (bounded in
//! total and per host, hosts taking turns), and records outcomes in batches. `run_until`
//! runs it until shutdown, woken by commits that queue deliveries (in any process on PostgreSQL);
//! tests call [`Worker::deliver_due`] to send everything due now and return. Its parts: `hosts`
//! (per-host queues and turns), `prepare` (bodies, keys, batch signing), `send` (one request and
//! what its answer means), `record` (outcomes into the queue), `breaker` (the rule for hosts
//! left alone after repeated failures).
//!
//! ```text
//!  claim (per-host ranked, SKIP LOCKED) ─▶ sign (batch per core) ─▶ host queues ─▶ POST ─┬─ 2xx ────────▶ delivered
//!        ▲                                                                              ├─ 410 ────────▶ delivered, follower removed
//!        └── as slots free up; leases renewed while held                                ├─ other 4xx ──▶ failed (final)
//!                                                                                       └─ 408/429/5xx ▶ pending, backoff; breaker
//! ```
//!
//! The lease rule: a claim leases its rows to the sender that made it (`lease_owner`, random
//! per run of the sender) for `lease`; the sender renews the leases it holds each third of that
//! (only leases still valid, and it learns which ones it renewed), and starts a request only
//! while that delivery's own lease has at least the request timeout plus a margin left. A request therefore always ends
//! (the client's timeout) before its lease can run out, even if renewing stops; and only the
//! holder records an outcome.

mod breaker;
mod hosts;
mod prepare;
mod record;
mod send;
mod sender;

use std::{sync::Arc, time::Duration};

use chrono::TimeDelta;

use self::sender::{Mode, Sender};
use crate::{
    blocks::Blocklist,
    clock::Clock,
    config::DeliveryConfig,
    db::Db,
    error::Result,
    httpsig::KeyCache,
    lifecycle::{Liveness, Role, Shutdown},
    metrics::Metrics,
    state::AppState,
    urls::Urls,
};

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
    /// Time allowed for one request, answer included.
    pub timeout: Duration,
    /// Time allowed to connect (inside `timeout`).
    pub connect_timeout: Duration,
    /// Certificate authorities trusted besides the system's (`tls_ca_file`).
    pub extra_roots: Vec<reqwest::Certificate>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            total: 64,
            per_host: 8,
            // Renewed every 10 s while held; a crashed process's deliveries are taken over at
            // most 30 s after it died.
            lease: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            allow_private: false,
            extra_roots: Vec::new(),
        }
    }
}

impl Limits {
    /// The limits the configuration sets. The lease is sized so that a request started with
    /// its timeout and a margin left ends inside it even when one renewal fails.
    pub fn from_config(config: &DeliveryConfig) -> Self {
        let timeout = Duration::from_secs(config.timeout.into());
        Self {
            total: config.concurrency,
            per_host: config.per_host,
            lease: Duration::from_secs(30).max(2 * (timeout + sender::LEASE_MARGIN)),
            timeout,
            connect_timeout: Duration::from_secs(config.connect_timeout.into()),
            allow_private: false,
            extra_roots: Vec::new(),
        }
    }
}

/// What a run of the sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Step {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
    /// Claimed, then given back unsent because the host's circuit breaker opened.
    pub deferred: usize,
}

impl Step {
    /// Nothing was sent.
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
    limits: Limits,
    blocks: Option<Arc<Blocklist>>,
    metrics: Option<Arc<Metrics>>,
    liveness: Option<Arc<Liveness>>,
}

impl Worker {
    /// A worker over `db`.
    pub fn new(db: Db, clock: Clock, urls: Urls, limits: Limits) -> Self {
        let client = crate::net::client(limits.allow_private, &limits.extra_roots)
            .timeout(limits.timeout)
            .connect_timeout(limits.connect_timeout)
            .build()
            .unwrap_or_default();
        Self {
            db,
            clock,
            urls,
            client,
            keys: Arc::new(KeyCache::default()),
            limits,
            blocks: None,
            metrics: None,
            liveness: None,
        }
    }

    /// The worker of `state`: its database, clock, URLs and block list, private networks
    /// allowed and extra certificate authorities as configured, `limits` otherwise.
    pub fn from_state(state: &AppState, limits: Limits) -> Self {
        Self::new(
            state.db.clone(),
            state.clock.clone(),
            state.urls.clone(),
            Limits {
                allow_private: state.config.allow_private_networks,
                extra_roots: state.tls_roots.to_vec(),
                ..limits
            },
        )
        .with_blocklist(state.blocks.clone())
        .with_metrics(state.metrics.clone())
    }

    /// Outcomes and enqueue-to-delivery times are counted in `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Deliveries to blocked hosts (or, in allow-list mode, unlisted ones) fail without a
    /// request.
    #[must_use]
    pub fn with_blocklist(mut self, blocks: Arc<Blocklist>) -> Self {
        self.blocks = Some(blocks);
        self
    }

    /// Sends everything due now, waiting for every request it started, and returns what
    /// happened: the deterministic hook for tests and the CLI. Retries that are not due yet,
    /// and hosts whose breaker is open, wait for a later call.
    pub async fn deliver_due(&self) -> Result<Step> {
        Sender::new(self.clone()).run(Mode::Drain).await
    }

    /// Sends until `shutdown`: woken by commits that queue deliveries (in every process, on
    /// PostgreSQL), and polling for retries that come due. Once `shutdown` is triggered it
    /// claims nothing more, gives back what it has not started, lets the requests in flight
    /// end (each within the request timeout), records their outcomes and returns.
    pub async fn run_until(self, shutdown: Shutdown) {
        // Without the listener other processes' work is found by the poll: nothing to wait for.
        drop(self.db.listen());
        loop {
            let sender = Sender::new(self.clone()).stop_on(shutdown.clone());
            match sender.run(Mode::Forever).await {
                Ok(_) => return,
                Err(_) if shutdown.is_triggered() => return,
                Err(e) => {
                    tracing::error!(error = %e, "delivery sender stopped; starting again");
                    if let Some(liveness) = &self.liveness {
                        liveness.failed(Self::PASS, e.to_string());
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// The sender's name among the background passes (`/healthz`).
    pub const PASS: &'static str = "delivery sender";

    /// Reports the sender alive to `liveness` (each turn of its loop, at most once a second).
    #[must_use]
    pub fn with_liveness(mut self, liveness: Arc<Liveness>) -> Self {
        liveness.register(Self::PASS, TimeDelta::seconds(60), Role::Everywhere);
        self.liveness = Some(liveness);
        self
    }
}

/// A lease's length as a time delta.
fn lease(lease: Duration) -> TimeDelta {
    TimeDelta::from_std(lease).unwrap_or(TimeDelta::seconds(30))
}
