//! YP touch benchmark: starts the real `onair` binary and plays 64 Icecast 2.4.4 servers against
//! it, each on one keep-alive connection: they add 1,000 mounts between them, then touch them in
//! turn, every request byte for byte what Icecast sends (checked against the captures in
//! tests/fixtures/yp at start). Prints touches/s, latency percentiles, and the CPU per touch of
//! the server and of this generator, which share the machine's cores.
//!
//! cargo bench --bench yp_bench                       # SQLite in a temporary directory
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench yp_bench
//!   (a database of the run's own on that server, dropped at the end)
//! BENCH_CONNECTIONS=64 BENCH_SECONDS=10 BENCH_STREAMS=1000 tune the run; BENCH_ONAIR=path runs
//! another build of onair against the same harness.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark should stop at the first surprise"
)]

mod common;
mod yp;

use common::{cpu_seconds, peak_rss_kib};
use yp::{database::FreshPg, load::Icecast, machine};

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn onair(db: &str, port: u16, args: &[&str]) -> Command {
    // BENCH_ONAIR runs another build (an older commit's, say) against the same harness.
    let binary =
        std::env::var("BENCH_ONAIR").unwrap_or_else(|_| env!("CARGO_BIN_EXE_onair").to_owned());
    let mut cmd = Command::new(binary);
    cmd.args(args)
        .env("ONAIR_DATABASE_URL", db)
        .env("ONAIR_BIND", format!("127.0.0.1:{port}"))
        .env("ONAIR_URL", format!("http://localhost:{port}"))
        .env("ONAIR_MAX_STREAMS_PER_USER", "100000")
        .env("ONAIR_LOG", "warn");
    cmd
}

