//! Restart safety: a go-live fans out to 2,000 followers; the onair process is killed with
//! SIGKILL half-way and started again; every inbox ends up with the Create, and only a request
//! in flight at the kill may arrive twice.

use std::{
    collections::HashMap,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use onair::{
    accounts::{self, UserName},
    clock::Clock,
    db::{Db, migrations, models::Follower},
};

use crate::helpers::{TestDb, add_body};

const FOLLOWERS: usize = 2000;

#[derive(Clone, Default)]
struct Received(Arc<Mutex<HashMap<String, usize>>>);

async fn inbox(req: HttpRequest, body: web::Bytes, seen: web::Data<Received>) -> HttpResponse {
    // A little latency, as real inboxes have, so that the kill lands mid-way.
    tokio::time::sleep(Duration::from_millis(5)).await;
    if String::from_utf8_lossy(&body).contains("\"Create\"") {
        *seen
            .0
            .lock()
            .unwrap()
            .entry(req.path().to_owned())
            .or_default() += 1;
    }
    HttpResponse::Accepted().finish()
}

struct Onair(Child);

impl Drop for Onair {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(db: &str, port: u16) -> Onair {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onair"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("ONAIR_")) {
        cmd.env_remove(key);
    }
    let child = cmd
        .arg("serve")
        .env("ONAIR_DATABASE_URL", db)
        .env("ONAIR_BIND", format!("127.0.0.1:{port}"))
        .env("ONAIR_URL", format!("http://localhost:{port}"))
        .env("ONAIR_ALLOW_PRIVATE_NETWORKS", "true")
        .env("ONAIR_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Onair(child)
}

async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A stream with 2,000 followers on a local sink, off air, served by an onair subprocess at
/// `port`; returns what the sink received and a closure that starts the go-live.
struct FanOut {
    test_db: TestDb,
    received: Received,
    port: u16,
    yp: String,
}

impl FanOut {
    async fn new() -> (Self, Onair) {
        let test_db = TestDb::new();
        let db = Db::connect(&test_db.url, 2).unwrap();
        migrations::run_pending(&db).unwrap();
        let now = Clock::System.now();
        let token = db
            .write(move |c| {
                let user = accounts::create_user(
                    c,
                    &UserName::parse("alice").unwrap(),
                    "a long password",
                    false,
                    now,
                )?;
                accounts::create_token(c, user.id, "test", now).map(|(_, t)| t)
            })
            .await
            .unwrap();
        let received = Received::default();
        let data = web::Data::new(received.clone());
        let sink = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(inbox))
        })
        .workers(2)
        .bind("127.0.0.1:0")
        .unwrap();
        let sink_port = sink.addrs()[0].port();
        tokio::spawn(sink.run());

        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let onair = start(&test_db.url, port);
        let fan_out = Self {
            received,
            port,
            yp: format!("http://127.0.0.1:{port}/api/icecast/yp/{token}"),
            test_db,
        };
        let started = Instant::now();
        while fan_out.add().await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "onair did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The stream exists; end that broadcast, give the stream keys and followers.
        db.write(move |c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("UPDATE broadcasts SET state = 'ended', sid = NULL").execute(c)?;
            for i in 0..FOLLOWERS {
                let inbox = format!("http://localhost:{sink_port}/u{i}/inbox");
                Follower::upsert(
                    c,
                    1,
                    &format!("http://localhost:{sink_port}/u{i}"),
                    &inbox,
                    None,
                    onair::db::models::FollowerState::Accepted,
                    None,
                    now,
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
        onair::keys::fill_missing(&db, &Clock::System)
            .await
            .unwrap();
        (fan_out, onair)
    }

    async fn add(&self) -> reqwest::Result<reqwest::Response> {
        reqwest::Client::new()
            .post(&self.yp)
            .body(add_body("Fan Out FM", "http://radio.example/fan", "test"))
            .send()
            .await
    }

    fn count(&self) -> usize {
        self.received.0.lock().unwrap().len()
    }

    fn counts(&self) -> HashMap<String, usize> {
        self.received.0.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fan_out_survives_sigkill() {
    let _heavy = crate::helpers::heavy().await;
    let (fan_out, onair) = FanOut::new().await;
    assert_eq!(
        fan_out.add().await.unwrap().headers()["YPResponse"],
        "1",
        "go live: a Create to 2,000 inboxes"
    );
    wait_until("the fan-out starts", Duration::from_secs(60), || {
        fan_out.count() >= 300
    })
    .await;
    drop(onair); // SIGKILL
    let at_kill = fan_out.count();
    assert!(
        at_kill < FOLLOWERS,
        "killed mid-way ({at_kill} of {FOLLOWERS} delivered)"
    );

    let _again = start(&fan_out.test_db.url, fan_out.port);
    wait_until(
        "every inbox gets the Create",
        Duration::from_secs(120),
        || fan_out.count() == FOLLOWERS,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let counts = fan_out.counts();
    assert_eq!(counts.len(), FOLLOWERS);
    let twice = counts.values().filter(|n| **n == 2).count();
    assert!(counts.values().all(|n| *n <= 2), "never more than twice");
    assert!(
        twice <= 128,
        "only requests in flight at the kill come twice ({twice})"
    );
    eprintln!(
        "restart: {at_kill} delivered before the kill, {twice} twice, all {FOLLOWERS} after restart"
    );
}

/// Two `onair serve` processes on one database share the fan-out, and no inbox gets it twice.
#[tokio::test(flavor = "multi_thread")]
async fn two_processes_share_a_fan_out_without_duplicates() {
    let _heavy = crate::helpers::heavy().await;
    let (fan_out, _first) = FanOut::new().await;
    let second_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _second = start(&fan_out.test_db.url, second_port);
    assert_eq!(fan_out.add().await.unwrap().headers()["YPResponse"], "1");
    wait_until(
        "every inbox gets the Create",
        Duration::from_secs(120),
        || fan_out.count() == FOLLOWERS,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let counts = fan_out.counts();
    assert_eq!(counts.len(), FOLLOWERS);
    assert!(
        counts.values().all(|n| *n == 1),
        "no duplicates: {:?}",
        counts.values().filter(|n| **n > 1).count()
    );
}
