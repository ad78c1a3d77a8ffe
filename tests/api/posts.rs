//! What people on Mastodon and other servers see of a stream: quiet title changes by default,
//! Updates whose `updated` always moves on, the post's language, template and content warning,
//! preview cards, embeds, oEmbed, CORS on the public JSON, tag pages as JSON, the actor's
//! pictures, and the follow hop to each kind of server.

use actix_web::{App, HttpResponse, HttpServer, web};
use onair::{
    db::models::{Follower, FollowerState, OnEnd, Stream},
    streams::settings::{Changes, Posts},
};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, spawn_app, spawn_app_with, touch_body},
    sinks::{Seen, start_sink},
};

/// A stream "Posts FM" (handle `posts_fm`) with keys and one accepted follower at a local sink,
/// on air with its Create delivered. Returns the token, the SID and what the sink sees.
async fn live_and_followed(app: &TestApp) -> (String, String, Seen) {
    let token = app.broadcaster("alice").await;
    let sid = app.add(&token, "Posts FM", "posts").await;
    onair::keys::fill_missing(&app.state.db, &app.state.clock)
        .await
        .unwrap();
    let (sink, seen) = start_sink();
    let (inbox, now) = (format!("{sink}/inbox"), app.state.clock.now());
    app.state
        .db
        .write(move |c| {
            Follower::upsert(
                c,
                1,
                "http://follower.example/u",
                &inbox,
                None,
                FollowerState::Accepted,
                None,
                now,
            )
        })
        .await
        .unwrap();
    // Off air (the follower hears the Delete) and on again, so that it hears the go-live.
    app.yp(&token, &format!("action=remove&sid={sid}")).await;
    app.advance_and_reap(3600).await;
    app.deliver_due().await;
    seen.0.lock().unwrap().clear();
    let sid = app.add(&token, "Posts FM", "posts").await;
    app.deliver_due().await;
    assert_eq!(seen.kinds(), ["Create"]);
    (token, sid, seen)
}

/// Applies `changes` to stream 1 as the dashboard would.
async fn change(app: &TestApp, changes: Changes) -> onair::error::Result<()> {
    let (config, urls, now) = (
        (*app.state.config).clone(),
        app.state.urls.clone(),
        app.state.clock.now(),
    );
    app.state
        .db
        .write(move |c| {
            let mut stream = Stream::find(c, 1)?.unwrap();
            changes.apply(c, &mut stream, &config, &urls, now)
        })
        .await
}

fn posts(title_edits: bool, language: &str, template: &str, warning: &str) -> Changes {
    Changes {
        posts: Some(Posts {
            title_edits,
            language: language.to_owned(),
            template: template.to_owned(),
            content_warning: warning.to_owned(),
        }),
        ..Changes::default()
    }
}

/// By default a new title does not edit the post: nothing reaches followers, however long the
/// broadcast runs, while the page and the API show the title at once.
#[tokio::test(flavor = "multi_thread")]
async fn a_title_change_leaves_the_post_alone_by_default() {
    let app = spawn_app().await;
    let (token, sid, seen) = live_and_followed(&app).await;
    for (i, title) in ["Artist - One", "Artist - Two"].iter().enumerate() {
        app.advance(3600);
        app.yp(&token, &touch_body(&sid, title, 3)).await;
        app.deliver_due().await;
        assert_eq!(seen.kinds(), ["Create"], "title {i} sent something");
        assert_eq!(app.stream("posts_fm").await["title"], *title);
        let page = app.get_text("/streams/posts_fm").await;
        assert!(page.contains(title), "{page}");
    }
    // The Note as served tells the current title to whoever fetches it.
    let (_, note) = app.get_ap("/broadcasts/2").await;
    assert_eq!(note["nowPlaying"], "Artist - Two", "{note}");
}

