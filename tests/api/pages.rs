//! The web pages over HTTP (the browser tests drive them in Chromium): home, stream page, the
//! follow hop, the exports and the live title events.

use crate::helpers::{TestApp, add_body, spawn_app, touch_body};

async fn page(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let res = app
        .client
        .get(app.url(path))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    (status, headers, res.text().await.unwrap())
}

#[tokio::test]
async fn the_home_page_lists_what_is_live_with_a_player_and_explains_an_empty_list() {
    let app = spawn_app().await;
    let (status, headers, empty) = page(&app, "/").await;
    assert_eq!(status, 200);
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(empty.contains("Nothing is on air right now"), "{empty}");
    assert!(empty.contains("&#60;directory&#62;") || empty.contains("&lt;directory&gt;"));

    let token = app.broadcaster("alice").await;
    let body = add_body(
        "Late <b>Jazz</b>",
        "http://radio.example:8000/late",
        "Jazz Soul",
    );
    let sid = app.yp(&token, &body).await.sid.unwrap();
    app.yp(&token, &touch_body(&sid, "Miles & Co", 4)).await;
    let ogg = add_body("Ogg Talk", "http://radio.example:8000/talk.ogg", "Talk")
        .replace("audio%2fmpeg", "audio%2fogg");
    assert!(app.yp(&token, &ogg).await.ok);
    let (_, _, home) = page(&app, "/").await;
    assert!(
        home.contains(r#"<audio controls preload="none" src="http://radio.example:8000/late""#),
        "{home}"
    );
    assert!(!home.contains("<b>Jazz</b>"), "names are escaped");
    assert!(
        home.contains("Miles &#38; Co") || home.contains("Miles &amp; Co"),
        "{home}"
    );
    assert!(home.contains("4 listening"));
    let (_, _, jazz) = page(&app, "/?genre=jazz").await;
    assert!(
        jazz.contains("late_b_jazz_b") || jazz.contains("Late"),
        "{jazz}"
    );
    assert!(!jazz.contains("Ogg Talk"));
    let (_, _, oggs) = page(&app, "/?codec=ogg").await;
    assert!(
        oggs.contains("Ogg Talk") && !oggs.contains("Miles"),
        "{oggs}"
    );
    let (_, _, none) = page(&app, "/?q=nothing+like+this").await;
    assert!(
        none.contains("Nothing on air matches these filters"),
        "{none}"
    );
    let (status, _, _) = page(&app, "/?origin=mars").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_follow_form_sends_the_visitor_to_their_own_server() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    app.add(&token, "Night Jazz", "jazz").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .get(app.url("/streams/night_jazz/follow?instance=https%3A%2F%2FMastodon.Social%2F"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "https://mastodon.social/authorize_interaction?uri=night_jazz%40localhost%3A8080"
    );
    let bad = client
        .get(app.url("/streams/night_jazz/follow?instance=%3Cscript%3E"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn yp_xml_lists_exactly_the_live_streams_and_playlists_point_at_the_listen_url() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    let sid = app.add(&token, "Night & Jazz", "jazz").await;
    app.yp(&token, &touch_body(&sid, "Miles <Davis>", 2)).await;
    let gone = app.add(&token, "Gone FM", "gone").await;
    app.yp(&token, &format!("action=remove&sid={gone}")).await;
    app.advance_and_reap(3600).await;
    // The reaper also ended the silent one; bring it back.
    let sid = app.add(&token, "Night & Jazz", "jazz").await;
    app.yp(&token, &touch_body(&sid, "Miles <Davis>", 2)).await;

    let xml = app.get_text("/yp.xml").await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let entries: Vec<_> = doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("entry"))
        .collect();
    assert_eq!(entries.len(), 1, "{xml}");
    let field = |name: &str| {
        entries[0]
            .children()
            .find(|n| n.has_tag_name(name))
            .and_then(|n| n.text())
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(field("server_name"), "Night & Jazz");
    assert_eq!(field("listen_url"), "http://radio.example:8000/jazz");
    assert_eq!(field("server_type"), "audio/mpeg");
    assert_eq!(field("bitrate"), "128");
    assert_eq!(field("genre"), "Jazz Soul");
    assert_eq!(field("current_song"), "Miles <Davis>");

    let m3u = app.get_text("/streams/night_jazz.m3u").await;
    assert_eq!(
        m3u,
        "#EXTM3U\n#EXTINF:-1,Night & Jazz\nhttp://radio.example:8000/jazz\n"
    );
    let xspf = app.get_text("/streams/night_jazz.xspf").await;
    let doc = roxmltree::Document::parse(&xspf).unwrap();
    let location = doc
        .descendants()
        .find(|n| n.has_tag_name("location"))
        .unwrap();
    assert_eq!(location.text(), Some("http://radio.example:8000/jazz"));
    assert_eq!(app.get_json("/streams/nobody.m3u").await.0, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stream_page_hears_a_new_title_through_server_sent_events() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    let sid = app.add(&token, "Night Jazz", "jazz").await;
    let mut res = app
        .client
        .get(app.url("/streams/night_jazz/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let first = String::from_utf8(res.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(
        first.contains(r#"data: {"status":"live","title":""}"#),
        "{first}"
    );
    app.yp(&token, &touch_body(&sid, "So What", 1)).await;
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), res.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let next = String::from_utf8(next.to_vec()).unwrap();
    assert!(next.contains(r#""title":"So What""#), "{next}");
}

/// On an https page an http-only stream cannot play in the page: a playlist link and a word on
/// why instead of a player that would fail.
#[tokio::test]
async fn an_https_page_offers_the_playlist_for_an_http_only_stream() {
    let app =
        crate::helpers::spawn_app_with(|c| c.url = "https://onair.example".parse().unwrap()).await;
    let token = app.broadcaster("alice").await;
    app.add(&token, "Plain FM", "plain").await;
    let (_, _, home) = page(&app, "/").await;
    assert!(!home.contains("<audio"), "{home}");
    assert!(
        home.contains(r#"href="https://onair.example/streams/plain_fm.m3u""#),
        "{home}"
    );
    assert!(
        home.contains("served over https and the stream only over http"),
        "{home}"
    );
}

/// Browsers get errors as pages; everything else keeps the JSON.
#[tokio::test]
async fn errors_are_pages_for_browsers_and_json_for_the_rest() {
    let app = spawn_app().await;
    let (status, headers, body) = page(&app, "/streams/nobody").await;
    assert_eq!(status, 404);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        body.contains("Not Found") && body.contains("stream nobody not found"),
        "{body}"
    );
    let (status, json) = app.get_json("/api/v1/streams/nobody").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (404, Some("stream nobody not found"))
    );
    let res = app
        .client
        .post(app.url("/dashboard/tokens"))
        .header("accept", "text/html,application/xhtml+xml")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("label=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("sign in first") && body.contains("<h1>Unauthorized</h1>"),
        "{body}"
    );
}

/// A Note's hashtag links to `/tags/{tag}`: the streams of that genre, the live ones first.
#[tokio::test]
async fn a_genre_page_lists_its_streams_live_first() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    let gone = app
        .yp(
            &token,
            &add_body("Gone Jazz", "http://radio.example:8000/gone", "Jazz"),
        )
        .await
        .sid
        .unwrap();
    app.yp(&token, &format!("action=remove&sid={gone}")).await;
    app.yp(
        &token,
        &add_body("Late Jazz", "http://radio.example:8000/late", "Jazz Soul"),
    )
    .await;
    app.yp(
        &token,
        &add_body("Talk Hour", "http://radio.example:8000/talk", "Talk"),
    )
    .await;
    let tag = app.state.urls.tag("Jazz");
    let (status, _, jazz) = page(&app, tag.path()).await;
    assert_eq!(status, 200, "{jazz}");
    let (live, off) = (jazz.find("Late Jazz"), jazz.find("Gone Jazz"));
    assert!(live.is_some() && off.is_some(), "{jazz}");
    assert!(live < off, "live first: {jazz}");
    assert!(!jazz.contains("Talk Hour"), "{jazz}");
    assert!(jazz.contains("#Jazz"), "{jazz}");
}

/// A genre that is no hashtag as written (`Lo-Fi` is `#LoFi`) still leads from the Note's tag
/// to the genre's streams.
#[tokio::test]
async fn a_hashtag_of_a_genre_with_punctuation_leads_to_its_streams() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    app.yp(
        &token,
        &add_body("Study Beats", "http://radio.example:8000/beats", "Lo-Fi"),
    )
    .await;
    let (status, note) = app.get_ap("/broadcasts/1").await;
    assert_eq!(status, 200, "{note}");
    let tag = &note["tag"][0];
    assert_eq!(tag["name"], "#LoFi", "{note}");
    let href = url::Url::parse(tag["href"].as_str().unwrap()).unwrap();
    let (status, _, body) = page(&app, href.path()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Study Beats"), "{body}");
}

/// Every URL `Urls` mints names a route that is served: each is requested (forms by POST, the
/// rest by GET) for objects that exist, and none gets the route table's 404. The methods are read
/// from `src/urls.rs`, so a new one must be added here.
#[tokio::test]
async fn every_url_we_mint_is_served() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    app.add(&token, "Kept", "kept").await;
    // A scheduled show, for its page and Event.
    let (urls, now) = (app.state.urls.clone(), app.state.clock.now());
    let show_start = app
        .state
        .db
        .write(move |c| {
            let stream = onair::db::models::Stream::find(c, 1)?.unwrap();
            let input = onair::streams::shows::ShowInput {
                title: "A show".to_owned(),
                start: (now + chrono::Duration::days(1))
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                duration_minutes: Some(30),
                time_zone: "UTC".to_owned(),
                ..Default::default()
            };
            let show = onair::streams::shows::add(c, &stream, &input, &urls, now)?;
            // And a reminder of it, as if sent.
            let start = onair::timetable::Schedule::of(&show)?.first().start;
            onair::db::models::ShowReminder::record(c, show.id, start.naive_utc(), 15, now)?;
            Ok(start)
        })
        .await
        .unwrap();
    let (urls, h) = (&app.state.urls, "kept");
    let get = [
        ("home", urls.home()),
        ("home_genre", urls.home_genre("Jazz")),
        ("yp", urls.yp(&token)),
        ("api_stream", urls.api_stream(h)),
        ("api_streams", urls.api_streams()),
        ("stream", urls.stream(h)),
        ("stream_key", urls.stream_key(h)),
        ("stream_outbox", urls.stream_outbox(h)),
        ("stream_outbox_page", urls.stream_outbox_page(h, Some(2))),
        ("stream_playlist", urls.stream_playlist(h, "m3u")),
        ("stream_events", urls.stream_events(h)),
        ("stream_follow", urls.stream_follow(h)),
        ("stream_followers", urls.stream_followers(h)),
        ("broadcast", urls.broadcast(1)),
        ("broadcast_create", urls.broadcast_create(1)),
        ("tag", urls.tag("Jazz")),
        ("show", urls.show(1)),
        ("show_reminder", urls.show_reminder(1, show_start)),
        ("stream_calendar", urls.stream_calendar(h)),
        ("calendar", urls.calendar()),
        ("api_shows", urls.api_shows()),
        ("stream_embed", urls.stream_embed(h)),
        ("oembed", urls.oembed(&urls.stream(h))),
        ("authorize_interaction", urls.authorize_interaction()),
        ("subscribe_template", urls.authorize_interaction()),
        ("default_icon", urls.default_icon()),
        ("card_image", urls.card_image()),
        ("instance_actor", urls.instance_actor()),
        ("instance_key", urls.instance_key()),
        ("nodeinfo", urls.nodeinfo()),
        ("nodeinfo_links", urls.nodeinfo_links()),
        ("webfinger", urls.webfinger()),
        ("webfinger_template", urls.webfinger()),
        ("host_meta", urls.host_meta()),
        ("yp_xml", urls.yp_xml()),
        ("style", urls.style()),
        ("script", urls.script()),
        ("login", urls.login()),
        ("login_then", urls.login_then("/admin")),
        ("dashboard", urls.dashboard()),
        ("dashboard_token", urls.dashboard_token(1)),
        ("admin", urls.admin()),
        ("admin_api", urls.admin_api("blocks")),
        ("healthz", urls.healthz()),
        ("metrics", urls.metrics()),
    ];
    let post = [
        ("stream_inbox", urls.stream_inbox(h)),
        ("shared_inbox", urls.shared_inbox()),
        ("logout", urls.logout()),
        ("dashboard_tokens", urls.dashboard_tokens()),
        ("dashboard_token_revoke", urls.dashboard_token_revoke(1)),
        (
            "dashboard_stream_settings",
            urls.dashboard_stream_settings(h),
        ),
        (
            "dashboard_stream_followers",
            urls.dashboard_stream_followers(h),
        ),
        ("dashboard_stream_shows", urls.dashboard_stream_shows(h)),
        ("dashboard_show_cancel", urls.dashboard_show_cancel(1)),
        ("admin_users", urls.admin_users()),
        ("admin_users_disable", urls.admin_users_disable()),
        ("admin_queue", urls.admin_queue()),
        ("admin_remote", urls.admin_remote()),
        ("admin_remote_remove", urls.admin_remote_remove()),
        ("admin_relays", urls.admin_relays()),
        ("admin_relays_remove", urls.admin_relays_remove()),
        ("admin_blocks", urls.admin_blocks()),
        ("admin_blocks_remove", urls.admin_blocks_remove()),
    ];
    // Not URLs of ours to request: the constructor, parts of URLs, and the ids of activities we
    // send (served only when public: announce::a_public_activity_is_served_at_its_id…).
    let not_requested = [
        "new",
        "authority",
        "host_forms",
        "handle_of",
        "acct",
        "mention",
        "activity",
    ];
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/urls.rs")).unwrap();
    for name in source
        .split("pub fn ")
        .skip(1)
        .filter_map(|rest| rest.split('(').next())
    {
        assert!(
            get.iter().chain(&post).any(|(n, _)| *n == name) || not_requested.contains(&name),
            "Urls::{name} is not checked here"
        );
    }
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let requests = get
        .iter()
        .map(|(n, u)| (n, no_redirects.get(app.url(&path_of(u)))))
        .chain(
            post.iter()
                .map(|(n, u)| (n, no_redirects.post(app.url(&path_of(u))))),
        );
    for (name, request) in requests {
        let res = request.send().await.unwrap();
        let status = res.status().as_u16();
        // The route table's fallback answers exactly this; a handler's 404 names what is missing.
        let body = if status == 404 {
            res.text().await.unwrap()
        } else {
            String::new()
        };
        assert!(
            status != 404,
            "Urls::{name}: {status} {body} (no route, or the object is missing)"
        );
    }
}

/// What a test requests of a URL we minted: its path and query, on the test server.
fn path_of(url: &url::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}
