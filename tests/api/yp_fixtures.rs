//! Every request Icecast 2.4.4 sent in ../shared/yp/fixtures, replayed byte for byte on one
//! keep-alive connection. Two things are rewritten, because they are ours to mint: the token in
//! the request path (and the fake directory's extra path segments), and the SID in touch and
//! remove bodies, which becomes the SID we issued for that mount (Content-Length follows).

use std::collections::HashMap;

use crate::helpers::{RawConn, RawResponse, TestApp, fixtures_dir, spawn_app_with};

struct Fixture {
    name: String,
    request: Vec<u8>,
    /// The SID the capture's fake directory answered with (adds only).
    captured_sid: Option<String>,
}

fn fixtures() -> Vec<Fixture> {
    let dir = fixtures_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".request.http").map(str::to_owned))
        .collect();
    names.sort();
    assert_eq!(names.len(), 31, "all 31 captured requests");
    names
        .into_iter()
        .map(|name| {
            let request = std::fs::read(dir.join(format!("{name}.request.http"))).unwrap();
            let response =
                std::fs::read_to_string(dir.join(format!("{name}.response.http"))).unwrap();
            let captured_sid = response
                .lines()
                .find_map(|l| l.strip_prefix("SID: "))
                .map(str::to_owned);
            Fixture {
                name,
                request,
                captured_sid,
            }
        })
        .collect()
}

/// The request with our token in the path and our SIDs in the body.
fn rewrite(
    request: &[u8],
    tokens: &HashMap<&str, String>,
    sids: &HashMap<String, String>,
) -> Vec<u8> {
    let split = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let (head, body) = (
        String::from_utf8(request[..split].to_vec()).unwrap(),
        &request[split..],
    );
    let mut body = body.to_vec();
    let text = String::from_utf8(body.clone()).unwrap();
    if let Some(rest) = text.split("sid=").nth(1) {
        let captured: String = rest
            .chars()
            .take_while(|c| *c != '&' && *c != '\r')
            .collect();
        let ours = sids
            .get(&captured)
            .unwrap_or_else(|| panic!("no add issued SID {captured}"));
        body = text
            .replacen(&format!("sid={captured}"), &format!("sid={ours}"), 1)
            .into_bytes();
    }
    let mut lines: Vec<String> = head.split("\r\n").map(str::to_owned).collect();
    let target = lines[0].split(' ').nth(1).unwrap().to_owned();
    let captured_token = target
        .trim_start_matches("/api/icecast/yp/")
        .split('/')
        .next()
        .unwrap();
    lines[0] = format!("POST /api/icecast/yp/{} HTTP/1.1", tokens[captured_token]);
    for line in &mut lines {
        if line.starts_with("Content-Length: ") {
            *line = format!("Content-Length: {}", body.len());
        }
    }
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(&body);
    out
}

fn assert_icecast_can_read(name: &str, res: &RawResponse) {
    assert!(res.head.starts_with("HTTP/1.1 200"), "{name}: {}", res.head);
    // Icecast matches the line prefix `YPResponse: 1` case-insensitively, one space after the colon.
    let yp_lines: Vec<&str> = res
        .header_lines()
        .into_iter()
        .filter(|l| l.to_ascii_lowercase().starts_with("ypresponse:"))
        .collect();
    assert_eq!(yp_lines.len(), 1, "{name}: {}", res.head);
    assert!(
        yp_lines[0].eq_ignore_ascii_case("YPResponse: 1"),
        "{name}: refused: {}",
        res.head
    );
    assert!(
        res.header("ypmessage").is_some_and(|m| !m.is_empty()),
        "{name}"
    );
}

