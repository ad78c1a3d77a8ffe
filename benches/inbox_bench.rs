//! Inbound benchmark: pre-signed `Update`s of catalog entries (a title change each) posted to
//! the shared inbox of a release `onair serve` over keep-alive connections. Prints verified and
//! stored activities per second, latency percentiles and the server's CPU per activity.
//!
//! `cargo bench --bench inbox_bench` (BENCH_ACTIVITIES, BENCH_ACTORS, BENCH_CONNECTIONS to
//! change the load; BENCH_DATABASE_URL for PostgreSQL).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark should stop at the first surprise"
)]

mod common;

use std::{
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use actix_web::{App, HttpResponse, HttpServer, web};
use aws_lc_rs::rsa::KeyPair;
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use common::{cpu_seconds, peak_rss_kib};
use futures_util::StreamExt;
use onair::{
    clock::Clock,
    db::{
        Db, migrations,
        models::{RemoteStreamProfile, Subscription},
    },
    httpsig::{body_digest, sign_post},
};
use url::Url;

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let activities: usize = env_or("BENCH_ACTIVITIES", 40_000);
    let actors: usize = env_or("BENCH_ACTORS", 50);
    let connections: usize = env_or("BENCH_CONNECTIONS", 32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(activities, actors, connections));
}

/// One signed request, ready to send.
struct Signed {
    body: bytes::Bytes,
    date: String,
    digest: String,
    signature: String,
}

fn key_pair(pkcs8_pem: &str) -> KeyPair {
    let b64: String = pkcs8_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    KeyPair::from_pkcs8(&BASE64.decode(b64).unwrap()).unwrap()
}

