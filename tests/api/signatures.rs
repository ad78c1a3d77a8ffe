//! The inbox against hand-made draft-cavage signatures in the shapes real servers send:
//! `rsa-sha256` and `hs2019`, with `Date` or with `(created)`/`(expires)`, digest algorithm names
//! in either case, and the clock-skew window; and what it refuses.

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use chrono::{TimeDelta, Utc};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, pkcs8::DecodePrivateKey};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, public_app, spawn_app};

/// A remote actor served from a local port, with its private key to sign as it.
struct Remote {
    id: String,
    key: RsaPrivateKey,
}

/// Serves two actors, `alice` and `mallory`, at `http://localhost:{port}/users/{name}`.
async fn start_remote() -> (Remote, Remote) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut actors = Vec::new();
    let mut documents = Vec::new();
    for name in ["alice", "mallory"] {
        let (public, private) = onair::httpsig::generate().await.unwrap();
        let id = format!("{base}/users/{name}");
        documents.push(serde_json::json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": id, "type": "Person", "preferredUsername": name,
            "inbox": format!("{id}/inbox"),
            "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": public },
        }));
        let key = RsaPrivateKey::from_pkcs8_pem(&private).unwrap();
        actors.push(Remote { id, key });
    }
    let documents = web::Data::new(documents);
    let server = HttpServer::new(move || {
        App::new().app_data(documents.clone()).route(
            "/users/{name}",
            web::get().to(
                |name: web::Path<String>, docs: web::Data<Vec<serde_json::Value>>| async move {
                    match docs.iter().find(|d| d["preferredUsername"] == *name) {
                        Some(d) => HttpResponse::Ok()
                            .content_type("application/activity+json")
                            .json(d),
                        None => HttpResponse::NotFound().finish(),
                    }
                },
            ),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap();
    tokio::spawn(server.run());
    let mallory = actors.pop().unwrap();
    (actors.pop().unwrap(), mallory)
}

/// How a request is signed.
#[derive(Clone)]
struct Shape {
    algorithm: &'static str,
    /// Covered headers; `date` and `digest` also decide whether those headers are sent.
    headers: &'static str,
    digest_name: &'static str,
    /// Send the digest of other bytes than the body.
    wrong_digest: bool,
    /// Sign for (and send to) this Host instead of ours: a replay from another server.
    host: Option<&'static str>,
    /// Sign for our host but send this `Host` header: a proxy that rewrote it.
    sent_host: Option<&'static str>,
    date_offset: TimeDelta,
    /// `(created)` and `(expires)` relative to now.
    created: TimeDelta,
    expires: TimeDelta,
}

const CAVAGE: Shape = Shape {
    algorithm: "rsa-sha256",
    headers: "(request-target) host date digest",
    digest_name: "SHA-256",
    wrong_digest: false,
    host: None,
    sent_host: None,
    date_offset: TimeDelta::zero(),
    created: TimeDelta::zero(),
    expires: TimeDelta::minutes(5),
};

/// A `Like` by `actor`, number `n`.
fn like(actor: &Remote, n: u32) -> serde_json::Value {
    serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/likes/{n}", actor.id),
        "type": "Like",
        "actor": actor.id,
        "object": "http://localhost:8080/broadcasts/1",
    })
}

/// Posts a `Like` by `actor` to the shared inbox, signed as `signer` in `shape`; returns the
/// status.
async fn post(app: &TestApp, actor: &Remote, signer: &Remote, shape: &Shape, n: u32) -> u16 {
    post_body(app, like(actor, n), signer, shape).await
}

