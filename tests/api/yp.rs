//! The YP lifecycle and bad input, through HTTP.

use crate::helpers::{add_body, spawn_app, spawn_app_with, touch_body};

#[tokio::test]
async fn add_touch_remove_and_a_re_add_within_the_grace_continues_the_broadcast() {
    let app = spawn_app_with(|c| c.yp.end_grace = 90).await;
    let token = app.broadcaster("alice").await;
    let first = app
        .yp(
            &token,
            &add_body("Night Jazz", "http://radio.example:8000/jazz.mp3", "jazz"),
        )
        .await;
    assert!(first.ok, "{}", first.message);
    assert_eq!(first.message, "Added as @night_jazz");
    assert_eq!(first.touch_freq, Some(30));
    let sid = first.sid.unwrap();
    let s = app.stream("night_jazz").await;
    assert_eq!(
        (s["status"].as_str(), s["name"].as_str()),
        (Some("live"), Some("Night Jazz"))
    );
    let started = s["started_at"].clone();

    let touched = app
        .yp(&token, &touch_body(&sid, "Miles Davis - So What", 7))
        .await;
    assert!(touched.ok, "{}", touched.message);
    let s = app.stream("night_jazz").await;
    assert_eq!(
        (s["title"].as_str(), s["listeners"].as_i64()),
        (Some("Miles Davis - So What"), Some(7))
    );

    assert!(app.yp(&token, &format!("action=remove&sid={sid}")).await.ok);
    assert_eq!(app.stream("night_jazz").await["status"], "ending");
    let gone = app.yp(&token, &touch_body(&sid, "x", 0)).await;
    assert!(!gone.ok, "a removed SID is no longer touched");

    // Icecast re-adds 60 s after a source reconnects: same broadcast, same start, new SID.
    app.advance_and_reap(60).await;
    let again = app
        .yp(
            &token,
            &add_body("Night Jazz", "http://radio.example:8000/jazz.mp3", "jazz"),
        )
        .await;
    assert!(again.ok);
    assert_ne!(again.sid.as_deref(), Some(sid.as_str()));
    let s = app.stream("night_jazz").await;
    assert_eq!(
        (s["status"].as_str(), &s["started_at"]),
        (Some("live"), &started)
    );

    // Past the grace, a remove ends the broadcast and the next add starts a new one.
    assert!(
        app.yp(&token, &format!("action=remove&sid={}", again.sid.unwrap()))
            .await
            .ok
    );
    assert_eq!(app.advance_and_reap(91).await.ended, 1);
    let s = app.stream("night_jazz").await;
    assert_eq!(
        (s["status"].as_str(), &s["started_at"], &s["title"]),
        (
            Some("offline"),
            &serde_json::Value::Null,
            &serde_json::Value::Null
        )
    );
    app.advance_and_reap(5).await;
    assert!(
        app.yp(
            &token,
            &add_body("Night Jazz", "http://radio.example:8000/jazz.mp3", "jazz")
        )
        .await
        .ok
    );
    assert_ne!(app.stream("night_jazz").await["started_at"], started);
}

#[tokio::test]
async fn a_repeated_add_replaces_the_sid_and_a_silent_stream_is_reaped() {
    let app = spawn_app_with(|c| {
        c.yp.touch_freq = 10;
        c.yp.missed_touches = 3;
    })
    .await;
    let token = app.broadcaster("alice").await;
    let old = app.add(&token, "Radio One", "one").await;
    let new = app.add(&token, "Radio One", "one").await;
    assert_ne!(old, new);
    let stale = app.yp(&token, &touch_body(&old, "t", 1)).await;
    assert!(!stale.ok);
    assert!(
        stale.message.contains("SID is unknown"),
        "{}",
        stale.message
    );
    assert!(app.yp(&token, &touch_body(&new, "t", 1)).await.ok);

    assert_eq!(app.advance_and_reap(29).await.silent, 0, "29 s < 3 × 10 s");
    assert!(app.yp(&token, &touch_body(&new, "t", 1)).await.ok);
    assert_eq!(app.advance_and_reap(31).await.silent, 1);
    assert_eq!(app.stream("radio_one").await["status"], "offline");
    assert!(
        !app.yp(&token, &touch_body(&new, "t", 1)).await.ok,
        "Icecast must re-add after the reaper"
    );
}

