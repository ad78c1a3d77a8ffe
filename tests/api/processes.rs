//! Real `onair serve` processes: SIGTERM lets deliveries in flight finish and gives the rest
//! back; two processes on one PostgreSQL run each one-at-a-time pass in exactly one of them,
//! and the other takes over when that one is killed.

use std::{
    process::{Child, Command, Stdio},
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

use crate::helpers::{TestDb, add_body, free_port, poll};

/// A served `onair serve`, killed (SIGKILL) when dropped.
struct Serve {
    child: Child,
    port: u16,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn start(db: &str) -> Self {
        let port = free_port();
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
        Self { child, port }
    }

    async fn get(&self, path: &str) -> Option<String> {
        let res = reqwest::get(format!("http://127.0.0.1:{}{path}", self.port))
            .await
            .ok()?;
        res.text().await.ok()
    }

    fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
}

/// A migrated database with one broadcaster; returns its YP token.
async fn broadcaster(db: &Db) -> String {
    migrations::run_pending(db).unwrap();
    let now = Clock::System.now();
    db.write(move |c| {
        let name = UserName::parse("alice").unwrap();
        let user = accounts::create_user(c, &name, "a long password", false, now)?;
        accounts::create_token(c, user.id, "test", now).map(|(_, t)| t)
    })
    .await
    .unwrap()
}

#[derive(Clone, Default)]
struct Held {
    arrived: Arc<AtomicUsize>,
    answered: Arc<AtomicUsize>,
}

/// Answers every request after holding it for 3 s.
async fn held_inbox(body: web::Bytes, held: web::Data<Held>) -> HttpResponse {
    assert!(!body.is_empty());
    held.arrived.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(3)).await;
    held.answered.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Accepted().finish()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_deliveries_in_flight_finish_and_gives_back_the_rest() {
    let _heavy = crate::helpers::heavy().await;
    let test_db = TestDb::new();
    let db = Db::connect(&test_db.url, 2).unwrap();
    let token = broadcaster(&db).await;
    let held = Held::default();
    let data = web::Data::new(held.clone());
    let sink = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(held_inbox))
    })
    .workers(2)
    .bind("127.0.0.1:0")
    .unwrap();
    let sink_port = sink.addrs()[0].port();
    tokio::spawn(sink.run());

    let serve = Serve::start(&test_db.url);
    let yp = format!("http://127.0.0.1:{}/api/icecast/yp/{token}", serve.port);
    let add = || async {
        reqwest::Client::new()
            .post(&yp)
            .body(add_body("Held FM", "http://radio.example/held", "test"))
            .send()
            .await
    };
    poll("onair answers", async || add().await.ok()).await;
    // Twenty followers on one host: eight requests at a time (per_host), the rest waiting.
    let now = Clock::System.now();
    db.write(move |c| {
        use diesel::RunQueryDsl;
        diesel::sql_query("UPDATE broadcasts SET state = 'ended', sid = NULL").execute(c)?;
        for i in 0..20 {
            let actor = format!("http://localhost:{sink_port}/u{i}");
            let inbox = format!("{actor}/inbox");
            let accepted = onair::db::models::FollowerState::Accepted;
            Follower::upsert(c, 1, &actor, &inbox, None, accepted, None, now)?;
        }
        Ok(())
    })
    .await
    .unwrap();
    onair::keys::fill_missing(&db, &Clock::System)
        .await
        .unwrap();
    assert_eq!(add().await.unwrap().headers()["YPResponse"], "1", "go live");
    poll("eight requests in flight", async || {
        (held.arrived.load(Ordering::SeqCst) >= 8).then_some(())
    })
    .await;
    let stopping = Instant::now();
    serve.terminate();
    let mut serve = serve;
    let waited = tokio::task::spawn_blocking(move || {
        // Polled, so that a process that never stops fails the test instead of hanging it.
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = serve.child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        drop(serve);
        status
    });
    let status = waited
        .await
        .unwrap()
        .expect("onair stops within 30 s of SIGTERM");
    let took = stopping.elapsed();
    assert!(status.success(), "a clean stop: {status:?}");
    let arrived = held.arrived.load(Ordering::SeqCst);
    assert_eq!(
        held.answered.load(Ordering::SeqCst),
        arrived,
        "every request was answered"
    );
    // Recorded as delivered; what never started is pending again with no lease on it.
    let (delivered, pending_unleased) = db
        .read(|c| {
            use diesel::{RunQueryDsl, sql_types::BigInt};
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = BigInt)]
                n: i64,
            }
            let count = |c: &mut onair::db::DbConn, sql: &str| {
                diesel::sql_query(sql).get_result::<N>(c).map(|r| r.n)
            };
            Ok((
                count(
                    c,
                    "SELECT count(*) AS n FROM deliveries WHERE state = 'delivered'",
                )?,
                count(
                    c,
                    "SELECT count(*) AS n FROM deliveries WHERE state = 'pending' \
                     AND lease_owner IS NULL",
                )?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(
        delivered as usize, arrived,
        "each request in flight recorded"
    );
    assert_eq!(
        delivered + pending_unleased,
        20,
        "the rest given back, nothing lost"
    );
    eprintln!("sigterm: {arrived} in flight finished, stopped after {took:?}");
}

/// The role a pass has in a `/healthz` body.
fn role<'a>(health: &'a str, pass: &str) -> Option<&'a str> {
    health
        .lines()
        .find_map(|l| l.strip_prefix(pass)?.strip_prefix(": "))
        .and_then(|rest| rest.split(", last completed").next())
}

