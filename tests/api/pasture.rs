//! The fediverse-pasture-inputs corpus (262 real-world object shapes, sent as signed `Create`s
//! by pasture's one_actor) against a stream's inbox: no 5xx, the server keeps answering, and
//! nothing enters the catalog. The sender is made a followed stream first, so what keeps the
//! shapes out is that none of them states a live broadcast.

use std::process::Command;

use onair::db::models::{RemoteStream, RemoteStreamProfile, Subscription};

use crate::helpers::{Guard, free_port, heavy, in_ci, poll, public_app};

/// The Python that has fediverse-pasture, or `None` (with the reason printed) outside CI.
fn pasture_python() -> Option<String> {
    let python = std::env::var("ONAIR_PASTURE_PYTHON")
        .unwrap_or_else(|_| "/tmp/peers/venv-pasture/bin/python".to_owned());
    let present = Command::new(&python)
        .args(["-c", "import fediverse_pasture, fediverse_pasture_inputs"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Some(python);
    }
    assert!(
        !in_ci(),
        "fediverse-pasture and its inputs are required under CI=true (.ci/run installs them)"
    );
    eprintln!(
        "skipped: fediverse-pasture not importable by {python} (see ../shared/peers/PEERS.md)"
    );
    None
}

/// One metric's value from `/metrics` text.
fn metric(text: &str, line_start: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pasture_inputs_corpus_causes_no_server_error_and_enters_no_catalog() {
    let Some(python) = pasture_python() else {
        return;
    };
    let _turn = heavy().await;
    let (app, port) = public_app().await;
    let token = app.broadcaster("alice").await;
    app.add(&token, "Blast FM", "blast").await;
    let work = tempfile::tempdir().unwrap();
    let actor_port = free_port();
    let log = std::fs::File::create(work.path().join("one_actor.log")).unwrap();
    let _actor = Guard(
        Command::new(&python)
            .args([
                "-m",
                "fediverse_pasture.one_actor",
                "--port",
                &actor_port.to_string(),
            ])
            .current_dir(work.path())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let actor_url = format!("http://localhost:{actor_port}/actor");
    poll("one_actor answers", async || {
        reqwest::get(&actor_url)
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;

    // As if `onair remote follow` had been accepted.
    let (followed, now) = (actor_url.clone(), app.state.clock.now());
    app.state
        .db
        .write(move |c| {
            Subscription::upsert(
                c,
                &followed,
                &format!("{followed}/inbox"),
                onair::db::models::SubscriptionKind::Stream,
                "x:f",
                now,
            )?;
            let sub = Subscription::find(c, &followed)?.unwrap();
            Subscription::set_state(
                c,
                sub.id,
                onair::db::models::SubscriptionState::Accepted,
                now,
            )?;
            let profile = RemoteStreamProfile {
                actor_id: followed.clone(),
                host: format!("localhost:{actor_port}"),
                handle: "actor".to_owned(),
                name: "pasture".to_owned(),
                summary: String::new(),
                icon: None,
                url: None,
                genres: String::new(),
                updated_at: now,
            };
            RemoteStream::upsert(c, &profile).map(|_| ())
        })
        .await
        .unwrap();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/pasture_blast.py");
    let (dir, domain) = (
        work.path().to_owned(),
        format!("http://localhost:{actor_port}"),
    );
    let target = format!("acct:blast_fm@localhost:{port}");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .args([script, &domain, &target])
            .current_dir(dir)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout
        .lines()
        .find_map(|l| l.strip_prefix("total "))
        .unwrap_or_else(|| {
            panic!(
                "no summary: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let (total, sent) = summary.split_once(" sent ").unwrap();
    let (total, sent): (u64, u64) = (total.parse().unwrap(), sent.parse().unwrap());
    assert!(total >= 250, "the whole corpus: {summary}");

    let metrics = app.get_text("/metrics").await;
    let accepted = metric(&metrics, "onair_inbox_requests_total{result=\"accepted\"} ");
    let errors = metric(&metrics, "onair_inbox_requests_total{result=\"error\"} ");
    assert_eq!(errors, 0, "no 5xx:\n{metrics}\n{stdout}");
    assert!(
        accepted >= sent && sent * 10 >= total * 9,
        "at least nine in ten shapes are taken (verified, 202): sent {sent} of {total}, \
         accepted {accepted}\n{stdout}"
    );
    assert_eq!(app.get_text("/healthz").await.trim(), "ok", "still serving");
    eprintln!(
        "pasture inputs: {total} sent, {sent} accepted by the inbox (202), {errors} server errors"
    );
    let (_, catalog) = app
        .get_json("/api/v1/streams?origin=remote&status=all")
        .await;
    let streams = catalog["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 1, "{catalog}");
    assert_eq!(streams[0]["status"], "offline", "nothing live: {catalog}");
}
