//! `faulty`: the clean fan-out's followers on 100 instances of which 5 % are slow (every POST
//! answered only after `BENCH_SLOW_MS`, just under onair's request timeout) and 5 % silent (the
//! connection taken, the request read, no answer ever). A few bad instances should cost the
//! healthy ones little: their last delivery is printed against a clean fan-out of this run
//! (target: at most 1.5×). Then the slow instances should still get everything, once each.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use super::{
    CpuWindow, Settings,
    database::BenchDb,
    onair::Onair,
    secs,
    sinks::{
        Group, HealthySink, Inboxes, Instance, Registry, SilentSink, SlowSink, Tally, even_split,
        round_robin,
    },
    station::Station,
    wait_until,
};

/// Fewest instances the faults are spread over.
const MIN_INSTANCES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Healthy,
    Slow,
    Silent,
}

/// One instance in twenty is slow and one silent, spread through the list rather than bunched
/// at one end. The list is in inbox-URL order (see `run`), the order today's queue keeps too, so
/// the faults sit at the same places in it from one run to the next whatever ports they got.
fn health(i: usize) -> Health {
    match i % 20 {
        6 => Health::Slow,
        13 => Health::Silent,
        _ => Health::Healthy,
    }
}

pub async fn run(settings: &Settings, clean_wall: Option<Duration>) {
    let clean = match clean_wall {
        Some(wall) => Some(wall),
        None => super::clean::run(settings, false).await,
    };
    let followers = settings.followers;
    let n = settings.ports.max(MIN_INSTANCES);
    let database = BenchDb::fresh();
    let db = database.connect();
    let mut station = Station::create(&db).await;

    let mut instances = Instance::localhost(n);
    instances.sort_by(|a, b| a.authority.cmp(&b.authority));
    let healths: Vec<Health> = (0..n).map(health).collect();
    let counts = even_split(followers, n);
    let (healthy, slow) = (Group::new(), Group::new());
    let tallies: Vec<(&Instance, Arc<Tally>)> = instances
        .iter()
        .zip(&healths)
        .zip(&counts)
        .filter_map(|((instance, health), count)| {
            let group = match health {
                Health::Healthy => &healthy,
                Health::Slow => &slow,
                Health::Silent => return None,
            };
            Some((instance, Tally::new(Inboxes::Personal(*count), group)))
        })
        .collect();
    let registry = Registry::new(tallies.iter().map(|(i, t)| (*i, t)));
    let of = |wanted: Health| -> Vec<&Instance> {
        instances
            .iter()
            .zip(&healths)
            .filter(|(_, h)| **h == wanted)
            .map(|(i, _)| i)
            .collect()
    };
    let (healthy_instances, slow_instances, silent_instances) =
        (of(Health::Healthy), of(Health::Slow), of(Health::Silent));
    let healthy_sinks = HealthySink::start_each(&healthy_instances, &registry);
    let slow_sinks = SlowSink::start_each(&slow_instances, &registry, settings.slow);
    let silent = SilentSink::start(&silent_instances);
    let all: Vec<&Instance> = instances.iter().collect();

    let onair = Onair::start(&database.url);
    station
        .prepare(&onair, round_robin(&all, &counts, false))
        .await;
    let cpu = CpuWindow::open(&[&onair]);
    let go = Instant::now();
    station.go_live(&onair).await;

    let healthy_done = wait_until(go, settings.healthy_wait, || healthy.served()).await;
    let setup = format!(
        "{n} instances ({} slow, answering after {} ms; {} silent), {followers} inboxes",
        slow_instances.len(),
        settings.slow.as_millis(),
        silent_instances.len()
    );
    let clean_text = match clean {
        Some(c) => format!("the clean fan-out of this run: {:.2} s", c.as_secs_f64()),
        None => "the clean fan-out of this run did not finish".to_owned(),
    };
    match healthy.served_at().filter(|_| healthy_done) {
        Some(at) => {
            let ratio = clean.map_or(String::new(), |c| {
                format!("; {:.2}x it", secs(go, at) / c.as_secs_f64())
            });
            println!(
                "fanout_bench: faulty: {setup}: last delivery at the {} healthy instances ({} inboxes) after {:.2} s; {clean_text}{ratio} (target: at most 1.5x)",
                healthy_instances.len(),
                healthy.expected(),
                secs(go, at)
            );
        }
        None => println!(
            "fanout_bench: faulty: {setup}: healthy instances not all reached after {:.0} s ({} of {} inboxes); {clean_text} (target: at most 1.5x)",
            settings.healthy_wait.as_secs_f64(),
            healthy.reached(),
            healthy.expected()
        ),
    }

    let slow_done = wait_until(go, settings.slow_wait, || slow.served()).await;
    let when = match slow.served_at().filter(|_| slow_done) {
        Some(at) => format!("all by {:.1} s", secs(go, at)),
        None => format!(
            "not all within {:.0} s of the YP add",
            settings.slow_wait.as_secs_f64()
        ),
    };
    println!(
        "fanout_bench: faulty: slow instances: {} of {} deliveries arrived ({when}; {} requests in all); the silent instances took {} connections",
        slow.reached(),
        slow.expected(),
        slow.arrivals(),
        silent.connections()
    );
    let duplicated: usize = tallies.iter().map(|(_, t)| t.duplicated()).sum();
    println!(
        "fanout_bench: faulty: inboxes on healthy or slow instances that got the activity more than once: {duplicated} (must be 0){}",
        match registry.stray() {
            0 => String::new(),
            stray => format!("; {stray} requests to no follower's inbox"),
        }
    );
    println!(
        "fanout_bench: faulty: server CPU {:.2} s over {:.0} s, sinks' CPU {:.2} s (bench process), peak RSS {} MiB",
        cpu.servers(&[&onair])[0],
        secs(go, Instant::now()),
        cpu.sinks(),
        onair.peak_rss_mib()
    );

    drop(onair);
    if database.reused {
        station.retire().await;
    }
    drop(silent);
    for sink in healthy_sinks {
        sink.stop().await;
    }
    for sink in slow_sinks {
        sink.stop().await;
    }
}
