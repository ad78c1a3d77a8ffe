use actix_web::http::header::{HeaderName, HeaderValue};

use super::*;

fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(
            HeaderName::from_static(k),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

fn noon() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

const MASTODON: &str = r#"keyId="https://m.example/users/a#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature="AAEC""#;

#[test]
fn a_mastodon_signature_parses_and_rebuilds_its_signing_string() {
    let sig = SignatureHeader::parse(MASTODON).unwrap();
    assert_eq!(sig.key_id.as_str(), "https://m.example/users/a#main-key");
    assert_eq!(sig.signature, [0, 1, 2]);
    let h = headers(&[
        ("host", "onair.example".into()),
        ("date", http_date(noon())),
        ("digest", "SHA-256=x".into()),
        ("content-type", "application/activity+json".into()),
    ]);
    let s = sig
        .signing_string(&Method::POST, "/inbox", &h, "onair.example")
        .unwrap();
    assert_eq!(
        s,
        "(request-target): post /inbox\nhost: onair.example\ndate: Wed, 25 Nov 2026 12:00:00 GMT\ndigest: SHA-256=x\ncontent-type: application/activity+json"
    );
}

#[test]
fn created_and_expires_are_read_quoted_or_not_and_enter_the_string() {
    let sig = SignatureHeader::parse(
        r#"keyId="https://f.example/u#k",algorithm="hs2019",created=1700000000,expires="1700000300",headers="(request-target) (created) (expires) host digest",signature="AA==""#,
    )
    .unwrap();
    assert_eq!(
        (sig.created, sig.expires),
        (Some(1_700_000_000), Some(1_700_000_300))
    );
    let h = headers(&[("host", "h".into()), ("digest", "d".into())]);
    // The host line is the one the request was meant for, not what a proxy left in the header.
    let s = sig
        .signing_string(&Method::POST, "/i?x=1", &h, "h")
        .unwrap();
    assert_eq!(
        s,
        "(request-target): post /i?x=1\n(created): 1700000000\n(expires): 1700000300\nhost: h\ndigest: d"
    );
}

#[test]
fn what_must_be_covered_and_supported() {
    let refused = |header: &str| {
        let sig = SignatureHeader::parse(header)?;
        let h = headers(&[
            ("host", "h".into()),
            ("date", "d".into()),
            ("digest", "x".into()),
        ]);
        sig.signing_string(&Method::POST, "/inbox", &h, "h")
    };
    let base = r#"keyId="https://a.example/u#k",signature="AA==""#;
    for (headers_param, why) in [
        ("host date digest", "(request-target)"),
        ("(request-target) date digest", "host"),
        ("(request-target) host date", "digest"),
        ("(request-target) host digest", "date or (created)"),
    ] {
        let e = refused(&format!(r#"{base},headers="{headers_param}""#)).unwrap_err();
        assert!(e.to_string().contains(why), "{e}");
    }
    let e = refused(&format!(r#"{base},algorithm="ed25519",headers="date""#)).unwrap_err();
    assert!(e.to_string().contains("not supported"), "{e}");
    assert!(
        refused(r#"signature="AA==""#)
            .unwrap_err()
            .to_string()
            .contains("keyId")
    );
    assert!(
        refused(r#"keyId="k",signature="AA==""#).is_err(),
        "keyId must be a URL"
    );
    let e = SignatureHeader::from_headers(&headers(&[("signature-input", "sig1=()".into())]))
        .unwrap_err();
    assert!(e.to_string().contains("RFC 9421"), "{e}");
}

#[test]
fn the_time_window_and_the_skew() {
    let now = noon();
    let sig = SignatureHeader::parse(MASTODON).unwrap();
    let at = |t: DateTime<Utc>| sig.check_time(&headers(&[("date", http_date(t))]), now);
    assert!(at(now).is_ok());
    assert!(at(now - TimeDelta::minutes(59)).is_ok());
    assert!(at(now + TimeDelta::minutes(59)).is_ok());
    let e = at(now - TimeDelta::hours(2)).unwrap_err();
    assert!(e.to_string().contains("120 minutes old"), "{e}");
    let e = at(now + TimeDelta::hours(2)).unwrap_err();
    assert!(e.to_string().contains("120 minutes ahead"), "{e}");
    assert!(
        sig.check_time(&headers(&[("date", "yesterday".into())]), now)
            .is_err()
    );

    let with = |created: i64, expires: i64| SignatureHeader {
        created: Some(created),
        expires: Some(expires),
        ..sig.clone()
    };
    let t = now.timestamp();
    assert!(
        with(t - 10, t + 300)
            .check_time(&HeaderMap::new(), now)
            .is_ok()
    );
    assert!(
        with(t - 600, t - 300)
            .check_time(&HeaderMap::new(), now)
            .is_err(),
        "expired"
    );
    assert!(
        with(t + 7200, t + 7500)
            .check_time(&HeaderMap::new(), now)
            .is_err(),
        "ahead"
    );
}

#[test]
fn the_digest_matches_the_body_whatever_the_case_of_its_name() {
    let body = b"{}";
    let good = format!("SHA-256={}", BASE64.encode(Sha256::digest(body)));
    assert!(check_digest(&headers(&[("digest", good.clone())]), body).is_ok());
    let lower = good.replacen("SHA-256", "sha-256", 1);
    assert!(check_digest(&headers(&[("digest", lower)]), body).is_ok());
    assert!(check_digest(&headers(&[("digest", good)]), b"{ }").is_err());
    assert!(check_digest(&headers(&[("digest", "SHA-512=abc".into())]), body).is_err());
    assert!(check_digest(&HeaderMap::new(), body).is_err());
}
