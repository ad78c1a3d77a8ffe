//! Fan-out benchmark: one go-live of a stream with 10,000 followers on distinct inboxes (100 local
//! ports × 100 paths), through the real `onair` binary. Prints the wall time from the YP add to
//! the last delivery, deliveries/s, and the server's CPU time and peak RSS.
//!
//! cargo bench --bench fanout_bench           (BENCH_FOLLOWERS, BENCH_PORTS, BENCH_DATABASE_URL)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark should stop at the first surprise"
)]

mod common;

use common::{cpu_seconds, peak_rss_kib};

use std::{
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use actix_web::{App, HttpResponse, HttpServer, web};
use onair::{
    accounts::{self, UserName},
    clock::Clock,
    db::{Db, migrations, models::Follower},
};

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let followers: usize = env_or("BENCH_FOLLOWERS", 10_000);
    let ports: usize = env_or("BENCH_PORTS", 100);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(followers, ports));
}

async fn run(followers: usize, ports: usize) {
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| dir.path().join("fanout.db").display().to_string());
    let db = Db::connect(&url, 2).unwrap();
    migrations::run_pending(&db).unwrap();
    let now = Clock::System.now();
    let user = format!("fan{}", std::process::id());
    let token = db
        .write(move |c| {
            let user = accounts::create_user(
                c,
                &UserName::parse(&user).unwrap(),
                "a long password",
                false,
                now,
            )?;
            accounts::create_token(c, user.id, "bench", now).map(|(_, t)| t)
        })
        .await
        .unwrap();

    // The inboxes: `ports` servers, `followers / ports` paths each, counting what arrives.
    let delivered = Arc::new(AtomicUsize::new(0));
    let mut sink_ports = Vec::new();
    for _ in 0..ports {
        let count = delivered.clone();
        let server = HttpServer::new(move || {
            let count = count.clone();
            App::new().default_service(web::to(move || {
                count.fetch_add(1, Ordering::Relaxed);
                async { HttpResponse::Accepted().finish() }
            }))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .unwrap();
        sink_ports.push(server.addrs()[0].port());
        tokio::spawn(server.run());
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_onair"))
        .arg("serve")
        .env("ONAIR_DATABASE_URL", &url)
        .env("ONAIR_BIND", format!("127.0.0.1:{port}"))
        .env("ONAIR_URL", format!("http://localhost:{port}"))
        .env("ONAIR_ALLOW_PRIVATE_NETWORKS", "true")
        .env("ONAIR_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let yp = format!("http://127.0.0.1:{port}/api/icecast/yp/{token}");
    let add = || {
        client
            .post(&yp)
            .body("action=add&sn=Fan%20Out%20FM&genre=bench&type=audio%2fmpeg&listenurl=http%3a%2f%2fradio%2eexample%2ffan&b=128")
            .send()
    };
    let started = Instant::now();
    let first = loop {
        match add().await {
            Ok(res) => break res,
            Err(_) if started.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("onair did not start: {e}"),
        }
    };
    let sid = first.headers()["SID"].to_str().unwrap().to_owned();
    client
        .post(&yp)
        .body(format!("action=remove&sid={sid}"))
        .send()
        .await
        .unwrap();
    let stream_id = db
        .write(move |c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("UPDATE broadcasts SET state = 'ended', sid = NULL").execute(c)?;
            let stream = onair::db::models::Stream::list(c, None)?
                .pop()
                .map(|(s, _)| s.id)
                .unwrap_or(1);
            for i in 0..followers {
                let sink = sink_ports[i % sink_ports.len()];
                let inbox = format!("http://localhost:{sink}/u{}/inbox", i / sink_ports.len());
                Follower::upsert(
                    c,
                    stream,
                    &format!("http://localhost:{sink}/u{i}"),
                    &inbox,
                    None,
                    "accepted",
                    now,
                )?;
            }
            Ok(stream)
        })
        .await
        .unwrap();
    onair::federation::keys::fill_missing(&db, &Clock::System)
        .await
        .unwrap();
    let _ = stream_id;

    let cpu_before = cpu_seconds(child.id());
    let go = Instant::now();
    let res = add().await.unwrap();
    assert_eq!(res.headers()["YPResponse"], "1");
    let add_latency = go.elapsed();
    while delivered.load(Ordering::Relaxed) < followers {
        assert!(
            go.elapsed() < Duration::from_secs(600),
            "fan-out stalled at {}",
            delivered.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let wall = go.elapsed();
    let cpu = cpu_seconds(child.id()) - cpu_before;
    println!(
        "fanout_bench: {followers} inboxes on {ports} hosts: YP add answered in {:.1} ms; last delivery after {:.2} s; {:.0} deliveries/s",
        add_latency.as_secs_f64() * 1e3,
        wall.as_secs_f64(),
        followers as f64 / wall.as_secs_f64()
    );
    println!(
        "fanout_bench: server CPU {:.2} s ({:.0} µs per delivery), peak RSS {} MiB",
        cpu,
        cpu * 1e6 / followers as f64,
        peak_rss_kib(child.id()) / 1024
    );
    let _ = child.kill();
    let _ = child.wait();
}
