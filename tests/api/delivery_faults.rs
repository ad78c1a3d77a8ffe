//! Delivery against instances that misbehave: slow to answer, answering a byte at a time,
//! failing; leases held across long requests; finished work forgotten after its retention.

use std::time::{Duration, Instant};

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use onair::db::{models::HostBreaker, schema::deliveries};
use url::Url;

use crate::{
    cli::{onair, stdout},
    delivery::{send, states, stream},
    helpers::{TestApp, spawn_app},
    sinks::{HeldSink, start_sink, start_trickler, wait_until},
};

/// A stream with keys, and the Create of its broadcast queued for `targets`.
async fn queue_create(app: &TestApp, targets: Vec<Url>) {
    let (stream_id, actor) = stream(app).await;
    let object: Url = format!("{actor}/broadcasts/1").parse().unwrap();
    send(app, stream_id, "Create", &object, 1, targets).await;
}

fn inboxes(base: &str, prefix: &str, n: usize) -> Vec<Url> {
    (0..n)
        .map(|i| format!("{base}/{prefix}{i}/inbox").parse().unwrap())
        .collect()
}

/// A host that holds its answers keeps only its own slots: every delivery to a healthy host
/// goes out while all of the slow host's requests are still waiting, although the slow host's
/// deliveries were queued first and fill the whole total at the start.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_host_does_not_delay_deliveries_to_others() {
    let app = spawn_app().await;
    let slow = HeldSink::start();
    let (fast, fast_seen) = start_sink();
    let mut targets = inboxes(&slow.url, "s", 20);
    targets.extend(inboxes(&fast, "f", 20));
    queue_create(&app, targets).await;

    let worker = app.worker_with(|l| {
        l.total = 4;
        l.per_host = 4;
    });
    let run = tokio::spawn(async move { worker.deliver_due().await.unwrap() });
    fast_seen.wait_for(20).await;
    assert_eq!(
        slow.seen.paths().len(),
        4,
        "the slow host has exactly its four slots running, no more"
    );
    assert!(!run.is_finished(), "its requests are still waiting");

    slow.release();
    let step = run.await.unwrap();
    assert_eq!(step.delivered, 40, "{step:?}");
    assert_eq!(slow.seen.paths().len(), 20);
    assert_eq!(states(&app).await, [("delivered".to_owned(), 40)]);
}

/// The sender renews the leases it holds while a request runs: a lease held past its first
/// term is not taken over by another worker (another process), so nothing is sent twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_lease_held_across_a_long_request_is_not_taken_over() {
    let app = spawn_app().await;
    let slow = HeldSink::start();
    queue_create(&app, inboxes(&slow.url, "u", 1)).await;

    let first = app.worker();
    let run = tokio::spawn(async move { first.deliver_due().await.unwrap() });
    slow.seen.wait_for(1).await;
    let lease_until = || {
        let db = app.state.db.clone();
        db.read_blocking(|c| {
            Ok(deliveries::table
                .select(deliveries::lease_until)
                .first::<Option<chrono::NaiveDateTime>>(c)?)
        })
        .unwrap()
        .unwrap()
    };
    let claimed_until = lease_until();
    // Two thirds of the lease later the sender renews it for a full term from then.
    app.advance(20);
    let renewed_by = app.state.clock.now() + chrono::TimeDelta::seconds(30);
    wait_until(|| lease_until() >= renewed_by, "the lease renewal").await;
    app.advance(20);
    assert!(
        app.state.clock.now() > claimed_until,
        "the first term is over"
    );

    let other = app.worker();
    let step = other.deliver_due().await.unwrap();
    assert!(step.is_idle(), "nothing to take over: {step:?}");

    slow.release();
    let step = run.await.unwrap();
    assert_eq!(step.delivered, 1);
    assert_eq!(slow.seen.paths().len(), 1, "sent once");
}

/// An answer trickled a byte at a time holds its slot only until the request timeout.
#[tokio::test(flavor = "multi_thread")]
async fn a_trickled_answer_cannot_hold_a_slot_past_the_timeout() {
    let app = spawn_app().await;
    let trickler = start_trickler();
    queue_create(&app, inboxes(&trickler, "t", 2)).await;
    let worker = app.worker_with(|l| {
        l.per_host = 1;
        l.timeout = Duration::from_secs(1);
        l.connect_timeout = Duration::from_secs(1);
    });
    let started = Instant::now();
    let step = worker.deliver_due().await.unwrap();
    let took = started.elapsed();
    assert_eq!(step.retried, 2, "{step:?}");
    assert!(
        took < Duration::from_secs(4),
        "two requests one after the other, each cut at 1 s: {took:?}"
    );
    let errors: Vec<Option<String>> = app
        .state
        .db
        .read(|c| Ok(deliveries::table.select(deliveries::last_error).load(c)?))
        .await
        .unwrap();
    assert!(
        errors
            .iter()
            .all(|e| e.as_deref().is_some_and(|e| e.contains("timed out"))),
        "{errors:?}"
    );
}

