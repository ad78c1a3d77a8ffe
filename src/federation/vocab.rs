//! The vocabulary every document we publish shares: the ActivityStreams context (the one
//! constant for it), the public collection, and the terms a broadcast's Note defines inline.

use serde_json::{Value, json};

/// The ActivityStreams context.
pub const CONTEXT: &str = "https://www.w3.org/ns/activitystreams";

/// The public collection.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// ActivityStreams and the terms a broadcast's Note defines inline (its activities carry it too).
pub fn live_context() -> Value {
    json!([
        CONTEXT,
        {
            "schema": "http://schema.org#",
            "isLiveBroadcast": "schema:isLiveBroadcast",
            "startDate": "schema:startDate",
            "endDate": "schema:endDate",
            "contentUrl": "schema:contentUrl",
            "encodingFormat": "schema:encodingFormat",
            "bitrate": "schema:bitrate",
            "genre": "schema:genre",
            "nowPlaying": "urn:onair:nowPlaying",
            "Hashtag": "as:Hashtag",
            "sensitive": "as:sensitive",
            "VirtualLocation": "schema:VirtualLocation",
            "timezone": "https://joinmobilizon.org/ns#timezone",
            "ical": "http://www.w3.org/2002/12/cal/ical#",
            "show": { "@id": "urn:onair:show", "@type": "@id" }
        }
    ])
}
