//! Hostile and careless clients against a real `onair serve` with a small descriptor limit:
//! event streams opened and dropped by the thousand, idle and silent connections, slow heads,
//! trickled and stopped bodies, a flood of WebFinger lookups. Each attack runs while a probe
//! touches a live stream over a new connection every 50 ms, as Icecast would: every probe must
//! be answered, and about as fast as before the attack.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use onair::{
    accounts::{self, UserName},
    clock::Clock,
    db::{Db, migrations},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{RawConn, TestDb, add_body, free_port, heavy, poll, touch_body};

/// A served `onair serve` with a descriptor limit of its own, killed when dropped.
struct Target {
    child: Child,
    port: u16,
    token: String,
    sid: String,
    handle: String,
    _db: TestDb,
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Target {
    /// Starts onair with soft and hard descriptor limits of `nofile`, one broadcaster and one
    /// live stream.
    async fn start(nofile: u32, env: &[(&str, &str)]) -> Self {
        let db = TestDb::new();
        let handle = Db::connect(&db.url, 4).unwrap();
        migrations::run_pending(&handle).unwrap();
        let now = Clock::System.now();
        let token = handle
            .write(move |c| {
                let name = UserName::parse("alice").unwrap();
                let user = accounts::create_user(c, &name, "a long password", false, now)?;
                accounts::create_token(c, user.id, "test", now).map(|(_, t)| t)
            })
            .await
            .unwrap();
        drop(handle);
        let port = free_port();
        let binary = PathBuf::from(env!("CARGO_BIN_EXE_onair"));
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit -n {nofile} && exec \"$0\" serve"))
            .arg(binary);
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("ONAIR_")) {
            cmd.env_remove(key);
        }
        cmd.env("ONAIR_DATABASE_URL", &db.url)
            .env("ONAIR_BIND", format!("127.0.0.1:{port}"))
            .env("ONAIR_URL", format!("http://localhost:{port}"))
            .env("ONAIR_ALLOW_PRIVATE_NETWORKS", "true")
            .env("ONAIR_WORKERS", "2")
            .env("ONAIR_LOG", "warn");
        for (key, value) in env {
            cmd.env(key, value);
        }
        let child = cmd.stdout(Stdio::null()).spawn().unwrap();
        let mut target = Self {
            child,
            port,
            token,
            sid: String::new(),
            handle: String::new(),
            _db: db,
        };
        poll("onair answers", async || target.get("/healthz").await).await;
        let body = add_body("Attack FM", "http://127.0.0.1:9/live", "news");
        let added = target.yp(&body).await;
        assert_eq!(added.header("YPResponse"), Some("1"), "{}", added.head);
        target.sid = added.header("SID").unwrap().to_owned();
        let message = added.header("YPMessage").unwrap();
        target.handle = message
            .trim_start_matches("Added as @")
            .split(' ')
            .next()
            .unwrap()
            .to_owned();
        target
    }

    fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    async fn get(&self, path: &str) -> Option<String> {
        let res = reqwest::get(format!("http://127.0.0.1:{}{path}", self.port))
            .await
            .ok()?;
        res.text().await.ok()
    }

    /// One YP request on a new connection.
    async fn yp(&self, body: &str) -> crate::helpers::RawResponse {
        let request = format!(
            "POST /api/icecast/yp/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUser-Agent: Icecast 2.4.4\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            self.token,
            self.port,
            body.len()
        );
        RawConn::connect(self.addr())
            .await
            .send(request.as_bytes())
            .await
    }

    /// The descriptors the server holds.
    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(Iterator::count)
            .unwrap_or(0)
    }

    /// A value of `/metrics` (the sum of its lines matching `prefix`).
    async fn metric(&self, prefix: &str) -> f64 {
        let text = self.get("/metrics").await.unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// Touches the live stream over a new connection every 50 ms until `stop`; the latencies.
async fn probe(target: Arc<Target>, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut latencies = Vec::new();
    let body = touch_body(&target.sid, "Morning news", 3);
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(5), target.yp(&body))
            .await
            .expect("a YP touch was not answered within 5 s");
        assert_eq!(answer.header("YPResponse"), Some("1"), "{}", answer.head);
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    latencies
}

