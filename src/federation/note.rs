//! A broadcast on the wire: a `Note` (the one type Mastodon shows natively) whose HTML says the
//! stream is on air, with the title, a listen link and genre hashtags, plus the live state in
//! terms defined inline (schema.org where it has them) for other onair instances' catalogs. No
//! audio `attachment`: Mastodon would try to download a stream that never ends.

use chrono::{NaiveDateTime, Timelike};
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

/// The placeholders a go-live template may use.
pub const TEMPLATE_FIELDS: [&str; 3] = ["{name}", "{title}", "{link}"];

/// The go-live text when the broadcaster wrote none.
const DEFAULT_TEMPLATE: &str = "🔴 {name} is on air: {title}";
const DEFAULT_UNTITLED: &str = "🔴 {name} is on air.";

/// The first paragraph: the broadcaster's template (or ours), HTML-escaped, its placeholders
/// filled with the linked name, the title and the page's address.
fn headline(stream: &Stream, title: &str, page: &Url) -> String {
    let e = |s: &str| html_escape::encode_text(s).into_owned();
    let template = match (stream.post_template.as_str(), title) {
        ("", "") => DEFAULT_UNTITLED,
        ("", _) => DEFAULT_TEMPLATE,
        (own, _) => own,
    };
    // Escaped first, then filled: a title cannot bring markup, a template cannot either, and
    // braces in a title are never read as placeholders.
    let mut out = String::new();
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        out.push_str(&e(&rest[..at]));
        let tail = &rest[at..];
        let field = TEMPLATE_FIELDS.iter().find(|f| tail.starts_with(**f));
        match field.copied() {
            Some("{name}") => out.push_str(&format!(
                "<a href=\"{page}\">{}</a>",
                e(stream.shown_name())
            )),
            Some("{title}") => out.push_str(&e(title)),
            Some(_) => out.push_str(&format!("<a href=\"{page}\">{}</a>", e(page.as_str()))),
            None => out.push('{'),
        }
        rest = &tail[field.map_or(1, |f| f.len())..];
    }
    out.push_str(&e(rest));
    format!("<p>{out}</p>")
}

/// The Note of a broadcast as it stands; `language` is the instance's, for streams whose
/// broadcaster chose none.
pub fn note(stream: &Stream, broadcast: &Broadcast, urls: &Urls, language: &str) -> Value {
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
    // A scheduled show's broadcast goes on air under the show's title, and links its Event.
    let title = match (&broadcast.show_title, broadcast.title.as_str()) {
        (Some(show), "") => show.as_str(),
        (_, title) => title,
    };
    let mut html = if live {
        headline(stream, title, &page)
    } else {
        format!(
            "<p><a href=\"{page}\">{}</a> was on air.</p>",
            e(stream.shown_name())
        )
    };
    if live {
        let listen = html_escape::encode_double_quoted_attribute(&stream.listen_url);
        html.push_str(&format!(
            "<p>Listen: <a href=\"{listen}\" rel=\"nofollow noopener\">{}</a></p>",
            e(&stream.listen_url)
        ));
    }
    if let (Some(id), Some(show)) = (broadcast.show_id, &broadcast.show_title) {
        html.push_str(&format!(
            "<p>📅 <a href=\"{}\">{}</a></p>",
            urls.show(id),
            e(show)
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
    let lang = match stream.language.as_str() {
        "" => language,
        own => own,
    };
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
        "contentMap": { lang: html },
        "sensitive": !stream.content_warning.is_empty(),
        "tag": tags.iter().map(|(t, href)| json!({ "type": "Hashtag", "name": format!("#{t}"), "href": href })).collect::<Vec<_>>(),
        "isLiveBroadcast": live,
        "startDate": rfc3339(broadcast.started_at),
        "contentUrl": stream.listen_url,
        "encodingFormat": stream.content_type,
        "genre": stream.genre_list(),
        "nowPlaying": broadcast.title,
    });
    if !stream.content_warning.is_empty() {
        note["summary"] = json!(stream.content_warning);
    }
    if let Some(kbps) = stream.bitrate {
        note["bitrate"] = json!(kbps);
    }
    if let Some(id) = broadcast.show_id {
        note["show"] = json!(urls.show(id));
    }
    // `announced_at` is the last Update's `updated` (see `edited_at`); the Create's is its start.
    if let Some(updated) = broadcast.announced_at.filter(|t| *t > broadcast.started_at) {
        note["updated"] = json!(rfc3339(updated));
    }
    if let Some(ended) = broadcast.ended_at {
        note["endDate"] = json!(rfc3339(ended));
    }
    note
}

/// The `updated` of a new Update of the broadcast's Note: now, but always at least a second after
/// the last one it was told (its Create's start, else the last Update), because Mastodon applies
/// an Update only when its `updated` is newer than the post's, and `updated` is written to the
/// second. A burst of Updates in one second so reads as 1 s apart, never as one.
pub fn edited_at(broadcast: &Broadcast, now: NaiveDateTime) -> NaiveDateTime {
    after(broadcast.announced_at, broadcast.started_at, now)
}

/// Now to the second, but at least a second after the last told (or the start); an Event's
/// Updates are stamped the same way.
pub fn after(
    told: Option<NaiveDateTime>,
    started: NaiveDateTime,
    now: NaiveDateTime,
) -> NaiveDateTime {
    let last = told.unwrap_or(started).max(started);
    let floor = |t: NaiveDateTime| t.with_nanosecond(0).unwrap_or(t);
    floor(now).max(floor(last) + chrono::TimeDelta::seconds(1))
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

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeDelta};

    use super::*;

    #[test]
    fn each_update_is_a_second_after_the_last_even_within_one_second() {
        let start = NaiveDate::from_ymd_opt(2026, 12, 3)
            .and_then(|d| d.and_hms_milli_opt(20, 0, 0, 250))
            .unwrap();
        let s = |secs: i64| start.with_nanosecond(0).unwrap() + TimeDelta::seconds(secs);
        // In the Create's own second, then twice more in that second.
        let first = after(Some(start), start, start);
        assert_eq!(first, s(1));
        let second = after(Some(first), start, start + TimeDelta::milliseconds(500));
        assert_eq!(second, s(2));
        // Much later: simply now, to the second.
        assert_eq!(
            after(Some(second), start, s(600) + TimeDelta::milliseconds(900)),
            s(600)
        );
        // Never before the start, whatever was stored.
        assert_eq!(after(None, start, start), s(1));
    }
}