/// With title edits on, each Update's `updated` is after the Create's `published` and after the
/// previous Update's, even for Updates in one second; a post kept at the end gets one more.
#[tokio::test(flavor = "multi_thread")]
async fn updates_in_one_second_carry_increasing_updated() {
    let app = spawn_app_with(|c| c.update_interval = 0).await;
    let (token, sid, seen) = live_and_followed(&app).await;
    change(&app, posts(true, "", "", "")).await.unwrap();
    change(
        &app,
        Changes {
            on_end: Some(OnEnd::Update),
            ..Changes::default()
        },
    )
    .await
    .unwrap();
    // The clock does not move: the Create and two title Updates in one second (each delivered
    // before the next is queued, which would supersede it).
    for title in ["First", "Second"] {
        app.yp(&token, &touch_body(&sid, title, 3)).await;
        app.deliver_due().await;
    }
    app.yp(&token, &format!("action=remove&sid={sid}")).await;
    let reaped = app.advance_and_reap(91).await;
    let step = app.deliver_due().await;
    assert_eq!(
        seen.kinds(),
        ["Create", "Update", "Update", "Update"],
        "{reaped:?} {step:?}"
    );
    let activities = seen.activities();
    let mut last = activities[0]["object"]["published"]
        .as_str()
        .unwrap()
        .to_owned();
    for update in &activities[1..] {
        let updated = update["object"]["updated"]
            .as_str()
            .unwrap_or_else(|| panic!("an Update without updated: {update}"));
        assert!(
            chrono::DateTime::parse_from_rfc3339(updated).unwrap()
                > chrono::DateTime::parse_from_rfc3339(&last).unwrap(),
            "{updated} is not after {last}"
        );
        last = updated.to_owned();
    }
    assert_eq!(activities[2]["object"]["nowPlaying"], "Second");
    assert_eq!(activities[3]["object"]["isLiveBroadcast"], false);
}

/// The post's language (the instance's by default, the stream's when set), the broadcaster's
/// text with its placeholders filled and escaped, and a content warning making it sensitive.
#[tokio::test(flavor = "multi_thread")]
async fn posts_carry_language_text_and_content_warning() {
    let app = spawn_app_with(|c| c.language = "fr".to_owned()).await;
    let (token, sid, seen) = live_and_followed(&app).await;
    let create = &seen.activities()[0]["object"];
    assert_eq!(create["contentMap"]["fr"], create["content"], "{create}");
    assert_eq!(create["sensitive"], false);
    assert!(create.get("summary").is_none(), "{create}");

    change(
        &app,
        posts(
            false,
            "de",
            "Jetzt live: {name} <b>mit</b> {title} – {link}",
            "Laut",
        ),
    )
    .await
    .unwrap();
    app.yp(&token, &format!("action=remove&sid={sid}")).await;
    app.advance_and_reap(3600).await;
    app.add(&token, "Posts FM", "posts").await;
    app.deliver_due().await;
    let activities = seen.activities();
    let create = &activities.iter().rfind(|a| a["type"] == "Create").unwrap()["object"];
    let content = create["content"].as_str().unwrap();
    assert_eq!(create["contentMap"]["de"], content, "{create}");
    assert_eq!(
        (&create["sensitive"], &create["summary"]),
        (&json!(true), &json!("Laut"))
    );
    assert!(
        content.starts_with(
            "<p>Jetzt live: <a href=\"http://localhost:8080/streams/posts_fm\">Posts FM</a> &lt;b&gt;mit&lt;/b&gt;"
        ),
        "{content}"
    );
    assert!(
        content.contains("– <a href=\"http://localhost:8080/streams/posts_fm\">http://localhost:8080/streams/posts_fm</a>"),
        "{content}"
    );

    // Bad input is refused with what to fix, and changes nothing.
    let bad = change(&app, posts(true, "german", "", ""))
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("language tag"), "{bad}");
    let bad = change(&app, posts(true, "de", "{name} plays {song}", ""))
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("{song}"), "{bad}");
    let stream = app
        .state
        .db
        .read(|c| Stream::find(c, 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stream.title_edits, stream.language.as_str()),
        (false, "de")
    );
}

