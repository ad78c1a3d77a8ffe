//! The collections a stream actor publishes: its followers (the count only, as Mastodon
//! publishes it) and its outbox, whose pages list the `Create` of each published broadcast.

use serde::Serialize;
use serde_json::Value;
use url::Url;

use super::{activities::Activity, note, vocab::CONTEXT};
use crate::{
    db::models::{Broadcast, Stream},
    urls::Urls,
};

/// Broadcasts per outbox page.
pub const OUTBOX_PAGE: i64 = 20;

/// An `OrderedCollection` given by its size (and, for the outbox, its first page).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollection {
    #[serde(rename = "@context")]
    context: &'static str,
    id: Url,
    #[serde(rename = "type")]
    kind: &'static str,
    total_items: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first: Option<Url>,
}

impl OrderedCollection {
    /// A stream's followers: the count of accepted ones.
    pub fn followers(handle: &str, total: i64, urls: &Urls) -> Self {
        Self::new(urls.stream_followers(handle), total, None)
    }

    /// A stream's outbox: the count of published broadcasts, and the newest page.
    pub fn outbox(handle: &str, total: i64, urls: &Urls) -> Self {
        let first = urls.stream_outbox_page(handle, None);
        Self::new(urls.stream_outbox(handle), total, Some(first))
    }

    fn new(id: Url, total_items: i64, first: Option<Url>) -> Self {
        Self {
            context: CONTEXT,
            id,
            kind: "OrderedCollection",
            total_items,
            first,
        }
    }
}

/// One page of a stream's outbox.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollectionPage {
    #[serde(rename = "@context")]
    context: &'static str,
    id: Url,
    #[serde(rename = "type")]
    kind: &'static str,
    part_of: Url,
    ordered_items: Vec<Activity<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<Url>,
}

impl OrderedCollectionPage {
    /// The page of `broadcasts` (newest first, at most [`OUTBOX_PAGE`]) older than `before`; a
    /// full page links the next one.
    pub fn outbox(
        stream: &Stream,
        before: Option<i64>,
        broadcasts: &[Broadcast],
        urls: &Urls,
        language: &str,
    ) -> Self {
        let handle = &stream.handle;
        let ordered_items = broadcasts
            .iter()
            .map(|b| {
                let object = note::note(stream, b, urls, language);
                Activity::create_with_id(urls.broadcast_create(b.id), stream, b.id, object, urls)
            })
            .collect();
        let next = broadcasts
            .last()
            .filter(|_| broadcasts.len() as i64 == OUTBOX_PAGE)
            .map(|last| urls.stream_outbox_page(handle, Some(last.id)));
        Self {
            context: CONTEXT,
            id: urls.stream_outbox_page(handle, before),
            kind: "OrderedCollectionPage",
            part_of: urls.stream_outbox(handle),
            ordered_items,
            next,
        }
    }
}
