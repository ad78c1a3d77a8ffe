//! Relays (FEP-ae0c) round trip: the instance subscribes to a (stand-in) relay, its streams'
//! activities reach the relay's inbox, and what the relay passes on enters the catalog only as
//! far as the origin (another real onair app) confirms it.

use onair::federation::relays;

use crate::{
    fake_relay::start_relay,
    helpers::{TestApp, public_app},
};

/// The catalog as the API lists it: (handle, listen URL, title).
async fn remote_live(app: &TestApp) -> Vec<(String, String, Option<String>)> {
    let (_, body) = app.get_json("/api/v1/streams?origin=remote").await;
    body["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["handle"].as_str().unwrap().to_owned(),
                s["listen_url"].as_str().unwrap().to_owned(),
                s["title"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relay_round_trip_verified_at_the_origin() {
    let (x, x_port) = public_app().await;
    let (y, y_port) = public_app().await;
    let relay = start_relay().await;
    let x_inbox = format!("http://localhost:{x_port}/inbox");

    // X subscribes (the Mastodon kind: the relay's inbox) and the relay accepts.
    let data = onair::server::federation_config(&x.state)
        .await
        .unwrap()
        .to_request_data();
    let sub = relays::subscribe(&data, &relay.inbox.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (sub.kind.as_str(), sub.state.as_str()),
        ("relay", "pending")
    );
    x.deliver_due().await;
    let follow = relay.received.lock().unwrap()[0].clone();
    assert_eq!(follow["type"], "Follow");
    assert_eq!(
        follow["object"],
        "https://www.w3.org/ns/activitystreams#Public"
    );
    let accept = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#accepts/1", relay.actor),
        "type": "Accept", "actor": relay.actor, "object": follow["id"],
    });
    assert_eq!(relay.send(&x_inbox, &accept).await, 202);
    let subs = x
        .state
        .db
        .read(onair::db::models::Subscription::list)
        .await
        .unwrap();
    assert_eq!(subs[0].state, "accepted");

    // A LitePub relay follows the instance actor back, and later takes that back: both are
    // taken (2xx), the Undo too (a 404 would count against X in the relay's breaker).
    let instance = format!("http://localhost:{x_port}/actor");
    let follow_back = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#follows/1", relay.actor),
        "type": "Follow", "actor": relay.actor, "object": instance,
    });
    assert_eq!(relay.send(&x_inbox, &follow_back).await, 202);
    let undo_back = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#undos/1", relay.actor),
        "type": "Undo", "actor": relay.actor, "object": follow_back,
    });
    assert_eq!(relay.send(&x_inbox, &undo_back).await, 202);
    // The follow-back's Accept went out; nothing else changed.
    x.deliver_due().await;
    relay
        .received
        .lock()
        .unwrap()
        .retain(|a| a["type"] != "Accept");

    // A local stream of X goes on air: its Create reaches the relay's inbox.
    let token = x.broadcaster("xena").await;
    x.add(&token, "Local Live", "local").await;
    x.deliver_due().await;
    assert_eq!(relay.kinds(), ["Follow", "Create"]);
    let create = relay.received.lock().unwrap()[1].clone();
    assert_eq!(
        create["object"]["id"],
        format!("http://localhost:{x_port}/broadcasts/1")
    );

    // Y, another onair instance nobody here follows, is on air.
    let y_token = y.broadcaster("yann").await;
    let y_sid = y.add(&y_token, "Far Away FM", "far").await;
    onair::keys::fill_missing(&y.state.db, &y.state.clock)
        .await
        .unwrap();
    let y_actor = format!("http://localhost:{y_port}/streams/far_away_fm");
    let y_note = format!("http://localhost:{y_port}/broadcasts/1");
    let forwarded = |n: u32, note: &str, title: &str| {
        serde_json::json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("http://localhost:{y_port}/activities/relayed{n}"),
            "type": "Create", "actor": y_actor,
            "object": {
                "id": note, "type": "Note", "attributedTo": y_actor,
                "isLiveBroadcast": true, "contentUrl": "http://evil.example/fake",
                "nowPlaying": title,
            },
        })
    };
    // A Create the relay passes on (signed by the relay): X takes what Y serves, not what the
    // relay's copy says.
    assert_eq!(
        relay.send(&x_inbox, &forwarded(1, &y_note, "FAKE")).await,
        202
    );
    let handle = format!("far_away_fm@localhost:{y_port}");
    assert_eq!(
        remote_live(&x).await,
        [(
            handle.clone(),
            "http://radio.example:8000/far".to_owned(),
            None
        )]
    );
    // One for a Note Y does not have: nothing enters.
    let missing = format!("http://localhost:{y_port}/broadcasts/999");
    assert_eq!(
        relay.send(&x_inbox, &forwarded(2, &missing, "GHOST")).await,
        202
    );
    assert_eq!(remote_live(&x).await.len(), 1);
    // A relayed Delete while Y still serves the Note live: it stays.
    let delete = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("http://localhost:{y_port}/activities/relayed3"),
        "type": "Delete", "actor": y_actor, "object": y_note,
    });
    assert_eq!(relay.send(&x_inbox, &delete).await, 202);
    assert_eq!(remote_live(&x).await.len(), 1, "the origin says it is live");

    // A relay nobody here subscribed to is not believed, even about a Note that is live at Y.
    y.add(&y_token, "Second FM", "second").await;
    let second = format!("http://localhost:{y_port}/broadcasts/2");
    let stranger = start_relay().await;
    let mut passed_on = forwarded(4, &second, "Second");
    passed_on["actor"] = format!("http://localhost:{y_port}/streams/second_fm").into();
    passed_on["object"]["attributedTo"] = passed_on["actor"].clone();
    assert_eq!(stranger.send(&x_inbox, &passed_on).await, 202);
    assert_eq!(remote_live(&x).await.len(), 1, "only Far Away FM");
    assert_eq!(relay.send(&x_inbox, &passed_on).await, 202);
    assert_eq!(remote_live(&x).await.len(), 2, "the subscribed relay is");

    // A show of Y's, passed on by the relay: X takes it as Y serves it, and lets it go when Y
    // cancels it.
    let (y_urls, y_now) = (y.state.urls.clone(), y.state.clock.now());
    let input = onair::streams::shows::ShowInput {
        title: "Far Night".to_owned(),
        start: (y_now + chrono::Duration::days(1))
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        duration_minutes: Some(60),
        time_zone: "UTC".to_owned(),
        ..Default::default()
    };
    let u = y_urls.clone();
    let show = y
        .state
        .db
        .write(move |c| {
            let stream = onair::db::models::Stream::find(c, 1)?.unwrap();
            onair::streams::shows::add(c, &stream, &input, &u, y_now)
        })
        .await
        .unwrap();
    let event_id = format!("http://localhost:{y_port}/shows/{}", show.id);
    let relayed_event = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("http://localhost:{y_port}/activities/relayed-show"),
        "type": "Create", "actor": y_actor,
        "object": { "id": event_id, "type": "Event", "name": "FAKE", "attributedTo": y_actor,
            "startTime": "2026-01-01T00:00:00Z", "endTime": "2026-01-01T01:00:00Z" },
    });
    assert_eq!(relay.send(&x_inbox, &relayed_event).await, 202);
    let (_, shows) = x.get_json("/api/v1/shows?origin=remote").await;
    assert_eq!(shows["shows"][0]["title"], "Far Night", "{shows}");
    let id = show.id;
    y.state
        .db
        .write(move |c| {
            let stream = onair::db::models::Stream::find(c, 1)?.unwrap();
            onair::streams::shows::cancel(c, &stream, id, &y_urls, y_now)
        })
        .await
        .unwrap();
    let relayed_delete = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("http://localhost:{y_port}/activities/relayed-show-delete"),
        "type": "Delete", "actor": y_actor, "object": event_id,
    });
    assert_eq!(relay.send(&x_inbox, &relayed_delete).await, 202);
    let (_, shows) = x.get_json("/api/v1/shows?origin=remote").await;
    assert_eq!(shows["shows"], serde_json::json!([]), "{shows}");

    // The LitePub way: the relay Announces the Note after Y ended it; Y answers 410, so it goes.
    y.yp(&y_token, &format!("action=remove&sid={y_sid}")).await;
    assert_eq!(y.advance_and_reap(91).await.ended, 1);
    let announce = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#announces/1", relay.actor),
        "type": "Announce", "actor": relay.actor, "object": y_note,
    });
    assert_eq!(relay.send(&x_inbox, &announce).await, 202);
    let left: Vec<String> = remote_live(&x)
        .await
        .into_iter()
        .map(|(h, _, _)| h)
        .collect();
    assert_eq!(left, [format!("second_fm@localhost:{y_port}")]);

    // X unsubscribes: the relay gets the Undo of the very Follow it accepted, and what it
    // passes on afterwards is not taken.
    assert!(
        relays::unsubscribe(&data, &relay.inbox.parse().unwrap())
            .await
            .unwrap()
    );
    x.deliver_due().await;
    let undo = relay.received.lock().unwrap().last().unwrap().clone();
    assert_eq!(undo["type"], "Undo");
    assert_eq!(undo["object"]["id"], follow["id"]);
    assert_eq!(undo["object"]["object"], follow["object"]);
    let third = format!("http://localhost:{y_port}/broadcasts/3");
    y.add(&y_token, "Third FM", "third").await;
    let mut late = forwarded(5, &third, "Third");
    late["actor"] = format!("http://localhost:{y_port}/streams/third_fm").into();
    late["object"]["attributedTo"] = late["actor"].clone();
    let (_, at_origin) = y.get_ap("/broadcasts/3").await;
    assert_eq!(
        (&at_origin["attributedTo"], &at_origin["isLiveBroadcast"]),
        (&late["actor"], &serde_json::json!(true)),
        "Y serves what the relay passes on: a subscriber would take it"
    );
    assert_eq!(relay.send(&x_inbox, &late).await, 202);
    assert_eq!(remote_live(&x).await.len(), 1, "no longer subscribed");
    assert!(
        !relays::unsubscribe(&data, &relay.inbox.parse().unwrap())
            .await
            .unwrap(),
        "once"
    );
}

