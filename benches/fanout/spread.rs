//! `spread`: followers as they are spread in the wild, 10,000 on 500 instances, one instance
//! holding half of them. (a) Every follower row names its instance's shared inbox: one delivery
//! per instance. (b) Personal inboxes only: 10,000 deliveries, 5,000 to the big instance; when the
//! last small instance is fully served against when the big one is shows whether one big host
//! holds up everybody else.
//!
//! An instance is a `host:port`, so 500 need not be 500 servers: each listens on an address of
//! its own in 127/8 (Linux routes all of it to lo), and one sink server takes them all.

use std::{
    net::Ipv4Addr,
    sync::Arc,
    time::{Duration, Instant},
};

use onair::db::Db;

use super::{
    CpuWindow, Settings,
    database::BenchDb,
    onair::Onair,
    secs,
    sinks::{Group, HealthySink, Inboxes, Instance, Registry, Tally, even_split, round_robin},
    station::{FollowerRow, Station},
    wait_until,
};

pub async fn run(settings: &Settings) {
    shared_inboxes(settings).await;
    personal_inboxes(settings).await;
}

/// The instances: the big one on 127.0.0.2, the small ones on 127.1.x.y. In inbox-URL order
/// (`http://127.0.0.2:…` before `http://127.1.…`) the big one comes first, so a queue that
/// kept that order would serve it before anyone else.
struct Spread {
    big: Instance,
    small: Vec<Instance>,
}

impl Spread {
    fn bind(instances: usize) -> Self {
        let on = |ip: Ipv4Addr| Instance::bind(ip, &ip.to_string());
        Self {
            big: on(Ipv4Addr::new(127, 0, 0, 2)),
            small: (0..instances.saturating_sub(1))
                .map(|i| {
                    let (third, fourth) = (i / 250, i % 250 + 1);
                    on(Ipv4Addr::new(127, 1, third as u8, fourth as u8))
                })
                .collect(),
        }
    }

    fn all(&self) -> Vec<&Instance> {
        std::iter::once(&self.big).chain(&self.small).collect()
    }

    /// Followers of the big instance, and of each small one: half on the big one.
    fn counts(&self, followers: usize) -> (usize, Vec<usize>) {
        let big = followers / 2;
        (big, even_split(followers - big, self.small.len()))
    }

    /// The follower rows, big and small instances taking turns (follows come from everywhere).
    fn rows(&self, followers: usize, shared: bool) -> Vec<FollowerRow> {
        let (big, small_counts) = self.counts(followers);
        let small: Vec<&Instance> = self.small.iter().collect();
        let mut small_rows = round_robin(&small, &small_counts, shared).into_iter();
        let mut big_rows = (0..big).map(|k| self.big.follower(k, shared));
        let mut rows = Vec::with_capacity(followers);
        loop {
            let (b, s) = (big_rows.next(), small_rows.next());
            if b.is_none() && s.is_none() {
                return rows;
            }
            rows.extend(b);
            rows.extend(s);
        }
    }
}

/// One sub-run's server side: a database, an account and an `onair` process of its own.
/// (Fields drop in order: the process goes before its database.)
struct Side {
    onair: Onair,
    station: Station,
    _db: Db,
    database: BenchDb,
}

impl Side {
    async fn start(rows: Vec<FollowerRow>) -> Self {
        let database = BenchDb::fresh();
        let db = database.connect();
        let mut station = Station::create(&db).await;
        let onair = Onair::start(&database.url);
        station.prepare(&onair, rows).await;
        Self {
            onair,
            station,
            _db: db,
            database,
        }
    }

    async fn finish(self) {
        let Self {
            onair,
            station,
            _db,
            database,
        } = self;
        drop(onair);
        if database.reused {
            station.retire().await;
        }
    }
}

