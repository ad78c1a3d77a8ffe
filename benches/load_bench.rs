//! A bounded mixed load against the real `onair` binary: Icecast touches (byte for byte what
//! Icecast 2.4.4 sends), inbox posts, page views and JSON/WebFinger lookups, and live pages'
//! event streams opened, held and dropped, all at once for `BENCH_SECONDS` (default 180).
//! Prints requests per second, p50/p99 and errors by route, and the server's descriptors and
//! memory every 20 s: what must not grow without bound.
//!
//! cargo bench --bench load_bench        (BENCH_SECONDS=60 for a shorter run)
//!
//! Shortcut, said here and in the notes: the inbox posts are unsigned, so each is answered 401
//! after the route's limits and the signature parsing, not after a key fetch and a verify (the
//! inbox bench measures verified activities).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark should stop at the first surprise"
)]

mod common;
#[allow(dead_code, reason = "this bench uses only the Icecast generator")]
mod yp;

use common::{cpu_seconds, peak_rss_kib};
use yp::load::Icecast;

use std::{
    collections::BTreeMap,
    net::TcpListener,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn onair(db: &str, port: u16, args: &[&str]) -> Command {
    let binary =
        std::env::var("BENCH_ONAIR").unwrap_or_else(|_| env!("CARGO_BIN_EXE_onair").to_owned());
    let mut cmd = Command::new(binary);
    cmd.args(args)
        .env("ONAIR_DATABASE_URL", db)
        .env("ONAIR_BIND", format!("127.0.0.1:{port}"))
        .env("ONAIR_URL", format!("http://localhost:{port}"))
        .env("ONAIR_MAX_STREAMS_PER_USER", "100000")
        // Every client here is 127.0.0.1: per-client rates off, or the run would measure 429s.
        .env("ONAIR_LIMITS_PUBLIC_RATE", "0")
        .env("ONAIR_LIMITS_INBOX_RATE", "0")
        .env("ONAIR_LIMITS_EVENT_STREAMS_PER_CLIENT", "1000")
        .env("ONAIR_LOG", "error");
    cmd
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(180);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("load.db").display().to_string();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(onair(&db, port, &["migrate"]).status().unwrap().success());
    let made = onair(&db, port, &["user", "create", "load"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(made.status.success());
    let token = onair(&db, port, &["token", "create", "load"])
        .output()
        .unwrap();
    let yp_url = String::from_utf8(token.stdout).unwrap();
    let path = yp_url
        .lines()
        .last()
        .unwrap()
        .trim_start_matches(&format!("http://localhost:{port}"))
        .to_owned();
    let server = Server(
        onair(&db, port, &["serve"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(&server, port, &path, seconds));
}

/// Latencies and failures by route.
#[derive(Default)]
struct Tally(Mutex<BTreeMap<&'static str, (Vec<Duration>, u64)>>);

impl Tally {
    fn add(&self, route: &'static str, latencies: Vec<Duration>, errors: u64) {
        let mut all = self.0.lock().unwrap();
        let entry = all.entry(route).or_default();
        entry.0.extend(latencies);
        entry.1 += errors;
    }
}

async fn run(server: &Server, port: u16, path: &str, seconds: u64) {
    let pid = server.0.id();
    wait_for(port).await;
    // 16 Icecast servers with 10 mounts each.
    let mut icecasts = Vec::new();
    for c in 0..16 {
        icecasts.push(Icecast::start(port, path, (c * 10..c * 10 + 10).collect()).await);
    }
    let listing = get_once(port, "/api/v1/streams").await;
    let handle = listing
        .split("\"handle\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let tally = Arc::new(Tally::default());
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let (fds_start, rss_start, cpu_start) = (fds(pid), rss_kib(pid), cpu_seconds(pid));
    let mut tasks = tokio::task::JoinSet::new();
    for mut icecast in icecasts {
        let tally = tally.clone();
        tasks.spawn(async move {
            let (latencies, refused) = icecast.touch_until(deadline).await;
            tally.add("YP touch", latencies, refused);
        });
    }
    let pages: [(&'static str, String, Option<&'static str>); 5] = [
        ("home page", "/".to_owned(), None),
        ("stream page", format!("/streams/{handle}"), None),
        ("JSON listing", "/api/v1/streams?limit=50".to_owned(), None),
        (
            "WebFinger",
            format!("/.well-known/webfinger?resource=acct:{handle}@localhost:{port}"),
            None,
        ),
        (
            "inbox post (unsigned)",
            "/inbox".to_owned(),
            Some(INBOX_BODY),
        ),
    ];
    for (route, target, body) in pages {
        for _ in 0..2 {
            let (tally, target) = (tally.clone(), target.clone());
            tasks.spawn(async move {
                let (latencies, errors) = requests_until(port, &target, body, deadline).await;
                tally.add(route, latencies, errors);
            });
        }
    }
    for _ in 0..32 {
        let (tally, handle) = (tally.clone(), handle.clone());
        tasks.spawn(async move {
            let (latencies, errors) = event_streams_until(port, &handle, deadline).await;
            tally.add("event stream (first event)", latencies, errors);
        });
    }
    let mut samples = vec![(0, fds_start, rss_start)];
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(20).min(deadline - Instant::now())).await;
        samples.push((start.elapsed().as_secs(), fds(pid), rss_kib(pid)));
    }
    while tasks.join_next().await.is_some() {}
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_start;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (fds_end, rss_end) = (fds(pid), rss_kib(pid));
    println!("load_bench: {seconds} s of mixed load, one client process, 2 cores shared");
    let all = tally.0.lock().unwrap();
    let mut total = 0;
    for (route, (latencies, errors)) in all.iter() {
        let mut l = latencies.clone();
        l.sort();
        total += l.len();
        let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1))];
        println!(
            "load_bench: {route:<28} {:>8.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {errors}",
            l.len() as f64 / wall,
            pct(0.5).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
        );
    }
    println!(
        "load_bench: {:.0} requests/s in all, server CPU {:.2} cores",
        total as f64 / wall,
        cpu / wall
    );
    for (t, fds, rss) in &samples {
        println!(
            "load_bench: at {t:>4} s: {fds} descriptors, RSS {} MiB",
            rss / 1024
        );
    }
    println!(
        "load_bench: 2 s after the end: {fds_end} descriptors (start {fds_start}), RSS {} MiB (start {} MiB)",
        rss_end / 1024,
        rss_start / 1024
    );
    println!("load_bench: peak RSS {} MiB", peak_rss_kib(pid) / 1024);
    let errors: u64 = all.values().map(|(_, e)| e).sum();
    assert_eq!(errors, 0, "every request must be answered as expected");
}

/// An activity with no signature: refused with 401 once its headers are read.
const INBOX_BODY: &str = r#"{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","id":"https://remote.example/activities/1","actor":"https://remote.example/actor","object":{"type":"Note","id":"https://remote.example/notes/1","content":"hello"}}"#;

/// One keep-alive connection asking for `target` until `deadline` (a POST of `body` if given);
/// a 2xx (or the 401 an unsigned post gets) counts as answered.
async fn requests_until(
    port: u16,
    target: &str,
    body: Option<&str>,
    deadline: Instant,
) -> (Vec<Duration>, u64) {
    let request = match body {
        None => {
            format!("GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\nAccept: text/html\r\n\r\n")
        }
        Some(b) => format!(
            "POST {target} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/activity+json\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        ),
    };
    let expected = if body.is_some() { 401 } else { 200 };
    let (mut latencies, mut errors) = (Vec::new(), 0);
    let mut conn = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    while Instant::now() < deadline {
        let t = Instant::now();
        match exchange(&mut conn, request.as_bytes()).await {
            Some(status) if status == expected => latencies.push(t.elapsed()),
            Some(_) => errors += 1,
            None => {
                errors += 1;
                conn = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            }
        }
    }
    (latencies, errors)
}

/// Opens the live page's event stream, waits for its first event, holds it half a second and
/// drops it, until `deadline`.
async fn event_streams_until(port: u16, handle: &str, deadline: Instant) -> (Vec<Duration>, u64) {
    let request = format!("GET /streams/{handle}/events HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let (mut latencies, mut errors) = (Vec::new(), 0);
    let mut chunk = vec![0u8; 4096];
    while Instant::now() < deadline {
        let t = Instant::now();
        let mut conn = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        conn.write_all(request.as_bytes()).await.unwrap();
        let mut got = Vec::new();
        let first = loop {
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => break false,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
            if got.windows(10).any(|w| w == b"event: now") {
                break got.starts_with(b"HTTP/1.1 200");
            }
        };
        if first {
            latencies.push(t.elapsed());
            tokio::time::sleep(Duration::from_millis(500)).await;
        } else {
            errors += 1;
        }
    }
    (latencies, errors)
}

/// Sends one request and reads its answer (a sized body); the status, or `None` if closed.
async fn exchange(conn: &mut TcpStream, request: &[u8]) -> Option<u16> {
    conn.write_all(request).await.ok()?;
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .split("\r\n")
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = conn.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return head.get(9..12)?.parse().ok();
        }
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn get_once(port: u16, target: &str) -> String {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).await.unwrap();
    text
}

async fn wait_for(port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "onair did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
