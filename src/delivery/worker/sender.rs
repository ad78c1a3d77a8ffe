//! The continuous sender: one loop that keeps claimed work topped up, signs it in small batches
//! on every core without pause, starts requests as slots free up, and records outcomes in
//! batches. Claiming, signing and recording run as tasks beside the loop, so none of them stalls
//! the starting of requests; requests run as tasks of their own, each holding a slot of its host
//! until it ends.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::NaiveDateTime;
use tokio::{
    sync::{Notify, OwnedSemaphorePermit, Semaphore},
    task::{JoinError, JoinHandle, JoinSet},
};

use super::{
    Step, Worker,
    hosts::Hosts,
    lease,
    prepare::{Prepared, Signed},
    record::{Recorded, record},
    send::{Outcome, attempt},
};
use crate::{
    db::models::{Claim, Delivery, HostBreaker},
    error::{Error, Result},
    lifecycle::{Role, Shutdown},
};

/// Outcomes are recorded once this many have come in, or once the oldest is this old.
const RECORD_AT: usize = 64;
const RECORD_AFTER: Duration = Duration::from_millis(50);
/// How often the loop looks at the clock while requests run (lease renewal, recording).
const TICK: Duration = Duration::from_millis(20);
/// How long the sender rests when nothing is due, unless a commit wakes it.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// A request running longer than this gives its slot in the total back (it keeps its host's):
/// waiting on a slow host costs a socket, not anyone else's turn.
const SLOW_AFTER: Duration = Duration::from_secs(2);
/// Slow requests allowed at once, as a multiple of the total: bounds the sockets they hold.
const SLOW_FACTOR: usize = 8;
/// A request starts only with this much lease left beyond its timeout.
pub(super) const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// Recording the same outcomes is tried this often before they are let go.
const MAX_RECORD_FAILURES: u32 = 5;
/// Prepared activities kept at most; more are forgotten (and read again if needed).
const MAX_ACTIVITIES: usize = 256;
/// A host has enough claimed work once this many times its slots are claimed or running.
const HOST_DEPTH: usize = 2;
/// Requests signed per hand-off to the blocking pool: small enough that the first requests of a
/// claim start at once and every core keeps signing, large enough that hand-offs cost nothing.
const SIGN_BATCH: usize = 16;

/// Whether the sender returns once nothing is due (tests, the CLI) or runs for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Drain,
    Forever,
}

/// A claimed delivery, signed and waiting for its host's turn.
struct Job {
    delivery: Delivery,
    activity: std::result::Result<Arc<Prepared>, String>,
    headers: Option<Signed>,
    /// Why the block list refuses it, if it does.
    refusal: Option<String>,
}

/// What one claim brought.
struct Claimed {
    jobs: Vec<Job>,
    /// Breakers open now (any process may have opened them).
    open: HashMap<String, NaiveDateTime>,
}

/// A recording that failed hands its batch back, to be recorded again.
type Recording = std::result::Result<Recorded, (Error, Vec<(Delivery, Outcome)>, Vec<i64>)>;

/// Activities prepared for the deliveries in hand, shared with the claiming task.
type Activities = Arc<Mutex<HashMap<i64, Arc<Prepared>>>>;