async fn shared_inboxes(settings: &Settings) {
    let spread = Spread::bind(settings.spread_instances);
    let all = spread.all();
    let group = Group::new();
    let tallies: Vec<Arc<Tally>> = all
        .iter()
        .map(|_| Tally::new(Inboxes::Shared, &group))
        .collect();
    let registry = Registry::new(all.iter().copied().zip(&tallies));
    let sink = HealthySink::start(&all, &registry);
    let side = Side::start(spread.rows(settings.followers, true)).await;

    let cpu = CpuWindow::open(&[&side.onair]);
    let go = Instant::now();
    side.station.go_live(&side.onair).await;
    let done = wait_until(go, settings.wait, || group.served()).await;
    let last = match group.served_at().filter(|_| done) {
        Some(at) => format!("last delivery after {:.2} s", secs(go, at)),
        None => format!(
            "not every shared inbox reached after {:.0} s",
            settings.wait.as_secs_f64()
        ),
    };
    // Whatever else onair would send for this go-live has been sent once the queue is drained.
    let drained = side.station.wait_drained(Duration::from_secs(30)).await;
    println!(
        "fanout_bench: spread: (a) shared inboxes: {} followers on {} instances ({} on one): {last}; {} deliveries arrived (expected {}, one per instance: {} shared inboxes reached, {} requests to personal inboxes{})",
        settings.followers,
        all.len(),
        spread.counts(settings.followers).0,
        group.arrivals() + registry.stray(),
        all.len(),
        group.reached(),
        registry.stray(),
        if drained { "" } else { "; queue not drained" }
    );
    print_costs("(a)", &cpu, &side.onair, go);
    side.finish().await;
    sink.stop().await;
}

async fn personal_inboxes(settings: &Settings) {
    let spread = Spread::bind(settings.spread_instances);
    let (big_count, small_counts) = spread.counts(settings.followers);
    let (big, small) = (Group::new(), Group::new());
    let big_tally = Tally::new(Inboxes::Personal(big_count), &big);
    let small_tallies: Vec<Arc<Tally>> = small_counts
        .iter()
        .map(|n| Tally::new(Inboxes::Personal(*n), &small))
        .collect();
    let registry = Registry::new(
        std::iter::once((&spread.big, &big_tally)).chain(spread.small.iter().zip(&small_tallies)),
    );
    let sink = HealthySink::start(&spread.all(), &registry);
    let side = Side::start(spread.rows(settings.followers, false)).await;

    let cpu = CpuWindow::open(&[&side.onair]);
    let go = Instant::now();
    side.station.go_live(&side.onair).await;
    let done = wait_until(go, settings.wait, || big.served() && small.served()).await;
    let at = |t: Option<Instant>| match t.filter(|_| done) {
        Some(t) => format!("{:.2} s", secs(go, t)),
        None => format!("not within {:.0} s", settings.wait.as_secs_f64()),
    };
    let mut small_served: Vec<Instant> =
        small_tallies.iter().filter_map(|t| t.served_at()).collect();
    small_served.sort();
    let median = small_served
        .get(small_served.len() / 2)
        .map_or("-".to_owned(), |t| format!("{:.2} s", secs(go, *t)));
    println!(
        "fanout_bench: spread: (b) personal inboxes: {} deliveries ({big_count} to the big instance, {} to {} small ones): the last small instance fully served after {} (half of them by {median}), the big instance after {}",
        settings.followers,
        small.expected(),
        small_tallies.len(),
        at(small.served_at()),
        at(big.served_at())
    );
    let duplicated: usize = std::iter::once(&big_tally)
        .chain(&small_tallies)
        .map(|t| t.duplicated())
        .sum();
    println!(
        "fanout_bench: spread: (b) {} of {} inboxes reached, {duplicated} more than once, {} requests to no follower's inbox",
        big.reached() + small.reached(),
        big.expected() + small.expected(),
        registry.stray()
    );
    print_costs("(b)", &cpu, &side.onair, go);
    side.finish().await;
    sink.stop().await;
}

fn print_costs(run: &str, cpu: &CpuWindow, onair: &Onair, go: Instant) {
    println!(
        "fanout_bench: spread: {run} server CPU {:.2} s over {:.1} s, sinks' CPU {:.2} s (bench process), peak RSS {} MiB",
        cpu.servers(&[onair])[0],
        secs(go, Instant::now()),
        cpu.sinks(),
        onair.peak_rss_mib()
    );
}
