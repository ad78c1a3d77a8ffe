//! What a broadcaster chooses about a stream, beyond what Icecast reports. A change that shows in
//! the actor document is announced to followers with an actor `Update`.

use chrono::NaiveDateTime;

use crate::{
    db::{
        DbConn,
        models::{OnEnd, Stream},
    },
    error::Result,
    federation::announce,
    urls::Urls,
};

/// Whether new follows wait for the broadcaster's approval (`manuallyApprovesFollowers`).
pub fn set_approval(
    conn: &mut DbConn,
    stream: &mut Stream,
    on: bool,
    urls: &Urls,
    now: NaiveDateTime,
) -> Result<()> {
    if stream.approve_followers == on {
        return Ok(());
    }
    stream.set_approve_followers(conn, on)?;
    stream.approve_followers = on;
    announce::profile_changed(conn, stream, urls, now)
}

/// What followers are told when a broadcast ends; it applies to broadcasts that end from now on.
pub fn set_on_end(conn: &mut DbConn, stream: &mut Stream, on_end: OnEnd) -> Result<()> {
    stream.set_on_end(conn, on_end)?;
    stream.on_end = on_end;
    Ok(())
}
