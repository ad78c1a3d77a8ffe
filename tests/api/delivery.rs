//! The durable delivery queue against local HTTP sinks: outcomes, retries, supersession, two
//! workers sharing one queue, and signatures that verify with the actor's published key.

use base64::Engine;
use onair::delivery::{
    Outgoing, SUPERSEDED_BY_DELETE, SUPERSEDED_BY_UPDATE, enqueue, worker::Worker,
};
use rsa::{Pkcs1v15Sign, RsaPublicKey, pkcs8::DecodePublicKey};
use sha2::{Digest, Sha256};
use url::Url;

use crate::{
    helpers::{TestApp, spawn_app},
    sinks::start_sink,
};

/// A stream with keys; returns its id and actor URL.
pub async fn stream(app: &TestApp) -> (i64, Url) {
    let token = app.broadcaster("alice").await;
    app.add(&token, "Queue FM", "q").await;
    onair::keys::fill_missing(&app.state.db, &app.state.clock)
        .await
        .unwrap();
    (1, app.state.urls.stream("queue_fm"))
}

/// A bare activity about `object`, superseding what its kind supersedes in onair.
#[derive(serde::Serialize)]
struct TestActivity {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Url,
    object: Url,
}

impl Outgoing for TestActivity {
    fn ap_id(&self) -> &Url {
        &self.id
    }
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn object_id(&self) -> Option<&Url> {
        Some(&self.object)
    }
    fn supersedes(&self) -> &'static [&'static str] {
        match self.kind {
            "Delete" => SUPERSEDED_BY_DELETE,
            "Update" => SUPERSEDED_BY_UPDATE,
            _ => &[],
        }
    }
}

pub async fn send(
    app: &TestApp,
    stream_id: i64,
    kind: &'static str,
    object: &Url,
    n: u32,
    inboxes: Vec<Url>,
) {
    let id: Url = format!("{object}#{kind}-{n}").parse().unwrap();
    let out = TestActivity {
        kind,
        id,
        object: object.clone(),
    };
    let now = app.state.clock.now();
    app.state
        .db
        .write(move |c| enqueue(c, &out, Some(stream_id), inboxes, now))
        .await
        .unwrap();
}

pub async fn states(app: &TestApp) -> Vec<(String, i64)> {
    app.state
        .db
        .read(onair::db::models::Delivery::count_by_state)
        .await
        .unwrap()
}

