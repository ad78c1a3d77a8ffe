//! YP touch benchmark: starts the real `onair` binary, registers 1,000 streams through the YP
//! endpoint, then sends touches over keep-alive connections (as Icecast does) and prints
//! touches/s and latency percentiles.
//!
//! cargo bench --bench yp_bench                       # SQLite in a temporary directory
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench yp_bench
//! BENCH_CONNECTIONS=64 BENCH_SECONDS=10 BENCH_STREAMS=1000 tune the run; BENCH_ONAIR=path runs
//! another build of onair against the same harness.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark should stop at the first surprise"
)]

mod common;

use common::{cpu_seconds, peak_rss_kib};

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
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
    let dir = tempfile::tempdir().unwrap();
    let db = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| dir.path().join("bench.db").display().to_string());
    let backend = if db.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
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
    runtime.block_on(run(&server, &path, backend, streams, connections, seconds));
}

async fn run(
    server: &Server,
    path: &str,
    backend: &str,
    streams: usize,
    connections: usize,
    seconds: u64,
) {
    let started = Instant::now();
    let mut conn = loop {
        match TcpStream::connect(("127.0.0.1", server.port)).await {
            Ok(c) => break c,
            Err(_) if started.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("onair did not start: {e}"),
        }
    };
    let mut sids = Vec::with_capacity(streams);
    let adds = Instant::now();
    for i in 0..streams {
        let body = format!(
            "action=add&sn=Bench%20{i}&genre=bench&cpswd=&desc=&url=&listenurl=http%3a%2f%2fradio{i}%2eexample%3a8000%2flive&type=audio%2fmpeg&stype=&b=128&\r\n"
        );
        let head = request(&mut conn, path, &body).await;
        let sid = header(&head, "sid").unwrap_or_else(|| panic!("add refused: {head}"));
        sids.push(sid.to_owned());
    }
    let add_time = adds.elapsed();

    let cpu_before = cpu_seconds(server.child.id());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let port = server.port;
    let tasks: Vec<_> = (0..connections)
        .map(|c| {
            let (path, sids) = (path.to_owned(), sids.clone());
            tokio::spawn(async move {
                let mut conn = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                let mut latencies = Vec::new();
                let mut failures = 0u64;
                let mut i = c;
                while Instant::now() < deadline {
                    let sid = &sids[i % sids.len()];
                    let body = format!("action=touch&sid={sid}&st=Artist%20{}%20%2d%20Title&listeners={}&max_listeners=100&stype=\r\n", i % 7, i % 50);
                    let t = Instant::now();
                    let head = request(&mut conn, &path, &body).await;
                    latencies.push(t.elapsed());
                    if header(&head, "ypresponse") != Some("1") {
                        failures += 1;
                    }
                    i += connections;
                }
                (latencies, failures)
            })
        })
        .collect();
    let wall = Instant::now();
    let mut latencies = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await.unwrap();
        latencies.extend(l);
        failures += f;
    }
    let wall = wall.elapsed();
    let cpu = cpu_seconds(server.child.id()) - cpu_before;
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let n = latencies.len();
    println!(
        "yp_bench: {backend}, {streams} streams registered in {:.2} s ({:.0} adds/s, one connection)",
        add_time.as_secs_f64(),
        streams as f64 / add_time.as_secs_f64()
    );
    println!(
        "yp_bench: {n} touches over {connections} keep-alive connections in {:.2} s: {:.0} touches/s, {failures} refused",
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
        "yp_bench: server CPU {:.1} µs per touch, peak RSS {} MiB",
        cpu * 1e6 / n as f64,
        peak_rss_kib(server.child.id()) / 1024
    );
    assert_eq!(failures, 0, "every touch must succeed");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Sends one POST and reads the response head (and skips its body).
async fn request(conn: &mut TcpStream, path: &str, body: &str) -> String {
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Icecast 2.4.4\r\nAccept: */*\r\nContent-Length: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 2048];
    loop {
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length: usize = header(&head, "content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = conn.read(&mut chunk).await.unwrap();
                assert!(n > 0, "server closed the connection");
                buf.extend_from_slice(&chunk[..n]);
            }
            return head;
        }
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").find_map(|l| {
        l.split_once(": ")
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}
