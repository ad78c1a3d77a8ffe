//! A scheduled show on the wire: an `Event` in FEP-8a8e's shape (`name`, `content`, `startTime`,
//! `endTime`, a `VirtualLocation` pointing at the stream page, `attributedTo` the stream). A
//! weekly show is the Event of its next occurrence (its Event moves on after each one), with the
//! rule spelled out in its text. A cancelled show is a Tombstone at the same URL.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::vocab::{PUBLIC, live_context};
use crate::{
    db::{
        DbConn,
        models::{Broadcast, Show, Stream},
    },
    error::Result,
    timetable::Schedule,
    urls::Urls,
};

/// When an Event happens, as sent (the show's next occurrence, or its last one when over).
#[derive(Debug, Clone, Copy)]
pub struct When {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// A broadcast of this show is on air now.
    pub live: bool,
}

/// When `show`'s Event says it is now: the occurrence its broadcast on air is, else its running
/// or next occurrence, else (over) its first; live while a broadcast of it is on air (a weekly
/// show's broadcast that runs late keeps its own date, not next week's).
pub fn when_of(conn: &mut DbConn, show: &Show, now: NaiveDateTime) -> Result<When> {
    let schedule = Schedule::of(show)?;
    let on_air = Broadcast::show_on_air(conn, show.id)?;
    let at = on_air
        .flatten()
        .and_then(|start| schedule.occurrence_at(start.and_utc()))
        .or_else(|| schedule.next(now.and_utc()))
        .unwrap_or_else(|| schedule.first());
    Ok(When {
        start: at.start,
        end: at.end,
        live: on_air.is_some(),
    })
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The Event of `show`.
pub fn event(stream: &Stream, show: &Show, when: When, urls: &Urls) -> Value {
    let e = |s: &str| html_escape::encode_text(s).into_owned();
    let page = urls.stream(&stream.handle);
    let mut content = String::new();
    if !show.description.is_empty() {
        content.push_str(&format!("<p>{}</p>", e(&show.description)));
    }
    if show.weekly {
        content.push_str(&format!(
            "<p>Every week, {} ({}).</p>",
            show.starts_local.format("%A %H:%M"),
            e(&show.time_zone)
        ));
    }
    content.push_str(&format!(
        "<p>On <a href=\"{page}\">{}</a>.</p>",
        e(stream.shown_name())
    ));
    let mut event = json!({
        "@context": live_context(),
        "id": urls.show(show.id),
        "type": "Event",
        "attributedTo": page,
        "to": [PUBLIC],
        "cc": [urls.stream_followers(&stream.handle)],
        "name": show.title,
        "content": content,
        "startTime": rfc3339(when.start),
        "endTime": rfc3339(when.end),
        "timezone": show.time_zone,
        "location": {
            "type": "VirtualLocation",
            "name": stream.shown_name(),
            "url": page,
        },
        "url": urls.show(show.id),
        "published": rfc3339(show.created_at.and_utc()),
        "isLiveBroadcast": when.live,
    });
    // The last Update's `updated` (see `announce`); the Create has none.
    if let Some(updated) = show.announced_at {
        event["updated"] = json!(rfc3339(updated.and_utc()));
    }
    event
}

/// The reminder post sent at `sent`, `minutes` before the occurrence starting at `start`: a
/// plain Note (no live state, so no catalog takes it for a broadcast) linking the show.
pub fn reminder(
    stream: &Stream,
    show: &Show,
    start: DateTime<Utc>,
    minutes: i32,
    sent: NaiveDateTime,
    urls: &Urls,
    language: &str,
) -> Value {
    let e = |s: &str| html_escape::encode_text(s).into_owned();
    let page = urls.stream(&stream.handle);
    let link = urls.show(show.id);
    let html = format!(
        "<p>⏰ In {minutes} minutes on <a href=\"{page}\">{}</a>: {}</p><p>📅 <a href=\"{link}\">{link}</a></p>",
        e(stream.shown_name()),
        e(&show.title),
    );
    let lang = match stream.language.as_str() {
        "" => language,
        own => own,
    };
    json!({
        "@context": super::vocab::CONTEXT,
        "id": urls.show_reminder(show.id, start),
        "type": "Note",
        "attributedTo": page,
        "to": [PUBLIC],
        "cc": [urls.stream_followers(&stream.handle)],
        "published": rfc3339(sent.and_utc()),
        "url": link,
        "content": html,
        "contentMap": { lang: html },
        "sensitive": false,
    })
}

/// The Tombstone a cancelled show's URL answers with (410).
pub fn tombstone(show: &Show, urls: &Urls, deleted: Option<NaiveDateTime>) -> Value {
    let mut t = json!({
        "@context": super::vocab::CONTEXT,
        "id": urls.show(show.id),
        "type": "Tombstone",
        "formerType": "Event",
    });
    if let Some(at) = deleted {
        t["deleted"] = json!(rfc3339(at.and_utc()));
    }
    t
}