#[tokio::test(flavor = "multi_thread")]
async fn one_of_two_processes_runs_each_pass_that_takes_turns() {
    let test_db = TestDb::new();
    if !test_db.url.starts_with("postgres") {
        println!(
            "skipped: several processes share a PostgreSQL database only; set ONAIR_TEST_DATABASE_URL"
        );
        return;
    }
    let _heavy = crate::helpers::heavy().await;
    let db = Db::connect(&test_db.url, 2).unwrap();
    broadcaster(&db).await;
    let first = Serve::start(&test_db.url);
    let second = Serve::start(&test_db.url);
    let passes = ["catalog refresher", "key maker", "housekeeping"];
    let settled = |a: &str, b: &str| {
        passes.iter().all(|p| {
            let roles = [role(a, p), role(b, p)];
            roles.contains(&Some("runs here (leader)"))
                && roles.contains(&Some("standby (another process runs it)"))
        })
    };
    let (a, b) = poll("each pass has a leader and a standby", async || {
        let (a, b) = (first.get("/healthz").await?, second.get("/healthz").await?);
        settled(&a, &b).then_some((a, b))
    })
    .await;
    for health in [&a, &b] {
        assert!(health.starts_with("ok\n"), "{health}");
        assert_eq!(role(health, "reaper"), Some("runs here"), "{health}");
        assert_eq!(
            role(health, "delivery sender"),
            Some("runs here"),
            "{health}"
        );
    }
    // The database's gauges come from one process only.
    let (ma, mb) = (
        first.get("/metrics").await.unwrap(),
        second.get("/metrics").await.unwrap(),
    );
    let serving = [&ma, &mb]
        .iter()
        .filter(|m| m.contains("onair_live_streams"))
        .count();
    assert_eq!(serving, 1, "{ma}\n{mb}");
    // The housekeeping leader dies: the other takes every turn over.
    let (leader, survivor) = match role(&a, "housekeeping") {
        Some("runs here (leader)") => (first, second),
        _ => (second, first),
    };
    drop(leader);
    poll("the survivor leads every pass", async || {
        let health = survivor.get("/healthz").await?;
        passes
            .iter()
            .all(|p| role(&health, p) == Some("runs here (leader)"))
            .then_some(())
    })
    .await;
    assert!(
        survivor
            .get("/metrics")
            .await
            .unwrap()
            .contains("onair_live_streams")
    );
}
