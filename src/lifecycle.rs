//! The process's background passes as `/healthz` sees them, and the signal that it is stopping.
//! A pass reports each completed run (or that another process holds its turn); one that has
//! not reported for far longer than its period is stalled, and the health check says which.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use chrono::{NaiveDateTime, TimeDelta};

use crate::clock::Clock;

/// The pass whose runner also serves the database's metrics (one process at a time).
pub const HOUSEKEEPING: &str = "housekeeping";

/// Who runs a pass at the moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Runs in every process.
    Everywhere,
    /// This process holds the pass's turn among the processes on the database.
    Leader,
    /// Another process holds it; this one waits to take over.
    Standby,
    /// Takes turns, and whose turn it is is not known (not asked yet, or the asking failed).
    Unknown,
}

impl Role {
    /// How `/healthz` says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Everywhere => "runs here",
            Self::Leader => "runs here (leader)",
            Self::Standby => "standby (another process runs it)",
            Self::Unknown => "turn unknown",
        }
    }
}

#[derive(Debug, Clone)]
struct PassState {
    stale_after: TimeDelta,
    last_ok: NaiveDateTime,
    role: Role,
    failures: u32,
    last_error: Option<String>,
}

/// One pass as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub name: &'static str,
    pub role: Role,
    /// Seconds since it last completed (or last confirmed its standby).
    pub quiet_for: i64,
    pub stalled: bool,
    /// Failures in a row, and the last one.
    pub failures: u32,
    pub last_error: Option<String>,
}

/// The background passes of this process.
#[derive(Debug)]
pub struct Liveness {
    clock: Clock,
    passes: Mutex<BTreeMap<&'static str, PassState>>,
}

impl Liveness {
    /// Nothing watched yet; quiet times are measured on `clock`.
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            passes: Mutex::default(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<&'static str, PassState>) -> T) -> T {
        f(&mut self.passes.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Starts watching `name`: stalled once it has not reported for `stale_after`.
    pub fn register(&self, name: &'static str, stale_after: TimeDelta, role: Role) {
        let now = self.clock.now();
        self.with(|p| {
            p.insert(
                name,
                PassState {
                    stale_after,
                    last_ok: now,
                    role,
                    failures: 0,
                    last_error: None,
                },
            )
        });
    }

    /// `name` completed a run, or confirmed that it stands by, in `role`.
    pub fn completed(&self, name: &'static str, role: Role) {
        let now = self.clock.now();
        self.with(|p| {
            if let Some(s) = p.get_mut(name) {
                s.last_ok = now;
                s.role = role;
                s.failures = 0;
            }
        });
    }

    /// Whose turn `name` is could not be told.
    pub fn turn_unknown(&self, name: &'static str) {
        self.with(|p| {
            if let Some(s) = p.get_mut(name) {
                s.role = Role::Unknown;
            }
        });
    }

    /// `name` failed (an error or a panic).
    pub fn failed(&self, name: &'static str, error: String) {
        self.with(|p| {
            if let Some(s) = p.get_mut(name) {
                s.failures += 1;
                s.last_error = Some(error);
            }
        });
    }

    /// Who runs `name` now, if it is watched.
    pub fn role(&self, name: &str) -> Option<Role> {
        self.with(|p| p.get(name).map(|s| s.role))
    }

    /// Every pass, by name.
    pub fn report(&self) -> Vec<PassReport> {
        let now = self.clock.now();
        self.with(|p| {
            p.iter()
                .map(|(name, s)| PassReport {
                    name,
                    role: s.role,
                    quiet_for: (now - s.last_ok).num_seconds(),
                    stalled: now - s.last_ok > s.stale_after,
                    failures: s.failures,
                    last_error: s.last_error.clone(),
                })
                .collect()
        })
    }
}

/// Set once the process is told to stop (`SIGTERM`): long-lived work winds down (the delivery
/// sender finishes what it has in flight, event streams end) instead of being cut off.
#[derive(Debug, Clone)]
pub struct Shutdown {
    sender: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self {
            sender: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }
}

impl Shutdown {
    /// Tells everything watching to stop.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }

    /// Whether [`Shutdown::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        *self.sender.borrow()
    }

    /// Completes once [`Shutdown::trigger`] was called (at once if it was already).
    pub async fn wait(&self) {
        let mut watch = self.sender.subscribe();
        let _ = watch.wait_for(|stopping| *stopping).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_that_stops_reporting_is_stalled_until_it_completes_again() {
        let clock = Clock::manual();
        let live = Liveness::new(clock.clone());
        live.register("reaper", TimeDelta::seconds(30), Role::Everywhere);
        clock.advance(TimeDelta::seconds(20));
        assert!(!live.report()[0].stalled);
        live.failed("reaper", "boom".into());
        clock.advance(TimeDelta::seconds(11));
        let report = &live.report()[0];
        assert!(report.stalled && report.failures == 1 && report.quiet_for == 31);
        live.completed("reaper", Role::Everywhere);
        assert!(!live.report()[0].stalled);
        assert_eq!(live.report()[0].failures, 0);
    }

    #[tokio::test]
    async fn shutdown_wakes_those_waiting_and_those_who_come_later() {
        let shutdown = Shutdown::default();
        let waiter = tokio::spawn({
            let s = shutdown.clone();
            async move { s.wait().await }
        });
        shutdown.trigger();
        waiter.await.unwrap();
        shutdown.wait().await;
        assert!(shutdown.is_triggered());
    }
}
