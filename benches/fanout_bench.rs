//! Fan-out benchmark: go-lives of a stream to many followers through the real `onair` binary,
//! driven as a black box, with local stand-ins for the followers' instances. Scenarios:
//!
//! - `clean`: 10,000 inboxes on 100 healthy local ports; the wall time from the YP add to the last
//!   delivery, deliveries/s, the server's CPU and peak RSS, the machine's signing floor, and the
//!   same fan-out through `activitypub_federation`'s own sender.
//! - `faulty`: the same followers on 100 instances of which 5 % answer only after `BENCH_SLOW_MS`
//!   and 5 % never answer; how long the healthy ones wait, against a clean fan-out of this run.
//! - `spread`: 10,000 followers on 500 instances, half of them on one; shared inboxes, then
//!   personal inboxes only (is the big instance served at the expense of the small ones?).
//! - `two`: two `onair serve` processes on one PostgreSQL database; every inbox exactly once.
//!
//! cargo bench --bench fanout_bench   (BENCH_SCENARIO=clean,faulty,spread,two, BENCH_FOLLOWERS,
//!   BENCH_PORTS, BENCH_SPREAD_INSTANCES, BENCH_SLOW_MS, BENCH_HEALTHY_WAIT_S, BENCH_SLOW_WAIT_S,
//!   BENCH_WAIT_S, BENCH_DATABASE_URL, BENCH_ONAIR=path/to/onair, BENCH_SKIP_LIBRARY=1)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark should stop at the first surprise"
)]

mod common;
mod fanout;

use fanout::{Settings, clean, faulty, spread, two};

/// The scenarios, in the order they run.
const SCENARIOS: [&str; 4] = ["clean", "faulty", "spread", "two"];

fn main() {
    let settings = Settings::from_env();
    let selected = selected_scenarios();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // The faulty run compares itself with a clean fan-out of the same run: this one, if any.
        let mut clean_wall = None;
        for scenario in SCENARIOS {
            if !selected.iter().any(|s| s == scenario) {
                continue;
            }
            match scenario {
                "clean" => clean_wall = clean::run(&settings, true).await,
                "faulty" => faulty::run(&settings, clean_wall).await,
                "spread" => spread::run(&settings).await,
                _ => two::run(&settings).await,
            }
        }
    });
}

/// `BENCH_SCENARIO` as a list of known names (all of them when unset).
fn selected_scenarios() -> Vec<String> {
    let Ok(list) = std::env::var("BENCH_SCENARIO") else {
        return SCENARIOS.iter().map(|s| (*s).to_owned()).collect();
    };
    let selected: Vec<String> = list
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for name in &selected {
        assert!(
            SCENARIOS.contains(&name.as_str()),
            "unknown BENCH_SCENARIO {name:?}: choose from {}",
            SCENARIOS.join(",")
        );
    }
    selected
}
