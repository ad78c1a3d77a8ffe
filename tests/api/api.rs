//! The public JSON API, /healthz and unknown routes.

use crate::helpers::{add_body, spawn_app, touch_body};

#[tokio::test]
async fn listing_filters_by_status_genre_and_text_and_pages_with_a_cursor() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    for (name, genre) in [
        ("Jazz One", "Jazz Soul"),
        ("Rock Two", "rock,indie"),
        ("Jazz Three", "jazz"),
    ] {
        let mount = name.to_lowercase().replace(' ', "_");
        let answer = app
            .yp(
                &token,
                &add_body(name, &format!("http://radio.example/{mount}"), genre),
            )
            .await;
        assert!(answer.ok);
        if name == "Rock Two" {
            app.yp(
                &token,
                &touch_body(&answer.sid.unwrap(), "The 100% Song", 3),
            )
            .await;
        }
    }
    let off = app
        .yp(
            &token,
            &add_body("Offline Four", "http://radio.example/off", "jazz"),
        )
        .await;
    app.yp(&token, &format!("action=remove&sid={}", off.sid.unwrap()))
        .await;

    let handles = |body: &serde_json::Value| -> Vec<String> {
        body["streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["handle"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, live) = app.get_json("/api/v1/streams").await;
    assert_eq!(
        handles(&live),
        ["jazz_three", "rock_two", "jazz_one"],
        "live only by default, newest first"
    );
    assert_eq!(live["next"], serde_json::Value::Null);
    let (_, all) = app.get_json("/api/v1/streams?status=all").await;
    assert_eq!(handles(&all).len(), 4);
    let (_, jazz) = app.get_json("/api/v1/streams?genre=JAZZ").await;
    assert_eq!(handles(&jazz), ["jazz_three", "jazz_one"]);
    let (_, jazz_all) = app.get_json("/api/v1/streams?genre=jazz&status=all").await;
    assert_eq!(
        handles(&jazz_all),
        ["offline_four", "jazz_three", "jazz_one"]
    );
    let (_, partial) = app.get_json("/api/v1/streams?genre=ja").await;
    assert!(
        handles(&partial).is_empty(),
        "genres match whole, not as substrings"
    );
    let (_, by_title) = app.get_json("/api/v1/streams?q=100%25").await;
    assert_eq!(
        handles(&by_title),
        ["rock_two"],
        "q searches titles; % is literal"
    );
    let (_, by_name) = app.get_json("/api/v1/streams?q=jazz%20o").await;
    assert_eq!(handles(&by_name), ["jazz_one"]);

    let (_, page1) = app.get_json("/api/v1/streams?status=all&limit=3").await;
    assert_eq!(handles(&page1).len(), 3);
    let cursor = page1["next"]
        .as_str()
        .expect("a full page has a next cursor")
        .to_owned();
    let (_, page2) = app
        .get_json(&format!(
            "/api/v1/streams?status=all&limit=3&cursor={cursor}"
        ))
        .await;
    assert_eq!(handles(&page2), ["jazz_one"]);
    assert_eq!(page2["next"], serde_json::Value::Null);

    // Codecs: every stream here is audio/mpeg.
    let (_, mp3) = app.get_json("/api/v1/streams?codec=MP3").await;
    assert_eq!(mp3["streams"].as_array().unwrap().len(), 3, "{mp3}");
    let (_, ogg) = app.get_json("/api/v1/streams?codec=ogg").await;
    assert_eq!(ogg["streams"], serde_json::json!([]));
    let (status, bad) = app.get_json("/api/v1/streams?codec=wav").await;
    assert_eq!(status, 400, "{bad}");
}

#[tokio::test]
async fn one_stream_has_the_documented_shape_and_no_secrets() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    let sid = app.add(&token, "Night Jazz", "jazz.mp3").await;
    app.yp(&token, &touch_body(&sid, "Artist - Title", 4)).await;
    let res = app
        .client
        .get(app.url("/api/v1/streams/night_jazz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/json");
    let text = res.text().await.unwrap();
    for secret in [
        sid.as_str(),
        token.as_str(),
        "cluster secret",
        "cluster%20secret",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let s: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s["handle"], "night_jazz");
    assert_eq!(s["name"], "Night Jazz");
    assert_eq!(s["description"], "A test stream");
    assert_eq!(s["genres"], serde_json::json!(["Jazz", "Soul"]));
    assert_eq!(s["homepage"], "https://radio.example");
    assert_eq!(s["listen_url"], "http://radio.example:8000/jazz.mp3");
    assert_eq!(
        (s["content_type"].as_str(), s["codec"].as_str()),
        (Some("audio/mpeg"), Some("MP3"))
    );
    assert_eq!(
        (
            s["bitrate"].as_i64(),
            s["samplerate"].as_i64(),
            s["channels"].as_i64()
        ),
        (Some(128), Some(44100), Some(2))
    );
    assert_eq!(
        (
            s["status"].as_str(),
            s["title"].as_str(),
            s["listeners"].as_i64()
        ),
        (Some("live"), Some("Artist - Title"), Some(4))
    );
    assert_eq!(s["origin"], "local");
    let started = s["started_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(started).is_ok(),
        "{started}"
    );
}

#[tokio::test]
async fn errors_are_json_with_a_status() {
    let app = spawn_app().await;
    for (path, status, needle) in [
        ("/api/v1/streams/nobody", 404, "stream nobody not found"),
        (
            "/api/v1/streams?status=maybe",
            400,
            "status must be live or all",
        ),
        ("/api/v1/streams?limit=0", 400, "limit must be"),
        ("/api/v1/streams?limit=x", 400, "limit must be"),
        ("/api/v1/streams?cursor=abc", 400, "cursor"),
        ("/no/such/page", 404, "not found"),
    ] {
        let (got, body) = app.get_json(path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(needle),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn healthz_answers_when_the_database_does() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok\n");
}

#[tokio::test]
async fn healthz_names_a_background_pass_that_stopped_completing() {
    use onair::lifecycle::Role;
    let app = spawn_app().await;
    let liveness = &app.state.liveness;
    liveness.register("reaper", chrono::TimeDelta::seconds(60), Role::Everywhere);
    app.advance(30);
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    liveness.failed("reaper", "database is locked".into());
    app.advance(31);
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let body = res.text().await.unwrap();
    assert!(body.starts_with("stalled: reaper\n"), "{body}");
    assert!(body.contains("1 failures in a row (see the log)"), "{body}");
    assert!(
        !body.contains("database is locked"),
        "errors stay in the log: {body}"
    );
    // It completes again: healthy.
    liveness.completed("reaper", Role::Everywhere);
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
