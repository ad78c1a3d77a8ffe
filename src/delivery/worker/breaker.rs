//! The per-host circuit breaker: a host that stopped answering is left alone for a while, so a
//! dead instance is not hammered by every delivery of every fan-out.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};

/// Consecutive failures (no answer, 5xx, 408, 429) after which a host is left alone for a while.
const TRIP_AFTER: u32 = 5;
/// How long a tripped host is left alone; its deliveries wait without spending retries.
const OPEN_FOR: TimeDelta = TimeDelta::minutes(10);

/// Per-host circuit breaker (per process): a dead instance is not hammered by every delivery of
/// every fan-out.
#[derive(Debug, Default)]
pub(super) struct Breaker {
    hosts: std::sync::Mutex<HashMap<String, (u32, Option<NaiveDateTime>)>>,
}

impl Breaker {
    pub(super) fn open_until(&self, host: &str, now: NaiveDateTime) -> Option<NaiveDateTime> {
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .get(host)
            .and_then(|(_, until)| *until)
            .filter(|until| *until > now)
    }

    pub(super) fn record(&self, host: &str, answered: bool, now: NaiveDateTime) {
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