async fn run(total: usize, actors: usize, connections: usize) {
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| dir.path().join("inbox.db").display().to_string());
    let db = Db::connect(&url, 2).unwrap();
    migrations::run_pending(&db).unwrap();

    // The remote stream actors, served from one local port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let remote = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut documents = Vec::new();
    let mut keys = Vec::new();
    for i in 0..actors {
        let (public, private) = onair::httpsig::generate().await.unwrap();
        let id = format!("{remote}/streams/s{i}");
        documents.push(serde_json::json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": id, "type": "Service", "preferredUsername": format!("s{i}"), "name": format!("Stream {i}"),
            "inbox": format!("{id}/inbox"),
            "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": public },
        }));
        keys.push(key_pair(&private));
    }
    let documents = web::Data::new(documents);
    let server = HttpServer::new(move || {
        App::new().app_data(documents.clone()).route(
            "/streams/{name}",
            web::get().to(
                |name: web::Path<String>, docs: web::Data<Vec<serde_json::Value>>| async move {
                    let i: usize = name.trim_start_matches('s').parse().unwrap_or(usize::MAX);
                    match docs.get(i) {
                        Some(d) => HttpResponse::Ok()
                            .content_type("application/activity+json")
                            .json(d),
                        None => HttpResponse::NotFound().finish(),
                    }
                },
            ),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap();
    tokio::spawn(server.run());

    // The instance follows every one of them (accepted), as `onair remote follow` leaves it.
    let now = Clock::System.now();
    let ids: Vec<String> = (0..actors)
        .map(|i| format!("{remote}/streams/s{i}"))
        .collect();
    let followed = ids.clone();
    db.write(move |c| {
        for (i, id) in followed.iter().enumerate() {
            let follow = format!("http://localhost/activities/f{i}");
            Subscription::upsert(
                c,
                id,
                &format!("{id}/inbox"),
                onair::db::models::SubscriptionKind::Stream,
                &follow,
                now,
            )?;
            let sub = Subscription::find(c, id)?.unwrap();
            Subscription::set_state(
                c,
                sub.id,
                onair::db::models::SubscriptionState::Accepted,
                now,
            )?;
            onair::db::models::RemoteStream::upsert(
                c,
                &RemoteStreamProfile {
                    actor_id: id.clone(),
                    host: Url::parse(id).unwrap().authority().to_owned(),
                    handle: format!("s{i}"),
                    name: format!("Stream {i}"),
                    summary: String::new(),
                    icon: None,
                    url: None,
                    genres: String::new(),
                    updated_at: now,
                },
            )?;
        }
        Ok(())
    })
    .await
    .unwrap();

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

    // Every activity signed beforehand: the measurement is the server's, not the signer's.
    let inbox: Url = format!("http://localhost:{port}/inbox").parse().unwrap();
    let sign = |n: usize| -> Signed {
        let a = n % actors;
        let actor = &ids[a];
        let body = serde_json::json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}/updates/{n}"),
            "type": "Update",
            "actor": actor,
            "object": {
                "id": format!("{actor}/broadcasts/1"),
                "type": "Note",
                "attributedTo": actor,
                "content": format!("<p>Stream {a} is on air: title {n}</p>"),
                "isLiveBroadcast": true,
                "startDate": "2026-11-25T10:00:00Z",
                "contentUrl": format!("http://radio.example:8000/s{a}"),
                "encodingFormat": "audio/mpeg",
                "bitrate": 128,
                "genre": ["Bench"],
                "nowPlaying": format!("title {n}"),
            },
        })
        .to_string();
        let key_id: Url = format!("{actor}#main-key").parse().unwrap();
        let digest = body_digest(body.as_bytes());
        let h = sign_post(&keys[a], &key_id, &inbox, &digest, chrono::Utc::now()).unwrap();
        Signed {
            body: bytes::Bytes::from(body),
            date: h.date,
            digest: h.digest,
            signature: h.signature,
        }
    };
    let signing = Instant::now();
    let warm: Vec<Signed> = (total..total + actors).map(sign).collect();
    let signed: Vec<Arc<Signed>> = (0..total).map(|n| Arc::new(sign(n))).collect();
    println!(
        "inbox_bench: {total} Updates from {actors} actors signed in {:.1} s (not measured)",
        signing.elapsed().as_secs_f64()
    );

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap();
    let post = |s: &Signed| {
        client
            .post(inbox.clone())
            .header("content-type", "application/activity+json")
            .header("date", &s.date)
            .header("digest", &s.digest)
            .header("signature", &s.signature)
            .body(s.body.clone())
            .send()
    };
    // Wait for the server, and let it fetch each actor's key once.
    let started = Instant::now();
    for s in &warm {
        loop {
            match post(s).await {
                Ok(res) => {
                    assert_eq!(res.status(), 202, "{:?}", res.text().await);
                    break;
                }
                Err(_) if started.elapsed() < Duration::from_secs(30) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("onair did not start: {e}"),
            }
        }
    }

    let cpu_before = cpu_seconds(child.id());
    let go = Instant::now();
    let mut latencies: Vec<Duration> = futures_util::stream::iter(signed)
        .map(|s| {
            let post = &post;
            async move {
                let t = Instant::now();
                let res = post(&s).await.unwrap();
                assert_eq!(res.status(), 202);
                t.elapsed()
            }
        })
        .buffer_unordered(connections)
        .collect()
        .await;
    let wall = go.elapsed();
    let cpu = cpu_seconds(child.id()) - cpu_before;
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];

    // Every activity was stored: its id is recorded, and each entry holds its last title.
    let (received, titles) = db
        .read(|c| {
            use diesel::{QueryDsl, RunQueryDsl};
            use onair::db::schema::{received_activities, remote_broadcasts};
            let received: i64 = received_activities::table.count().get_result(c)?;
            let titles: Vec<String> = remote_broadcasts::table
                .select(remote_broadcasts::title)
                .load(c)?;
            Ok((received, titles))
        })
        .await
        .unwrap();
    assert_eq!(received as usize, total + actors, "every activity recorded");
    assert_eq!(titles.len(), actors, "one live entry per stream");
    println!(
        "inbox_bench: {total} Updates over {connections} connections: {:.2} s, {:.0} verified and stored/s; latency p50 {:.2} ms, p99 {:.2} ms",
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3
    );
    println!(
        "inbox_bench: server CPU {:.2} s ({:.0} µs per activity), peak RSS {} MiB",
        cpu,
        cpu * 1e6 / total as f64,
        peak_rss_kib(child.id()) / 1024
    );
    let _ = child.kill();
    let _ = child.wait();
}
