//! The domain: what a stream and a broadcast are, and the rules of the YP lifecycle.
//! No HTTP types live here; SQL stays in `db::models`.

pub mod codec;
mod directory;
pub mod handle;
pub mod listen_url;
pub mod settings;
pub mod shows;
mod touch;
pub mod yp_form;

pub use directory::{Added, Directory, DirectorySettings, Reaped};

use crate::{
    db::{
        Db,
        models::{Broadcast, BroadcastState, Stream},
    },
    error::{Error, Result},
};

/// A local stream's handle as people type it, as YPMessage shows it or as pages show it:
/// `@Night_Jazz` and `@night_jazz@radio.example` (this instance's host) are `night_jazz`; a
/// handle on another host is refused, never taken for a local one.
pub fn typed_handle(raw: &str, urls: &crate::urls::Urls) -> Result<String> {
    let handle = raw.trim().trim_start_matches('@');
    let handle = match handle.split_once('@') {
        None => handle,
        Some((h, host))
            if urls
                .host_forms()
                .iter()
                .any(|f| f.eq_ignore_ascii_case(host)) =>
        {
            h
        }
        Some((_, host)) => {
            return Err(Error::Invalid(format!(
                "{raw} is a stream of {host}, not of this instance ({})",
                urls.authority()
            )));
        }
    };
    Ok(handle.to_ascii_lowercase())
}

/// A local stream by handle, with its on-air broadcast if any; `NotFound` names the handle.
pub async fn find(db: &Db, handle: &str) -> Result<(Stream, Option<Broadcast>)> {
    let key = handle.to_owned();
    db.read(move |c| Stream::find_with_broadcast(c, &key))
        .await?
        .ok_or_else(|| Error::NotFound(format!("stream {handle}")))
}

/// What the public sees of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStatus {
    /// On air.
    Live,
    /// Icecast removed it; it may come back within the grace period.
    Ending,
    /// Not on air.
    Offline,
}

impl StreamStatus {
    /// The status of a stream given its live-or-ending broadcast, if any.
    pub fn of(active: Option<&Broadcast>) -> Self {
        match active.map(|b| b.state) {
            Some(BroadcastState::Live) => Self::Live,
            Some(BroadcastState::Ending) => Self::Ending,
            Some(BroadcastState::Ended) | None => Self::Offline,
        }
    }

    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Ending => "ending",
            Self::Offline => "offline",
        }
    }
}

/// The `<directory>` block a broadcaster pastes into `icecast.xml`. The timeout is 10 s because
/// Icecast 2.4 silently turns anything above 10 into 6.
pub fn icecast_directory_block(yp_url: &url::Url) -> String {
    format!(
        "<directory>\n    <yp-url-timeout>10</yp-url-timeout>\n    <yp-url>{yp_url}</yp-url>\n</directory>"
    )
}

/// Everything in `icecast.xml` that decides whether a stream appears: the public host name
/// (Icecast builds the listen URL from it; `localhost` is refused), a public mount (Icecast
/// lists only those), and the `<directory>` block.
pub fn icecast_setup(yp_url: &url::Url) -> String {
    format!(
        "<!-- inside <icecast>: the name listeners reach this server by, not localhost -->\n\
         <hostname>radio.example.org</hostname>\n\n\
         <!-- each mount to list (or your source client's \"public\" setting) -->\n\
         <mount>\n    <mount-name>/live</mount-name>\n    <public>1</public>\n</mount>\n\n{}",
        icecast_directory_block(yp_url)
    )
}

/// Tells open live pages (after the commit, in every process) what the stream shows now.
fn tell_pages(
    conn: &mut crate::db::DbConn,
    stream_id: i64,
    status: StreamStatus,
    title: &str,
) -> crate::error::Result<()> {
    crate::db::stream_changed(
        conn,
        crate::db::StreamChange {
            stream_id,
            status: status.as_str().to_owned(),
            title: title.to_owned(),
        },
    )
}