fn median(latencies: &mut [Duration]) -> Duration {
    latencies.sort();
    latencies[latencies.len() / 2]
}

/// Runs `attack` while probing; checks the probe's answers stayed within the usual latency
/// (ten times the median before, at least 20 ms; none over a second) and prints the figures.
async fn under_attack<F: Future<Output = ()>>(target: &Arc<Target>, name: &str, attack: F) {
    let stop = Arc::new(AtomicBool::new(false));
    let before = tokio::spawn(probe(target.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(600)).await;
    stop.store(true, Ordering::Relaxed);
    let mut before = before.await.unwrap();
    let usual = median(&mut before);
    let stop = Arc::new(AtomicBool::new(false));
    let during = tokio::spawn(probe(target.clone(), stop.clone()));
    let started = Instant::now();
    attack.await;
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut during = during.await.unwrap();
    let middle = median(&mut during);
    let worst = *during.last().unwrap();
    println!(
        "{name}: {took:.1?}; YP touch median {usual:.1?} before, {middle:.1?} during \
         (worst {worst:.1?}, {} touches)",
        during.len()
    );
    assert!(during.len() >= 3, "{name}: too few probes ran");
    assert!(
        middle <= (usual * 10).max(Duration::from_millis(20)),
        "{name}: YP touches slowed from {usual:?} to {middle:?}"
    );
    assert!(
        worst < Duration::from_secs(1),
        "{name}: a YP touch took {worst:?}"
    );
}

/// Opens the stream's live-title events, reads the first event, and returns the connection.
async fn open_events(target: &Target) -> (TcpStream, String) {
    let mut conn = TcpStream::connect(target.addr()).await.unwrap();
    let request = format!(
        "GET /streams/{}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n",
        target.handle
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        let text = String::from_utf8_lossy(&got);
        if text.contains("event: now")
            || (text.contains("\r\n\r\n") && !text.starts_with("HTTP/1.1 200"))
        {
            return (conn, text.into_owned());
        }
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut chunk))
            .await
            .expect("no answer to an event-stream request within 5 s")
            .unwrap();
        assert!(n > 0, "the event stream closed before its first event");
        got.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn event_streams_opened_and_dropped_beyond_the_descriptor_limit() {
    let _heavy = heavy().await;
    // 1,024 descriptors; 4,000 event streams opened and dropped, 32 at a time (a dropped one is
    // freed a moment after it is dropped: the cap leaves room for that).
    let target = Arc::new(
        Target::start(
            1024,
            // As if from many addresses: no rate limit, a share as large as the total.
            &[
                ("ONAIR_LIMITS_EVENT_STREAMS_PER_CLIENT", "128"),
                ("ONAIR_LIMITS_PUBLIC_RATE", "0"),
            ],
        )
        .await,
    );
    let fds_before = target.fds();
    let attacker = target.clone();
    under_attack(
        &target,
        "4,000 event streams opened and dropped",
        async move {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..32 {
                let target = attacker.clone();
                tasks.spawn(async move {
                    for _ in 0..4000 / 32 {
                        let (conn, head) = open_events(&target).await;
                        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
                        drop(conn);
                    }
                });
            }
            while let Some(done) = tasks.join_next().await {
                done.unwrap();
            }
        },
    )
    .await;
    // Every dropped stream is noticed and its descriptor freed within seconds.
    poll("event streams closed", async || {
        (target.metric("onair_event_streams ").await == 0.0).then_some(())
    })
    .await;
    // (The database pool opens connections as the load asks for them, 3 descriptors each on
    // SQLite: up to 8 of them. 4,000 leaked connections would be 4,000.)
    let fds_after = target.fds();
    assert!(
        fds_after <= fds_before + 32,
        "descriptors grew from {fds_before} to {fds_after}"
    );

    // Beyond the per-client cap: a clear 429, and the server keeps serving.
    let mut held = Vec::new();
    for _ in 0..128 {
        let (conn, head) = open_events(&target).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        held.push(conn);
    }
    let (_, refused) = open_events(&target).await;
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    assert!(
        target
            .metric("onair_refused_requests_total{limit=\"event_streams_per_client\"}")
            .await
            >= 1.0
    );
    drop(held);
    poll("held streams closed", async || {
        (target.metric("onair_event_streams ").await == 0.0).then_some(())
    })
    .await;
}

/// Reads one answer whose body is small enough to come with its head.
async fn answer_until_blank(conn: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&chunk[..n]);
    }
    // The body (a few lines of /healthz) arrives with or right after the head.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = tokio::time::timeout(Duration::from_millis(10), conn.read(&mut chunk)).await;
    String::from_utf8_lossy(&got).into_owned()
}

