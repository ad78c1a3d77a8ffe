//! Sign-in and the dashboard over HTTP, as a browser without JavaScript uses them: cookies,
//! CSRF tokens in forms, a YP URL made and revoked, and one broadcaster kept out of another's
//! streams and tokens.

use std::collections::HashMap;

use crate::helpers::{TestApp, add_body, spawn_app};

/// A cookie jar and the last page's CSRF token.
pub(crate) struct Visitor<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: HashMap<String, String>,
    /// Sent as `X-Forwarded-For` on every request, as a proxy (or a liar) would.
    forwarded_for: Option<String>,
}

impl<'a> Visitor<'a> {
    pub(crate) fn new(app: &'a TestApp) -> Self {
        Self::from_address(app, [127, 0, 0, 1].into())
    }

    /// A visitor whose connections come from `address` (anything in 127/8 works on loopback).
    pub(crate) fn from_address(app: &'a TestApp, address: std::net::IpAddr) -> Self {
        Self {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .local_address(address)
                .build()
                .unwrap(),
            cookies: HashMap::new(),
            forwarded_for: None,
        }
    }

    /// Every request says it was forwarded for `address`.
    pub(crate) fn forwarded_for(mut self, address: &str) -> Self {
        self.forwarded_for = Some(address.to_owned());
        self
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self
            .client
            .request(method, self.app.url(path))
            .header("cookie", self.cookie_header());
        match &self.forwarded_for {
            Some(f) => req.header("x-forwarded-for", f),
            None => req,
        }
    }

    fn keep(&mut self, res: &reqwest::Response) {
        for v in res.headers().get_all("set-cookie") {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.insert(k.to_owned(), v.to_owned());
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) async fn get(&mut self, path: &str) -> (u16, String, Option<String>) {
        let res = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        self.keep(&res);
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (status, res.text().await.unwrap(), location)
    }

    pub(crate) async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, String, Option<String>) {
        let res = self
            .request(reqwest::Method::POST, path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            )
            .send()
            .await
            .unwrap();
        self.keep(&res);
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (status, res.text().await.unwrap(), location)
    }

    pub(crate) async fn sign_in(&mut self, name: &str, password: &str) -> u16 {
        let (_, page, _) = self.get("/login").await;
        let csrf = csrf_of(&page);
        self.post(
            "/login",
            &[("name", name), ("password", password), ("csrf", &csrf)],
        )
        .await
        .0
    }
}