/// The worker rests between polls on a hook the commit of queued deliveries fires: a go-live goes
/// out at once instead of at the next poll.
#[tokio::test(flavor = "multi_thread")]
async fn a_commit_that_queues_deliveries_wakes_the_worker() {
    use futures_util::FutureExt;
    let app = spawn_app().await;
    let (sink, _) = start_sink();
    let (stream_id, actor) = stream(&app).await;
    let woken = || app.state.db.deliveries_queued().now_or_never().is_some();
    assert!(!woken(), "a go-live without followers queues nothing");
    app.state.db.write(|_| Ok(())).await.unwrap();
    assert!(!woken(), "a write that queues nothing");
    let object: Url = format!("{actor}/broadcasts/1").parse().unwrap();
    let inbox: Url = format!("{sink}/inbox").parse().unwrap();
    send(&app, stream_id, "Create", &object, 1, vec![inbox]).await;
    assert!(woken(), "the commit that queued a delivery");
    if app.state.db.backend() == onair::db::Backend::Postgres {
        // The same commit's NOTIFY comes back through this process's listener too, a moment
        // later: let it arrive before looking at the next write.
        let echo = app.state.db.deliveries_queued();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), echo).await;
    }
    app.state.db.write(|_| Ok(())).await.unwrap();
    assert!(!woken(), "the next write, which queues nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn outcomes_retries_and_signatures() {
    let app = spawn_app().await;
    let (sink, seen) = start_sink();
    let (stream_id, actor) = stream(&app).await;
    let object: Url = format!("{actor}/broadcasts/1").parse().unwrap();
    let inbox = |p: &str| -> Url { format!("{sink}/{p}").parse().unwrap() };
    // The same inbox twice is one delivery.
    let inboxes = vec![
        inbox("a/inbox"),
        inbox("b/inbox"),
        inbox("a/inbox"),
        inbox("gone"),
        inbox("bad"),
        inbox("flaky"),
    ];
    send(&app, stream_id, "Create", &object, 1, inboxes).await;
    let step = app.deliver_due().await;
    assert_eq!(
        (step.delivered, step.retried, step.failed),
        (3, 1, 1),
        "{step:?}"
    );
    assert_eq!(seen.count("/a/inbox"), 1);
    assert!(
        app.deliver_due().await.is_idle(),
        "the retry is not due yet"
    );

    // Signed by the stream's key, verifiable with the key its actor document publishes.
    let (_, headers, body) = seen
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|(p, _, _)| p == "/a/inbox")
        .cloned()
        .unwrap();
    let h = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert!(h("signature").contains(&format!("keyId=\"{actor}#main-key\"")));
    let actor_doc: serde_json::Value = app
        .client
        .get(
            actor
                .as_str()
                .replace("http://localhost:8080", &app.url("")),
        )
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    verify(
        actor_doc["publicKey"]["publicKeyPem"].as_str().unwrap(),
        &h("signature"),
        &format!(
            "(request-target): post /a/inbox\nhost: {}\ndate: {}\ndigest: {}",
            h("host"),
            h("date"),
            h("digest")
        ),
    );
    assert_eq!(
        h("digest"),
        format!(
            "SHA-256={}",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body.as_bytes()))
        )
    );

    app.advance(120);
    let step = app.deliver_due().await;
    assert_eq!(step.retried, 1);
    assert_eq!(seen.count("/flaky"), 2, "retried after the backoff");
    assert_eq!(seen.count("/bad"), 1, "a 400 is final");

    // An admin can send failed deliveries again, and forget finished ones.
    let now = app.state.clock.now();
    let requeued = app
        .state
        .db
        .write(move |c| onair::db::models::Delivery::retry_failed(c, now))
        .await
        .unwrap();
    assert_eq!(requeued, 1);
    app.deliver_due().await;
    assert_eq!(seen.count("/bad"), 2);
    let purged = app
        .state
        .db
        .write(onair::db::models::Delivery::purge_finished)
        .await
        .unwrap();
    assert_eq!(
        purged, 4,
        "delivered a, b, gone and the failed bad; the flaky one is still pending"
    );
    assert_eq!(states(&app).await, [("pending".to_owned(), 1)]);
}

