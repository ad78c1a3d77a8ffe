//! `clean`: one go-live to 10,000 followers on distinct inboxes (100 local ports × 100 paths),
//! every instance healthy; then the machine's signing floor and the library's own sender on the
//! same inboxes. The lines keep their old wording so that the history stays comparable.

use std::{sync::Arc, time::Instant};

use super::{
    CpuWindow, Settings,
    database::BenchDb,
    library,
    onair::Onair,
    secs, signing,
    sinks::{Group, HealthySink, Inboxes, Instance, Registry, Tally, even_split, round_robin},
    station::Station,
    wait_until,
};

/// Runs the clean fan-out and prints its lines; with `extras`, the signing floor and the
/// library's comparison too. Returns the wall time from the YP add to the last delivery, or
/// `None` if the fan-out did not finish within `BENCH_WAIT_S`.
pub async fn run(settings: &Settings, extras: bool) -> Option<std::time::Duration> {
    let (followers, ports) = (settings.followers, settings.ports);
    let database = BenchDb::fresh();
    let db = database.connect();
    let mut station = Station::create(&db).await;

    let instances = Instance::localhost(ports);
    let all: Vec<&Instance> = instances.iter().collect();
    let counts = even_split(followers, ports);
    let group = Group::new();
    let tallies: Vec<Arc<Tally>> = counts
        .iter()
        .map(|n| Tally::new(Inboxes::Personal(*n), &group))
        .collect();
    let registry = Registry::new(instances.iter().zip(&tallies));
    let sinks = HealthySink::start_each(&all, &registry);
    let rows = round_robin(&all, &counts, false);
    let inboxes: Vec<url::Url> = rows.iter().map(|r| r.inbox.parse().unwrap()).collect();

    let onair = Onair::start(&database.url);
    station.prepare(&onair, rows).await;
    let cpu = CpuWindow::open(&[&onair]);
    let go = Instant::now();
    let add_latency = station.go_live(&onair).await;
    let finished = wait_until(go, settings.wait, || group.served()).await;
    let server_cpu = cpu.servers(&[&onair])[0];
    let sinks_cpu = cpu.sinks();
    let wall = group.served_at().map(|t| t - go);
    match wall {
        Some(wall) if finished => {
            println!(
                "fanout_bench: clean: {followers} inboxes on {ports} hosts: YP add answered in {:.1} ms; last delivery after {:.2} s; {:.0} deliveries/s",
                add_latency.as_secs_f64() * 1e3,
                wall.as_secs_f64(),
                followers as f64 / wall.as_secs_f64()
            );
        }
        _ => println!(
            "fanout_bench: clean: fan-out stalled: {} of {followers} inboxes reached after {:.0} s",
            group.reached(),
            secs(go, Instant::now())
        ),
    }
    println!(
        "fanout_bench: clean: server CPU {server_cpu:.2} s ({:.0} µs per delivery), sinks' CPU {sinks_cpu:.2} s (bench process), peak RSS {} MiB",
        server_cpu * 1e6 / followers as f64,
        onair.peak_rss_mib()
    );
    let domain = onair.public_authority().to_owned();
    drop(onair);
    if database.reused {
        station.retire().await;
    }
    let wall = wall.filter(|_| finished);
    if let Some(wall) = wall
        && extras
    {
        // The floor this machine sets: the same number of signatures with the same key on every
        // core and nothing else. RSA speed differs threefold between machines of this class
        // (AVX-512 or not), so the wall time is reported against it too.
        let key = station.private_key().await;
        let floor = signing::floor(&key, followers);
        println!(
            "fanout_bench: clean: signing alone on every core: {:.0} signatures/s, so {followers} signatures take {:.2} s; onair's fan-out took {:.2}x that floor",
            followers as f64 / floor.as_secs_f64(),
            floor.as_secs_f64(),
            wall.as_secs_f64() / floor.as_secs_f64()
        );
        if std::env::var_os("BENCH_SKIP_LIBRARY").is_none() {
            compare_library(&domain, key, inboxes, &tallies, &group, wall).await;
        }
    }
    for sink in sinks {
        sink.stop().await;
    }
    wall
}

/// The same fan-out through the library's sender: `SendActivityTask::prepare` and
/// `sign_and_send`, which is what its `queue_activity` runs for each inbox, at the same
/// concurrency (64). `queue_activity` itself cannot be pointed at these sinks: in the library's
/// debug mode (needed for `localhost:port`) it sends one inbox after another, and outside it
/// refuses URLs with a port.
async fn compare_library(
    domain: &str,
    key: String,
    inboxes: Vec<url::Url>,
    tallies: &[Arc<Tally>],
    group: &Group,
    onair_wall: std::time::Duration,
) {
    for tally in tallies {
        tally.reset();
    }
    let followers = inboxes.len();
    let (wall, cpu) = library::fan_out(domain, key, inboxes, group).await;
    println!(
        "fanout_bench: clean: the library's sender, same {followers} inboxes: {:.2} s, {:.0} deliveries/s, {:.0} µs CPU per delivery (bench process) -> onair is {:.1}x faster",
        wall.as_secs_f64(),
        followers as f64 / wall.as_secs_f64(),
        cpu * 1e6 / followers as f64,
        wall.as_secs_f64() / onair_wall.as_secs_f64()
    );
}