/// The CSRF token in a page's first form.
pub(crate) fn csrf_of(page: &str) -> String {
    let at = page
        .find(r#"name="csrf" value=""#)
        .expect("a form with a CSRF token")
        + 19;
    page[at..at + page[at..].find('"').unwrap()].to_owned()
}

pub(crate) async fn account(app: &TestApp, name: &str) {
    let (name, now) = (
        onair::accounts::UserName::parse(name).unwrap(),
        app.state.clock.now(),
    );
    app.state
        .db
        .write(move |c| {
            onair::accounts::create_user(c, &name, "correct horse battery", false, now).map(|_| ())
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broadcaster_signs_in_makes_a_yp_url_and_revokes_it() {
    let app = spawn_app().await;
    account(&app, "alice").await;
    let mut alice = Visitor::new(&app);
    assert_eq!(alice.get("/dashboard").await.2.as_deref(), Some("/login"));
    assert_eq!(alice.sign_in("alice", "wrong").await, 401);
    assert_eq!(alice.sign_in("alice", "correct horse battery").await, 303);
    let session = alice.cookies["onair_session"].clone();
    assert_eq!(session.len(), 43);

    let (status, page, _) = alice.get("/dashboard").await;
    assert_eq!(status, 200);
    assert!(page.contains("No stream yet"), "{page}");
    let csrf = csrf_of(&page);
    let (status, made, _) = alice
        .post("/dashboard/tokens", &[("csrf", &csrf), ("label", "studio")])
        .await;
    assert_eq!(status, 200);
    let at = made.find(r#"<code id="yp-url">"#).unwrap() + 18;
    let yp_url = made[at..at + made[at..].find('<').unwrap()].to_owned();
    assert!(
        made.contains("&#60;yp-url&#62;") || made.contains("&lt;yp-url&gt;"),
        "{made}"
    );
    let token = yp_url.rsplit('/').next().unwrap().to_owned();

    // The URL works for Icecast, and the stream shows up on the dashboard.
    let added = app
        .yp(
            &token,
            &add_body("Alice FM", "http://radio.example:8000/alice", "Jazz"),
        )
        .await;
    assert!(added.ok, "{}", added.message);
    let (_, page, _) = alice.get("/dashboard").await;
    assert!(
        page.contains("Alice FM") && page.contains("On air"),
        "{page}"
    );

    // A form without the token is refused; with it, the YP URL is revoked.
    let id = page.find("/dashboard/tokens/").map(|at| {
        let rest = &page[at + 18..];
        rest[..rest.find('/').unwrap()].to_owned()
    });
    let id = id.unwrap();
    let path = format!("/dashboard/tokens/{id}/revoke");
    assert_eq!(alice.post(&path, &[]).await.0, 403);
    assert_eq!(alice.post(&path, &[("csrf", "forged")]).await.0, 403);
    assert_eq!(alice.post(&path, &[("csrf", &csrf_of(&page))]).await.0, 303);
    let refused = app
        .yp(
            &token,
            &add_body("Alice FM", "http://radio.example:8000/alice", "Jazz"),
        )
        .await;
    assert!(!refused.ok, "a revoked YP URL is refused");

    // Settings: follower approval on.
    let (_, page, _) = alice.get("/dashboard").await;
    let settings = |https: &str| {
        vec![
            ("csrf", csrf_of(&page)),
            ("approval", "on".to_owned()),
            ("on_end", "update".to_owned()),
            ("https_listen_url", https.to_owned()),
            ("display_name", "Alice Live".to_owned()),
            ("display_description", "Jazz from the attic".to_owned()),
            ("icon_url", "https://img.example/alice.png".to_owned()),
            ("header_url", "https://img.example/banner.jpg".to_owned()),
            ("title_edits", "on".to_owned()),
            ("language", "de".to_owned()),
            ("post_template", "{name} sendet: {title}".to_owned()),
            ("content_warning", "laut".to_owned()),
            ("show_reminder", "20".to_owned()),
        ]
    };
    let bad = settings("http://plain.example/x");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, _) = alice
        .post("/dashboard/streams/alice_fm/settings", &bad)
        .await;
    assert_eq!(status, 400, "an https listen URL must be https");
    let mut bad_icon = settings("https://tls.example/alice");
    bad_icon[6].1 = "javascript:alert(1)".to_owned();
    let bad_icon: Vec<(&str, &str)> = bad_icon.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, _) = alice
        .post("/dashboard/streams/alice_fm/settings", &bad_icon)
        .await;
    assert_eq!(status, 400, "an icon must be an https URL");
    for (field, value, why) in [
        (9, "Deutsch", "a language tag"),
        (10, "{name} {song}", "a known placeholder"),
        (8, "maybe", "on or off"),
        (12, "soon", "a number of minutes"),
        (12, "2", "at least 5 minutes"),
    ] {
        let mut bad = settings("https://tls.example/alice");
        bad[field].1 = value.to_owned();
        let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, _) = alice
            .post("/dashboard/streams/alice_fm/settings", &bad)
            .await;
        assert_eq!(status, 400, "{why}");
    }
    let form = settings("https://tls.example/alice");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        alice
            .post("/dashboard/streams/alice_fm/settings", &form)
            .await
            .0,
        303
    );
    let (_, page, _) = alice.get("/dashboard").await;
    assert!(page.contains(r#"<option value="on" selected>"#), "{page}");
    assert!(
        page.contains(r#"value="{name} sendet: {title}""#) && page.contains(r#"value="laut""#),
        "{page}"
    );
    assert!(
        page.contains(r#"name="show_reminder" type="number" min="0" max="1440" value="20""#),
        "{page}"
    );
    let actor = app
        .client
        .get(app.url("/streams/alice_fm"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(
        actor["name"], "Alice Live",
        "the owner's name over Icecast's"
    );
    assert_eq!(actor["summary"], "<p>Jazz from the attic</p>");
    assert_eq!(actor["icon"]["url"], "https://img.example/alice.png");
    assert_eq!(actor["image"]["url"], "https://img.example/banner.jpg");
    let (_, home, _) = alice.get("/").await;
    assert!(home.contains("Alice Live"), "{home}");
    assert!(
        home.contains(r#"src="https://tls.example/alice""#),
        "the player uses the https URL: {home}"
    );

    // Signing out ends the session.
    assert_eq!(
        alice.post("/logout", &[("csrf", &csrf_of(&page))]).await.0,
        303
    );
    alice.cookies.insert("onair_session".into(), session);
    assert_eq!(alice.get("/dashboard").await.2.as_deref(), Some("/login"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_broadcaster_cannot_see_or_change_the_first_ones_things() {
    let app = spawn_app().await;
    account(&app, "alice").await;
    account(&app, "bob").await;
    let mut alice = Visitor::new(&app);
    alice.sign_in("alice", "correct horse battery").await;
    let (_, page, _) = alice.get("/dashboard").await;
    let (_, made, _) = alice
        .post(
            "/dashboard/tokens",
            &[("csrf", &csrf_of(&page)), ("label", "mine")],
        )
        .await;
    let at = made.find(r#"<code id="yp-url">"#).unwrap() + 18;
    let token = made[at..at + made[at..].find('<').unwrap()]
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        app.yp(
            &token,
            &add_body("Alice FM", "http://radio.example:8000/a", "Jazz")
        )
        .await
        .ok
    );

    let mut bob = Visitor::new(&app);
    assert_eq!(bob.sign_in("bob", "correct horse battery").await, 303);
    let (_, page, _) = bob.get("/dashboard").await;
    assert!(
        !page.contains("Alice FM") && !page.contains("mine"),
        "{page}"
    );
    let csrf = csrf_of(&page);
    assert_eq!(
        bob.post("/dashboard/tokens/1/revoke", &[("csrf", &csrf)])
            .await
            .0,
        404
    );
    let form = [
        ("csrf", csrf.as_str()),
        ("approval", "on"),
        ("on_end", "delete"),
    ];
    assert_eq!(
        bob.post("/dashboard/streams/alice_fm/settings", &form)
            .await
            .0,
        404
    );
    assert!(
        app.yp(
            &token,
            &add_body("Alice FM", "http://radio.example:8000/a", "Jazz")
        )
        .await
        .ok,
        "alice's URL still works"
    );
    // Alice's CSRF token does not work in bob's session.
    let alice_page = alice.get("/dashboard").await.1;
    assert_eq!(
        bob.post(
            "/dashboard/tokens",
            &[("csrf", &csrf_of(&alice_page)), ("label", "x")]
        )
        .await
        .0,
        403
    );
}

#[tokio::test]
async fn sign_in_attempts_are_limited() {
    let app = spawn_app().await;
    account(&app, "carol").await;
    let mut guesser = Visitor::new(&app);
    for _ in 0..5 {
        assert_eq!(guesser.sign_in("carol", "guess").await, 401);
    }
    assert_eq!(guesser.sign_in("carol", "correct horse battery").await, 429);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_manages_accounts_blocks_and_the_queue_on_the_admin_page() {
    let app = spawn_app().await;
    let (name, now) = (
        onair::accounts::UserName::parse("root").unwrap(),
        app.state.clock.now(),
    );
    app.state
        .db
        .write(move |c| {
            onair::accounts::create_user(c, &name, "correct horse battery", true, now).map(|_| ())
        })
        .await
        .unwrap();
    account(&app, "dj").await;
    let mut dj = Visitor::new(&app);
    dj.sign_in("dj", "correct horse battery").await;
    assert_eq!(dj.get("/admin").await.0, 403, "not an admin");

    let mut root = Visitor::new(&app);
    assert_eq!(root.sign_in("root", "correct horse battery").await, 303);
    let (status, page, _) = root.get("/admin").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("dj") && page.contains("Delivery queue"),
        "{page}"
    );
    let csrf = csrf_of(&page);
    assert_eq!(
        root.post("/admin/users", &[("name", "eve"), ("role", "broadcaster")])
            .await
            .0,
        403
    );
    let (status, made, _) = root
        .post(
            "/admin/users",
            &[("csrf", &csrf), ("name", "eve"), ("role", "broadcaster")],
        )
        .await;
    assert_eq!(status, 200);
    let at = made.find("shown only now: ").unwrap() + 16;
    let password = made[at..at + made[at..].find('<').unwrap()]
        .trim()
        .to_owned();
    let mut eve = Visitor::new(&app);
    assert_eq!(
        eve.sign_in("eve", &password).await,
        303,
        "the new account signs in"
    );

    assert_eq!(
        root.post(
            "/admin/blocks",
            &[("csrf", &csrf), ("target", "spam.example")]
        )
        .await
        .0,
        303
    );
    let (_, page, _) = root.get("/admin").await;
    assert!(page.contains("spam.example"), "{page}");
    let (status, _, _) = root
        .post(
            "/admin/blocks",
            &[("csrf", &csrf), ("target", "not a domain")],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        root.post("/admin/queue", &[("csrf", &csrf), ("action", "retry")])
            .await
            .0,
        303
    );
    assert_eq!(
        root.post("/admin/users/disable", &[("csrf", &csrf), ("name", "eve")])
            .await
            .0,
        303
    );
    assert_eq!(
        eve.get("/dashboard").await.2.as_deref(),
        Some("/login"),
        "disabled: signed out"
    );
    let (status, page, _) = root
        .post("/admin/users/disable", &[("csrf", &csrf), ("name", "root")])
        .await;
    assert_eq!(status, 400, "an admin cannot lock themselves out: {page}");
    assert!(page.contains("your own account"), "{page}");
    assert_eq!(root.get("/admin").await.0, 200, "still signed in");
}

/// One rule for what a broadcaster may decide, whichever front end asks (the dashboard's
/// buttons, `onair follower`): approve only a pending follower; reject or remove any follower.
#[tokio::test]
async fn only_a_pending_follower_is_approved_and_any_can_be_rejected_or_removed() {
    use onair::{
        db::models::{Follower, FollowerState, Stream},
        error::Error,
        federation::follows::{Decision, decide},
    };
    let app = spawn_app().await;
    let token = app.broadcaster("alice").await;
    app.add(&token, "Kept", "kept").await;
    let (urls, now) = (app.state.urls.clone(), app.state.clock.now());
    let outcomes = app
        .state
        .db
        .write(move |c| {
            let (stream, _) = Stream::find_with_broadcast(c, "kept")?.unwrap();
            let (waiting, known) = ("http://x.example/u/waiting", "http://x.example/u/known");
            let inbox = "http://x.example/inbox";
            Follower::upsert(
                c,
                stream.id,
                waiting,
                inbox,
                None,
                FollowerState::Pending,
                None,
                now,
            )?;
            Follower::upsert(
                c,
                stream.id,
                known,
                inbox,
                None,
                FollowerState::Accepted,
                None,
                now,
            )?;
            let mut decide =
                |actor: &str, d: Decision| match decide(c, &stream, actor, d, &urls, now) {
                    Ok(()) => "done",
                    Err(Error::Conflict(_)) => "refused",
                    Err(Error::NotFound(_)) => "not found",
                    Err(_) => "failed",
                };
            Ok([
                decide(known, Decision::Approve),
                decide(waiting, Decision::Approve),
                decide(waiting, Decision::Approve),
                decide(waiting, Decision::Reject),
                decide(waiting, Decision::Remove),
                decide(known, Decision::Remove),
                decide(known, Decision::Reject),
            ])
        })
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        [
            "refused",
            "done",
            "refused",
            "done",
            "not found",
            "done",
            "not found"
        ]
    );
}

/// A page that needs a session sends the visitor to sign in and, after it, back to that page
/// (a local path only: anything else goes to the dashboard); admins' pages link the admin page,
/// broadcasters' do not.
#[tokio::test(flavor = "multi_thread")]
async fn signing_in_returns_to_the_page_that_asked_and_admins_see_their_link() {
    let app = spawn_app().await;
    let (name, now) = (
        onair::accounts::UserName::parse("root").unwrap(),
        app.state.clock.now(),
    );
    app.state
        .db
        .write(move |c| {
            onair::accounts::create_user(c, &name, "correct horse battery", true, now).map(|_| ())
        })
        .await
        .unwrap();
    account(&app, "dj").await;

    let mut root = Visitor::new(&app);
    let (status, _, location) = root.get("/admin?follow=%40jazz%40radio.example").await;
    assert_eq!(status, 303);
    let login = location.unwrap();
    assert_eq!(
        login,
        "/login?next=%2Fadmin%3Ffollow%3D%2540jazz%2540radio.example"
    );
    let (_, page, _) = root.get(&login).await;
    assert!(
        page.contains(r#"name="next" value="/admin?follow=%40jazz%40radio.example""#),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let form = [
        ("name", "root"),
        ("password", "correct horse battery"),
        ("csrf", csrf.as_str()),
        ("next", "/admin?follow=%40jazz%40radio.example"),
    ];
    let (status, _, location) = root.post("/login", &form).await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some("/admin?follow=%40jazz%40radio.example")
    );
    let (_, admin, _) = root.get("/admin?follow=%40jazz%40radio.example").await;
    assert!(
        admin.contains(r#"value="@jazz@radio.example""#),
        "the follow form is filled"
    );
    let (_, dashboard, _) = root.get("/dashboard").await;
    assert!(
        dashboard.contains(r#"<a href="/admin">Admin</a>"#),
        "{dashboard}"
    );

    // Another site's address, or a scheme-relative one, is never followed.
    for next in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "admin",
    ] {
        let mut dj = Visitor::new(&app);
        let (_, page, _) = dj.get("/login").await;
        let csrf = csrf_of(&page);
        let form = [
            ("name", "dj"),
            ("password", "correct horse battery"),
            ("csrf", csrf.as_str()),
            ("next", next),
        ];
        let (status, _, location) = dj.post("/login", &form).await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some("/dashboard")),
            "{next}"
        );
        let (_, dashboard, _) = dj.get("/dashboard").await;
        assert!(
            !dashboard.contains(">Admin</a>"),
            "a broadcaster has no admin link"
        );
    }
}