async fn post_body(
    app: &TestApp,
    activity: serde_json::Value,
    signer: &Remote,
    shape: &Shape,
) -> u16 {
    let body = activity.to_string();
    let now = Utc::now();
    let date = (now + shape.date_offset)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let digested = if shape.wrong_digest {
        "{}"
    } else {
        body.as_str()
    };
    let digest = format!(
        "{}={}",
        shape.digest_name,
        BASE64.encode(Sha256::digest(digested.as_bytes()))
    );
    let host = shape
        .host
        .map_or_else(|| format!("localhost:{}", app.addr.port()), str::to_owned);
    let (created, expires) = (
        (now + shape.created).timestamp(),
        (now + shape.expires).timestamp(),
    );
    let lines: Vec<String> = shape
        .headers
        .split(' ')
        .map(|h| match h {
            "(request-target)" => "(request-target): post /inbox".to_owned(),
            "(created)" => format!("(created): {created}"),
            "(expires)" => format!("(expires): {expires}"),
            "host" => format!("host: {host}"),
            "date" => format!("date: {date}"),
            "digest" => format!("digest: {digest}"),
            other => panic!("unknown header {other}"),
        })
        .collect();
    let hashed = Sha256::digest(lines.join("\n").as_bytes());
    let signature = signer
        .key
        .sign(Pkcs1v15Sign::new::<Sha256>(), &hashed)
        .unwrap();
    let mut header = format!(
        r#"keyId="{}#main-key",algorithm="{}",headers="{}",signature="{}""#,
        signer.id,
        shape.algorithm,
        shape.headers,
        BASE64.encode(signature)
    );
    if shape.headers.contains("(created)") {
        header.push_str(&format!(",created={created},expires={expires}"));
    }
    let mut req = app
        .client
        .post(app.url("/inbox"))
        .header("content-type", "application/activity+json")
        .header("signature", header)
        .header("digest", digest);
    if shape.headers.contains("date") {
        req = req.header("date", date);
    }
    if let Some(host) = shape.host.or(shape.sent_host) {
        req = req.header("host", host);
    }
    req.body(body).send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbox_takes_the_signature_shapes_servers_send_and_refuses_the_rest() {
    let (app, _) = public_app().await;
    let (alice, _) = start_remote().await;
    let accepted = [
        ("rsa-sha256 over date", CAVAGE),
        (
            "hs2019 over date",
            Shape {
                algorithm: "hs2019",
                ..CAVAGE
            },
        ),
        (
            "hs2019 over (created) and (expires), no Date",
            Shape {
                algorithm: "hs2019",
                headers: "(request-target) (created) (expires) host digest",
                ..CAVAGE
            },
        ),
        (
            "a lower-case digest name",
            Shape {
                digest_name: "sha-256",
                ..CAVAGE
            },
        ),
        (
            "a clock 30 minutes behind",
            Shape {
                date_offset: TimeDelta::minutes(-30),
                ..CAVAGE
            },
        ),
        (
            "a clock 30 minutes ahead",
            Shape {
                date_offset: TimeDelta::minutes(30),
                ..CAVAGE
            },
        ),
        (
            "signed for our host, the Host header rewritten by a proxy",
            Shape {
                sent_host: Some("127.0.0.1:9"),
                ..CAVAGE
            },
        ),
    ];
    let mut n = 0;
    for (what, shape) in &accepted {
        n += 1;
        assert_eq!(post(&app, &alice, &alice, shape, n).await, 202, "{what}");
    }
    let refused = [
        (
            "a Date two hours old",
            Shape {
                date_offset: TimeDelta::hours(-2),
                ..CAVAGE
            },
        ),
        (
            "a Date two hours ahead",
            Shape {
                date_offset: TimeDelta::hours(2),
                ..CAVAGE
            },
        ),
        (
            "(expires) passed",
            Shape {
                algorithm: "hs2019",
                headers: "(request-target) (created) (expires) host digest",
                created: TimeDelta::minutes(-10),
                expires: TimeDelta::minutes(-5),
                ..CAVAGE
            },
        ),
        (
            "(created) two hours ahead",
            Shape {
                algorithm: "hs2019",
                headers: "(request-target) (created) (expires) host digest",
                created: TimeDelta::hours(2),
                expires: TimeDelta::hours(3),
                ..CAVAGE
            },
        ),
        (
            "a request signed for another server, replayed here",
            Shape {
                host: Some("elsewhere.example"),
                ..CAVAGE
            },
        ),
        (
            "a digest of other bytes than the body",
            Shape {
                wrong_digest: true,
                ..CAVAGE
            },
        ),
    ];
    for (what, shape) in &refused {
        n += 1;
        assert_eq!(post(&app, &alice, &alice, shape, n).await, 401, "{what}");
    }
}

/// A signature proves who sent a request, not who wrote the activity: alice's Follow signed by
/// mallory is verified (202, as a relay's forward would be) and then dropped.
#[tokio::test(flavor = "multi_thread")]
async fn an_activity_signed_by_someone_else_is_not_taken() {
    let (app, _) = public_app().await;
    let token = app.broadcaster("bob").await;
    app.add(&token, "Signed FM", "signed").await;
    let (alice, mallory) = start_remote().await;
    let target = app.url("/streams/signed_fm");
    let follow = |n: u32| {
        serde_json::json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/follows/{n}", alice.id),
            "type": "Follow",
            "actor": alice.id,
            "object": target,
        })
    };
    let followers = async || {
        app.state
            .db
            .read(|c| onair::db::models::Follower::list(c, 1))
            .await
            .unwrap()
            .len()
    };
    assert_eq!(post_body(&app, follow(1), &mallory, &CAVAGE).await, 202);
    assert_eq!(followers().await, 0, "mallory cannot make alice follow");
    assert_eq!(post_body(&app, follow(2), &alice, &CAVAGE).await, 202);
    assert_eq!(followers().await, 1, "alice can");
    let mut foreign = like(&alice, 3);
    foreign["id"] = "http://elsewhere.example/likes/3".into();
    assert_eq!(
        post_body(&app, foreign, &alice, &CAVAGE).await,
        400,
        "an activity id on another host than its actor"
    );
}

