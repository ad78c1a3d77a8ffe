//! The delivery worker: one step claims due deliveries, sends them with bounded concurrency (in
//! total and per host), and records each outcome. `run_until_stopped` loops the step (resting a
//! quarter second when nothing is due, or until this process commits new deliveries); tests call
//! [`Worker::deliver_due`] to drain the queue without sleeping.
//!
//! ```text
//!  list due ─▶ claim all (one UPDATE: lease) ─▶ sign (batch per core) ─▶ POST ─┬─ 2xx ────────▶ delivered (one UPDATE for all)
//!                                                                            ├─ 410 ────────▶ delivered, follower removed
//!                                                                            ├─ other 4xx ──▶ failed (final)
//!                                                                            └─ 408/429/5xx ▶ pending, backoff (or failed)
//! ```

use std::{collections::HashMap, sync::Arc, time::Duration};

use bytes::Bytes;
use chrono::{NaiveDateTime, TimeDelta, Utc};
use futures_util::{StreamExt, stream};
use rand::Rng;
use reqwest::StatusCode;
use tokio::sync::Semaphore;
use url::Url;

use super::backoff;
use crate::{
    blocks::Blocklist,
    clock::Clock,
    db::{
        Db,
        models::{Activity, Delivery, DeliveryState, Follower, InstanceKeys, Stream, StreamKeys},
    },
    error::{Error, Result},
    httpsig::{KeyCache, SignedHeaders, SignerId, body_digest, sign_post},
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

/// An activity ready to sign and send to any number of inboxes.
struct Prepared {
    /// Shared by every request of the step: a reference count, not a copy, per delivery.
    body: Bytes,
    digest: String,
    key: Arc<aws_lc_rs::rsa::KeyPair>,
    key_id: Url,
}

/// How an attempt ended.
#[derive(Debug)]
enum Outcome {
    Delivered,
    /// 410: the inbox is gone for good; its followers go too.
    Gone,
    Final(String),
    Retry(String),
    /// Not attempted: the host's breaker is open until then.
    Deferred(NaiveDateTime),
}

/// Consecutive failures (no answer, 5xx, 408, 429) after which a host is left alone for a while.
const TRIP_AFTER: u32 = 5;
/// How long a tripped host is left alone; its deliveries wait without spending retries.
const OPEN_FOR: TimeDelta = TimeDelta::minutes(10);

/// Per-host circuit breaker (per process): a dead instance is not hammered by every delivery of
/// every fan-out.
#[derive(Debug, Default)]
struct Breaker {
    hosts: std::sync::Mutex<HashMap<String, (u32, Option<NaiveDateTime>)>>,
}

impl Breaker {
    fn open_until(&self, host: &str, now: NaiveDateTime) -> Option<NaiveDateTime> {
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .get(host)
            .and_then(|(_, until)| *until)
            .filter(|until| *until > now)
    }

    fn record(&self, host: &str, answered: bool, now: NaiveDateTime) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        if answered {
            hosts.remove(host);
            return;
        }
        let entry = hosts.entry(host.to_owned()).or_insert((0, None));
        entry.0 += 1;
        if entry.0 >= TRIP_AFTER {
            entry.1 = Some(now + OPEN_FOR);
            tracing::warn!(host, "circuit breaker open");
        }
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

    /// The body, key and key id of an activity, for every delivery of it in this step.
    async fn prepare(&self, activity_id: i64) -> Result<Prepared> {
        let activity = self
            .db
            .read(move |c| Activity::find(c, activity_id))
            .await?
            .ok_or_else(|| Error::Invalid(format!("activity {activity_id} is gone")))?;
        let (signer, key_id) = self.signer_of(&activity).await?;
        let key = match self
            .keys
            .get(signer, || Err(Error::Keys("not cached".to_owned())))
        {
            Ok(key) => key,
            Err(_) => {
                let pem = self.private_key_pem(signer).await?;
                self.keys.get(signer, || Ok(pem))?
            }
        };
        let body = Bytes::from(activity.body.into_bytes());
        Ok(Prepared {
            digest: body_digest(&body),
            body,
            key,
            key_id,
        })
    }

    async fn attempt(
        &self,
        delivery: &Delivery,
        activity: &Arc<Prepared>,
        headers: Option<Signed>,
    ) -> Outcome {
        match self.send(delivery, activity, headers).await {
            Ok(status) if status.is_success() => Outcome::Delivered,
            Ok(StatusCode::GONE) => Outcome::Gone,
            Ok(status)
                if status.is_client_error()
                    && status != StatusCode::REQUEST_TIMEOUT
                    && status != StatusCode::TOO_MANY_REQUESTS =>
            {
                Outcome::Final(format!("HTTP {status}"))
            }
            Ok(status) => Outcome::Retry(format!("HTTP {status}")),
            Err(e) if matches!(e, Error::Invalid(_)) => Outcome::Final(e.to_string()),
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }

    async fn send(
        &self,
        delivery: &Delivery,
        activity: &Arc<Prepared>,
        headers: Option<Signed>,
    ) -> Result<StatusCode> {
        let inbox =
            Url::parse(&delivery.inbox).map_err(|e| Error::Invalid(format!("bad inbox: {e}")))?;
        if !self.limits.allow_private && crate::net::is_local(&inbox) {
            return Err(Error::Invalid(
                "inbox on a local or private address".to_owned(),
            ));
        }
        let headers = headers
            .ok_or_else(|| Error::Keys("not signed".to_owned()))?
            .map_err(Error::Keys)?;
        let response = self
            .client
            .post(inbox)
            .header("content-type", "application/activity+json")
            .header("host", headers.host)
            .header("date", headers.date)
            .header("digest", headers.digest)
            .header("signature", headers.signature)
            .body(activity.body.clone())
            .send()
            .await
            .map_err(|e| Error::Remote(format!("request failed: {e}")))?;
        Ok(response.status())
    }

    async fn signer_of(&self, activity: &Activity) -> Result<(SignerId, Url)> {
        match activity.stream_id {
            None => Ok((SignerId::Instance, self.urls.instance_key())),
            Some(id) => {
                let handle = self
                    .db
                    .read(move |c| Stream::handle_of(c, id))
                    .await?
                    .ok_or_else(|| Error::Invalid(format!("stream {id} is gone")))?;
                Ok((SignerId::Stream(id), self.urls.stream_key(&handle)))
            }
        }
    }

    async fn private_key_pem(&self, signer: SignerId) -> Result<String> {
        let pem = match signer {
            SignerId::Instance => self
                .db
                .read(InstanceKeys::find)
                .await?
                .map(|k| k.private_key_pem),
            SignerId::Stream(id) => {
                // A stream that goes on air before the key maker reached it (its first Create to
                // a relay, say) gets its pair now rather than a retry a minute later.
                crate::keys::stream_public_key(&self.db, &self.clock, id).await?;
                self.db
                    .read(move |c| StreamKeys::private_key(c, id))
                    .await?
            }
        };
        pem.ok_or_else(|| Error::Keys(format!("no private key for {signer:?}")))
    }

    async fn record(&self, results: Vec<(Delivery, Outcome)>) -> Result<Step> {
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

/// A delivery's signed headers, or why signing failed.
type Signed = std::result::Result<SignedHeaders, String>;

/// Signs the step's requests on the blocking pool, one batch per core: each signature is a few
/// hundred microseconds of CPU, and one hand-off per core costs far less than one per request.
async fn sign_batch(
    claimed: &[&Delivery],
    prepared: &HashMap<i64, std::result::Result<Arc<Prepared>, String>>,
) -> HashMap<i64, Signed> {
    let jobs: Vec<(i64, Arc<Prepared>, Url)> = claimed
        .iter()
        .filter_map(|d| {
            let activity = prepared.get(&d.activity_id)?.as_ref().ok()?.clone();
            Some((d.id, activity, Url::parse(&d.inbox).ok()?))
        })
        .collect();
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let per_batch = jobs.len().div_ceil(cores).max(1);
    let now = Utc::now();
    let mut batches = Vec::new();
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        let batch: Vec<_> = jobs.by_ref().take(per_batch).collect();
        batches.push(tokio::task::spawn_blocking(move || {
            batch
                .into_iter()
                .map(|(id, a, inbox)| {
                    let headers = sign_post(&a.key, &a.key_id, &inbox, &a.digest, now);
                    (id, headers.map_err(|e| e.to_string()))
                })
                .collect::<Vec<_>>()
        }));
    }
    let mut signed = HashMap::new();
    for batch in batches {
        if let Ok(done) = batch.await {
            signed.extend(done);
        }
    }
    signed
}

/// A lease end unique to one claim: `lease` from now, plus a random fraction of a second, cut to
/// microseconds (what PostgreSQL stores), so the rows carrying it are exactly this claim's.
fn lease_until(now: NaiveDateTime, lease: Duration) -> NaiveDateTime {
    let base = now + TimeDelta::from_std(lease).unwrap_or(TimeDelta::seconds(30));
    let micros = base.and_utc().timestamp_micros() + rand::thread_rng().gen_range(0..1_000_000);
    chrono::DateTime::from_timestamp_micros(micros).map_or(base, |t| t.naive_utc())
}

/// When retry number `attempts + 1` is due, or `None` to give up.
fn retry_at(attempts: i32, jitter: f64, now: NaiveDateTime) -> Option<NaiveDateTime> {
    let retry = u32::try_from(attempts).unwrap_or(0) + 1;
    let wait = backoff::next_attempt_after(retry, jitter)?;
    Some(now + TimeDelta::from_std(wait).ok()?)
}