pub(super) struct Sender {
    worker: Worker,
    hosts: Hosts<Job>,
    running: JoinSet<(Delivery, Outcome, NaiveDateTime)>,
    /// Host and delivery of each running request, to free its slot even if it panicked.
    started: HashMap<tokio::task::Id, (String, Delivery)>,
    claiming: Option<JoinHandle<Result<Claimed>>>,
    /// Claimed work not signed yet, and the signing batches running (at most one per core).
    unsigned: std::collections::VecDeque<Job>,
    signing: JoinSet<Vec<Job>>,
    signers: usize,
    recording: Option<JoinHandle<Recording>>,
    results: Vec<(Delivery, Outcome)>,
    released: Vec<i64>,
    oldest_result: Option<Instant>,
    open: HashMap<String, NaiveDateTime>,
    activities: Activities,
    total: Arc<Semaphore>,
    slow: Arc<Semaphore>,
    /// Fired when a slow request gives its slot in the total back.
    freed: Arc<Notify>,
    /// Names this run of the sender on the leases it holds. A new run (after an error) has a
    /// new name, so leases a failed run left behind run out instead of being renewed.
    owner: Arc<str>,
    renewed_at: NaiveDateTime,
    /// The deliveries the last renewal extended, and until when: a delivery counts on that
    /// only if it was among them.
    renewed: std::collections::HashSet<i64>,
    renewed_until: Option<NaiveDateTime>,
    /// Hosts our recordings opened or closed since the claim in progress read the breakers.
    opened_during_claim: HashMap<String, Option<NaiveDateTime>>,
    /// Recordings of the same outcomes that failed in a row.
    record_failures: u32,
    /// How many the last claim took (`None`: none yet), and what ended since.
    last_claim: Option<usize>,
    ended_since_claim: usize,
    last_claim_at: Instant,
    woken: bool,
    /// Wakes the loop while requests run: lease renewal, recording what waited long enough.
    tick: tokio::time::Interval,
    step: Step,
    /// Once triggered: claim nothing more, give back what has not started, finish the rest.
    stop: Option<Shutdown>,
    /// When the loop last told the worker's liveness it is alive.
    alive_at: Option<Instant>,
}

impl Sender {
    pub(super) fn new(worker: Worker) -> Self {
        let total = worker.limits.total.max(1);
        Self {
            hosts: Hosts::new(worker.limits.per_host),
            running: JoinSet::new(),
            started: HashMap::new(),
            claiming: None,
            unsigned: std::collections::VecDeque::new(),
            signing: JoinSet::new(),
            signers: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            recording: None,
            results: Vec::new(),
            released: Vec::new(),
            oldest_result: None,
            open: HashMap::new(),
            activities: Arc::default(),
            total: Arc::new(Semaphore::new(total)),
            slow: Arc::new(Semaphore::new(total * SLOW_FACTOR)),
            freed: Arc::new(Notify::new()),
            owner: crate::accounts::random_alphanumeric(16).into(),
            renewed_at: worker.clock.now(),
            renewed: std::collections::HashSet::new(),
            renewed_until: None,
            opened_during_claim: HashMap::new(),
            record_failures: 0,
            last_claim: None,
            ended_since_claim: 0,
            last_claim_at: Instant::now(),
            woken: false,
            tick: {
                let mut tick = tokio::time::interval(TICK);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick
            },
            step: Step::default(),
            stop: None,
            alive_at: None,
            worker,
        }
    }

    /// Makes a [`Mode::Forever`] run wind down and return once `stop` is triggered.
    pub(super) fn stop_on(mut self, stop: Shutdown) -> Self {
        self.stop = Some(stop);
        self
    }

    fn stopping(&self) -> bool {
        self.stop.as_ref().is_some_and(Shutdown::is_triggered)
    }

    /// Work claimed but not started goes back to the queue (leases released), for another
    /// process or the next start.
    fn give_back_unstarted(&mut self) {
        let hosts: Vec<String> = self.hosts.hosts_waiting().map(str::to_owned).collect();
        for host in hosts {
            let jobs = self.hosts.take_waiting(&host);
            self.released.extend(jobs.iter().map(|j| j.delivery.id));
        }
        self.released
            .extend(self.unsigned.drain(..).map(|j| j.delivery.id));
    }