/// The stream page carries OpenGraph and player-card tags (default card image when the stream
/// has no picture), and advertises oEmbed, which answers a framed player.
#[tokio::test(flavor = "multi_thread")]
async fn the_stream_page_previews_as_a_card_with_a_player() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    let sid = app.add(&token, "Card FM", "card").await;
    app.yp(&token, &touch_body(&sid, "Nina Simone - Sinnerman", 4))
        .await;
    let page = app.get_text("/streams/card_fm").await;
    for tag in [
        r#"<meta property="og:title" content="Card FM">"#,
        r#"<meta property="og:description" content="On air now: Nina Simone - Sinnerman">"#,
        r#"<meta property="og:url" content="http://localhost:8080/streams/card_fm">"#,
        r#"<meta property="og:image" content="http://localhost:8080/assets/card.png">"#,
        r#"<meta property="og:type" content="music.radio_station">"#,
        r#"<meta name="twitter:card" content="player">"#,
        r#"<meta name="twitter:player" content="http://localhost:8080/streams/card_fm/embed">"#,
        r#"type="application/json+oembed" href="http://localhost:8080/oembed?url=http%3A%2F%2Flocalhost%3A8080%2Fstreams%2Fcard_fm&#38;format=json""#,
    ] {
        assert!(page.contains(tag), "missing {tag} in {page}");
    }
    let res = reqwest::get(app.url("/assets/card.png")).await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");
    assert!(res.bytes().await.unwrap().starts_with(b"\x89PNG"));

    let res = reqwest::get(app.url(
        "/oembed?url=http%3A%2F%2Flocalhost%3A8080%2Fstreams%2Fcard_fm&format=json&maxwidth=300",
    ))
    .await
    .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let oembed: Value = res.json().await.unwrap();
    assert_eq!(
        (&oembed["type"], &oembed["version"]),
        (&json!("rich"), &json!("1.0"))
    );
    assert_eq!(
        (&oembed["width"], &oembed["height"]),
        (&json!(300), &json!(160))
    );
    assert_eq!(oembed["thumbnail_width"], 1200, "{oembed}");
    let small: Value = reqwest::get(app.url(
        "/oembed?url=http%3A%2F%2Flocalhost%3A8080%2Fstreams%2Fcard_fm&maxwidth=120&maxheight=90",
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        (&small["width"], &small["height"]),
        (&json!(120), &json!(90))
    );
    let html = oembed["html"].as_str().unwrap();
    assert!(
        html.starts_with(
            r#"<iframe src="http://localhost:8080/streams/card_fm/embed" width="300""#
        ),
        "{html}"
    );
    for (query, status) in [
        (
            "url=https%3A%2F%2Felsewhere.example%2Fstreams%2Fcard_fm",
            404,
        ),
        ("url=http%3A%2F%2Flocalhost%3A8080%2Fstreams%2Fnobody", 404),
        (
            "url=http%3A%2F%2Flocalhost%3A8080%2Fstreams%2Fcard_fm&format=xml",
            501,
        ),
        ("url=not%20a%20url", 400),
    ] {
        let res = reqwest::get(app.url(&format!("/oembed?{query}")))
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{query}");
    }
}

/// The embed page may be framed by any site and shows the live title; every other page keeps
/// refusing frames.
#[tokio::test(flavor = "multi_thread")]
async fn only_the_embed_may_be_framed() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    let sid = app.add(&token, "Frame FM", "frame").await;
    app.yp(&token, &touch_body(&sid, "Alice Coltrane - Journey", 2))
        .await;
    let res = reqwest::get(app.url("/streams/frame_fm/embed"))
        .await
        .unwrap();
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors *"), "{csp}");
    let body = res.text().await.unwrap();
    assert!(
        body.contains("Alice Coltrane - Journey") && body.contains("<audio"),
        "{body}"
    );
    let res = reqwest::get(app.url("/streams/frame_fm")).await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(
        reqwest::get(app.url("/streams/nobody/embed"))
            .await
            .unwrap()
            .status(),
        404
    );
}

/// `Access-Control-Allow-Origin: *` on every public JSON answer (errors too), never on a page
/// or anything behind a session.
#[tokio::test(flavor = "multi_thread")]
async fn public_json_is_readable_from_other_sites_and_sessions_are_not() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    app.add(&token, "Open FM", "open").await;
    let client = reqwest::Client::new();
    let acao = async |path: &str, accept: &str| {
        let res = client
            .get(app.url(path))
            .header("accept", accept)
            .header("origin", "https://station.example")
            .send()
            .await
            .unwrap();
        res.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let json = "application/json";
    for (path, accept) in [
        ("/api/v1/streams", json),
        ("/api/v1/streams/open_fm", json),
        ("/api/v1/streams/nobody", json),
        ("/streams/open_fm", "application/activity+json"),
        ("/streams/open_fm/outbox", "application/activity+json"),
        ("/actor", "application/activity+json"),
        ("/tags/Jazz", json),
        ("/.well-known/webfinger?resource=mailto:a@b.example", json),
        ("/.well-known/host-meta", "*/*"),
        ("/nodeinfo/2.1", json),
    ] {
        assert_eq!(acao(path, accept).await.as_deref(), Some("*"), "{path}");
    }
    // A page asking for JSON-LD with a profile is preflighted first: the answer lets it read.
    let preflight = client
        .request(reqwest::Method::OPTIONS, app.url("/streams/open_fm"))
        .header("origin", "https://station.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "accept")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        preflight.headers()["access-control-allow-headers"],
        "Accept"
    );
    for (path, accept) in [
        ("/streams/open_fm", "text/html"),
        ("/", "text/html"),
        ("/login", "text/html"),
        ("/dashboard", json),
        ("/admin", json),
        ("/api/v1/admin/blocks", json),
    ] {
        assert_eq!(acao(path, accept).await, None, "{path}");
    }
}