fn main() {
    let connections: usize = env_or("BENCH_CONNECTIONS", 64);
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let streams: usize = env_or("BENCH_STREAMS", 1000);
    yp::icecast::check_against_captures(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/yp"),
    );
    let dir = tempfile::tempdir().unwrap();
    let given = std::env::var("BENCH_DATABASE_URL").ok();
    let fresh = given
        .as_deref()
        .filter(|u| u.starts_with("postgres"))
        .map(FreshPg::create);
    let db = match &fresh {
        Some(pg) => pg.url.clone(),
        None => dir.path().join("bench.db").display().to_string(),
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    // A fresh broadcaster and token for this run (the database may be shared with earlier runs).
    let migrated = onair(&db, port, &["migrate"]).output().unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let user = format!("bench{}", std::process::id());
    let created = onair(&db, port, &["user", "create", &user])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token_out = onair(&db, port, &["token", "create", &user])
        .output()
        .unwrap();
    let yp_url = String::from_utf8(token_out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let path = yp_url
        .trim_start_matches(&format!("http://localhost:{port}"))
        .to_owned();

    let child = onair(&db, port, &["serve"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, port };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pg = fresh.as_ref().map(|pg| pg.url.as_str());
    runtime.block_on(run(&server, &path, pg, streams, connections, seconds));
}

async fn run(
    server: &Server,
    path: &str,
    pg: Option<&str>,
    streams: usize,
    connections: usize,
    seconds: u64,
) {
    wait_for(server.port).await;
    // Mount i belongs to Icecast i % connections; each adds its own, one after the other.
    let adds = Instant::now();
    let starting: Vec<_> = (0..connections)
        .map(|c| {
            let (port, path) = (server.port, path.to_owned());
            let mounts = (c..streams).step_by(connections).collect();
            tokio::spawn(async move { Icecast::start(port, &path, mounts).await })
        })
        .collect();
    let mut icecasts = Vec::with_capacity(connections);
    for s in starting {
        icecasts.push(s.await.unwrap());
    }
    let add_time = adds.elapsed();

    let (server_before, ours_before) = (cpu_seconds(server.child.id()), own_cpu());
    let (busy_before, pg_before) = (machine::busy_seconds(), pg.map(machine::backends));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = icecasts
        .into_iter()
        .map(|mut icecast| {
            tokio::spawn(async move {
                let (latencies, refused) = icecast.touch_until(deadline).await;
                (latencies, refused, icecast)
            })
        })
        .collect();
    let (mut latencies, mut refused, mut reconnects) = (Vec::new(), 0, 0);
    let mut icecasts = Vec::with_capacity(connections);
    for t in tasks {
        let (l, f, icecast) = t.await.unwrap();
        latencies.extend(l);
        refused += f;
        reconnects += icecast.conn.reconnects;
        icecasts.push(icecast);
    }
    let wall = started.elapsed();
    let server_cpu = cpu_seconds(server.child.id()) - server_before;
    let our_cpu = own_cpu() - ours_before;
    let busy = machine::busy_seconds() - busy_before;
    let pg_cpu = pg.zip(pg_before).map_or(0.0, |(url, before)| {
        machine::backends_used(&before, &machine::backends(url))
    });
    // Whatever else ran on the machine meanwhile (other builds, PostgreSQL's own background
    // processes): it took cores from the run.
    let others = (busy - server_cpu - our_cpu - pg_cpu).max(0.0);
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let n = latencies.len();
    let backend = if pg.is_some() { "PostgreSQL" } else { "SQLite" };
    println!(
        "yp_bench: {backend}, {streams} streams added in {:.2} s ({:.0} adds/s over {connections} connections)",
        add_time.as_secs_f64(),
        streams as f64 / add_time.as_secs_f64()
    );
    println!(
        "yp_bench: {n} touches over {connections} keep-alive connections in {:.2} s: {:.0} touches/s, {refused} refused, {reconnects} reconnects",
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64()
    );
    println!(
        "yp_bench: latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(latencies[n - 1])
    );
    println!(
        "yp_bench: server CPU {:.1} µs per touch, generator CPU {:.1} µs per touch, server peak RSS {} MiB",
        server_cpu * 1e6 / n as f64,
        our_cpu * 1e6 / n as f64,
        peak_rss_kib(server.child.id()) / 1024
    );
    let per_touch = |cpu: f64| cpu * 1e6 / n as f64;
    if pg.is_some() {
        println!(
            "yp_bench: PostgreSQL backends {:.1} µs per touch",
            per_touch(pg_cpu)
        );
    }
    println!(
        "yp_bench: the rest of the machine meanwhile: {:.2} cores busy ({:.1} µs per touch)",
        others / wall.as_secs_f64(),
        per_touch(others)
    );
    assert_eq!(refused, 0, "every touch must succeed");
    floor(
        server,
        path,
        icecasts,
        seconds.div_ceil(2),
        n as f64 / wall.as_secs_f64(),
    )
    .await;
}

/// The same touches, on the same connections, to a token that cannot exist: the server parses
/// and answers them exactly as touches but refuses them before any database work. Its rate is
/// this machine's ceiling for the endpoint, so the touch rate as a share of it compares across
/// machines (whose speeds differ severalfold) where absolute figures do not.
async fn floor(server: &Server, path: &str, icecasts: Vec<Icecast>, seconds: u64, touches: f64) {
    // Not letters and digits only, so no token at all: refused before the database is asked.
    let nowhere = format!("{}/no-such-token", path.rsplit_once('/').unwrap().0);
    let cpu_before = cpu_seconds(server.child.id());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = icecasts
        .into_iter()
        .map(|mut icecast| {
            let nowhere = nowhere.clone();
            tokio::spawn(async move { icecast.refused_until(deadline, &nowhere).await })
        })
        .collect();
    let (mut answered, mut accepted) = (0, 0);
    for t in tasks {
        let (n, a) = t.await.unwrap();
        answered += n;
        accepted += a;
    }
    assert_eq!(accepted, 0, "a token that cannot exist must be refused");
    let rate = answered as f64 / started.elapsed().as_secs_f64();
    println!(
        "yp_bench: floor: the same requests to a token that cannot exist (no database work): {rate:.0}/s, server CPU {:.1} µs each; touches ran at {:.0} % of that rate",
        (cpu_seconds(server.child.id()) - cpu_before) * 1e6 / answered as f64,
        touches / rate * 100.0
    );
}

/// Waits until the server accepts connections.
async fn wait_for(port: u16) {
    let started = Instant::now();
    while let Err(e) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "onair did not start: {e}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// This process's CPU seconds so far: the generator's cost, on the same cores as the server.
fn own_cpu() -> f64 {
    cpu_seconds(std::process::id())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