/// Reads until the server answers or closes; what it said (empty: closed without a word).
async fn answer_or_close(conn: &mut TcpStream, within: Duration) -> String {
    let mut got = Vec::new();
    let mut chunk = [0u8; 2048];
    let ended = tokio::time::timeout(within, async {
        loop {
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
            if got.windows(4).any(|w| w == b"\r\n\r\n") && got.ends_with(b"}") {
                return;
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the server neither answered nor closed within {within:?}"
    );
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_silent_and_slow_header_connections() {
    let _heavy = heavy().await;
    // This process holds the attacker's ends too.
    onair::guard::fds::raise();
    let target = Arc::new(
        Target::start(
            4096,
            &[
                // A later head is cut off when head, body and handler time are all up: 4 s.
                ("ONAIR_LIMITS_HEADER_TIMEOUT", "2"),
                ("ONAIR_LIMITS_BODY_TIMEOUT", "1"),
                ("ONAIR_LIMITS_HANDLER_TIMEOUT", "1"),
                ("ONAIR_LIMITS_PUBLIC_RATE", "0"),
            ],
        )
        .await,
    );
    let attacker = target.clone();
    under_attack(
        &target,
        "1,000 idle keep-alive, 300 silent, 100 slow-header connections (50 after a request)",
        async move {
            // A thousand keep-alive connections that asked once and stay idle.
            let mut idle = Vec::new();
            for _ in 0..1000 {
                let mut conn = RawConn::connect(attacker.addr()).await;
                let head = conn
                    .send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    .await
                    .head;
                assert!(head.starts_with("HTTP/1.1 200"), "{head}");
                idle.push(conn);
            }
            // Connections that never say a word, and heads sent a line every half second.
            let mut silent = Vec::new();
            for _ in 0..300 {
                silent.push(TcpStream::connect(attacker.addr()).await.unwrap());
            }
            let mut slow = tokio::task::JoinSet::new();
            for i in 0..100 {
                let addr = attacker.addr();
                slow.spawn(async move {
                    let mut conn = TcpStream::connect(addr).await.unwrap();
                    if i % 2 == 0 {
                        // Half of them ask one honest question first: the slow head is the
                        // connection's second (actix times only the first by itself).
                        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                            .await
                            .unwrap();
                        let said = answer_until_blank(&mut conn).await;
                        assert!(said.starts_with("HTTP/1.1 200"), "{said}");
                    }
                    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                        .await
                        .unwrap();
                    let started = Instant::now();
                    for i in 0..40 {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        let line = format!("X-Slow-{i}: still coming\r\n");
                        if conn.write_all(line.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                    let said = answer_or_close(&mut conn, Duration::from_secs(5)).await;
                    (started.elapsed(), said)
                });
            }
            // The server ends the silent ones after the head timeout.
            for mut conn in silent {
                let said = answer_or_close(&mut conn, Duration::from_secs(5)).await;
                assert!(
                    said.is_empty() || said.starts_with("HTTP/1.1 408"),
                    "a silent connection got: {said}"
                );
            }
            while let Some(done) = slow.join_next().await {
                let (took, said) = done.unwrap();
                assert!(
                    !said.starts_with("HTTP/1.1 200"),
                    "a head sent over 10 s was served: {said}"
                );
                assert!(
                    took < Duration::from_secs(8),
                    "a slow head was held {took:?}"
                );
            }
            // The idle ones are still open and usable.
            let mut conn = idle.pop().unwrap();
            let head = conn
                .send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                .await
                .head;
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn trickled_and_stopped_bodies_are_cut_off() {
    let _heavy = heavy().await;
    let target = Arc::new(Target::start(1024, &[("ONAIR_LIMITS_BODY_TIMEOUT", "3")]).await);
    let attacker = target.clone();
    under_attack(&target, "50 trickled and 50 stopped bodies", async move {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..100 {
            let target = attacker.clone();
            tasks.spawn(async move {
                let mut conn = TcpStream::connect(target.addr()).await.unwrap();
                let trickle = i % 2 == 0;
                let (path, length) = if trickle {
                    (format!("/api/icecast/yp/{}", target.token), 100)
                } else {
                    ("/inbox".to_owned(), 1000)
                };
                let head = format!(
                    "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \
                     application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
                );
                conn.write_all(head.as_bytes()).await.unwrap();
                let started = Instant::now();
                if trickle {
                    // A byte every 200 ms: the whole body would take 20 s.
                    let (mut read, mut write) = conn.into_split();
                    let writer = tokio::spawn(async move {
                        for _ in 0..100 {
                            if write.write_all(b"a").await.is_err() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    });
                    let mut got = Vec::new();
                    let mut chunk = [0u8; 2048];
                    let _ = tokio::time::timeout(Duration::from_secs(6), async {
                        loop {
                            match read.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => got.extend_from_slice(&chunk[..n]),
                            }
                            if got.ends_with(b"\n") && got.windows(4).any(|w| w == b"\r\n\r\n") {
                                return;
                            }
                        }
                    })
                    .await;
                    writer.abort();
                    (
                        trickle,
                        started.elapsed(),
                        String::from_utf8_lossy(&got).into_owned(),
                    )
                } else {
                    conn.write_all(b"0123456789").await.unwrap();
                    let said = answer_or_close(&mut conn, Duration::from_secs(6)).await;
                    (trickle, started.elapsed(), said)
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (trickle, took, said) = done.unwrap();
            assert!(
                took < Duration::from_secs(5),
                "a body was waited for {took:?}"
            );
            if trickle {
                // Icecast reads the headers: a refusal that says why.
                assert!(
                    said.to_ascii_lowercase().contains("ypresponse: 0"),
                    "{said}"
                );
                assert!(said.contains("did not arrive within 3 s"), "{said}");
            } else {
                assert!(said.starts_with("HTTP/1.1 408"), "{said}");
                assert!(said.contains("did not arrive within 3 s"), "{said}");
            }
        }
    })
    .await;
    assert!(
        target
            .metric("onair_refused_requests_total{limit=\"body_timeout\"}")
            .await
            >= 50.0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_lookups_from_one_client_is_throttled() {
    let _heavy = heavy().await;
    let target = Arc::new(Target::start(1024, &[]).await);
    let attacker = target.clone();
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = refused.clone();
    under_attack(
        &target,
        "3,000 WebFinger lookups from one client",
        async move {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..8 {
                let target = attacker.clone();
                let refused = counted.clone();
                tasks.spawn(async move {
                    let mut conn = RawConn::connect(target.addr()).await;
                    for _ in 0..375 {
                        // A forwarded-for header from a peer that is no trusted proxy changes nothing.
                        let request = format!(
                            "GET /.well-known/webfinger?resource=acct:{}@localhost:{} HTTP/1.1\r\n\
                         Host: 127.0.0.1\r\nX-Forwarded-For: 198.51.100.{}\r\n\r\n",
                            target.handle,
                            target.port,
                            rand_octet()
                        );
                        let answer = conn.send(request.as_bytes()).await;
                        if answer.head.starts_with("HTTP/1.1 429") {
                            assert!(answer.header("retry-after").is_some(), "{}", answer.head);
                            refused.fetch_add(1, Ordering::Relaxed);
                        } else {
                            assert!(answer.head.starts_with("HTTP/1.1 200"), "{}", answer.head);
                        }
                    }
                });
            }
            while let Some(done) = tasks.join_next().await {
                done.unwrap();
            }
        },
    )
    .await;
    let refused = refused.load(Ordering::Relaxed);
    // A burst of 200, then 20 a second: most of 3,000 in a few seconds are refused.
    assert!(refused > 2000, "only {refused} of 3,000 refused");
    assert!(
        target
            .metric("onair_refused_requests_total{limit=\"public_rate\"}")
            .await
            >= refused as f64
    );
}

fn rand_octet() -> u8 {
    use std::hash::{BuildHasher, RandomState};
    (RandomState::new().hash_one(Instant::now()) % 250) as u8
}
