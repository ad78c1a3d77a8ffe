//! What followers and fetchers see beyond go-live: broadcasts that end with an `Update` when the
//! stream keeps its posts, the actor `Update` on a profile change, and the paged outbox.

use onair::{
    db::models::{Follower, OnEnd, Stream},
    streams::settings,
};

use crate::{
    helpers::{TestApp, add_body, spawn_app},
    sinks::{Seen, start_sink},
};

/// A stream "Keep FM" with keys and one accepted follower whose inbox is a local sink; the stream
/// is off air. Returns the token, the stream's id and what the sink sees.
async fn followed_stream(app: &TestApp) -> (String, i64, Seen) {
    let token = app.broadcaster("alice").await;
    let sid = app.add(&token, "Keep FM", "keep").await;
    app.yp(&token, &format!("action=remove&sid={sid}")).await;
    app.advance_and_reap(3600).await;
    onair::keys::fill_missing(&app.state.db, &app.state.clock)
        .await
        .unwrap();
    let (sink, seen) = start_sink();
    let (inbox, now) = (format!("{sink}/inbox"), app.state.clock.now());
    let id = app
        .state
        .db
        .write(move |c| {
            let stream = Stream::find(c, 1)?.unwrap();
            let follower = "http://follower.example/u";
            Follower::upsert(
                c,
                1,
                follower,
                &inbox,
                None,
                onair::db::models::FollowerState::Accepted,
                None,
                now,
            )?;
            Ok(stream.id)
        })
        .await
        .unwrap();
    (token, id, seen)
}

async fn set_on_end(app: &TestApp, id: i64, on_end: OnEnd) {
    app.state
        .db
        .write(move |c| {
            let mut stream = Stream::find(c, id)?.unwrap();
            settings::set_on_end(c, &mut stream, on_end)
        })
        .await
        .unwrap();
}

/// With "end as Update", the follower gets an `Update` that marks the post as over; the Note
/// stays fetchable (200, not 410) and stays in the outbox.
#[tokio::test(flavor = "multi_thread")]
async fn a_stream_that_keeps_its_posts_ends_with_an_update() {
    let app = spawn_app().await;
    let (token, id, seen) = followed_stream(&app).await;
    set_on_end(&app, id, OnEnd::Update).await;
    let sid = app.add(&token, "Keep FM", "keep").await;
    app.deliver_due().await;
    app.yp(&token, &format!("action=remove&sid={sid}")).await;
    assert_eq!(app.advance_and_reap(91).await.ended, 1);
    app.deliver_due().await;
    assert_eq!(seen.kinds(), ["Create", "Update"]);
    let update = &seen.activities()[1];
    let note = &update["object"];
    assert_eq!(note["id"], "http://localhost:8080/broadcasts/2");
    assert_eq!(note["isLiveBroadcast"], false);
    assert!(note["endDate"].is_string(), "{note}");
    assert!(
        note["content"].as_str().unwrap().contains("was on air"),
        "{note}"
    );

    let (status, fetched) = app.get_ap("/broadcasts/2").await;
    assert_eq!(status, 200, "a kept post is still there: {fetched}");
    assert_eq!(
        (&fetched["type"], &fetched["isLiveBroadcast"]),
        (&"Note".into(), &false.into())
    );
    let (_, outbox) = app.get_ap("/streams/keep_fm/outbox").await;
    assert_eq!(
        outbox["totalItems"], 1,
        "broadcast 1 ended with a Delete: {outbox}"
    );
    let (status, _) = app.get_ap("/broadcasts/1").await;
    assert_eq!(status, 410, "the earlier broadcast was deleted");
}

/// A re-add with another name or genre is a profile change: followers get an `Update` of the
/// actor; so does switching follower approval. A re-add with the same profile sends nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_profile_change_updates_the_actor() {
    let app = spawn_app().await;
    let (token, id, seen) = followed_stream(&app).await;
    let listen = "http://radio.example:8000/keep";
    let answer = app
        .yp(&token, &add_body("Keep FM", listen, "Jazz Soul"))
        .await;
    assert!(answer.ok, "{}", answer.message);
    app.deliver_due().await;
    assert_eq!(seen.kinds(), ["Create"], "same profile: no actor Update");

    let sid = answer.sid.unwrap();
    app.yp(&token, &format!("action=remove&sid={sid}")).await;
    let answer = app
        .yp(&token, &add_body("Keep FM Two", listen, "Ambient"))
        .await;
    assert!(answer.ok, "{}", answer.message);
    app.deliver_due().await;
    assert_eq!(
        seen.kinds(),
        ["Create", "Update"],
        "re-add within the grace"
    );
    let actor = &seen.activities()[1]["object"];
    assert_eq!(actor["type"], "Service");
    assert_eq!(actor["id"], "http://localhost:8080/streams/keep_fm");
    assert_eq!(actor["name"], "Keep FM Two");
    assert!(actor["publicKey"]["publicKeyPem"].is_string(), "{actor}");
    assert!(
        actor.to_string().contains("Ambient"),
        "the genre field: {actor}"
    );

    let urls = app.state.urls.clone();
    let now = app.state.clock.now();
    app.state
        .db
        .write(move |c| {
            let mut stream = Stream::find(c, id)?.unwrap();
            settings::set_approval(c, &mut stream, true, &urls, now)?;
            // Setting it again is no change and no Update.
            settings::set_approval(c, &mut stream, true, &urls, now)
        })
        .await
        .unwrap();
    app.deliver_due().await;
    assert_eq!(seen.kinds(), ["Create", "Update", "Update"]);
    assert_eq!(
        seen.activities()[2]["object"]["manuallyApprovesFollowers"],
        true
    );
}