/// A genre's page in JSON: its streams, live first.
#[tokio::test(flavor = "multi_thread")]
async fn a_tag_page_answers_json_live_first() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    let sid = app.add(&token, "Early FM", "early").await;
    app.yp(&token, &format!("action=remove&sid={sid}")).await;
    app.advance_and_reap(3600).await;
    app.add(&token, "Later FM", "later").await;
    let res = app
        .client
        .get(app.url("/tags/Jazz"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["tag"], "Jazz");
    let order: Vec<(&str, &str)> = body["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["handle"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(order, [("later_fm", "live"), ("early_fm", "offline")]);
}

/// The actor always has a picture (ours when the broadcaster set none) and, once set, a header
/// image, announced with an actor Update.
#[tokio::test(flavor = "multi_thread")]
async fn the_actor_has_an_icon_and_a_header() {
    let app = spawn_app().await;
    let (_, _, seen) = live_and_followed(&app).await;
    let (_, actor) = app.get_ap("/streams/posts_fm").await;
    assert_eq!(
        actor["icon"]["url"],
        "http://localhost:8080/assets/icon.png"
    );
    assert!(actor.get("image").is_none(), "{actor}");
    let res = reqwest::get(app.url("/assets/icon.png")).await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");

    let header = |url: &str| Changes {
        header: Some(url.to_owned()),
        ..Changes::default()
    };
    let refused = change(&app, header("http://x.example/a.png"))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("https"), "{refused}");
    change(&app, header("https://img.example/banner.jpg"))
        .await
        .unwrap();
    let (_, actor) = app.get_ap("/streams/posts_fm").await;
    assert_eq!(actor["image"]["url"], "https://img.example/banner.jpg");
    app.deliver_due().await;
    assert_eq!(seen.kinds(), ["Create", "Update"]);
    assert_eq!(
        seen.activities()[1]["object"]["image"]["url"],
        "https://img.example/banner.jpg"
    );
}