fn verify(public_pem: &str, signature_header: &str, signing_string: &str) {
    let sig = signature_header
        .split("signature=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    let sig = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .unwrap();
    RsaPublicKey::from_public_key_pem(public_pem)
        .unwrap()
        .verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(signing_string.as_bytes()),
            &sig,
        )
        .expect("the signature verifies with the published key");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_supersedes_a_pending_create_for_an_unreachable_inbox() {
    let app = spawn_app().await;
    let (sink, seen) = start_sink();
    let (stream_id, actor) = stream(&app).await;
    let object: Url = format!("{actor}/broadcasts/7").parse().unwrap();
    let flaky: Url = format!("{sink}/flaky").parse().unwrap();
    send(&app, stream_id, "Create", &object, 1, vec![flaky.clone()]).await;
    app.deliver_due().await;
    send(&app, stream_id, "Update", &object, 2, vec![flaky.clone()]).await;
    send(&app, stream_id, "Delete", &object, 3, vec![flaky.clone()]).await;
    assert!(
        states(&app).await.contains(&("superseded".to_owned(), 2)),
        "{:?}",
        states(&app).await
    );
    app.advance(3600);
    app.deliver_due().await;
    let kinds = seen.kinds();
    assert_eq!(
        kinds,
        ["Create", "Delete"],
        "after the first failed attempt only the Delete goes out"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_workers_share_one_queue_without_duplicates() {
    let app = spawn_app().await;
    let (sink, seen) = start_sink();
    let (stream_id, actor) = stream(&app).await;
    let object: Url = format!("{actor}/broadcasts/1").parse().unwrap();
    let inboxes: Vec<Url> = (0..300)
        .map(|i| format!("{sink}/u{i}/inbox").parse().unwrap())
        .collect();
    send(&app, stream_id, "Create", &object, 1, inboxes).await;
    let (a, b) = (
        app.worker_with(|l| l.total = 16),
        app.worker_with(|l| l.total = 16),
    );
    // Each steps until nothing is pending; a step that lost every claim to the other is idle.
    let app = &app;
    let drain = |w: Worker| async move {
        let mut delivered = 0;
        while states(app).await.iter().any(|(s, _)| s == "pending") {
            delivered += w.deliver_due().await.unwrap().delivered;
            tokio::task::yield_now().await;
        }
        delivered
    };
    let (da, db) = tokio::join!(drain(a), drain(b));
    assert_eq!(da + db, 300);
    assert!(da > 0 && db > 0, "both workers took part ({da} + {db})");
    let mut paths = seen.paths();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 300);
    assert_eq!(seen.paths().len(), 300, "no inbox got it twice");
}

/// Supersession through the real lifecycle: a follower is down while a stream goes on air and
/// off again; from then on it is sent the Delete only, never the stale Create.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_follower_never_gets_a_stale_go_live() {
    let app = spawn_app().await;
    let (sink, seen) = start_sink();
    let (stream_id, _) = stream(&app).await;
    // The stream from `stream()` is live; end that broadcast first.
    app.advance_and_reap(3600).await;
    let now = app.state.clock.now();
    let inbox = format!("{sink}/flaky");
    app.state
        .db
        .write(move |c| {
            onair::db::models::Follower::upsert(
                c,
                stream_id,
                "http://follower.example/u",
                &inbox,
                None,
                onair::db::models::FollowerState::Accepted,
                None,
                now,
            )
        })
        .await
        .unwrap();
    let token = app
        .state
        .db
        .write(move |c| onair::accounts::create_token(c, 1, "second", now).map(|(_, t)| t))
        .await
        .unwrap();
    let sid = app.add(&token, "Queue FM", "q").await;
    app.deliver_due().await;
    assert_eq!(
        seen.count("/flaky"),
        1,
        "the Create was tried while the follower was down"
    );
    app.yp(&token, &format!("action=remove&sid={sid}")).await;
    assert_eq!(app.advance_and_reap(91).await.ended, 1);
    assert!(
        states(&app).await.contains(&("superseded".to_owned(), 1)),
        "{:?}",
        states(&app).await
    );
    // Past the Create's backoff, what goes to the follower is the Delete alone.
    app.advance(3600);
    app.deliver_due().await;
    let kinds = seen.kinds();
    assert_eq!(
        kinds,
        ["Create", "Delete"],
        "after the failed first attempt, only the Delete"
    );
}

/// On PostgreSQL a commit that queues deliveries in one process wakes the workers of the others
/// (`LISTEN`/`NOTIFY`), instead of leaving them to their next poll. SQLite has one writing
/// process, whose own commits wake it (the test above).
#[tokio::test(flavor = "multi_thread")]
async fn a_commit_in_another_process_wakes_the_worker_on_postgresql() {
    use futures_util::FutureExt;
    let app = spawn_app().await;
    if app.state.db.backend() != onair::db::Backend::Postgres {
        eprintln!("skipped: LISTEN/NOTIFY is PostgreSQL's (run with ONAIR_TEST_DATABASE_URL)");
        return;
    }
    let (sink, _) = start_sink();
    let (stream_id, actor) = stream(&app).await;
    // Another process's view of the same database: its own pool, its own listener.
    let other = onair::db::Db::connect(&app.database_url, 2).unwrap();
    other.listen().await.unwrap();
    assert!(
        other.deliveries_queued().now_or_never().is_none(),
        "nothing queued yet"
    );
    let object: Url = format!("{actor}/broadcasts/1").parse().unwrap();
    let inbox: Url = format!("{sink}/inbox").parse().unwrap();
    send(&app, stream_id, "Create", &object, 1, vec![inbox]).await;
    tokio::time::timeout(std::time::Duration::from_secs(5), other.deliveries_queued())
        .await
        .expect("the other process is woken by the commit");
}