async fn live(app: &TestApp) -> Vec<(String, String, String)> {
    let (_, body) = app.get_json("/api/v1/streams?status=all").await;
    let mut out: Vec<(String, String, String)> = body["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mount = s["listen_url"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned();
            (
                mount,
                s["status"].as_str().unwrap().to_owned(),
                s["title"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn every_captured_request_gets_the_right_answer_and_leaves_the_right_states() {
    let app = spawn_app_with(|c| {
        c.yp.end_grace = 10;
        c.yp.touch_freq = 30;
        c.yp.missed_touches = 3;
    })
    .await;
    let tokens = HashMap::from([
        ("test-token", app.broadcaster("alice").await),
        ("hang-token", app.broadcaster("bob").await),
    ]);
    let mut sids = HashMap::new();
    let mut conn = RawConn::connect(app.addr).await;
    for f in fixtures() {
        let res = conn.send(&rewrite(&f.request, &tokens, &sids)).await;
        assert_icecast_can_read(&f.name, &res);
        if let Some(captured) = f.captured_sid {
            let ours = res
                .header("sid")
                .unwrap_or_else(|| panic!("{}: add without SID", f.name));
            assert!(
                ours.bytes().all(|b| b.is_ascii_alphanumeric()),
                "SID must be URL-safe: {ours}"
            );
            assert_eq!(res.header("touchfreq"), Some("30"), "{}", f.name);
            sids.insert(captured, ours.to_owned());
        }
        if f.name.starts_with("013-") {
            let mp3 = app.stream("ezstream_live_mp3").await;
            assert_eq!(
                mp3["title"],
                "MP3 Artist - Café – Ünïcødé & \"quotes\" + plus 100%"
            );
        }
        if f.name.starts_with("026-") {
            let states = live(&app).await;
            assert!(
                states.iter().all(|(_, status, _)| status == "live"),
                "{states:?}"
            );
            let ogg = states.iter().find(|(m, _, _)| m == "live.ogg").unwrap();
            assert_eq!(ogg.2, "Tëst Ärtist - Tone B – 660 Hz & ünïcödé");
        }
    }

    let removed = [
        "forced-public.ogg",
        "ices.ogg",
        "live.mp3",
        "live.ogg",
        "redirect.ogg",
    ];
    let still_live = ["b.ogg", "http500.ogg", "reject.ogg", "touchfail.ogg"];
    let states = live(&app).await;
    assert_eq!(
        states.len(),
        9,
        "eight mounts of A (redirect added twice) and one of B: {states:?}"
    );
    for (mount, status, _) in &states {
        let want = if removed.contains(&mount.as_str()) {
            "ending"
        } else {
            "live"
        };
        assert_eq!(status, want, "{mount}");
    }

    // The grace period ends the removed ones; the others are still touched recently enough.
    assert_eq!(app.advance_and_reap(11).await.ended, 5);
    for (mount, status, _) in live(&app).await {
        let want = if removed.contains(&mount.as_str()) {
            "offline"
        } else {
            "live"
        };
        assert_eq!(status, want, "{mount}");
    }
    // No touch for 3 × 30 s: the reaper ends the ones Icecast never removed.
    assert_eq!(app.advance_and_reap(80).await.silent, still_live.len());
    assert!(
        live(&app)
            .await
            .iter()
            .all(|(_, status, _)| status == "offline")
    );

    let (_, all) = app.get_json("/api/v1/streams?status=all").await;
    // A refusal on the wire: the capture's touch for an SID we never issued, sent as captured.
    let unknown = fixtures()
        .into_iter()
        .find(|f| f.name.starts_with("015-"))
        .unwrap();
    let with_path = String::from_utf8(unknown.request).unwrap().replace(
        "/api/icecast/yp/test-token",
        &format!("/api/icecast/yp/{}", tokens["test-token"]),
    );
    let res = conn.send(with_path.as_bytes()).await;
    assert!(res.head.starts_with("HTTP/1.1 200"));
    assert!(
        res.header_lines()
            .iter()
            .any(|l| l.eq_ignore_ascii_case("YPResponse: 0")),
        "{}",
        res.head
    );
    assert!(res.header("sid").is_none());

    let forced = all["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Forced Public Name (mount override)")
        .unwrap();
    assert_eq!(
        forced["handle"], "forced_public_name_mount_overr",
        "30 characters at most"
    );
    assert_eq!(
        forced["genres"],
        serde_json::json!(["Jazz", "Électro", "Blues"])
    );
    assert_eq!(forced["homepage"], "https://radio.example.org/home?x=1&y=2");
    assert_eq!(forced["bitrate"], 96);
    let body = app.get_text("/api/v1/streams?status=all").await;
    assert!(
        !body.contains("s3cret"),
        "the cluster password never appears"
    );
}
