//! Announcements that arrive through a relay, signed by the relay rather than by their author.
//! Nothing in what the relay sent is believed: the Note is fetched from its origin, and only
//! what the origin serves enters the catalog (or leaves it, when the origin says it is gone).
//! Unlike announcements from followed streams, these may come from streams nobody here follows:
//! discovering them is what a relay is for.

use activitypub_federation::{config::Data, fetch::fetch_object_http};
use serde_json::Value;
use url::Url;

use super::{
    event::RemoteEvent,
    intake::Taken,
    origin::{Answer, Origin},
    remote::{self, LiveNote},
};
use crate::{
    db::models::{RemoteBroadcast, RemoteShow, RemoteStream},
    error::Result,
    state::AppState,
};

/// The id of what an activity's `object` names: a URL, or an object with an `id`.
pub fn object_id(object: &Value) -> Option<Url> {
    match object {
        Value::String(s) => Url::parse(s).ok(),
        Value::Object(o) => o.get("id")?.as_str().and_then(|s| Url::parse(s).ok()),
        _ => None,
    }
}

/// A relayed `Create`, `Update` or `Delete` of `object`, or a LitePub relay's `Announce` of it
/// (the object may then be the author's activity; its own object is what counts).
pub async fn take(data: &Data<AppState>, object: &Value) -> Result<Taken> {
    let Some(mut id) = object_id(object) else {
        return Ok(Taken::Ignored);
    };
    let blocks = data.blocks.snapshot().await?;
    if blocks.refusal(&id).is_some() {
        return Ok(Taken::Ignored);
    }
    // An Announce may name the author's Create or Update: read it at its origin to find the Note.
    if let Ok(fetched) = fetch_object_http::<_, Value>(&id, data).await
        && matches!(
            fetched.object.get("type").and_then(Value::as_str),
            Some("Create" | "Update")
        )
        && let Some(inner) = fetched.object.get("object").and_then(object_id)
        && inner.authority() == id.authority()
    {
        id = inner;
    }
    match Origin::new(data)
        .ask(id.as_str(), &blocks, &data.clock)
        .await
    {
        Answer::Note(note) if note.live => store(data, *note).await,
        Answer::Event(event) => store_show(data, *event).await,
        Answer::Note(_) | Answer::Gone => {
            let key = id.to_string();
            let removed = data
                .db
                .write(move |c| {
                    let broadcast = match RemoteBroadcast::find(c, &key)? {
                        Some(b) => RemoteBroadcast::delete(c, b.remote_stream_id, &key)?,
                        None => false,
                    };
                    // A relayed show its origin no longer serves goes too.
                    let show = RemoteShow::forget(c, &key)?;
                    Ok(broadcast || show)
                })
                .await?;
            Ok(if removed {
                Taken::Removed
            } else {
                Taken::Ignored
            })
        }
        Answer::Unreachable(why) => {
            tracing::info!(object = %id, why, "relayed announcement not verifiable; dropped");
            Ok(Taken::Ignored)
        }
    }
}

/// Stores a show (Event) its origin served, when its stream is in the catalog already (a relay
/// makes streams known by their broadcasts; a show alone does not add one), or removes it when
/// cancelled or over.
async fn store_show(data: &Data<AppState>, event: RemoteEvent) -> Result<Taken> {
    if data
        .blocks
        .snapshot()
        .await?
        .refusal(&event.attributed_to)
        .is_some()
    {
        return Ok(Taken::Ignored);
    }
    let (actor, now) = (event.attributed_to.to_string(), data.clock.now());
    data.db
        .write(move |c| {
            let Some(stream) = RemoteStream::find(c, &actor)? else {
                return Ok(Taken::Ignored);
            };
            super::event::keep(c, stream.id, event, now)
        })
        .await
}

/// Stores a Note its origin served, with its stream (fetched from the origin when new).
async fn store(data: &Data<AppState>, note: LiveNote) -> Result<Taken> {
    // An actor block holds against a relay's copies too.
    if data
        .blocks
        .snapshot()
        .await?
        .refusal(&note.attributed_to)
        .is_some()
    {
        return Ok(Taken::Ignored);
    }
    let actor = note.attributed_to.to_string();
    let key = actor.clone();
    let known = data.db.read(move |c| RemoteStream::find(c, &key)).await?;
    let now = data.clock.now();
    let profile = match known {
        Some(_) => None,
        None => {
            let document: Value = match fetch_object_http(&note.attributed_to, data).await {
                Ok(f) => f.object,
                Err(e) => {
                    tracing::info!(actor = %note.attributed_to, error = %e, "relayed stream's actor not fetched");
                    return Ok(Taken::Ignored);
                }
            };
            match remote::profile(&document, now) {
                Some(p) if p.actor_id == actor => Some(p),
                _ => return Ok(Taken::Ignored),
            }
        }
    };
    data.db
        .write(move |c| {
            let stream_id = match profile {
                Some(p) => RemoteStream::upsert(c, &p)?,
                None => match RemoteStream::find(c, &actor)? {
                    Some(s) => s.id,
                    None => return Ok(Taken::Ignored),
                },
            };
            if !note.genres.is_empty() {
                RemoteStream::set_genres(c, stream_id, &note.genres)?;
            }
            let object_id = note.id.to_string();
            let taken = RemoteBroadcast::upsert(c, &note.into_row(stream_id, object_id, now))?;
            Ok(if taken { Taken::Live } else { Taken::Ignored })
        })
        .await
}