/// A LitePub relay: subscribed by its actor, it accepts and follows the instance actor back;
/// when it takes that follow back (`Undo`), the subscription ends (2xx, `rejected`) and no more
/// go-live posts are sent to it.
#[tokio::test(flavor = "multi_thread")]
async fn a_litepub_relays_undo_of_its_follow_back_ends_the_subscription() {
    let (x, x_port) = public_app().await;
    let relay = start_relay().await;
    let x_inbox = format!("http://localhost:{x_port}/inbox");
    let data = onair::server::federation_config(&x.state)
        .await
        .unwrap()
        .to_request_data();
    let sub = relays::subscribe(&data, &relay.actor.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(sub.kind.as_str(), "litepub-relay");
    x.deliver_due().await;
    let follow = relay.received.lock().unwrap()[0].clone();
    let accept = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#accepts/1", relay.actor),
        "type": "Accept", "actor": relay.actor, "object": follow,
    });
    assert_eq!(relay.send(&x_inbox, &accept).await, 202);
    let follow_back = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#follows/1", relay.actor),
        "type": "Follow", "actor": relay.actor, "object": format!("http://localhost:{x_port}/actor"),
    });
    assert_eq!(relay.send(&x_inbox, &follow_back).await, 202);
    x.deliver_due().await;
    let token = x.broadcaster("xena").await;
    let sid = x.add(&token, "Local Live", "local").await;
    x.deliver_due().await;
    assert_eq!(relay.kinds(), ["Follow", "Accept", "Create"]);

    let undo = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#undos/1", relay.actor),
        "type": "Undo", "actor": relay.actor, "object": follow_back,
    });
    assert_eq!(relay.send(&x_inbox, &undo).await, 202);
    let subs = x
        .state
        .db
        .read(onair::db::models::Subscription::list)
        .await
        .unwrap();
    assert_eq!(subs[0].state, "rejected");
    // The end of the broadcast is not sent to the relay any more.
    x.yp(&token, &format!("action=remove&sid={sid}")).await;
    x.advance_and_reap(91).await;
    x.deliver_due().await;
    assert_eq!(relay.kinds(), ["Follow", "Accept", "Create"]);
}
