//! `two`: two `onair serve` processes of one instance on one PostgreSQL database, both running
//! the delivery worker; the go-live reaches one of them (the other finds the queued rows by
//! polling). The clean run's 10,000 inboxes must each get the activity exactly once.

use std::{sync::Arc, time::Instant};

use super::{
    CpuWindow, Settings,
    database::BenchDb,
    onair::Onair,
    secs,
    sinks::{Group, HealthySink, Inboxes, Instance, Registry, Tally, even_split, round_robin},
    station::Station,
    wait_until,
};

/// How long the queue may take to show every delivery recorded after the last one arrived.
const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

pub async fn run(settings: &Settings) {
    let database = match BenchDb::postgres() {
        Ok(database) => database,
        Err(reason) => {
            println!("fanout_bench: two: skipped: {reason}");
            return;
        }
    };
    let (followers, ports) = (settings.followers, settings.ports);
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

    let first = Onair::start(&database.url);
    station
        .prepare(&first, round_robin(&all, &counts, false))
        .await;
    let second = Onair::start_beside(&first, &database.url);
    second.wait_healthy().await;
    let servers = [&first, &second];

    let cpu = CpuWindow::open(&servers);
    let go = Instant::now();
    let add_latency = station.go_live(&first).await;
    let done = wait_until(go, settings.wait, || group.served()).await;
    let last = match group.served_at().filter(|_| done) {
        Some(at) => format!(
            "last delivery after {:.2} s; {:.0} deliveries/s",
            secs(go, at),
            followers as f64 / secs(go, at)
        ),
        None => format!(
            "fan-out stalled: not every inbox reached after {:.0} s",
            settings.wait.as_secs_f64()
        ),
    };
    // Once nothing is pending neither worker sends the activity again: the counts are final.
    let drained = station.wait_drained(DRAIN_LIMIT).await;
    let cpus = cpu.servers(&servers);
    let duplicated: usize = tallies.iter().map(|t| t.duplicated()).sum();
    println!(
        "fanout_bench: two: {followers} inboxes on {ports} hosts, two onair processes on one PostgreSQL database: YP add answered in {:.1} ms; {last}",
        add_latency.as_secs_f64() * 1e3
    );
    println!(
        "fanout_bench: two: {} of {} inboxes got the activity, {duplicated} of them more than once (must be 0){}{}",
        group.reached(),
        group.expected(),
        if drained {
            ""
        } else {
            "; the queue still had pending deliveries"
        },
        match registry.stray() {
            0 => String::new(),
            stray => format!("; {stray} requests to no follower's inbox"),
        }
    );
    println!(
        "fanout_bench: two: server CPU {:.2} s + {:.2} s ({:.0} µs per delivery), sinks' CPU {:.2} s (bench process), peak RSS {} MiB and {} MiB",
        cpus[0],
        cpus[1],
        (cpus[0] + cpus[1]) * 1e6 / followers as f64,
        cpu.sinks(),
        first.peak_rss_mib(),
        second.peak_rss_mib()
    );
    drop(second);
    drop(first);
    if database.reused {
        station.retire().await;
    }
    for sink in sinks {
        sink.stop().await;
    }
}
