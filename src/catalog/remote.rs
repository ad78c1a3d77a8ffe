//! Reading other servers' documents for the catalog: a broadcast `Note` in onair's vocabulary
//! (docs/FEDERATION.md) and a stream actor's profile. Lenient about shape (a value or an array,
//! a URL or an object with one, compact or `schema:`-prefixed terms), strict about content: what
//! is kept goes through [`crate::text`].

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;
use url::Url;

use crate::{
    db::models::{NewRemoteBroadcast, RemoteStreamProfile},
    text,
};

/// A Note that states a live state: what the catalog keeps of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveNote {
    pub id: Url,
    pub attributed_to: Url,
    pub live: bool,
    pub title: String,
    pub listen_url: String,
    pub content_type: String,
    pub bitrate: Option<i32>,
    pub started_at: NaiveDateTime,
    pub genres: String,
}

impl LiveNote {
    /// The live catalog row this Note makes for the stream `remote_stream_id`, under
    /// `object_id`, heard `heard_at`.
    pub fn into_row(
        self,
        remote_stream_id: i64,
        object_id: String,
        heard_at: NaiveDateTime,
    ) -> NewRemoteBroadcast {
        NewRemoteBroadcast {
            remote_stream_id,
            object_id,
            live: true,
            title: self.title,
            listen_url: self.listen_url,
            content_type: self.content_type,
            bitrate: self.bitrate,
            started_at: self.started_at,
            heard_at,
        }
    }
}

/// A property by its compact name or with the `schema:` prefix our context defines.
pub(super) fn prop<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .get(name)
        .or_else(|| object.get(format!("schema:{name}")))
}

/// The first of a value or an array of them.
fn first(value: &Value) -> Option<&Value> {
    match value {
        Value::Array(items) => items.first(),
        other => Some(other),
    }
}

/// A URL given as a string, or as an object's `id`, `href` or `url`.
pub(super) fn url_of(value: &Value) -> Option<Url> {
    match first(value)? {
        Value::String(s) => Url::parse(s).ok(),
        object @ Value::Object(_) => ["id", "href", "url"]
            .iter()
            .find_map(|k| object.get(*k).and_then(url_of)),
        _ => None,
    }
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

pub(super) fn time(value: Option<&Value>) -> Option<NaiveDateTime> {
    let s = value?.as_str()?;
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.naive_utc())
}

impl LiveNote {
    /// The live state a Note states, or `None` for a Note without one (not a broadcast) or one
    /// whose listen URL is not http(s).
    pub fn parse(object: &Value, now: NaiveDateTime) -> Option<Self> {
        if object.get("type")?.as_str()? != "Note" {
            return None;
        }
        let live = prop(object, "isLiveBroadcast")?.as_bool()?;
        let listen_url = text::http_url(prop(object, "contentUrl").and_then(first)?.as_str()?)?;
        let bitrate = prop(object, "bitrate")
            .and_then(Value::as_i64)
            .and_then(|b| i32::try_from(b).ok())
            .filter(|b| (1..=100_000).contains(b));
        Some(Self {
            id: Url::parse(object.get("id")?.as_str()?).ok()?,
            attributed_to: url_of(object.get("attributedTo")?)?,
            live,
            title: text::text(
                prop(object, "nowPlaying")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                text::TITLE,
            ),
            listen_url,
            content_type: text::text(
                prop(object, "encodingFormat")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                100,
            ),
            bitrate,
            started_at: time(prop(object, "startDate"))
                .or_else(|| time(object.get("published")))
                .unwrap_or(now),
            genres: text::genres(strings(prop(object, "genre"))),
        })
    }
}

/// Actor types a stream may have.
const ACTOR_TYPES: &[&str] = &["Service", "Person", "Application", "Group", "Organization"];

/// Whether a document is an actor.
pub fn is_actor(object: &Value) -> bool {
    object
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| ACTOR_TYPES.contains(&t))
}

/// What the catalog keeps of a stream actor's document, or `None` if it is not an actor.
pub fn profile(actor: &Value, now: NaiveDateTime) -> Option<RemoteStreamProfile> {
    if !is_actor(actor) {
        return None;
    }
    let id = Url::parse(actor.get("id")?.as_str()?).ok()?;
    // The authority, port included: two instances on one host are two origins.
    let host = match id.port() {
        Some(port) => format!("{}:{port}", id.host_str()?),
        None => id.host_str()?.to_owned(),
    };
    let handle = actor
        .get("preferredUsername")
        .and_then(Value::as_str)
        .map(|h| text::text(h, 100))
        .filter(|h| !h.is_empty())
        .or_else(|| id.path_segments()?.next_back().map(|s| text::text(s, 100)))?;
    let name = actor.get("name").and_then(Value::as_str).unwrap_or(&handle);
    let genres = actor
        .get("attachment")
        .map(|a| match a {
            Value::Array(items) => items.iter().collect(),
            one => vec![one],
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f.get("name").and_then(Value::as_str) == Some("Genre"))
        .filter_map(|f| f.get("value").and_then(Value::as_str))
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    Some(RemoteStreamProfile {
        actor_id: id.to_string(),
        host,
        name: text::text(name, text::NAME),
        summary: text::html(actor.get("summary").and_then(Value::as_str).unwrap_or("")),
        icon: actor
            .get("icon")
            .and_then(url_of)
            .and_then(|u| text::http_url(u.as_str())),
        url: actor
            .get("url")
            .and_then(url_of)
            .and_then(|u| text::http_url(u.as_str())),
        genres: text::genres(genres),
        handle,
        updated_at: now,
    })
}

#[cfg(test)]
mod tests;
