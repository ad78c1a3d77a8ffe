use serde_json::json;

use super::*;

fn now() -> NaiveDateTime {
    DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
        .unwrap()
        .naive_utc()
}

fn onair_note() -> Value {
    json!({
        "id": "https://a.example/broadcasts/7",
        "type": "Note",
        "attributedTo": "https://a.example/streams/jazz",
        "content": "<p>on air</p>",
        "isLiveBroadcast": true,
        "startDate": "2026-11-25T11:00:00Z",
        "contentUrl": "http://radio.example:8000/jazz",
        "encodingFormat": "audio/mpeg",
        "bitrate": 128,
        "genre": ["Jazz", "Soul"],
        "nowPlaying": "Miles Davis \u{2013} So What",
    })
}

#[test]
fn an_onair_note_is_read_whole() {
    let live = LiveNote::parse(&onair_note(), now()).unwrap();
    assert_eq!(live.id.as_str(), "https://a.example/broadcasts/7");
    assert_eq!(
        live.attributed_to.as_str(),
        "https://a.example/streams/jazz"
    );
    assert!(live.live);
    assert_eq!(live.title, "Miles Davis \u{2013} So What");
    assert_eq!(live.listen_url, "http://radio.example:8000/jazz");
    assert_eq!(
        (live.content_type.as_str(), live.bitrate),
        ("audio/mpeg", Some(128))
    );
    assert_eq!(live.genres, "Jazz,Soul");
    assert_eq!(live.started_at.to_string(), "2026-11-25 11:00:00");
}

#[test]
fn prefixed_terms_and_odd_shapes_are_understood() {
    let note = json!({
        "id": "https://b.example/n/1",
        "type": "Note",
        "attributedTo": [{"type": "Service", "id": "https://b.example/u/x"}],
        "schema:isLiveBroadcast": false,
        "schema:contentUrl": ["https://b.example/live.ogg"],
        "genre": "Ambient",
    });
    let live = LiveNote::parse(&note, now()).unwrap();
    assert_eq!(live.attributed_to.as_str(), "https://b.example/u/x");
    assert!(!live.live);
    assert_eq!((live.genres.as_str(), live.started_at), ("Ambient", now()));
}

#[test]
fn notes_without_a_live_state_or_with_a_bad_listen_url_are_not_broadcasts() {
    let mut plain = onair_note();
    plain.as_object_mut().unwrap().remove("isLiveBroadcast");
    assert_eq!(LiveNote::parse(&plain, now()), None);
    let mut evil = onair_note();
    evil["contentUrl"] = json!("javascript:alert(1)");
    assert_eq!(LiveNote::parse(&evil, now()), None);
    let mut article = onair_note();
    article["type"] = json!("Article");
    assert_eq!(LiveNote::parse(&article, now()), None);
    let mut long = onair_note();
    long["nowPlaying"] = json!("x".repeat(10_000));
    assert!(LiveNote::parse(&long, now()).unwrap().title.chars().count() <= text::TITLE + 1);
}

#[test]
fn an_actor_profile_is_sanitised() {
    let actor = json!({
        "id": "https://a.example/streams/jazz",
        "type": "Service",
        "preferredUsername": "jazz",
        "name": "Night\u{0} Jazz",
        "summary": "<p>Smooth <script>x</script><b>jazz</b></p>",
        "icon": {"type": "Image", "url": "https://a.example/icon.png"},
        "url": "https://a.example/streams/jazz",
        "attachment": [
            {"type": "PropertyValue", "name": "Genre", "value": "Jazz, Soul"},
            {"type": "PropertyValue", "name": "Homepage", "value": "<a href=\"x\">x</a>"}
        ]
    });
    let p = profile(&actor, now()).unwrap();
    assert_eq!((p.host.as_str(), p.handle.as_str()), ("a.example", "jazz"));
    assert_eq!(p.name, "Night Jazz");
    assert_eq!(p.summary, "<p>Smooth <b>jazz</b></p>");
    assert_eq!(p.icon.as_deref(), Some("https://a.example/icon.png"));
    assert_eq!(p.genres, "Jazz,Soul");
    assert!(
        profile(
            &json!({"id": "https://a.example/n/1", "type": "Note"}),
            now()
        )
        .is_none()
    );
}
