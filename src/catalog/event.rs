//! A remote stream's scheduled show: an `Event` (FEP-8a8e's shape, as onair sends it), read
//! leniently and kept strictly (text through [`crate::text`], times that make sense).

use chrono::{NaiveDateTime, TimeDelta};
use serde_json::Value;
use url::Url;

use super::{
    Taken,
    remote::{prop, time, url_of},
};
use crate::{
    db::{
        DbConn,
        models::{NewRemoteShow, RemoteShow},
    },
    error::Result,
    text,
};

/// Most shows kept of one remote stream, and how far ahead one may start: a stream floods
/// neither the catalog nor its upcoming list.
const SHOWS_PER_STREAM: i64 = 50;
const AHEAD: TimeDelta = TimeDelta::days(2 * 365);

/// Takes an Event of the remote stream `remote_stream_id` into the catalog (inside the caller's
/// transaction): a cancelled or past one leaves it; one too far ahead, or beyond the stream's
/// limit, is not kept.
pub fn keep(
    conn: &mut DbConn,
    remote_stream_id: i64,
    event: RemoteEvent,
    now: NaiveDateTime,
) -> Result<Taken> {
    let id = event.id.to_string();
    if event.cancelled || event.ends_at <= now {
        RemoteShow::delete(conn, remote_stream_id, &id)?;
        return Ok(Taken::Removed);
    }
    if event.starts_at > now + AHEAD {
        // A kept show moved that far goes too.
        tracing::info!(object = %id, "show too far ahead; not kept");
        RemoteShow::delete(conn, remote_stream_id, &id)?;
        return Ok(Taken::Ignored);
    }
    let (held, known) = RemoteShow::held(conn, remote_stream_id, &id)?;
    if !known && held >= SHOWS_PER_STREAM {
        tracing::info!(object = %id, stream = remote_stream_id, "stream has the most shows kept; not kept");
        return Ok(Taken::Ignored);
    }
    RemoteShow::upsert(conn, &event.into_row(remote_stream_id, now))?;
    Ok(Taken::Live)
}

/// What the catalog keeps of an Event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEvent {
    pub id: Url,
    pub attributed_to: Url,
    pub title: String,
    pub summary: String,
    pub url: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub live: bool,
    /// Marked cancelled (`ical:status` `CANCELLED`): it leaves the catalog.
    pub cancelled: bool,
}

impl RemoteEvent {
    /// An Event with a name and a sane time span (ending after it starts, within a day); `None`
    /// for anything else.
    pub fn parse(object: &Value) -> Option<Self> {
        if object.get("type")?.as_str()? != "Event" {
            return None;
        }
        let starts_at = time(object.get("startTime"))?;
        let ends_at = time(object.get("endTime"))?;
        if ends_at <= starts_at || ends_at - starts_at > TimeDelta::hours(24) {
            return None;
        }
        let title = text::text(object.get("name")?.as_str()?, 200);
        if title.is_empty() {
            return None;
        }
        let status = object
            .get("ical:status")
            .or_else(|| object.get("status"))
            .and_then(Value::as_str)
            .unwrap_or("");
        Some(Self {
            id: Url::parse(object.get("id")?.as_str()?).ok()?,
            attributed_to: url_of(object.get("attributedTo")?)?,
            title,
            summary: text::to_text(object.get("content").and_then(Value::as_str).unwrap_or("")),
            url: object
                .get("url")
                .and_then(url_of)
                .and_then(|u| text::http_url(u.as_str())),
            starts_at,
            ends_at,
            time_zone: text::text(
                object.get("timezone").and_then(Value::as_str).unwrap_or(""),
                64,
            ),
            live: prop(object, "isLiveBroadcast")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            cancelled: status.eq_ignore_ascii_case("CANCELLED"),
        })
    }

    /// The catalog row for the stream `remote_stream_id`, heard `now`.
    pub fn into_row(self, remote_stream_id: i64, now: NaiveDateTime) -> NewRemoteShow {
        NewRemoteShow {
            remote_stream_id,
            object_id: self.id.to_string(),
            title: self.title,
            summary: self.summary,
            url: self.url,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            time_zone: self.time_zone,
            live: self.live,
            heard_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::RemoteEvent;

    #[test]
    fn events_are_kept_only_when_they_make_sense() {
        let good = json!({
            "id": "https://a.example/shows/1", "type": "Event", "attributedTo": "https://a.example/streams/x",
            "name": "Jazz <b>Night</b>", "content": "<p>Records <script>x()</script></p>",
            "startTime": "2026-12-10T19:00:00Z", "endTime": "2026-12-10T21:00:00Z",
            "timezone": "Europe/Berlin", "isLiveBroadcast": false,
        });
        let event = RemoteEvent::parse(&good).unwrap();
        assert_eq!(
            event.title, "Jazz <b>Night</b>",
            "plain text, escaped when shown"
        );
        assert!(!event.summary.contains("script"), "{}", event.summary);
        for (key, bad) in [
            ("endTime", json!("2026-12-10T18:00:00Z")),
            ("endTime", json!("2026-12-12T18:00:00Z")),
            ("startTime", json!("soon")),
            ("name", json!("")),
            ("type", json!("Note")),
        ] {
            let mut e = good.clone();
            e[key] = bad;
            assert!(RemoteEvent::parse(&e).is_none(), "{key}");
        }
        let mut cancelled = good;
        cancelled["ical:status"] = json!("CANCELLED");
        assert!(RemoteEvent::parse(&cancelled).unwrap().cancelled);
    }
}
