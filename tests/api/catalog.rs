//! The federated catalog between two real onair apps on their own ports: B's instance actor
//! follows a stream of A through WebFinger; A's go-live, title change and end reach B's API;
//! A blocking B stops all of it.

use activitypub_federation::config::Data;
use onair::{
    blocks,
    catalog::refresh::{Refreshed, Refresher},
    db::models::BlockKind,
    delivery::worker::Worker,
    federation::subscribe::{self, Target},
    state::AppState,
};

use crate::helpers::{TestApp, public_app, touch_body};

/// B's live remote streams, as its API lists them: (handle, title).
async fn remote_live(app: &TestApp) -> Vec<(String, Option<String>)> {
    let (status, body) = app.get_json("/api/v1/streams?origin=remote").await;
    assert_eq!(status, 200, "{body}");
    body["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["handle"].as_str().unwrap().to_owned(),
                s["title"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// Instance A with a stream `night_jazz` (off air), and instance B whose instance actor follows
/// it (accepted).
struct Pair {
    a: TestApp,
    b: TestApp,
    a_port: u16,
    b_port: u16,
    token: String,
    a_worker: Worker,
    b_worker: Worker,
    b_data: Data<AppState>,
    target: Target,
}

async fn followed() -> Pair {
    let (a, a_port) = public_app().await;
    let (b, b_port) = public_app().await;
    let (a_worker, b_worker) = (a.worker(), b.worker());
    // A stream exists at A, off air, with its keys.
    let token = a.broadcaster("alice").await;
    let sid = a.add(&token, "Night Jazz", "jazz").await;
    a.yp(&token, &format!("action=remove&sid={sid}")).await;
    a.advance_and_reap(3600).await;
    onair::keys::fill_missing(&a.state.db, &a.state.clock)
        .await
        .unwrap();

    // B's admin follows it by handle: WebFinger, the actor, then a Follow from B's /actor.
    let b_data = onair::server::federation_config(&b.state)
        .await
        .unwrap()
        .to_request_data();
    let target = Target::parse(&format!("@night_jazz@localhost:{a_port}")).unwrap();
    let sub = subscribe::follow(&b_data, &target).await.unwrap();
    assert_eq!(sub.state, "pending");
    assert_eq!(b_worker.deliver_due().await.unwrap().delivered, 1, "Follow");
    assert_eq!(a_worker.deliver_due().await.unwrap().delivered, 1, "Accept");
    let subs = b
        .state
        .db
        .read(onair::db::models::Subscription::list)
        .await
        .unwrap();
    assert_eq!(subs[0].state, "accepted");
    let (_, all) = b.get_json("/api/v1/streams?origin=remote&status=all").await;
    assert_eq!(all["streams"][0]["status"], "offline", "{all}");
    assert_eq!(all["streams"][0]["name"], "Night Jazz");
    assert_eq!(all["streams"][0]["origin"], format!("localhost:{a_port}"));
    assert_eq!(
        all["streams"][0]["actor"],
        format!("http://localhost:{a_port}/streams/night_jazz")
    );
    assert!(remote_live(&b).await.is_empty());
    Pair {
        a,
        b,
        a_port,
        b_port,
        token,
        a_worker,
        b_worker,
        b_data,
        target,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_follows_a_stream_of_another_and_lists_what_it_broadcasts() {
    let Pair {
        a,
        b,
        a_port,
        b_port,
        token,
        a_worker,
        b_worker,
        b_data,
        target,
    } = followed().await;

    // A goes on air through its YP endpoint: B lists it live.
    let sid = a.add(&token, "Night Jazz", "jazz").await;
    assert_eq!(a_worker.deliver_due().await.unwrap().delivered, 1, "Create");
    let handle = format!("night_jazz@localhost:{a_port}");
    assert_eq!(remote_live(&b).await, [(handle.clone(), None)]);
    let (_, one) = b.get_json(&format!("/api/v1/streams/{handle}")).await;
    assert_eq!(one["listen_url"], "http://radio.example:8000/jazz", "{one}");
    assert_eq!(one["genres"], serde_json::json!(["Jazz", "Soul"]));
    let (_, local) = b.get_json("/api/v1/streams?origin=local").await;
    assert_eq!(
        local["streams"],
        serde_json::json!([]),
        "B has no local stream"
    );

    // A title change reaches B (on a stream whose titles edit its post).
    a.edit_titles("night_jazz").await;
    a.advance(601);
    a.yp(&token, &touch_body(&sid, "Miles Davis \u{2013} So What", 3))
        .await;
    assert_eq!(a_worker.deliver_due().await.unwrap().delivered, 1, "Update");
    assert_eq!(
        remote_live(&b).await,
        [(
            handle.clone(),
            Some("Miles Davis \u{2013} So What".to_owned())
        )]
    );

    // The end at A: it leaves B's live list.
    a.yp(&token, &format!("action=remove&sid={sid}")).await;
    assert_eq!(a.advance_and_reap(91).await.ended, 1);
    assert_eq!(a_worker.deliver_due().await.unwrap().delivered, 1, "Delete");
    assert!(remote_live(&b).await.is_empty());

    // A blocks B's domain: B is no longer a follower, nothing more reaches it, and B's requests
    // are refused.
    let (b_domain, now) = (format!("localhost:{b_port}"), a.state.clock.now());
    a.state
        .db
        .write(move |c| blocks::block(c, BlockKind::Domain, &b_domain, now))
        .await
        .unwrap();
    a.state.blocks.invalidate();
    a.add(&token, "Night Jazz", "jazz").await;
    let step = a_worker.deliver_due().await.unwrap();
    assert_eq!(
        step.delivered + step.failed,
        0,
        "no follower left at B: {step:?}"
    );
    assert!(remote_live(&b).await.is_empty());
    subscribe::follow(&b_data, &target).await.unwrap();
    let step = b_worker.deliver_due().await.unwrap();
    assert_eq!(step.failed, 1, "A refuses B's Follow with a 403: {step:?}");
    let inbox = reqwest::Client::new()
        .post(a.url("/inbox"))
        .header("signature", format!(r#"keyId="http://localhost:{b_port}/actor#main-key",headers="(request-target) host date digest",signature="AA==""#))
        .header("date", chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .header("digest", "SHA-256=RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.status(), 403);
}

/// Unfollowing: the entry leaves B's catalog at once, A gets the Undo of B's Follow and stops
/// counting B, and A's next go-live goes nowhere.
#[tokio::test(flavor = "multi_thread")]
async fn unfollowing_removes_us_there_and_the_stream_here() {
    let Pair {
        a,
        b,
        token,
        a_worker,
        b_worker,
        b_data,
        target,
        ..
    } = followed().await;
    let followers_at_a = async || {
        a.state
            .db
            .read(|c| onair::db::models::Follower::count_accepted(c, 1))
            .await
            .unwrap()
    };
    assert_eq!(followers_at_a().await, 1);
    let sid = a.add(&token, "Night Jazz", "jazz").await;
    assert_eq!(a_worker.deliver_due().await.unwrap().delivered, 1, "Create");
    assert_eq!(remote_live(&b).await.len(), 1);

    assert!(subscribe::unfollow(&b_data, &target).await.unwrap());
    assert!(remote_live(&b).await.is_empty(), "gone here at once");
    assert_eq!(b_worker.deliver_due().await.unwrap().delivered, 1, "Undo");
    assert_eq!(followers_at_a().await, 0, "A no longer counts B");
    a.yp(&token, &format!("action=remove&sid={sid}")).await;
    assert_eq!(a.advance_and_reap(91).await.ended, 1);
    a.add(&token, "Night Jazz", "jazz").await;
    assert_eq!(
        a_worker.deliver_due().await.unwrap(),
        onair::delivery::worker::Step::default(),
        "nothing goes to B any more"
    );
    assert!(
        !subscribe::unfollow(&b_data, &target).await.unwrap(),
        "once"
    );
}

/// Entries whose origin fell silent are checked there: still live stays, ended goes (even when
/// the Delete never arrived), an origin that does not answer is hidden after a while.
#[tokio::test(flavor = "multi_thread")]
async fn quiet_entries_are_checked_at_their_origin() {
    let Pair {
        a,
        b,
        a_port,
        token,
        a_worker,
        ..
    } = followed().await;
    let refresher = Refresher::new(&b.state);
    let sid = a.add(&token, "Night Jazz", "jazz").await;
    a_worker.deliver_due().await.unwrap();
    assert_eq!(remote_live(&b).await.len(), 1);
    assert_eq!(
        refresher.pass().await.unwrap(),
        Refreshed::default(),
        "heard just now"
    );

    // Ten minutes without news: B asks A, which says the broadcast is still live.
    b.advance(601);
    let pass = refresher.pass().await.unwrap();
    assert_eq!(pass.live, 1, "{pass:?}");
    assert_eq!(remote_live(&b).await.len(), 1);

    // It ends at A but the Delete is not delivered: the next check finds it gone (410).
    a.yp(&token, &format!("action=remove&sid={sid}")).await;
    assert_eq!(a.advance_and_reap(91).await.ended, 1);
    b.advance(601);
    assert_eq!(refresher.pass().await.unwrap().removed, 1);
    assert!(remote_live(&b).await.is_empty());

    // An origin that stops answering: the entry stays listed until hide_after, then is hidden.
    // (The lost Delete goes out now too; the entry it names is gone already.)
    a.add(&token, "Night Jazz", "jazz").await;
    a_worker.deliver_due().await.unwrap();
    assert_eq!(remote_live(&b).await.len(), 1);
    let dead = format!(
        "http://localhost:{}/broadcasts/999",
        crate::helpers::free_port()
    );
    let live = format!("http://localhost:{a_port}/broadcasts/");
    b.state
        .db
        .write(move |c| {
            use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl, TextExpressionMethods};
            use onair::db::schema::remote_broadcasts as rb;
            diesel::update(rb::table.filter(rb::object_id.like(format!("{live}%"))))
                .set(rb::object_id.eq(&dead))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    b.advance(601);
    assert_eq!(refresher.pass().await.unwrap().unreachable, 1);
    assert_eq!(remote_live(&b).await.len(), 1, "not hidden yet");
    for _ in 0..3 {
        b.advance(601);
        assert_eq!(refresher.pass().await.unwrap().unreachable, 1);
    }
    assert!(remote_live(&b).await.is_empty(), "hidden after 30 minutes");
}

/// A Note in the catalog belongs to the stream that announced it first: another stream (another
/// port on the same host, say) announcing the same id takes nothing over.
#[tokio::test]
async fn a_stream_cannot_take_over_another_streams_entry() {
    use onair::db::models::{
        NewRemoteBroadcast, RemoteBroadcast, RemoteStream, RemoteStreamProfile,
    };
    let app = crate::helpers::spawn_app().await;
    let now = app.state.clock.now();
    let taken = app
        .state
        .db
        .write(move |c| {
            let stream = |actor: &str, host: &str| RemoteStreamProfile {
                actor_id: actor.to_owned(),
                host: host.to_owned(),
                handle: "s".to_owned(),
                name: actor.to_owned(),
                summary: String::new(),
                icon: None,
                url: None,
                genres: String::new(),
                updated_at: now,
            };
            let real =
                RemoteStream::upsert(c, &stream("https://radio.example/s", "radio.example"))?;
            let other = RemoteStream::upsert(
                c,
                &stream("https://radio.example:8443/s", "radio.example:8443"),
            )?;
            let note = |owner: i64, title: &str| NewRemoteBroadcast {
                remote_stream_id: owner,
                object_id: "https://radio.example/broadcasts/7".to_owned(),
                live: true,
                title: title.to_owned(),
                listen_url: "https://radio.example/live".to_owned(),
                content_type: "audio/mpeg".to_owned(),
                bitrate: None,
                started_at: now,
                heard_at: now,
            };
            let first = RemoteBroadcast::upsert(c, &note(real, "real"))?;
            let second = RemoteBroadcast::upsert(c, &note(other, "stolen"))?;
            let kept = RemoteBroadcast::find(c, "https://radio.example/broadcasts/7")?.unwrap();
            Ok((first, second, kept.remote_stream_id == real, kept.title))
        })
        .await
        .unwrap();
    assert_eq!(taken, (true, false, true, "real".to_owned()));
}

/// B's upcoming remote shows, as its API lists them: (title, live).
async fn remote_shows(app: &TestApp) -> Vec<(String, bool)> {
    let (status, body) = app.get_json("/api/v1/shows?origin=remote").await;
    assert_eq!(status, 200, "{body}");
    body["shows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["title"].as_str().unwrap().to_owned(), s["live"] == true))
        .collect()
}

/// A show scheduled at A reaches B's upcoming list (API and home page, beside B's own), is live
/// there while A broadcasts it, not after, and leaves when A cancels it.
#[tokio::test(flavor = "multi_thread")]
async fn a_followed_streams_show_is_upcoming_then_live_then_gone() {
    let Pair {
        a,
        b,
        a_port,
        token,
        a_worker,
        ..
    } = followed().await;
    let (urls, now) = (a.state.urls.clone(), a.state.clock.now());
    let input = onair::streams::shows::ShowInput {
        title: "Night Owls".to_owned(),
        description: "Late records".to_owned(),
        start: (now + chrono::Duration::minutes(10))
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        duration_minutes: Some(60),
        time_zone: "UTC".to_owned(),
        ..Default::default()
    };
    let u = urls.clone();
    let show = a
        .state
        .db
        .write(move |c| {
            let stream = onair::db::models::Stream::find(c, 1)?.unwrap();
            onair::streams::shows::add(c, &stream, &input, &u, now)
        })
        .await
        .unwrap();
    assert_eq!(
        a_worker.deliver_due().await.unwrap().delivered,
        1,
        "Create of the Event"
    );
    assert_eq!(remote_shows(&b).await, [("Night Owls".to_owned(), false)]);
    let home = b.get_text("/").await;
    assert!(
        home.contains("Night Owls") && home.contains(&format!("localhost:{a_port}")),
        "{home}"
    );

    // A goes on air within the show's window: B sees the show live.
    a.advance(5 * 60);
    let sid = a.add(&token, "Night Jazz", "jazz").await;
    a_worker.deliver_due().await.unwrap();
    assert_eq!(remote_shows(&b).await, [("Night Owls".to_owned(), true)]);
    a.yp(&token, &format!("action=remove&sid={sid}")).await;
    a.advance_and_reap(91).await;
    a_worker.deliver_due().await.unwrap();
    assert_eq!(remote_shows(&b).await, [("Night Owls".to_owned(), false)]);

    let id = show.id;
    a.state
        .db
        .write(move |c| {
            let stream = onair::db::models::Stream::find(c, 1)?.unwrap();
            onair::streams::shows::cancel(c, &stream, id, &urls, now)
        })
        .await
        .unwrap();
    a_worker.deliver_due().await.unwrap();
    assert!(remote_shows(&b).await.is_empty(), "a cancelled show leaves");
}