/// Allow-list mode: requests from unlisted domains get 403 before any key is fetched, and
/// nothing is delivered to them.
#[tokio::test(flavor = "multi_thread")]
async fn allow_list_mode_federates_with_listed_domains_only() {
    let (sink, seen) = crate::sinks::start_sink();
    let sink_port: u16 = sink.rsplit(':').next().unwrap().parse().unwrap();
    let listed = format!("localhost:{sink_port}");
    let (app, _) =
        crate::helpers::public_app_with(|c| c.catalog.allowed_domains = vec![listed]).await;
    let (alice, _) = start_remote().await;
    let status = post(&app, &alice, &alice, &CAVAGE, 1).await;
    assert_eq!(status, 403, "alice's host is not on the allow-list");

    // A follower on a listed host gets the go-live; one elsewhere does not, and its delivery
    // fails without a request.
    let token = app.broadcaster("bob").await;
    let sid = app.add(&token, "Listed FM", "listed").await;
    app.yp(&token, &format!("action=remove&sid={sid}")).await;
    app.advance_and_reap(3600).await;
    let (now, listed_inbox) = (app.state.clock.now(), format!("{sink}/listed"));
    let elsewhere = "http://127.0.0.1:9/inbox".to_owned();
    app.state
        .db
        .write(move |c| {
            use onair::db::models::Follower;
            Follower::upsert(
                c,
                1,
                "http://a.example/u",
                &listed_inbox,
                None,
                onair::db::models::FollowerState::Accepted,
                None,
                now,
            )?;
            Follower::upsert(
                c,
                1,
                "http://b.example/u",
                &elsewhere,
                None,
                onair::db::models::FollowerState::Accepted,
                None,
                now,
            )
            .map(|_| ())
        })
        .await
        .unwrap();
    app.add(&token, "Listed FM", "listed").await;
    let step = app.deliver_due().await;
    assert_eq!((step.delivered, step.failed), (1, 1), "{step:?}");
    assert_eq!(seen.paths(), ["/listed"]);
}

/// A redelivery is processed once while its id is remembered (three days; senders retry for
/// about two), and ids older than that are forgotten by housekeeping.
#[tokio::test]
async fn activity_ids_are_remembered_for_the_dedupe_window() {
    use onair::db::models::ReceivedActivity;
    let app = spawn_app().await;
    let now = app.state.clock.now();
    let old = now - chrono::TimeDelta::days(4);
    app.state
        .db
        .write(move |c| {
            assert!(ReceivedActivity::first_time(
                c,
                "https://a.example/old",
                old
            )?);
            assert!(ReceivedActivity::first_time(
                c,
                "https://a.example/new",
                now
            )?);
            assert!(!ReceivedActivity::first_time(
                c,
                "https://a.example/new",
                now
            )?);
            Ok(())
        })
        .await
        .unwrap();
    let forgotten = onair::federation::inbox::forget_old_ids(&app.state.db, now)
        .await
        .unwrap();
    assert_eq!(forgotten, 1);
    let again = app
        .state
        .db
        .write(move |c| {
            Ok((
                ReceivedActivity::first_time(c, "https://a.example/old", now)?,
                ReceivedActivity::first_time(c, "https://a.example/new", now)?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(
        again,
        (true, false),
        "the old id is new again; the recent one is still known"
    );
}
