//! One list of streams from two places: this instance's own, then the federated catalog's, each
//! newest first, paged by a cursor that says which part it is in. The JSON API and the home page
//! both read it.

use crate::{
    db::{
        Db,
        models::{Broadcast, RemoteBroadcast, RemoteStream, Stream, StreamFilter},
    },
    error::{Error, Result},
};

/// Which streams a listing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    Local,
    Remote,
    #[default]
    All,
}

impl Origin {
    /// Reads `local`, `remote` or `all` (absent: all).
    pub fn parse(s: Option<&str>) -> Result<Self> {
        match s.map(str::trim).filter(|s| !s.is_empty()) {
            None | Some("all") => Ok(Self::All),
            Some("local") => Ok(Self::Local),
            Some("remote") => Ok(Self::Remote),
            Some(other) => Err(Error::Invalid(format!(
                "origin must be local, remote or all, not {other:?}"
            ))),
        }
    }

    /// The query-string spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Remote => "remote",
            Self::All => "all",
        }
    }
}

/// Where a listing goes on. Written `l{id}` or `r{id}`; a bare number (what earlier versions
/// returned) is local.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Local(i64),
    Remote(i64),
}

impl Cursor {
    /// Reads a cursor this module wrote.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || Error::Invalid("cursor is not one this API returned".to_owned());
        let number = |t: &str| t.parse::<i64>().map_err(|_| bad());
        match s.as_bytes().first() {
            Some(b'l') => Ok(Self::Local(number(&s[1..])?)),
            Some(b'r') => Ok(Self::Remote(number(&s[1..])?)),
            _ => Ok(Self::Local(number(s)?)),
        }
    }

    /// The written form.
    pub fn render(self) -> String {
        match self {
            Self::Local(id) => format!("l{id}"),
            Self::Remote(id) => format!("r{id}"),
        }
    }
}

/// A listed stream, local or from the catalog.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "a page holds at most 200, built once and moved: boxing buys nothing"
)]
pub enum Listed {
    Local(Stream, Option<Broadcast>),
    Remote(RemoteStream, Option<RemoteBroadcast>),
}

/// A page of the list, and the cursor of the next one when the page is full.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<Listed>,
    pub next: Option<Cursor>,
}

/// Up to `filter.limit` streams from `origin`, after `cursor`.
pub async fn list(
    db: &Db,
    filter: StreamFilter,
    origin: Origin,
    cursor: Option<Cursor>,
) -> Result<Page> {
    let limit = filter.limit;
    let rows = db
        .read(move |c| {
            let mut rows = Vec::new();
            let local = origin != Origin::Remote && !matches!(cursor, Some(Cursor::Remote(_)));
            if local {
                let before = match cursor {
                    Some(Cursor::Local(id)) => Some(id),
                    _ => None,
                };
                let f = StreamFilter {
                    before,
                    ..filter.clone()
                };
                for (s, b) in Stream::list_with_broadcast(c, &f)? {
                    rows.push((Cursor::Local(s.id), Listed::Local(s, b)));
                }
            }
            let room = limit - rows.len() as i64;
            if origin != Origin::Local && room > 0 {
                let before = match cursor {
                    Some(Cursor::Remote(id)) => Some(id),
                    _ => None,
                };
                let f = StreamFilter {
                    before,
                    limit: room,
                    ..filter
                };
                for (s, b) in RemoteStream::list_with_broadcast(c, &f)? {
                    rows.push((Cursor::Remote(s.id), Listed::Remote(s, b)));
                }
            }
            Ok(rows)
        })
        .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|(c, _)| *c))
        .flatten();
    Ok(Page {
        items: rows.into_iter().map(|(_, l)| l).collect(),
        next,
    })
}