/// A server that answers WebFinger and NodeInfo as one kind of fediverse software does.
fn fake_server(kind: &'static str) -> String {
    let server = HttpServer::new(move || {
        App::new().default_service(web::to(move |req: actix_web::HttpRequest| async move {
            let host = req.connection_info().host().to_owned();
            match req.path() {
                "/.well-known/webfinger" => match kind {
                    "misskey" => HttpResponse::Ok().json(json!({ "links": [
                        { "rel": "self", "type": "application/activity+json", "href": format!("http://{host}/users/1") },
                        { "rel": "http://ostatus.org/schema/1.0/subscribe", "template": format!("http://{host}/authorize-follow?acct={{uri}}") },
                    ]})),
                    "intents" => HttpResponse::Ok().json(json!({ "links": [
                        { "rel": "http://ostatus.org/schema/1.0/subscribe", "template": format!("http://{host}/old?uri={{uri}}") },
                        { "rel": "https://w3id.org/fep/3b86/Follow", "template": format!("http://{host}/intent/follow?object={{object}}") },
                    ]})),
                    _ => HttpResponse::NotFound().finish(),
                },
                "/.well-known/nodeinfo" => HttpResponse::Ok().json(json!({ "links": [
                    { "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": format!("http://{host}/nodeinfo/2.0") },
                ]})),
                "/nodeinfo/2.0" => HttpResponse::Ok().json(json!({
                    "version": "2.0",
                    "software": { "name": if kind == "intents" { "mastodon" } else { kind }, "version": "1" },
                })),
                _ => HttpResponse::NotFound().finish(),
            }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    format!("127.0.0.1:{port}")
}

/// The follow form sends each visitor to their own server's follow page: from their account's
/// WebFinger (a FEP-3b86 intent before the OStatus template), else from their server's NodeInfo,
/// else Mastodon's `authorize_interaction`.
#[tokio::test(flavor = "multi_thread")]
async fn the_follow_form_leads_to_each_servers_own_page() {
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    app.add(&token, "Follow FM", "follow").await;
    let (misskey, pleroma, intents) = (
        fake_server("misskey"),
        fake_server("pleroma"),
        fake_server("intents"),
    );
    let dead = format!("127.0.0.1:{}", crate::helpers::free_port());
    let ours = "follow_fm%40localhost%3A8080";
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (typed, expected) in [
        (
            format!("http://alice@{misskey}"),
            format!("http://{misskey}/authorize-follow?acct={ours}"),
        ),
        (
            format!("http://{misskey}"),
            format!("http://{misskey}/authorize-follow?acct={ours}"),
        ),
        (
            format!("http://@bob@{pleroma}"),
            format!("http://{pleroma}/ostatus_subscribe?acct={ours}"),
        ),
        (
            format!("http://carol@{intents}"),
            format!("http://{intents}/intent/follow?object={ours}"),
        ),
        (
            format!("http://{intents}"),
            format!("http://{intents}/authorize_interaction?uri={ours}"),
        ),
        (
            format!("http://{dead}"),
            format!("http://{dead}/authorize_interaction?uri={ours}"),
        ),
    ] {
        let mut url = url::Url::parse(&app.url("/streams/follow_fm/follow")).unwrap();
        url.query_pairs_mut().append_pair("instance", &typed);
        let res = client.get(url).send().await.unwrap();
        assert_eq!(res.status(), 303, "{typed}");
        assert_eq!(res.headers()["location"], expected.as_str(), "{typed}");
    }
    let res = client
        .get(app.url("/streams/follow_fm/follow?instance=not%20a%20server"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// Without private networks allowed, the follow form asks no address, local name or port of
/// this machine's network: every such visitor input is refused before any request.
#[tokio::test(flavor = "multi_thread")]
async fn the_follow_form_never_asks_a_private_address() {
    let app = spawn_app_with(|c| c.allow_private_networks = false).await;
    let token = app.broadcaster("alice").await;
    app.add(&token, "Public FM", "public").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for typed in [
        "127.0.0.1",
        "alice@169.254.169.254",
        "http://10.0.0.1",
        "x@0177.0.0.1",
        "[::1]",
        "social.example:8443",
        "nas.local",
    ] {
        let mut url = url::Url::parse(&app.url("/streams/public_fm/follow")).unwrap();
        url.query_pairs_mut().append_pair("instance", typed);
        let res = client.get(url).send().await.unwrap();
        assert_eq!(res.status(), 400, "{typed}");
    }
}

/// Our WebFinger advertises a subscribe template; it leads an admin to the remote-follow form,
/// filled in, and follows nothing by itself.
#[tokio::test(flavor = "multi_thread")]
async fn our_subscribe_template_leads_to_the_admin_follow_form() {
    let app = spawn_app().await;
    let (_, wf) = app
        .get_json("/.well-known/webfinger?resource=acct:localhost@localhost:8080")
        .await;
    let template = wf["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "http://ostatus.org/schema/1.0/subscribe")
        .and_then(|l| l["template"].as_str())
        .unwrap_or_else(|| panic!("no subscribe template: {wf}"))
        .to_owned();
    assert_eq!(
        template,
        "http://localhost:8080/authorize_interaction?uri={uri}"
    );
    // Streams follow nobody: their accounts advertise no subscribe template.
    let token = app.broadcaster("alice").await;
    app.add(&token, "Quiet FM", "quiet").await;
    let (_, wf) = app
        .get_json("/.well-known/webfinger?resource=acct:quiet_fm@localhost:8080")
        .await;
    assert_eq!(wf["links"].as_array().unwrap().len(), 2, "{wf}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .get(app.url("/authorize_interaction?uri=%40jazz%40radio.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/admin?follow=%40jazz%40radio.example"
    );
    let res = client
        .get(app.url("/authorize_interaction"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
