//! Announcements entering the catalog. The inbox calls these after the signature verified and
//! the activity's actor proved to be the signer. A broadcast is taken only from a stream the
//! instance follows (accepted), only when the Note is attributed to that actor and lives on its
//! host, and only when it states a live state in onair's vocabulary.

use chrono::NaiveDateTime;
use serde_json::Value;
use url::Url;

use super::{
    event::RemoteEvent,
    remote::{self, LiveNote},
};
use crate::{
    db::{
        Db,
        models::{ReceivedActivity, RemoteBroadcast, RemoteShow, RemoteStream, Subscription},
    },
    error::Result,
};

pub use super::Taken;

/// `Create` or `Update` (the activity `activity`) by `signer` of `object` (a Note, or the
/// signer's own actor document). Redelivered activities are taken once.
pub async fn publish(
    db: &Db,
    activity: &Url,
    signer: &Url,
    object: &Value,
    now: NaiveDateTime,
) -> Result<Taken> {
    let activity = activity.to_string();
    if remote::is_actor(object) {
        return profile(db, activity, signer, object, now).await;
    }
    if let Some(event) = RemoteEvent::parse(object) {
        return show(db, activity, signer, event, now).await;
    }
    let Some(note) = LiveNote::parse(object, now) else {
        return Ok(Taken::Ignored);
    };
    if note.attributed_to != *signer || note.id.authority() != signer.authority() {
        tracing::info!(object = %note.id, signer = %signer, "broadcast not by its signer; dropped");
        return Ok(Taken::Ignored);
    }
    let actor = signer.to_string();
    db.write(move |c| {
        if !ReceivedActivity::first_time(c, &activity, now)? {
            return Ok(Taken::Duplicate);
        }
        if !Subscription::is_accepted(c, &actor)? {
            return Ok(Taken::Ignored);
        }
        let Some(stream) = RemoteStream::find(c, &actor)? else {
            return Ok(Taken::Ignored);
        };
        if !note.live {
            RemoteBroadcast::delete(c, stream.id, note.id.as_str())?;
            return Ok(Taken::Removed);
        }
        if !note.genres.is_empty() && note.genres != stream.genres {
            RemoteStream::set_genres(c, stream.id, &note.genres)?;
        }
        let object_id = note.id.to_string();
        let taken = RemoteBroadcast::upsert(c, &note.into_row(stream.id, object_id, now))?;
        Ok(if taken { Taken::Live } else { Taken::Ignored })
    })
    .await
}

/// A followed stream's scheduled show (`Create` or `Update` of its Event), taken as for
/// broadcasts: only from the signer, about its own object on its host. A cancelled or past one
/// leaves the catalog.
async fn show(
    db: &Db,
    activity: String,
    signer: &Url,
    event: RemoteEvent,
    now: NaiveDateTime,
) -> Result<Taken> {
    if event.attributed_to != *signer || event.id.authority() != signer.authority() {
        tracing::info!(object = %event.id, signer = %signer, "show not by its signer; dropped");
        return Ok(Taken::Ignored);
    }
    let actor = signer.to_string();
    db.write(move |c| {
        if !ReceivedActivity::first_time(c, &activity, now)? {
            return Ok(Taken::Duplicate);
        }
        if !Subscription::is_accepted(c, &actor)? {
            return Ok(Taken::Ignored);
        }
        let Some(stream) = RemoteStream::find(c, &actor)? else {
            return Ok(Taken::Ignored);
        };
        super::event::keep(c, stream.id, event, now)
    })
    .await
}

/// An actor's `Update` of itself: the catalog entry of a followed stream follows it.
async fn profile(
    db: &Db,
    activity: String,
    signer: &Url,
    actor: &Value,
    now: NaiveDateTime,
) -> Result<Taken> {
    let Some(mut profile) = remote::profile(actor, now).filter(|p| p.actor_id == signer.as_str())
    else {
        return Ok(Taken::Ignored);
    };
    db.write(move |c| {
        if !ReceivedActivity::first_time(c, &activity, now)? {
            return Ok(Taken::Duplicate);
        }
        let Some(old) = RemoteStream::find(c, &profile.actor_id)? else {
            return Ok(Taken::Ignored);
        };
        if profile.genres.is_empty() {
            // The genres of its broadcasts stand until the actor names some.
            profile.genres = old.genres;
        }
        RemoteStream::upsert(c, &profile)?;
        Ok(Taken::Profile)
    })
    .await
}

/// `Delete` by `signer` of `object`: its broadcast, or (the object being the signer) the whole
/// stream, leaves the catalog at once.
pub async fn delete(db: &Db, signer: &Url, object: &Url) -> Result<Taken> {
    let (actor, object) = (signer.to_string(), object.to_string());
    db.write(move |c| {
        if actor == object {
            return Ok(if RemoteStream::delete(c, &actor)? {
                Taken::Removed
            } else {
                Taken::Ignored
            });
        }
        let Some(stream) = RemoteStream::find(c, &actor)? else {
            return Ok(Taken::Ignored);
        };
        let broadcast = RemoteBroadcast::delete(c, stream.id, &object)?;
        let show = RemoteShow::delete(c, stream.id, &object)?;
        Ok(if broadcast || show {
            Taken::Removed
        } else {
            Taken::Ignored
        })
    })
    .await
}
