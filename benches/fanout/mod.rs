//! The fan-out bench's parts: the scenarios, and what they share (the database, the `onair`
//! process, the stream and its followers, the stand-in instances).

pub mod clean;
pub mod faulty;
pub mod spread;
pub mod two;

mod database;
mod library;
mod onair;
mod signing;
mod sinks;
mod station;

use std::time::{Duration, Instant};

use crate::common;

/// What the environment tunes, read once.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Followers of the stream (`BENCH_FOLLOWERS`).
    pub followers: usize,
    /// Instances of the clean, faulty and two-process runs (`BENCH_PORTS`).
    pub ports: usize,
    /// Instances of the spread run (`BENCH_SPREAD_INSTANCES`).
    pub spread_instances: usize,
    /// How long a slow instance takes to answer (`BENCH_SLOW_MS`).
    pub slow: Duration,
    /// How long the faulty run waits for the healthy instances (`BENCH_HEALTHY_WAIT_S`).
    pub healthy_wait: Duration,
    /// How long after the YP add the faulty run waits for the slow ones (`BENCH_SLOW_WAIT_S`).
    pub slow_wait: Duration,
    /// How long any other fan-out may take before the bench gives up on it (`BENCH_WAIT_S`).
    pub wait: Duration,
}

impl Settings {
    pub fn from_env() -> Self {
        Self {
            followers: env_or("BENCH_FOLLOWERS", 10_000),
            ports: env_or("BENCH_PORTS", 100),
            spread_instances: env_or("BENCH_SPREAD_INSTANCES", 500),
            // Just under onair's 10 s request timeout: slow, but answered.
            slow: Duration::from_millis(env_or("BENCH_SLOW_MS", 9_000)),
            healthy_wait: Duration::from_secs(env_or("BENCH_HEALTHY_WAIT_S", 150)),
            slow_wait: Duration::from_secs(env_or("BENCH_SLOW_WAIT_S", 150)),
            wait: Duration::from_secs(env_or("BENCH_WAIT_S", 600)),
        }
    }
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Polls `done` every 5 ms until it holds (true) or `limit` has passed since `from` (false).
async fn wait_until(from: Instant, limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        if from.elapsed() >= limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Seconds from `from` to `to`, for printing.
fn secs(from: Instant, to: Instant) -> f64 {
    to.saturating_duration_since(from).as_secs_f64()
}

/// CPU time counted from the go-live on: the servers', and the bench process's (the sinks').
struct CpuWindow {
    servers: Vec<f64>,
    sinks: f64,
}

impl CpuWindow {
    fn open(servers: &[&onair::Onair]) -> Self {
        Self {
            servers: servers.iter().map(|s| s.cpu_seconds()).collect(),
            sinks: common::cpu_seconds(std::process::id()),
        }
    }

    /// CPU seconds each server spent since the window opened.
    fn servers(&self, servers: &[&onair::Onair]) -> Vec<f64> {
        servers
            .iter()
            .zip(&self.servers)
            .map(|(s, before)| s.cpu_seconds() - before)
            .collect()
    }

    /// CPU seconds the bench process (the sinks, mostly) spent since the window opened.
    fn sinks(&self) -> f64 {
        common::cpu_seconds(std::process::id()) - self.sinks
    }
}