    fn report_alive(&mut self) {
        if let Some(liveness) = &self.worker.liveness
            && self
                .alive_at
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            liveness.completed(Worker::PASS, Role::Everywhere);
            self.alive_at = Some(Instant::now());
        }
    }

    pub(super) async fn run(mut self, mode: Mode) -> Result<Step> {
        loop {
            self.report_alive();
            self.renew_if_due(mode).await?;
            if self.stopping() {
                self.give_back_unstarted();
                self.record_if_due();
                if self.is_quiet() {
                    tracing::info!(step = ?self.step, "delivery sender stopped");
                    return Ok(self.step);
                }
                self.wait(mode).await?;
                continue;
            }
            self.claim_if_wanted(mode);
            self.start_signing();
            self.start_requests();
            self.record_if_due();
            if self.is_quiet() {
                let nothing_due = self.last_claim == Some(0) && self.ended_since_claim == 0;
                match mode {
                    Mode::Drain if nothing_due => return Ok(self.step),
                    Mode::Drain => {}
                    Mode::Forever if nothing_due => {
                        self.activities
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .clear();
                        let queued = self.worker.db.deliveries_queued();
                        let stop = self.stop.clone().unwrap_or_default();
                        tokio::select! {
                            _ = tokio::time::timeout(IDLE_POLL, queued) => {}
                            () = stop.wait(), if self.stop.is_some() => {}
                        }
                        self.last_claim = None;
                    }
                    Mode::Forever => {}
                }
            }
            self.wait(mode).await?;
        }
    }

    /// Nothing claimed, running, being claimed or waiting to be recorded.
    fn is_quiet(&self) -> bool {
        self.hosts.waiting() == 0
            && self.hosts.running() == 0
            && self.claiming.is_none()
            && self.unsigned.is_empty()
            && self.signing.is_empty()
            && self.recording.is_none()
            && self.results.is_empty()
            && self.released.is_empty()
    }

    /// Claims more when there is room, and when the last claim found work, something ended
    /// since, a commit woke us, or a second passed (retries coming due).
    fn claim_if_wanted(&mut self, mode: Mode) {
        let limits = &self.worker.limits;
        // Two totals' worth in hand keeps the signers busy while the last claim is sent.
        let in_hand = self.hosts.startable() + self.unsigned.len();
        if self.claiming.is_some() || in_hand >= limits.total * 2 {
            return;
        }
        let worth_it = self.last_claim != Some(0)
            || self.ended_since_claim > 0
            || self.woken
            || (mode == Mode::Forever && self.last_claim_at.elapsed() >= IDLE_POLL);
        if !worth_it {
            return;
        }
        self.woken = false;
        self.ended_since_claim = 0;
        self.last_claim_at = Instant::now();
        let skip = self.hosts.saturated(limits.per_host * HOST_DEPTH);
        let want = limits.total * 4;
        self.opened_during_claim.clear();
        self.claiming = Some(tokio::spawn(claim(
            self.worker.clone(),
            self.owner.clone(),
            self.activities.clone(),
            skip,
            want,
        )));
    }

    /// Keeps one signing batch per core running while claimed work waits to be signed. Work
    /// that will not be sent (refused by the block list, its activity unreadable) skips it.
    fn start_signing(&mut self) {
        while self.signing.len() < self.signers && !self.unsigned.is_empty() {
            let take = self.unsigned.len().min(SIGN_BATCH);
            let mut batch: Vec<Job> = self.unsigned.drain(..take).collect();
            self.signing.spawn_blocking(move || {
                for job in &mut batch {
                    if let (None, Ok(activity)) = (&job.refusal, &job.activity) {
                        job.headers = Some(activity.sign(&job.delivery.inbox));
                    }
                }
                batch
            });
        }
    }

    /// Starts requests while the total has room, hosts taking turns.
    fn start_requests(&mut self) {
        let now = self.worker.clock.now();
        if !self.open.is_empty() {
            self.open.retain(|_, until| *until > now);
            let open: Vec<String> = self
                .hosts
                .hosts_waiting()
                .filter(|h| self.open.contains_key(*h))
                .map(str::to_owned)
                .collect();
            for host in open {
                let jobs = self.hosts.take_waiting(&host);
                self.released.extend(jobs.iter().map(|j| j.delivery.id));
            }
        }
        let limits = &self.worker.limits;
        let start_by = now + lease(limits.timeout + LEASE_MARGIN);
        while let Ok(permit) = self.total.clone().try_acquire_owned() {
            let Some((host, job)) = self.hosts.start_next() else {
                break;
            };
            let leased = if self.renewed.contains(&job.delivery.id) {
                job.delivery.lease_until.max(self.renewed_until)
            } else {
                job.delivery.lease_until
            };
            if leased.is_none_or(|until| until < start_by) {
                // Too little lease left to finish inside it: give it back for a fresh claim.
                self.released.push(job.delivery.id);
                self.hosts.finished(&host);
                continue;
            }
            let outcome = match (job.refusal, job.activity, job.headers) {
                (Some(refusal), _, _) => Some(Outcome::Final(refusal)),
                (None, Err(e), _) => Some(Outcome::Local(e)),
                (None, Ok(_), None) => Some(Outcome::Local("not signed".to_owned())),
                (None, Ok(activity), Some(headers)) => {
                    self.spawn_request(
                        host.clone(),
                        job.delivery.clone(),
                        activity,
                        headers,
                        permit,
                    );
                    None
                }
            };
            if let Some(outcome) = outcome {
                self.hosts.finished(&host);
                self.ended(job.delivery, outcome);
            }
        }
    }

    fn spawn_request(
        &mut self,
        host: String,
        delivery: Delivery,
        activity: Arc<Prepared>,
        headers: Signed,
        permit: OwnedSemaphorePermit,
    ) {
        let client = self.worker.client.clone();
        let allow_private = self.worker.limits.allow_private;
        let (slow, freed) = (self.slow.clone(), self.freed.clone());
        let task_delivery = delivery.clone();
        let handle = self.running.spawn(async move {
            let queued_at = activity.queued_at;
            let outcome = {
                let request = attempt(&client, allow_private, &task_delivery, &activity, headers);
                tokio::pin!(request);
                match tokio::time::timeout(SLOW_AFTER, &mut request).await {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        let slow_slot = slow.try_acquire_owned().ok();
                        let mut permit = Some(permit);
                        if slow_slot.is_some() {
                            permit = None;
                            freed.notify_one();
                        }
                        let outcome = request.await;
                        drop((slow_slot, permit));
                        outcome
                    }
                }
            };
            (task_delivery, outcome, queued_at)
        });
        self.started.insert(handle.id(), (host, delivery));
    }

    /// Notes an outcome for the next recording.
    fn ended(&mut self, delivery: Delivery, outcome: Outcome) {
        self.ended_since_claim += 1;
        if let Some(metrics) = &self.worker.metrics {
            metrics.delivery(outcome.label());
        }
        self.oldest_result.get_or_insert_with(Instant::now);
        self.results.push((delivery, outcome));
    }

    /// Starts recording what ended, when enough did or the oldest waited long enough.
    fn record_if_due(&mut self) {
        if self.recording.is_some() || (self.results.is_empty() && self.released.is_empty()) {
            return;
        }
        let quiet = self.hosts.running() == 0 && self.hosts.waiting() == 0;
        let due = self.results.len() >= RECORD_AT
            || quiet
            || self
                .oldest_result
                .is_some_and(|t| t.elapsed() >= RECORD_AFTER)
            || !self.released.is_empty();
        if !due {
            return;
        }
        self.oldest_result = None;
        let results = std::mem::take(&mut self.results);
        let released = std::mem::take(&mut self.released);
        let (db, owner, now) = (
            self.worker.db.clone(),
            self.owner.clone(),
            self.worker.clock.now(),
        );
        self.recording = Some(tokio::spawn(async move {
            let copy = (results.clone(), released.clone());
            record(&db, owner, results, released, now)
                .await
                .map_err(|e| (e, copy.0, copy.1))
        }));
    }

    /// Renews the leases held every third of a lease, while anything is held.
    async fn renew_if_due(&mut self, mode: Mode) -> Result<()> {
        let now = self.worker.clock.now();
        let every = lease(self.worker.limits.lease) / 3;
        if now - self.renewed_at < every {
            return Ok(());
        }
        self.renewed_at = now;
        if self.is_quiet() {
            return Ok(());
        }
        let until = now + lease(self.worker.limits.lease);
        let owner = self.owner.clone();
        let renewed = self
            .worker
            .db
            .write(move |c| Delivery::renew_leases(c, &owner, now, until))
            .await;
        match renewed {
            Ok(ids) => {
                self.renewed = ids.into_iter().collect();
                self.renewed_until = Some(until);
            }
            // The last renewal's promise stands until it runs out; a delivery without enough
            // lease left is given back rather than sent.
            Err(e) if mode == Mode::Forever => {
                tracing::error!(error = %e, "renewing delivery leases failed");
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Waits for a request, a claim or a recording to end, a freed slot, a commit or a tick.
    async fn wait(&mut self, mode: Mode) -> Result<()> {
        let Self {
            running,
            claiming,
            signing,
            recording,
            freed,
            worker,
            tick,
            ..
        } = self;
        let busy = !running.is_empty();
        let signs = !signing.is_empty();
        let stop = self.stop.clone().filter(|s| !s.is_triggered());
        let watch_stop = stop.is_some();
        let stop = stop.unwrap_or_default();
        let event = tokio::select! {
            Some(done) = running.join_next_with_id(), if busy => Event::Ended(done),
            Some(signed) = signing.join_next(), if signs => Event::Signed(signed),
            claimed = join(claiming) => Event::Claimed(claimed),
            recorded = join(recording) => Event::Recorded(recorded),
            () = freed.notified() => Event::Tick,
            () = worker.db.deliveries_queued(), if mode == Mode::Forever => Event::Woken,
            _ = tick.tick() => Event::Tick,
            () = stop.wait(), if watch_stop => Event::Stopping,
        };
        match event {
            Event::Ended(done) => {
                self.request_ended(done);
                // Whatever else ended meanwhile is taken in the same turn of the loop: one pass
                // of the loop per batch of answers, not per answer.
                while let Some(done) = self.running.try_join_next_with_id() {
                    self.request_ended(done);
                }
            }
            Event::Claimed(claimed) => {
                self.claiming = None;
                self.claimed(claimed.map_err(Error::from).and_then(|c| c), mode)?;
            }
            Event::Recorded(recorded) => {
                self.recording = None;
                self.recorded(recorded.map_err(Error::from)?, mode)?;
            }
            Event::Signed(signed) => {
                for job in signed.map_err(Error::from)? {
                    let host = job.delivery.host.clone();
                    self.hosts.push(&host, job);
                }
            }
            Event::Stopping => {}
            Event::Woken => self.woken = true,
            Event::Tick => {}
        }
        Ok(())
    }

    fn request_ended(
        &mut self,
        done: std::result::Result<(tokio::task::Id, (Delivery, Outcome, NaiveDateTime)), JoinError>,
    ) {
        let (id, outcome) = match done {
            Ok((id, (delivery, outcome, queued_at))) => {
                if matches!(outcome, Outcome::Delivered)
                    && let Some(metrics) = &self.worker.metrics
                {
                    let waited = self.worker.clock.now() - queued_at;
                    metrics.delivery_latency(waited.as_seconds_f64());
                }
                (id, Some((delivery, outcome)))
            }
            Err(e) => (e.id(), None),
        };
        let Some((host, delivery)) = self.started.remove(&id) else {
            return;
        };
        self.hosts.finished(&host);
        let (delivery, outcome) =
            outcome.unwrap_or_else(|| (delivery, Outcome::Local("the request panicked".into())));
        self.ended(delivery, outcome);
    }

    fn claimed(&mut self, claimed: Result<Claimed>, mode: Mode) -> Result<()> {
        let claimed = match claimed {
            Ok(claimed) => claimed,
            Err(e) if mode == Mode::Forever => {
                tracing::error!(error = %e, "claiming deliveries failed");
                self.last_claim = Some(0);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        self.last_claim = Some(claimed.jobs.len());
        // The database's view as the claim read it, corrected by what our own recordings
        // changed since.
        self.open = claimed.open;
        for (host, open) in self.opened_during_claim.drain() {
            match open {
                Some(until) => self.open.insert(host, until),
                None => self.open.remove(&host),
            };
        }
        self.unsigned.extend(claimed.jobs);
        Ok(())
    }

    fn recorded(&mut self, recorded: Recording, mode: Mode) -> Result<()> {
        match recorded {
            Ok(recorded) => {
                self.record_failures = 0;
                for host in recorded.answered {
                    self.open.remove(&host);
                    self.opened_during_claim.insert(host, None);
                }
                let step = recorded.step;
                self.step.delivered += step.delivered;
                self.step.retried += step.retried;
                self.step.failed += step.failed;
                self.step.deferred += step.deferred;
                for (host, until) in recorded.opened {
                    self.opened_during_claim.insert(host.clone(), Some(until));
                    if self.open.insert(host.clone(), until).is_none() {
                        tracing::warn!(host, %until, "circuit breaker open");
                    }
                }
                Ok(())
            }
            Err((e, results, released)) if mode == Mode::Forever => {
                self.record_failures += 1;
                if self.record_failures >= MAX_RECORD_FAILURES {
                    // Something in the batch cannot be recorded: let it go rather than hold
                    // every later outcome behind it. Its leases run out and it is sent again.
                    tracing::error!(error = %e, outcomes = results.len(), "recording delivery outcomes failed again; dropped, to be retried");
                    self.record_failures = 0;
                    return Ok(());
                }
                // Kept and recorded again: the leases are still ours while we renew them.
                tracing::error!(error = %e, "recording delivery outcomes failed");
                self.results.extend(results);
                self.released.extend(released);
                self.oldest_result.get_or_insert_with(Instant::now);
                Ok(())
            }
            Err((e, _, _)) => Err(e),
        }
    }
}

enum Event {
    Signed(std::result::Result<Vec<Job>, JoinError>),
    Ended(std::result::Result<(tokio::task::Id, (Delivery, Outcome, NaiveDateTime)), JoinError>),
    Claimed(std::result::Result<Result<Claimed>, JoinError>),
    Recorded(std::result::Result<Recording, JoinError>),
    Woken,
    Stopping,
    Tick,
}

/// Awaits the task in `slot`, or never if there is none.
async fn join<T>(slot: &mut Option<JoinHandle<T>>) -> std::result::Result<T, JoinError> {
    match slot {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

/// Claims up to `want` due deliveries (never from the hosts in `skip`) and prepares their
/// activities.
async fn claim(
    worker: Worker,
    owner: Arc<str>,
    activities: Activities,
    skip: Vec<String>,
    want: usize,
) -> Result<Claimed> {
    let now = worker.clock.now();
    let until = now + lease(worker.limits.lease);
    let per_host = worker.limits.per_host;
    let claim_owner = owner.clone();
    let (claimed, open) = worker
        .db
        .write(move |c| {
            let claim = Claim {
                owner: &claim_owner,
                now,
                until,
                per_host: i64::try_from(per_host).unwrap_or(8),
                limit: i64::try_from(want).unwrap_or(128),
                skip_hosts: &skip,
            };
            Ok((Delivery::claim(c, &claim)?, HostBreaker::open(c, now)?))
        })
        .await?;
    let open: HashMap<String, NaiveDateTime> = open
        .into_iter()
        .filter_map(|b| Some((b.host, b.open_until?)))
        .collect();
    if claimed.is_empty() {
        return Ok(Claimed {
            jobs: Vec::new(),
            open,
        });
    }
    let blocked = match &worker.blocks {
        Some(b) => match b.snapshot().await {
            Ok(blocked) => Some(blocked),
            Err(e) => {
                // The rows are leased already: give them back rather than leave them held.
                let ids: Vec<i64> = claimed.iter().map(|d| d.id).collect();
                let released = worker
                    .db
                    .write(move |c| Delivery::release(c, &ids, &owner))
                    .await;
                if let Err(release) = released {
                    tracing::error!(error = %release, "giving back claimed deliveries failed");
                }
                return Err(e);
            }
        },
        None => None,
    };
    // Each activity is read, and its signer resolved, once while its deliveries last.
    let mut prepared: HashMap<i64, std::result::Result<Arc<Prepared>, String>> = HashMap::new();
    for d in &claimed {
        if prepared.contains_key(&d.activity_id) {
            continue;
        }
        let known = activities
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&d.activity_id)
            .cloned();
        let activity = match known {
            Some(a) => Ok(a),
            None => worker
                .prepare(d.activity_id)
                .await
                .map(Arc::new)
                .map_err(|e| e.to_string()),
        };
        if let Ok(a) = &activity {
            let mut known = activities.lock().unwrap_or_else(|p| p.into_inner());
            if known.len() >= MAX_ACTIVITIES {
                known.clear();
            }
            known.insert(d.activity_id, a.clone());
        }
        prepared.insert(d.activity_id, activity);
    }
    let jobs = claimed
        .into_iter()
        .map(|delivery| {
            let refusal = url::Url::parse(&delivery.inbox)
                .ok()
                .and_then(|inbox| blocked.as_ref()?.refusal(&inbox));
            Job {
                activity: prepared
                    .get(&delivery.activity_id)
                    .cloned()
                    .unwrap_or_else(|| Err("not prepared".to_owned())),
                headers: None,
                refusal,
                delivery,
            }
        })
        .collect();
    Ok(Claimed { jobs, open })
}