#[tokio::test]
async fn revoked_tokens_and_disabled_accounts_stop_at_once() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    let sid = app.add(&token, "Radio One", "one").await;
    let now = app.state.clock.now();
    app.state
        .db
        .write(move |c| onair::db::models::YpToken::revoke(c, 1, now))
        .await
        .unwrap();
    let refused = app.yp(&token, &touch_body(&sid, "t", 1)).await;
    assert!(!refused.ok);
    assert!(
        refused.message.contains("unknown or was revoked"),
        "{}",
        refused.message
    );

    let other = app.broadcaster("bob").await;
    assert!(
        app.yp(
            &other,
            &add_body("Bob FM", "http://radio.example/bob", "pop")
        )
        .await
        .ok
    );
    app.state
        .db
        .write(move |c| onair::db::models::User::disable(c, "bob", now))
        .await
        .unwrap();
    assert!(
        !app.yp(
            &other,
            &add_body("Bob FM", "http://radio.example/bob", "pop")
        )
        .await
        .ok
    );
}

#[tokio::test]
async fn a_broadcaster_cannot_touch_or_remove_another_ones_stream() {
    let app = spawn_app().await;
    let (alice, bob) = (app.broadcaster("alice").await, app.broadcaster("bob").await);
    let sid = app.add(&alice, "Radio One", "one").await;
    assert!(!app.yp(&bob, &touch_body(&sid, "hijacked", 1)).await.ok);
    assert!(!app.yp(&bob, &format!("action=remove&sid={sid}")).await.ok);
    let s = app.stream("radio_one").await;
    assert_eq!(
        (s["status"].as_str(), &s["title"]),
        (Some("live"), &serde_json::Value::Null)
    );
}

#[tokio::test]
async fn handles_are_unique_across_broadcasters_and_stable() {
    let app = spawn_app().await;
    let (alice, bob) = (app.broadcaster("alice").await, app.broadcaster("bob").await);
    assert_eq!(
        app.yp(&alice, &add_body("Jazz", "http://a.example/live", ""))
            .await
            .message,
        "Added as @jazz"
    );
    assert_eq!(
        app.yp(&bob, &add_body("Jazz", "http://b.example/live", ""))
            .await
            .message,
        "Added as @jazz_2"
    );
    // A new name for the same listen URL keeps the handle.
    assert_eq!(
        app.yp(
            &alice,
            &add_body("Jazz & More", "http://a.example/live", "")
        )
        .await
        .message,
        "Added as @jazz"
    );
    assert_eq!(app.stream("jazz").await["name"], "Jazz & More");
}

#[tokio::test]
async fn the_per_user_stream_limit_applies_to_new_listen_urls_only() {
    let app = spawn_app_with(|c| c.max_streams_per_user = 2).await;
    let token = app.broadcaster("alice").await;
    app.add(&token, "One", "one").await;
    app.add(&token, "Two", "two").await;
    let third = app
        .yp(
            &token,
            &add_body("Three", "http://radio.example:8000/three", ""),
        )
        .await;
    assert!(!third.ok);
    assert!(
        third.message.contains("already has 2 streams"),
        "{}",
        third.message
    );
    app.add(&token, "One", "one").await;
}

#[tokio::test]
async fn private_listen_urls_are_refused_by_default() {
    let app = spawn_app_with(|c| c.allow_private_networks = false).await;
    let token = app.broadcaster("alice").await;
    let answer = app
        .yp(&token, &add_body("Home", "http://localhost:8000/live", ""))
        .await;
    assert!(!answer.ok);
    assert!(answer.message.contains("<hostname>"), "{}", answer.message);
    assert!(
        app.yp(
            &token,
            &add_body("Home", "http://radio.example:8000/live", "")
        )
        .await
        .ok
    );
}