/// A host that keeps failing trips a breaker every worker (every process) respects: its
/// deliveries wait, unclaimed and without spending retries, until the breaker's time is up,
/// and the admin sees which host, since when, until when and why.
#[tokio::test(flavor = "multi_thread")]
async fn a_dead_host_trips_a_breaker_shared_by_every_worker() {
    let app = spawn_app().await;
    let (sink, seen) = start_sink();
    let targets: Vec<Url> = (0..20)
        .map(|i| format!("{sink}/d{i}/flaky").parse().unwrap())
        .collect();
    queue_create(&app, targets).await;
    let first = app
        .worker_with(|l| l.per_host = 5)
        .deliver_due()
        .await
        .unwrap();
    // Requests started before the fifth failure was recorded go out; none after.
    let tried = seen.paths().len();
    assert!((5..=20).contains(&tried), "tried {tried}: {first:?}");
    assert_eq!(first.retried, tried);

    let now = app.state.clock.now();
    let open = app
        .state
        .db
        .read(move |c| HostBreaker::open(c, now))
        .await
        .unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].host, sink.trim_start_matches("http://"));
    assert!(
        open[0].reason.as_deref().unwrap().contains("500"),
        "{open:?}"
    );
    let status = stdout(&onair(&app, &["queue", "status"], ""));
    assert!(
        status.contains(&open[0].host) && status.contains("500"),
        "{status}"
    );

    // Retries are due after about a minute, but no worker claims them while the breaker holds.
    app.advance(180);
    let other = app.worker().deliver_due().await.unwrap();
    assert!(other.is_idle(), "{other:?}");
    assert_eq!(seen.paths().len(), tried, "no request while it is open");

    app.advance(660);
    app.worker().deliver_due().await.unwrap();
    assert!(
        seen.paths().len() > tried,
        "tried again once the breaker's time is up"
    );
}

/// Housekeeping forgets finished deliveries after the retention (7 days by default), failed
/// ones too, and keeps what is pending.
#[tokio::test(flavor = "multi_thread")]
async fn finished_deliveries_are_forgotten_after_the_retention() {
    let app = spawn_app().await;
    let (sink, _) = start_sink();
    let targets: Vec<Url> = ["ok/inbox", "bad", "flaky"]
        .iter()
        .map(|p| format!("{sink}/{p}").parse().unwrap())
        .collect();
    queue_create(&app, targets).await;
    app.deliver_due().await;
    let retention = app.state.config.delivery.retention_days;
    assert_eq!(retention, 7);
    let forget = |days: i64| {
        app.advance(days * 86_400);
        let (db, now) = (app.state.db.clone(), app.state.clock.now());
        async move {
            onair::delivery::forget_finished(&db, now, retention)
                .await
                .unwrap()
        }
    };
    assert_eq!(forget(6).await, 0, "a day short of the retention");
    assert_eq!(forget(2).await, 2, "the delivered one and the failed one");
    let left = states(&app).await;
    assert_eq!(
        left,
        [("pending".to_owned(), 1)],
        "the flaky one is retried"
    );
    let pending: i64 = app
        .state
        .db
        .read(|c| {
            Ok(deliveries::table
                .filter(deliveries::state.eq("pending"))
                .count()
                .get_result(c)?)
        })
        .await
        .unwrap();
    assert_eq!(pending, 1);
}

/// `/metrics` counts deliveries by outcome, the time from queueing to delivery, the queue by
/// state and the open breakers.
#[tokio::test(flavor = "multi_thread")]
async fn deliveries_show_in_the_metrics() {
    let app = spawn_app().await;
    let (sink, _) = start_sink();
    let mut targets = inboxes(&sink, "m", 3);
    targets.push(format!("{sink}/bad").parse().unwrap());
    queue_create(&app, targets).await;
    app.deliver_due().await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "onair_deliveries_total{outcome=\"delivered\"} 3",
        "onair_deliveries_total{outcome=\"failed\"} 1",
        "onair_delivery_latency_seconds_count 3",
        "onair_delivery_queue{state=\"delivered\"} 3",
        "onair_delivery_queue{state=\"failed\"} 1",
        "onair_delivery_breakers_open 0",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
}
