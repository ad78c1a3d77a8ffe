//! Our actors on the wire: each stream is a `Service` (Mastodon shows a bot badge; it is one), and
//! the instance is an `Application` that will sign fetches and follow remote streams.
//! docs/FEDERATION.md lists every property.

use activitypub_federation::protocol::public_key::PublicKey;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use url::Url;

use super::vocab::CONTEXT;
use crate::{db::models::Stream, urls::Urls};

/// ActivityStreams, the security vocabulary, and the few extension terms we use, defined inline:
/// strict peers resolve contexts and cannot fetch unknown ones.
fn context() -> Value {
    json!([
        CONTEXT,
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value"
        }
    ])
}

/// `endpoints` of an actor.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    shared_inbox: Url,
}

/// A profile field as Mastodon shows it (`value` is HTML).
#[derive(Debug, Serialize)]
pub struct PropertyValue {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    value: String,
}

/// A profile picture.
#[derive(Debug, Serialize)]
pub struct Icon {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
}

/// A stream actor.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    #[serde(rename = "@context")]
    context: Value,
    #[serde(rename = "type")]
    kind: &'static str,
    id: Url,
    preferred_username: String,
    name: String,
    summary: String,
    url: Url,
    inbox: Url,
    outbox: Url,
    followers: Url,
    endpoints: Endpoints,
    public_key: PublicKey,
    manually_approves_followers: bool,
    discoverable: bool,
    indexable: bool,
    published: DateTime<Utc>,
    attachment: Vec<PropertyValue>,
    icon: Icon,
    /// The header image, when the broadcaster set one.
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<Icon>,
}

impl Service {
    /// The actor of a local stream.
    pub fn new(stream: &Stream, public_key_pem: String, urls: &Urls) -> Self {
        let id = urls.stream(&stream.handle);
        Self {
            context: context(),
            kind: "Service",
            preferred_username: stream.handle.clone(),
            name: stream.shown_name().to_owned(),
            summary: paragraph(stream.shown_description()),
            // The broadcaster's picture, else ours: a stream is never a blank avatar.
            icon: Icon {
                kind: "Image",
                url: stream
                    .icon_url
                    .clone()
                    .unwrap_or_else(|| urls.default_icon().into()),
            },
            image: stream.header_url.as_ref().map(|url| Icon {
                kind: "Image",
                url: url.clone(),
            }),
            url: id.clone(),
            inbox: urls.stream_inbox(&stream.handle),
            outbox: urls.stream_outbox(&stream.handle),
            followers: urls.stream_followers(&stream.handle),
            endpoints: Endpoints {
                shared_inbox: urls.shared_inbox(),
            },
            public_key: PublicKey {
                id: urls.stream_key(&stream.handle).to_string(),
                owner: id.clone(),
                public_key_pem,
            },
            manually_approves_followers: stream.approve_followers,
            discoverable: true,
            indexable: true,
            published: stream.created_at.and_utc(),
            attachment: profile_fields(stream),
            id,
        }
    }
}

/// The instance actor.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    #[serde(rename = "@context")]
    context: Value,
    #[serde(rename = "type")]
    kind: &'static str,
    id: Url,
    preferred_username: String,
    name: &'static str,
    url: Url,
    inbox: Url,
    endpoints: Endpoints,
    public_key: PublicKey,
    manually_approves_followers: bool,
    discoverable: bool,
}

impl Application {
    /// The instance actor; its `preferredUsername` is the host, as Mastodon names its own.
    pub fn new(public_key_pem: String, urls: &Urls) -> Self {
        let id = urls.instance_actor();
        Self {
            context: context(),
            kind: "Application",
            preferred_username: urls.home().host_str().unwrap_or("onair").to_owned(),
            name: "onair",
            url: urls.home(),
            inbox: urls.shared_inbox(),
            endpoints: Endpoints {
                shared_inbox: urls.shared_inbox(),
            },
            public_key: PublicKey {
                id: urls.instance_key().to_string(),
                owner: id.clone(),
                public_key_pem,
            },
            manually_approves_followers: true,
            discoverable: false,
            id,
        }
    }
}

/// Plain text from Icecast as one escaped HTML paragraph (empty stays empty).
fn paragraph(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    format!("<p>{}</p>", html_escape::encode_text(text))
}

fn profile_fields(stream: &Stream) -> Vec<PropertyValue> {
    let mut fields = Vec::new();
    if !stream.homepage.is_empty() {
        let href = html_escape::encode_double_quoted_attribute(&stream.homepage);
        let text = html_escape::encode_text(&stream.homepage);
        fields.push(PropertyValue {
            kind: "PropertyValue",
            name: "Homepage",
            value: format!(r#"<a href="{href}" rel="me nofollow noopener noreferrer" target="_blank">{text}</a>"#),
        });
    }
    let genres = stream.genre_list().join(", ");
    if !genres.is_empty() {
        fields.push(PropertyValue {
            kind: "PropertyValue",
            name: "Genre",
            value: html_escape::encode_text(&genres).into_owned(),
        });
    }
    let format = match stream.bitrate {
        Some(kbps) => format!("{} {kbps} kbit/s", stream.codec),
        None => stream.codec.clone(),
    };
    if !format.trim().is_empty() {
        fields.push(PropertyValue {
            kind: "PropertyValue",
            name: "Format",
            value: html_escape::encode_text(format.trim()).into_owned(),
        });
    }
    fields
}
