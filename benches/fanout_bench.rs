//! Fan-out benchmark: one go-live of a stream with 10,000 followers on distinct inboxes (100 local
//! ports × 100 paths), through the real `onair` binary. Prints the wall time from the YP add to
//! the last delivery, deliveries/s, and the server's CPU time and peak RSS.
//!
//! cargo bench --bench fanout_bench     (BENCH_FOLLOWERS, BENCH_PORTS, BENCH_DATABASE_URL,
//!                                      BENCH_ONAIR=path/to/onair, BENCH_SKIP_LIBRARY=1)

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
            // The body is taken, as a real inbox does: actix closes a connection whose request
            // body was left unread, which would make every delivery a new connection.
            App::new().default_service(web::to(move |_body: web::Bytes| {
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
    // BENCH_ONAIR runs another build (an older commit's, say) against the same harness.
    let binary =
        std::env::var("BENCH_ONAIR").unwrap_or_else(|_| env!("CARGO_BIN_EXE_onair").to_owned());
    let mut child = Command::new(binary)
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
    let ports_for_followers = sink_ports.clone();
    let stream_id = db
        .write(move |c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("UPDATE broadcasts SET state = 'ended', sid = NULL").execute(c)?;
            let stream = onair::db::models::Stream::list(c, None)?
                .pop()
                .map(|(s, _)| s.id)
                .unwrap_or(1);
            for i in 0..followers {
                let sink = ports_for_followers[i % ports_for_followers.len()];
                let inbox = format!(
                    "http://localhost:{sink}/u{}/inbox",
                    i / ports_for_followers.len()
                );
                Follower::upsert(
                    c,
                    stream,
                    &format!("http://localhost:{sink}/u{i}"),
                    &inbox,
                    None,
                    onair::db::models::FollowerState::Accepted,
                    None,
                    now,
                )?;
            }
            Ok(stream)
        })
        .await
        .unwrap();
    onair::keys::fill_missing(&db, &Clock::System)
        .await
        .unwrap();

    let cpu_before = cpu_seconds(child.id());
    let sinks_before = cpu_seconds(std::process::id());
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
    let onair_wall = wall;
    let cpu = cpu_seconds(child.id()) - cpu_before;
    let sinks_cpu = cpu_seconds(std::process::id()) - sinks_before;
    println!(
        "fanout_bench: {followers} inboxes on {ports} hosts: YP add answered in {:.1} ms; last delivery after {:.2} s; {:.0} deliveries/s",
        add_latency.as_secs_f64() * 1e3,
        wall.as_secs_f64(),
        followers as f64 / wall.as_secs_f64()
    );
    println!(
        "fanout_bench: server CPU {:.2} s ({:.0} µs per delivery), sinks' CPU {:.2} s (bench process), peak RSS {} MiB",
        cpu,
        cpu * 1e6 / followers as f64,
        sinks_cpu,
        peak_rss_kib(child.id()) / 1024
    );
    let _ = child.kill();
    let _ = child.wait();

    // The floor this machine sets: the same number of signatures with the same key on every
    // core and nothing else. RSA speed differs threefold between machines of this class (AVX-512
    // or not), so the wall time is reported against it too.
    let key = db
        .read(move |c| onair::db::models::StreamKeys::private_key(c, stream_id))
        .await
        .unwrap()
        .unwrap();
    let floor = signing::floor(&key, followers);
    println!(
        "fanout_bench: signing alone on every core: {:.0} signatures/s, so {followers} signatures take {:.2} s; onair's fan-out took {:.2}x that floor",
        followers as f64 / floor.as_secs_f64(),
        floor.as_secs_f64(),
        onair_wall.as_secs_f64() / floor.as_secs_f64()
    );
    if std::env::var_os("BENCH_SKIP_LIBRARY").is_some() {
        return;
    }

    // The same fan-out through the library's sender: `SendActivityTask::prepare` and
    // `sign_and_send`, which is what its `queue_activity` runs for each inbox, at the same
    // concurrency (64). `queue_activity` itself cannot be pointed at these sinks: in the
    // library's debug mode (needed for `localhost:port`) it sends one inbox after another, and
    // outside it refuses URLs with a port.
    delivered.store(0, Ordering::Relaxed);
    let inboxes: Vec<url::Url> = (0..followers)
        .map(|i| {
            format!(
                "http://localhost:{}/lib{}/inbox",
                sink_ports[i % sink_ports.len()],
                i / sink_ports.len()
            )
            .parse()
            .unwrap()
        })
        .collect();
    let (wall, cpu) =
        library::fan_out(&format!("localhost:{port}"), key, inboxes, &delivered).await;
    println!(
        "fanout_bench: the library's sender, same {followers} inboxes: {:.2} s, {:.0} deliveries/s, {:.0} µs CPU per delivery (bench process) -> onair is {:.1}x faster",
        wall.as_secs_f64(),
        followers as f64 / wall.as_secs_f64(),
        cpu * 1e6 / followers as f64,
        wall.as_secs_f64() / onair_wall.as_secs_f64()
    );
}

/// What signing alone costs on this machine.
mod signing {
    use std::time::{Duration, Instant};

    use aws_lc_rs::{rand::SystemRandom, rsa::KeyPair, signature::RSA_PKCS1_SHA256};
    use base64::{Engine, engine::general_purpose::STANDARD};

    /// Wall time of `count` signatures of a 200-byte signing string with the PKCS#8 PEM key
    /// `pem`, split over every core.
    pub fn floor(pem: &str, count: usize) -> Duration {
        let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let key = KeyPair::from_pkcs8(&STANDARD.decode(der).unwrap()).unwrap();
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let message = [b'x'; 200];
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..cores {
                s.spawn(|| {
                    let mut signature = vec![0; key.public_modulus_len()];
                    for _ in 0..count.div_ceil(cores) {
                        key.sign(
                            &RSA_PKCS1_SHA256,
                            &SystemRandom::new(),
                            &message,
                            &mut signature,
                        )
                        .unwrap();
                    }
                });
            }
        });
        started.elapsed()
    }
}

