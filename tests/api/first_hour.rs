//! A broadcaster's first hour and pages that tell the truth: why Icecast was refused, shown on
//! the YP URL (dashboard, `onair token list`, metrics under the action); the ending state; what
//! a stream page says of a broadcast; error pages and the favicon; bad home filters said on the
//! page; codec names as the API prints them.

use crate::{
    cli::{onair, stdout},
    helpers::{TestApp, add_body, spawn_app, spawn_app_with, touch_body},
};

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let res = app
        .client
        .get(app.url(path))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// A refused add (a listen URL on a private address) is kept on its YP URL with its message,
/// which says what to fix, the setting for a local test, and when Icecast tries again; it is
/// counted under `add`. The next good add is kept as the last request, the refusal stays.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_add_is_kept_on_its_yp_url_with_what_to_fix() {
    let app = spawn_app_with(|c| c.allow_private_networks = false).await;
    let token = app.broadcaster("alice").await;
    let refused = app
        .yp(
            &token,
            &add_body("Home FM", "http://127.0.0.1:8000/home", "Jazz"),
        )
        .await;
    assert!(!refused.ok);
    for part in [
        "<hostname>",
        "ONAIR_ALLOW_PRIVATE_NETWORKS",
        "reconnects",
        "two hours",
    ] {
        assert!(
            refused.message.contains(part),
            "{part}: {}",
            refused.message
        );
    }
    let metrics = app.get_text("/metrics").await;
    assert!(
        metrics.contains(r#"onair_yp_requests_total{action="add",result="refused"} 1"#),
        "{metrics}"
    );
    let list = stdout(&onair(&app, &["token", "list", "alice"], ""));
    assert!(
        list.contains("last request") && list.contains("add, refused: listen URL"),
        "{list}"
    );

    let ok = app
        .yp(
            &token,
            &add_body("Home FM", "http://radio.example:8000/home", "Jazz"),
        )
        .await;
    assert!(ok.ok, "{}", ok.message);
    let list = stdout(&onair(&app, &["token", "list", "alice"], ""));
    assert!(list.contains("add, accepted: Added as @home_fm"), "{list}");
    assert!(
        list.contains("last refusal") && list.contains("(add): listen URL"),
        "{list}"
    );
    // A touch is noted too (at most once a minute, by its batch).
    app.advance(61);
    app.yp(&token, &touch_body(ok.sid.as_deref().unwrap(), "Song", 1))
        .await;
    let list = stdout(&onair(&app, &["token", "list", "alice"], ""));
    assert!(list.contains("touch, accepted: Touched"), "{list}");
}

/// During the ending grace the stream page says so, with no player; on air it says since when,
/// in what format and to how many.
#[tokio::test(flavor = "multi_thread")]
async fn the_stream_page_tells_the_broadcast_as_it_is() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    let sid = app.add(&token, "Truth FM", "truth").await;
    app.yp(&token, &touch_body(&sid, "Song", 12)).await;
    let (_, live) = page(&app, "/streams/truth_fm").await;
    for part in [
        "On air since <time datetime=",
        "MP3 128 kbit/s",
        "12 listening",
        "<audio",
    ] {
        assert!(live.contains(part), "{part}: {live}");
    }
    app.yp(&token, &format!("action=remove&sid={sid}")).await;
    let (_, ending) = page(&app, "/streams/truth_fm").await;
    assert!(
        ending.contains(r#"<span class="badge ending">Ending</span>"#),
        "{ending}"
    );
    assert!(
        ending.contains(r#"<div id="player" hidden>"#),
        "no player once the source is gone: {ending}"
    );
    assert!(!ending.contains(">On air<"), "{ending}");
}

/// Browsers get pages for unknown paths (API clients keep JSON), there is a favicon, a bad
/// filter on the home page is said there over the whole list, and codec names as the API prints
/// them filter.
#[tokio::test(flavor = "multi_thread")]
async fn errors_are_pages_and_filters_say_what_is_wrong() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    app.add(&token, "Filter FM", "filter").await;
    let (status, html) = page(&app, "/no/such/page").await;
    assert_eq!(status, 404);
    assert!(
        html.starts_with("<!doctype html>") && html.contains("page not found"),
        "{html}"
    );
    let (status, json) = app.get_json("/no/such/page").await;
    assert_eq!((status, json["error"].is_string()), (404, true), "{json}");
    let res = reqwest::get(app.url("/favicon.ico")).await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");

    let (status, home) = page(&app, "/?codec=wav&limit=9999").await;
    assert_eq!(status, 400);
    assert!(
        home.contains(r#"class="problem""#) && home.contains("Filter FM"),
        "{home}"
    );
    let (status, _) = app.get_json("/api/v1/streams?codec=wav").await;
    assert_eq!(status, 400, "the API still refuses it");

    let codec = app.stream("filter_fm").await["codec"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!codec.is_empty(), "the API prints a codec");
    let (status, found) = app
        .get_json(&format!("/api/v1/streams?codec={codec}"))
        .await;
    assert_eq!(status, 200, "{codec}: {found}");
    assert_eq!(
        found["streams"].as_array().unwrap().len(),
        1,
        "{codec}: {found}"
    );
}