/// The outbox lists the `Create` of every broadcast whose post exists, newest first, twenty a
/// page; a deleted broadcast is not in it.
#[tokio::test(flavor = "multi_thread")]
async fn the_outbox_pages_through_the_posts() {
    let app = spawn_app().await;
    let (token, id, _) = followed_stream(&app).await;
    set_on_end(&app, id, OnEnd::Update).await;
    for _ in 0..21 {
        let sid = app.add(&token, "Keep FM", "keep").await;
        app.yp(&token, &format!("action=remove&sid={sid}")).await;
        assert_eq!(app.advance_and_reap(91).await.ended, 1);
    }
    set_on_end(&app, id, OnEnd::Delete).await;
    app.add(&token, "Keep FM", "keep").await;

    let (status, outbox) = app.get_ap("/streams/keep_fm/outbox").await;
    assert_eq!(status, 200);
    assert_eq!(outbox["type"], "OrderedCollection");
    assert_eq!(outbox["totalItems"], 22, "21 kept + 1 live: {outbox}");
    let first = outbox["first"].as_str().unwrap();
    let first = first.trim_start_matches("http://localhost:8080");
    let (_, page) = app.get_ap(first).await;
    assert_eq!(page["type"], "OrderedCollectionPage");
    assert_eq!(
        page["partOf"],
        "http://localhost:8080/streams/keep_fm/outbox"
    );
    let items = page["orderedItems"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert_eq!(items[0]["type"], "Create");
    assert_eq!(
        items[0]["object"]["id"], "http://localhost:8080/broadcasts/23",
        "newest first, the live one on top"
    );
    assert_eq!(items[0]["object"]["isLiveBroadcast"], true);
    assert_eq!(items[1]["object"]["isLiveBroadcast"], false);
    let next = page["next"].as_str().unwrap();
    let (_, last) = app
        .get_ap(next.trim_start_matches("http://localhost:8080"))
        .await;
    let items = last["orderedItems"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{last}");
    assert_eq!(
        items[1]["object"]["id"],
        "http://localhost:8080/broadcasts/2"
    );
    assert!(last.get("next").is_none(), "{last}");

    // Ending the live one with a Delete takes it out.
    let (status, _) = app.get_ap("/streams/keep_fm/outbox?page=maybe").await;
    assert_eq!(status, 400, "a malformed page parameter is refused");
    app.advance_and_reap(3600).await;
    let (_, outbox) = app.get_ap("/streams/keep_fm/outbox").await;
    assert_eq!(outbox["totalItems"], 21);
}

/// The id of a public activity we sent resolves to it, as sent; a Reject (who follows whom)
/// does not, nor does an id we never minted.
#[tokio::test(flavor = "multi_thread")]
async fn a_public_activity_is_served_at_its_id_and_a_private_one_is_not() {
    let app = spawn_app().await;
    let (token, id, seen) = followed_stream(&app).await;
    app.add(&token, "Keep FM", "keep").await;
    app.deliver_due().await;
    let sent: serde_json::Value = serde_json::from_str(&seen.0.lock().unwrap()[0].2).unwrap();
    assert_eq!(sent["type"], "Create");
    let path = url::Url::parse(sent["id"].as_str().unwrap())
        .unwrap()
        .path()
        .to_owned();
    assert!(path.starts_with("/activities/"), "{path}");
    assert_eq!(app.get_ap(&path).await, (200, sent.clone()));

    let (urls, now) = (app.state.urls.clone(), app.state.clock.now());
    app.state
        .db
        .write(move |c| {
            let stream = Stream::find(c, id)?.unwrap();
            onair::federation::follows::decide(
                c,
                &stream,
                "http://follower.example/u",
                onair::federation::follows::Decision::Remove,
                &urls,
                now,
            )
        })
        .await
        .unwrap();
    app.deliver_due().await;
    let reject: serde_json::Value =
        serde_json::from_str(&seen.0.lock().unwrap().last().unwrap().2).unwrap();
    assert_eq!(reject["type"], "Reject");
    let path = url::Url::parse(reject["id"].as_str().unwrap())
        .unwrap()
        .path()
        .to_owned();
    assert_eq!(app.get_ap(&path).await.0, 404);
    assert_eq!(app.get_ap("/activities/never-minted").await.0, 404);
}