/// The library's own signing and sending, driven directly.
mod library {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
        time::{Duration, Instant},
    };

    use activitypub_federation::{
        activity_sending::SendActivityTask,
        config::{Data, FederationConfig},
        traits::{Activity, Actor, Object},
    };
    use futures_util::StreamExt;
    use serde::Serialize;
    use url::Url;

    #[derive(Debug, Clone)]
    struct Sender {
        id: Url,
        private_key: String,
    }

    #[async_trait::async_trait]
    impl Object for Sender {
        type DataType = ();
        type Kind = serde_json::Value;
        type Error = activitypub_federation::error::Error;
        fn id(&self) -> &Url {
            &self.id
        }
        async fn read_from_id(_: Url, _: &Data<()>) -> Result<Option<Self>, Self::Error> {
            Ok(None)
        }
        async fn into_json(self, _: &Data<()>) -> Result<serde_json::Value, Self::Error> {
            Ok(serde_json::Value::Null)
        }
        async fn verify(_: &serde_json::Value, _: &Url, _: &Data<()>) -> Result<(), Self::Error> {
            Ok(())
        }
        async fn from_json(_: serde_json::Value, _: &Data<()>) -> Result<Self, Self::Error> {
            Err(activitypub_federation::error::Error::NotFound)
        }
    }

    impl Actor for Sender {
        fn public_key_pem(&self) -> &str {
            ""
        }
        fn private_key_pem(&self) -> Option<String> {
            Some(self.private_key.clone())
        }
        fn inbox(&self) -> Url {
            self.id.clone()
        }
    }

    #[derive(Debug, Serialize)]
    struct Create {
        id: Url,
        actor: Url,
        #[serde(rename = "type")]
        kind: &'static str,
        object: serde_json::Value,
    }

    #[async_trait::async_trait]
    impl Activity for Create {
        type DataType = ();
        type Error = activitypub_federation::error::Error;
        fn id(&self) -> &Url {
            &self.id
        }
        fn actor(&self) -> &Url {
            &self.actor
        }
        async fn verify(&self, _: &Data<()>) -> Result<(), Self::Error> {
            Ok(())
        }
        async fn receive(self, _: &Data<()>) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    /// Sends one Create to every inbox; returns the wall time and this process's CPU time.
    pub async fn fan_out(
        domain: &str,
        private_key: String,
        inboxes: Vec<Url>,
        delivered: &Arc<AtomicUsize>,
    ) -> (Duration, f64) {
        let config = FederationConfig::builder()
            .domain(domain)
            .app_data(())
            .debug(true)
            .build()
            .await
            .unwrap();
        let data = config.to_request_data();
        let actor_id: Url = format!("http://{domain}/streams/fan_out_fm")
            .parse()
            .unwrap();
        let sender = Sender {
            id: actor_id.clone(),
            private_key,
        };
        let activity = Create {
            id: format!("http://{domain}/activities/library")
                .parse()
                .unwrap(),
            actor: actor_id,
            kind: "Create",
            object: serde_json::json!({ "type": "Note", "content": "on air" }),
        };
        let total = inboxes.len();
        let cpu_before = super::cpu_seconds(std::process::id());
        let start = Instant::now();
        let tasks = SendActivityTask::prepare(&activity, &sender, inboxes, &data)
            .await
            .unwrap();
        futures_util::stream::iter(tasks)
            .map(|task| {
                let data = data.clone();
                async move { task.sign_and_send(&data).await }
            })
            .buffer_unordered(64)
            .for_each(|_| async {})
            .await;
        while delivered.load(Ordering::Relaxed) < total {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (
            start.elapsed(),
            super::cpu_seconds(std::process::id()) - cpu_before,
        )
    }
}
