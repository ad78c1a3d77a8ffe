//! Failed sign-ins are limited per account and per real client address, in the database: the
//! form and the admin API's HTTP Basic count together, forwarding headers are believed only
//! from `trusted_proxies`, and two processes on one database share the count.

use std::net::IpAddr;

use crate::{
    dashboard::{Visitor, account},
    helpers::{TestApp, spawn_app, spawn_app_with},
};

const RIGHT: &str = "correct horse battery";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The admin API with HTTP Basic as `name`; returns the status.
async fn basic(app: &TestApp, name: &str, password: &str) -> u16 {
    app.client
        .get(app.url("/api/v1/admin/blocks"))
        .basic_auth(name, Some(password))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_each_real_client_has_its_own_limit() {
    let app = spawn_app_with(|c| {
        c.trusted_proxies = onair::proxies::TrustedProxies::parse_list("127.0.0.1").unwrap();
    })
    .await;
    account(&app, "carol").await;
    // A guesser behind the proxy tries many names: its address runs out of tries.
    let mut guesser = Visitor::new(&app).forwarded_for("198.51.100.1");
    for n in 0..20 {
        assert_eq!(guesser.sign_in(&format!("user{n}"), "guess").await, 401);
    }
    assert_eq!(guesser.sign_in("carol", RIGHT).await, 429);
    // Everyone else comes through the same proxy and is not locked out.
    let mut carol = Visitor::new(&app).forwarded_for("198.51.100.2");
    assert_eq!(carol.sign_in("carol", RIGHT).await, 303);
    // A client that writes its own X-Forwarded-For still gets the proxy's append: nginx adds
    // the address it saw, and the walk from the nearest hop stops there.
    let mut liar = Visitor::new(&app).forwarded_for("203.0.113.7, 198.51.100.1");
    assert_eq!(liar.sign_in("carol", RIGHT).await, 429);
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarding_headers_from_anyone_else_are_ignored() {
    // No trusted proxies: a guesser cannot escape its limit by making up addresses.
    let app = spawn_app().await;
    account(&app, "carol").await;
    for n in 0..20 {
        let mut guesser =
            Visitor::from_address(&app, ip("127.0.0.3")).forwarded_for(&format!("198.51.100.{n}"));
        assert_eq!(guesser.sign_in(&format!("user{n}"), "guess").await, 401);
    }
    let mut guesser = Visitor::from_address(&app, ip("127.0.0.3")).forwarded_for("192.0.2.1");
    assert_eq!(guesser.sign_in("carol", RIGHT).await, 429);
    // Another real address is not limited.
    let mut carol = Visitor::from_address(&app, ip("127.0.0.4"));
    assert_eq!(carol.sign_in("carol", RIGHT).await, 303);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_is_limited_from_every_address_and_basic_counts_too() {
    let app = spawn_app().await;
    account(&app, "carol").await;
    // Three wrong passwords at the form, two over HTTP Basic, each from another address.
    for n in 0..3 {
        let mut v = Visitor::from_address(&app, ip(&format!("127.0.1.{}", n + 1)));
        assert_eq!(v.sign_in("carol", "guess").await, 401);
    }
    assert_eq!(basic(&app, "carol", "guess").await, 401);
    assert_eq!(basic(&app, "carol", "guess").await, 401);
    // The name has had its five: the right password is not even checked, anywhere.
    assert_eq!(basic(&app, "carol", RIGHT).await, 429);
    let mut elsewhere = Visitor::from_address(&app, ip("127.0.2.1"));
    assert_eq!(elsewhere.sign_in("carol", RIGHT).await, 429);
    // A quarter of an hour later it is open again, and a success clears the count.
    app.advance(15 * 60 + 1);
    assert_eq!(elsewhere.sign_in("carol", RIGHT).await, 303);
    assert_eq!(
        basic(&app, "carol", RIGHT).await,
        403,
        "signed in, not an admin"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_on_one_database_share_the_count() {
    let first = spawn_app().await;
    let url = first.database_url.clone();
    let second = spawn_app_with(move |c| c.database_url = url).await;
    account(&first, "carol").await;
    for app in [&first, &second, &first, &second, &first] {
        assert_eq!(Visitor::new(app).sign_in("carol", "guess").await, 401);
    }
    assert_eq!(Visitor::new(&second).sign_in("carol", RIGHT).await, 429);
    assert_eq!(basic(&first, "carol", RIGHT).await, 429);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_guesses_sent_at_once_gets_no_more_tries_than_the_limit() {
    let app = spawn_app().await;
    account(&app, "carol").await;
    let guesses = (0..20).map(|n| basic(&app, "carol", if n == 0 { "guess" } else { "guess!" }));
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, refused), (5, 15), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_written_forwarded_header_or_extra_line_is_not_believed() {
    let app = spawn_app_with(|c| {
        c.trusted_proxies = onair::proxies::TrustedProxies::parse_list("127.0.0.1").unwrap();
    })
    .await;
    account(&app, "carol").await;
    // nginx appends the address it saw to X-Forwarded-For and passes Forwarded through: a
    // Forwarded header is the client's own words and changes nothing.
    let guess = |n: u32, forwarded: String| {
        app.client
            .get(app.url("/api/v1/admin/blocks"))
            .basic_auth(format!("user{n}"), Some("guess"))
            .header("forwarded", forwarded)
            .header("x-forwarded-for", "198.51.100.9")
            .send()
    };
    for n in 0..20 {
        assert_eq!(
            guess(n, format!("for=203.0.113.{n}"))
                .await
                .unwrap()
                .status(),
            401
        );
    }
    assert_eq!(
        guess(99, "for=192.0.2.1".into()).await.unwrap().status(),
        429
    );
    // A proxy that adds a line of its own: the last line is its, the first the client's.
    let res = app
        .client
        .get(app.url("/api/v1/admin/blocks"))
        .basic_auth("carol", Some(RIGHT))
        .header("x-forwarded-for", "198.51.100.77")
        .header("x-forwarded-for", "198.51.100.9")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        429,
        "the proxy's line, not the client's, names the address"
    );
}
