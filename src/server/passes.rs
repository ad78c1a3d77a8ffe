//! The background passes and their supervision. Each pass runs on its period in a task of its
//! own; a run that fails or panics is logged, reported to [`Liveness`] (so `/healthz` can say
//! which pass is in trouble) and followed by a longer wait, doubling up to a minute. A pass
//! that must not run in two processes at once takes a turn first ([`Db::hold_turn`]); the
//! others stand by and take over when the holder dies.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use chrono::TimeDelta;

use crate::{
    db::Db,
    error::Result,
    lifecycle::{Liveness, Role, Shutdown},
};

/// How often a standby process checks whether the pass's turn came free.
const STANDBY_EVERY: Duration = Duration::from_secs(2);
/// The longest wait after failures in a row.
const BACKOFF_MAX: Duration = Duration::from_secs(60);

type Run = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<()>> + Send>> + Send + Sync>;

/// Where a pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// In every process: the pass is safe side by side with itself.
    Everywhere,
    /// In one process at a time, holding this turn.
    OneAtATime(i64),
}

/// A background pass.
#[derive(Clone)]
pub struct Pass {
    /// As logs and `/healthz` name it.
    pub name: &'static str,
    /// The time between runs.
    pub every: Duration,
    /// Stalled (as `/healthz` reports it) after this long without completing.
    pub stale_after: Duration,
    /// Where it runs.
    pub runs: Runs,
    run: Run,
}

impl Pass {
    /// A pass called `name` that runs `run` every `every`, `runs` where.
    pub fn new<F, Fut>(name: &'static str, every: Duration, runs: Runs, run: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        Self {
            name,
            every,
            stale_after: (every * 10).max(Duration::from_secs(60)),
            runs,
            run: Arc::new(move || Box::pin(run())),
        }
    }

    /// A pass whose runs may take long (many remote requests): stalled only after `after`.
    #[must_use]
    pub fn stale_after(mut self, after: Duration) -> Self {
        self.stale_after = after;
        self
    }

    fn role(&self) -> Role {
        match self.runs {
            Runs::Everywhere => Role::Everywhere,
            Runs::OneAtATime(_) => Role::Unknown,
        }
    }
}

/// Runs `pass` on its period until `shutdown`.
pub async fn supervise(pass: Pass, db: Db, liveness: Arc<Liveness>, shutdown: Shutdown) {
    let stale = TimeDelta::from_std(pass.stale_after).unwrap_or(TimeDelta::minutes(10));
    liveness.register(pass.name, stale, pass.role());
    let mut failures = 0u32;
    let mut role = pass.role();
    let mut first = true;
    loop {
        // The first run at once (a standby learns its role, a leader starts work), then on
        // the period.
        let wait = match failures {
            _ if first => Duration::ZERO,
            // A standby looks again soon: a dead leader's turn is free at once.
            0 if role == Role::Standby => pass.every.min(STANDBY_EVERY),
            0 => pass.every,
            n => (pass.every * 2u32.saturating_pow(n)).min(BACKOFF_MAX),
        };
        first = false;
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.wait() => return,
        }
        let now = match pass.runs {
            Runs::Everywhere => Ok(Role::Everywhere),
            Runs::OneAtATime(key) => tokio::select! {
                held = db.hold_turn(key) => held.map(|held| {
                    if held { Role::Leader } else { Role::Standby }
                }),
                () = shutdown.wait() => return,
            },
        };
        let now = match now {
            Ok(now) => now,
            Err(e) => {
                failures += 1;
                tracing::error!(pass = pass.name, error = %e, "cannot tell whose turn the pass is");
                liveness.failed(pass.name, e.to_string());
                liveness.turn_unknown(pass.name);
                role = Role::Unknown;
                continue;
            }
        };
        if now != role {
            tracing::info!(pass = pass.name, role = now.as_str(), "pass changes hands");
            role = now;
        }
        if now == Role::Standby {
            liveness.completed(pass.name, now);
            failures = 0;
            continue;
        }
        // A task of its own, so that a panic is caught here rather than ending the supervisor.
        let mut run = tokio::spawn((pass.run)());
        let ran = tokio::select! {
            ran = &mut run => ran,
            () = shutdown.wait() => {
                // Every write is its own transaction: stopping between two loses nothing.
                run.abort();
                return;
            }
        };
        let trouble = match ran {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) if e.is_panic() => Some(format!("panicked: {}", panic_text(e))),
            Err(e) => Some(e.to_string()),
        };
        match trouble {
            None => {
                failures = 0;
                liveness.completed(pass.name, now);
            }
            Some(why) => {
                failures += 1;
                tracing::error!(pass = pass.name, failures, error = %why, "pass failed; running it again later");
                liveness.failed(pass.name, why);
            }
        }
    }
}

fn panic_text(e: tokio::task::JoinError) -> String {
    let panic = e.into_panic();
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "without a message".to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::clock::Clock;

    #[tokio::test(start_paused = true)]
    async fn a_panicking_pass_is_reported_and_run_again_with_backoff() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&dir.path().join("t.db").display().to_string(), 2).unwrap();
        let liveness = Arc::new(Liveness::new(Clock::manual()));
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        let pass = Pass::new(
            "flaky",
            Duration::from_secs(1),
            Runs::Everywhere,
            move || {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    assert!(n >= 2, "run {n} panics");
                    Ok(())
                }
            },
        );
        let shutdown = Shutdown::default();
        let task = tokio::spawn(supervise(pass, db, liveness.clone(), shutdown.clone()));
        // The first run (at once) panics; the next waits 2 s and panics; then 4 s (at 6 s).
        tokio::time::sleep(Duration::from_millis(3500)).await;
        let report = liveness.report();
        assert_eq!((runs.load(Ordering::SeqCst), report[0].failures), (2, 2));
        assert!(
            report[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("run 1 panics")
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            3,
            "the third run, at 6 s, succeeds"
        );
        assert_eq!(liveness.report()[0].failures, 0, "recovered");
        shutdown.trigger();
        task.await.unwrap();
    }
}