#[tokio::test]
async fn bad_input_gets_yp_response_0_with_a_message_never_an_http_error() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    let cases: Vec<(String, String, &str)> = vec![
        (token.clone(), "action=list".into(), "unknown action"),
        (token.clone(), "sn=x".into(), "missing action"),
        (
            token.clone(),
            "action=add&type=audio%2fmpeg&listenurl=http%3a%2f%2fa%2eexample".into(),
            "missing sn",
        ),
        (
            token.clone(),
            "action=add&sn=Unspecified%20name&type=audio%2fmpeg&listenurl=http%3a%2f%2fa%2eexample"
                .into(),
            "default stream name",
        ),
        (
            token.clone(),
            "action=add&sn=%c3%28&type=audio%2fmpeg&listenurl=http%3a%2f%2fa%2eexample".into(),
            "not valid UTF-8",
        ),
        (
            token.clone(),
            "action=touch&sid=nope&st=x".into(),
            "SID is unknown",
        ),
        (token.clone(), "action=remove&sid=".into(), "sid is missing"),
        (
            token.clone(),
            format!("action=add&sn={}", "x".repeat(17 * 1024)),
            "larger than 16 KiB",
        ),
        (
            "not-a-token!".into(),
            add_body("X", "http://a.example/x", ""),
            "unknown or was revoked",
        ),
        (
            "A".repeat(43),
            add_body("X", "http://a.example/x", ""),
            "unknown or was revoked",
        ),
    ];
    for (token, body, expected) in cases {
        let answer = app.yp(&token, &body).await;
        assert!(!answer.ok, "{body:.60}");
        assert!(
            answer.message.contains(expected),
            "{body:.60}: {}",
            answer.message
        );
        assert!(answer.sid.is_none());
    }
    // Chunked, so no Content-Length warns us: the cap still holds.
    let mut conn = crate::helpers::RawConn::connect(app.addr).await;
    let chunk = "x".repeat(8192);
    let chunked = format!(
        "POST /api/icecast/yp/{token} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n{len:x}\r\naction=add&sn={chunk}\r\n{len2:x}\r\n{chunk}\r\n{len2:x}\r\n{chunk}\r\n0\r\n\r\n",
        len = chunk.len() + 14,
        len2 = chunk.len()
    );
    let res = conn.send(chunked.as_bytes()).await;
    assert_eq!(res.header("ypresponse"), Some("0"), "{}", res.head);
    assert!(
        res.header("ypmessage")
            .unwrap()
            .contains("larger than 16 KiB")
    );

    let near_miss = app
        .client
        .post(app.url(&format!("/api/icecast/yp/{token}/")))
        .body("action=touch&sid=x")
        .send()
        .await
        .unwrap();
    assert_eq!(near_miss.headers()["YPResponse"], "0");
    assert!(
        near_miss.headers()["YPMessage"]
            .to_str()
            .unwrap()
            .contains("copy <yp-url> exactly")
    );

    let res = app
        .client
        .get(app.url(&format!("/api/icecast/yp/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["YPResponse"], "0");
    assert!(
        res.headers()["YPMessage"]
            .to_str()
            .unwrap()
            .contains("<yp-url>")
    );
}

#[tokio::test]
async fn a_database_failure_answers_yp_response_0_and_is_counted() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    app.state
        .db
        .write(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("DROP TABLE broadcasts").execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let answer = app
        .yp(&token, &add_body("X", "http://a.example/x", ""))
        .await;
    assert!(!answer.ok);
    assert!(
        answer.message.contains("temporarily unavailable"),
        "{}",
        answer.message
    );
    let metrics = app.get_text("/metrics").await;
    assert!(
        metrics.contains(r#"onair_yp_requests_total{action="add",result="error"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_action_and_result_and_live_streams() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    let sid = app.add(&token, "One", "one").await;
    app.add(&token, "Two", "two").await;
    app.yp(&token, &touch_body(&sid, "t", 1)).await;
    app.yp(&token, &touch_body("unknown", "t", 1)).await;
    app.yp(&token, "action=nope").await;
    let metrics = app.get_text("/metrics").await;
    for line in [
        r#"onair_yp_requests_total{action="add",result="ok"} 2"#,
        r#"onair_yp_requests_total{action="touch",result="ok"} 1"#,
        r#"onair_yp_requests_total{action="touch",result="refused"} 1"#,
        r#"onair_yp_requests_total{action="invalid",result="refused"} 1"#,
        "onair_live_streams 2",
    ] {
        assert!(metrics.contains(line), "missing {line} in\n{metrics}");
    }
}
