//! A broadcast on the wire: a `Note` (the one type Mastodon shows natively) whose HTML says the
//! stream is on air, with the title, a listen link and genre hashtags, plus the live state in
//! terms defined inline (schema.org where it has them) for other onair instances' catalogs. No
//! audio `attachment`: Mastodon would try to download a stream that never ends.

use chrono::NaiveDateTime;
use serde_json::{Value, json};
use url::Url;

use super::vocab::{CONTEXT, PUBLIC, live_context};
use crate::{
    db::models::{Broadcast, BroadcastState, Stream},
    urls::Urls,
};

/// Mastodon hashtags are letters, digits and underscores.
fn hashtag(genre: &str) -> Option<String> {
    let tag: String = deunicode::deunicode(genre)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    (!tag.is_empty()).then_some(tag)
}

/// The Note of a broadcast as it stands.
pub fn note(stream: &Stream, broadcast: &Broadcast, urls: &Urls) -> Value {
    let e = |s: &str| html_escape::encode_text(s).into_owned();
    let page = urls.stream(&stream.handle);
    let live = broadcast.state != BroadcastState::Ended;
    // Named as Mastodon spells hashtags, linked to the genre's own page (`Lo-Fi` is `#LoFi`, and
    // its page lists the streams whose genre is `Lo-Fi`).
    let tags: Vec<(String, url::Url)> = stream
        .genre_list()
        .iter()
        .filter_map(|g| Some((hashtag(g)?, urls.tag(g))))
        .collect();
    let mut html = match (live, broadcast.title.as_str()) {
        (true, "") => format!(
            "<p>🔴 <a href=\"{page}\">{}</a> is on air.</p>",
            e(stream.shown_name())
        ),
        (true, title) => format!(
            "<p>🔴 <a href=\"{page}\">{}</a> is on air: {}</p>",
            e(stream.shown_name()),
            e(title)
        ),
        (false, _) => format!(
            "<p><a href=\"{page}\">{}</a> was on air.</p>",
            e(stream.shown_name())
        ),
    };
    if live {
        let listen = html_escape::encode_double_quoted_attribute(&stream.listen_url);
        html.push_str(&format!(
            "<p>Listen: <a href=\"{listen}\" rel=\"nofollow noopener\">{}</a></p>",
            e(&stream.listen_url)
        ));
    }
    if !tags.is_empty() {
        let links: Vec<String> = tags
            .iter()
            .map(|(t, href)| {
                format!(
                    "<a href=\"{href}\" class=\"mention hashtag\" rel=\"tag\">#<span>{t}</span></a>"
                )
            })
            .collect();
        html.push_str(&format!("<p>{}</p>", links.join(" ")));
    }
    let mut note = json!({
        "@context": live_context(),
        "id": urls.broadcast(broadcast.id),
        "type": "Note",
        "attributedTo": page,
        "to": [PUBLIC],
        "cc": [urls.stream_followers(&stream.handle)],
        "published": rfc3339(broadcast.started_at),
        "url": urls.stream(&stream.handle),
        "content": html,
        "sensitive": false,
        "tag": tags.iter().map(|(t, href)| json!({ "type": "Hashtag", "name": format!("#{t}"), "href": href })).collect::<Vec<_>>(),
        "isLiveBroadcast": live,
        "startDate": rfc3339(broadcast.started_at),
        "contentUrl": stream.listen_url,
        "encodingFormat": stream.content_type,
        "genre": stream.genre_list(),
        "nowPlaying": broadcast.title,
    });
    if let Some(kbps) = stream.bitrate {
        note["bitrate"] = json!(kbps);
    }
    if let Some(updated) = broadcast.announced_at.filter(|t| *t > broadcast.started_at) {
        note["updated"] = json!(rfc3339(updated));
    }
    if let Some(ended) = broadcast.ended_at {
        note["endDate"] = json!(rfc3339(ended));
    }
    note
}

/// The Tombstone a deleted broadcast's URL answers with (410).
pub fn tombstone(id: &Url, deleted: Option<NaiveDateTime>) -> Value {
    let mut t = json!({ "@context": CONTEXT, "id": id, "type": "Tombstone", "formerType": "Note" });
    if let Some(at) = deleted {
        t["deleted"] = json!(rfc3339(at));
    }
    t
}

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
