//! The filters of a stream listing, parsed once for the home page and the JSON API alike: one
//! query type, one `TryFrom` into the listing's filter, one set of error answers.

use serde::Deserialize;

use crate::{
    db::models::StreamFilter,
    error::{Error, Result},
    listing::{Cursor, Origin},
    streams::codec::Codec,
};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

/// The query string of a listing, as sent: the home page's form and the JSON API's parameters.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub(super) status: Option<String>,
    pub(super) genre: Option<String>,
    pub(super) q: Option<String>,
    pub(super) cursor: Option<String>,
    pub(super) limit: Option<String>,
    pub(super) origin: Option<String>,
    pub(super) codec: Option<String>,
}

/// A listing request, parsed.
#[derive(Debug, Clone)]
pub struct Listing {
    pub filter: StreamFilter,
    pub origin: Origin,
    pub cursor: Option<Cursor>,
    /// The codec asked for, as the home page's form shows it again.
    pub codec: Option<Codec>,
}

impl TryFrom<ListQuery> for Listing {
    type Error = Error;

    fn try_from(mut q: ListQuery) -> Result<Self> {
        let origin = Origin::parse(q.origin.take().as_deref())?;
        let cursor = q.cursor.take().map(|c| Cursor::parse(&c)).transpose()?;
        let codec = codec(q.codec.take().as_deref())?;
        Ok(Self {
            filter: filter(q, codec)?,
            origin,
            cursor,
            codec,
        })
    }
}

/// The rest of the query (its origin, cursor and codec already taken) as the listing's filter.
fn filter(q: ListQuery, codec: Option<Codec>) -> Result<StreamFilter> {
    let live_only = match q.status.as_deref() {
        None | Some("live") => true,
        Some("all") => false,
        Some(other) => {
            return Err(Error::Invalid(format!(
                "status must be live or all, not {other:?}"
            )));
        }
    };
    let limit = match q.limit {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                Error::Invalid(format!("limit must be a number from 1 to {MAX_LIMIT}"))
            })?,
    };
    let text = |s: Option<String>, what: &str| -> Result<Option<String>> {
        match s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
            Some(s) if s.chars().count() > 100 => Err(Error::Invalid(format!(
                "{what} is longer than 100 characters"
            ))),
            other => Ok(other),
        }
    };
    Ok(StreamFilter {
        live_only,
        genre: text(q.genre, "genre")?,
        query: text(q.q, "q")?,
        content_types: codec.map(Codec::content_types).unwrap_or_default(),
        before: None,
        limit,
    })
}

/// The `codec` parameter (empty: any).
fn codec(raw: Option<&str>) -> Result<Option<Codec>> {
    match raw.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => Codec::parse(c).map(Some).ok_or_else(|| {
            Error::Invalid(format!("codec must be mp3, ogg, aac or flac, not {c:?}"))
        }),
    }
}
