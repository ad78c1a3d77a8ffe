//! The admin JSON API: HTTP Basic as an admin account; remote follows, relays and blocks.

use onair::accounts::{self, UserName};

use crate::{
    fake_relay::start_relay,
    helpers::{TestApp, public_app},
};

async fn account(app: &TestApp, name: &str, admin: bool) {
    let (name, now) = (UserName::parse(name).unwrap(), app.state.clock.now());
    app.state
        .db
        .write(move |c| accounts::create_user(c, &name, "correct horse", admin, now).map(|_| ()))
        .await
        .unwrap();
}

/// A request to the admin API as `user` (password "correct horse" unless `password` says).
async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    user: Option<(&str, &str)>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = app
        .client
        .request(method, app.url(&format!("/api/v1/admin{path}")));
    if let Some((name, password)) = user {
        req = req.basic_auth(name, Some(password));
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_manage_follows_relays_and_blocks_over_json() {
    use reqwest::Method;
    let (app, _) = public_app().await;
    account(&app, "root", true).await;
    account(&app, "dj", false).await;
    let root = Some(("root", "correct horse"));

    assert_eq!(call(&app, Method::GET, "/blocks", None, None).await.0, 401);
    assert_eq!(
        call(&app, Method::GET, "/blocks", Some(("root", "wrong")), None)
            .await
            .0,
        401
    );
    let (status, body) = call(
        &app,
        Method::GET,
        "/blocks",
        Some(("dj", "correct horse")),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");

    let block = |t: &str| Some(serde_json::json!({ "target": t }));
    assert_eq!(
        call(&app, Method::POST, "/blocks", root, block("Spam.Example"))
            .await
            .0,
        201
    );
    assert_eq!(
        call(&app, Method::POST, "/blocks", root, block("spam.example"))
            .await
            .0,
        200
    );
    let (_, list) = call(&app, Method::GET, "/blocks", root, None).await;
    assert_eq!(list["items"][0]["value"], "spam.example");
    assert_eq!(list["items"][0]["kind"], "domain");
    let (status, body) = call(&app, Method::POST, "/blocks", root, block("not a domain")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("domain"), "{body}");
    let (status, _) = call(
        &app,
        Method::POST,
        "/blocks",
        root,
        Some(serde_json::json!({"x": 1})),
    )
    .await;
    assert_eq!(status, 400, "unknown fields are refused");
    assert_eq!(
        call(&app, Method::DELETE, "/blocks", root, block("spam.example"))
            .await
            .0,
        204
    );
    assert_eq!(
        call(&app, Method::DELETE, "/blocks", root, block("spam.example"))
            .await
            .0,
        404
    );

    // Follow a stream of another instance.
    let (other, other_port) = public_app().await;
    let token = other.broadcaster("alice").await;
    other.add(&token, "Night Jazz", "jazz").await;
    let target = format!("@night_jazz@localhost:{other_port}");
    let (status, sub) = call(&app, Method::POST, "/remote", root, block(&target)).await;
    assert_eq!(status, 202, "{sub}");
    assert_eq!(sub["state"], "pending");
    assert_eq!(
        sub["actor"],
        format!("http://localhost:{other_port}/streams/night_jazz")
    );
    let (_, list) = call(&app, Method::GET, "/remote", root, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (status, body) = call(&app, Method::POST, "/remote", root, block("nobody")).await;
    assert_eq!(status, 400, "{body}");

    // Subscribe to a relay.
    let relay = start_relay().await;
    let (status, sub) = call(&app, Method::POST, "/relays", root, block(&relay.inbox)).await;
    assert_eq!(status, 202, "{sub}");
    assert_eq!(sub["kind"], "relay");
    let (_, relays) = call(&app, Method::GET, "/relays", root, None).await;
    assert_eq!(relays["items"].as_array().unwrap().len(), 1, "{relays}");
    assert_eq!(
        call(&app, Method::DELETE, "/relays", root, block(&relay.inbox))
            .await
            .0,
        204
    );
    assert_eq!(
        call(&app, Method::DELETE, "/remote", root, block(&target))
            .await
            .0,
        204
    );
    let (_, list) = call(&app, Method::GET, "/remote", root, None).await;
    assert_eq!(list["items"], serde_json::json!([]));
}
