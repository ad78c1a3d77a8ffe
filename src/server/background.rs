//! The background work of a serving process: the periodic passes (which run in every process,
//! which take turns) and the delivery sender, started together and stopped together.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::passes::{self, Pass, Runs};
use crate::{
    catalog::refresh::Refresher,
    delivery::worker::{Limits, Worker},
    error::Result,
    keys,
    lifecycle::HOUSEKEEPING,
    state::AppState,
    streams::Directory,
};

/// How often the reaper looks for broadcasts to end. One indexed query; the timing rules
/// themselves come from the YP settings.
const REAP_EVERY: Duration = Duration::from_secs(1);
/// How often old inbound activity ids are forgotten.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);
/// How often the catalog looks for entries that went quiet.
const REFRESH_EVERY: Duration = Duration::from_secs(10);
/// How often new streams are looked for to give them key pairs.
const MAKE_KEYS_EVERY: Duration = Duration::from_secs(1);

/// The running background work.
pub(super) struct Background {
    sender: JoinHandle<()>,
    passes: Vec<JoinHandle<()>>,
}

/// Starts the passes and the delivery sender.
pub(super) fn start(state: &AppState) -> Background {
    let sender = tokio::spawn(supervise_sender(state.clone()));
    let passes = passes(state)
        .into_iter()
        .map(|pass| {
            tokio::spawn(passes::supervise(
                pass,
                state.db.clone(),
                state.liveness.clone(),
                state.shutdown.clone(),
            ))
        })
        .collect();
    Background { sender, passes }
}

impl Background {
    /// After shutdown: a graceful stop gives the sender the delivery timeout and a margin to
    /// finish its requests; then (or at once) everything is aborted, and this process's turns
    /// are given up for the others.
    pub(super) async fn stop(mut self, state: &AppState, graceful: bool) {
        let delivery = &state.config.delivery;
        let bound = Duration::from_secs(u64::from(delivery.timeout)) + SENDER_STOP_MARGIN;
        if !graceful || tokio::time::timeout(bound, &mut self.sender).await.is_err() {
            // Its leases run out and other processes (or the next start) send the rest.
            self.sender.abort();
        }
        for pass in self.passes {
            pass.abort();
        }
        let db = state.db.clone();
        let _ = tokio::task::spawn_blocking(move || db.release_turns()).await;
    }
}

/// Beyond the delivery timeout, what the sender gets to record its last outcomes on SIGTERM.
const SENDER_STOP_MARGIN: Duration = Duration::from_secs(5);

/// The periodic passes. The reaper runs in every process: each of its ends is conditional on
/// the broadcast still being idle past the cutoff, so two reapers end a broadcast once. The
/// others take turns: two refreshers would ask every origin twice, two key makers would each
/// spend seconds generating a key only one of them can store, and housekeeping's deletes are
/// wasted work twice over.
fn passes(state: &AppState) -> Vec<Pass> {
    let reaper = {
        let state = state.clone();
        Pass::new("reaper", REAP_EVERY, Runs::Everywhere, move || {
            let state = state.clone();
            async move { Directory::new(&state).reap().await.map(drop) }
        })
    };
    let refresher = {
        let refresher = Refresher::new(state);
        Pass::new(
            "catalog refresher",
            REFRESH_EVERY,
            Runs::OneAtATime(TURN_REFRESHER),
            move || {
                let refresher = refresher.clone();
                async move { refresher.pass().await.map(drop) }
            },
        )
        // A pass asks up to 50 origins, each allowed 10 s.
        .stale_after(Duration::from_secs(15 * 60))
    };
    let key_maker = {
        let (db, clock) = (state.db.clone(), state.clock.clone());
        Pass::new(
            "key maker",
            MAKE_KEYS_EVERY,
            Runs::OneAtATime(TURN_KEY_MAKER),
            move || {
                let (db, clock) = (db.clone(), clock.clone());
                async move { keys::fill_missing(&db, &clock).await.map(drop) }
            },
        )
    };
    let housekeeping = {
        let state = state.clone();
        Pass::new(
            HOUSEKEEPING,
            HOUSEKEEPING_EVERY,
            Runs::OneAtATime(TURN_HOUSEKEEPING),
            move || housekeeping(state.clone()),
        )
        .stale_after(Duration::from_secs(15 * 60))
    };
    vec![reaper, refresher, key_maker, housekeeping]
}

/// Advisory-lock keys of the passes that take turns ("onair" in ASCII, then a number).
const TURN_REFRESHER: i64 = 0x6f6e_6169_7201;
const TURN_KEY_MAKER: i64 = 0x6f6e_6169_7202;
const TURN_HOUSEKEEPING: i64 = 0x6f6e_6169_7203;

/// Runs the delivery sender until shutdown; a panic is logged, reported and followed by a
/// fresh start (its leases run out and are claimed again).
async fn supervise_sender(state: AppState) {
    let worker = Worker::from_state(&state, Limits::from_config(&state.config.delivery))
        .with_liveness(state.liveness.clone());
    let mut wait = Duration::from_secs(1);
    loop {
        // In a task of its own, so that a panic is caught here; aborted with this task.
        let run = AbortOnDrop(tokio::spawn(
            worker.clone().run_until(state.shutdown.clone()),
        ));
        match run.join().await {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(error = %e, "delivery sender panicked; starting again");
                state.liveness.failed(Worker::PASS, e.to_string());
            }
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.shutdown.wait() => return,
        }
        wait = (wait * 2).min(Duration::from_secs(60));
    }
}

/// Forgets old inbound activity ids, finished deliveries past their retention and ended
/// sign-in failure windows, and keeps the schedule (shows over, weekly Events moved on, reminders
/// due). Each part runs even if another failed; the pass reports the first failure.
async fn housekeeping(state: AppState) -> Result<()> {
    let now = state.clock.now();
    let retention = state.config.delivery.retention_days;
    let ids = crate::federation::inbox::forget_old_ids(&state.db, now).await;
    let deliveries = crate::delivery::forget_finished(&state.db, now, retention).await;
    let failures = crate::signin::forget_old_failures(&state.db, now).await;
    let (urls, language) = (state.urls.clone(), state.config.language.clone());
    let shows = state
        .db
        .write(move |c| {
            crate::db::models::RemoteShow::forget_ended(c, now)?;
            crate::streams::shows::upkeep(c, &urls, &language, now)
        })
        .await;
    ids.map(drop)?;
    deliveries.map(drop)?;
    failures.map(drop)?;
    shows.map(drop)
}

/// A task aborted when its handle is dropped (when the task awaiting it is aborted).
struct AbortOnDrop(JoinHandle<()>);

impl AbortOnDrop {
    async fn join(mut self) -> std::result::Result<(), tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
