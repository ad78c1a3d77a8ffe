//! What arrives in our inboxes, as far as we read it: the activities we act on, typed so that
//! only the right `type` matches each, and a catch-all for the rest.

use activitypub_federation::{
    fetch::object_id::ObjectId,
    kinds::activity::{AnnounceType, DeleteType, FollowType, UndoType},
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::federation::remote_actor::RemoteActor;

/// `Follow` of one of our streams.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Follow {
    pub(super) id: Url,
    #[serde(rename = "type")]
    pub(super) kind: FollowType,
    pub(super) actor: ObjectId<RemoteActor>,
    pub(super) object: Url,
}

/// `Undo` of a `Follow` (embedded, as Mastodon and Fedify send it).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Undo {
    pub(super) id: Url,
    // Typed so that only an Undo matches this variant.
    #[serde(rename = "type")]
    _kind: UndoType,
    pub(super) actor: ObjectId<RemoteActor>,
    pub(super) object: UndoObject,
}

/// What an Undo undoes: a Follow we understand, or anything else (ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum UndoObject {
    Follow(Follow),
    Other(serde_json::Value),
}

/// `Delete` of an actor by itself (an account gone away).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delete {
    pub(super) id: Url,
    #[serde(rename = "type")]
    _kind: DeleteType,
    pub(super) actor: ObjectId<RemoteActor>,
    pub(super) object: IdOrObject,
}

/// A reference given as a bare URL or as an object with an `id`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum IdOrObject {
    Id(Url),
    Object { id: Url },
}

impl IdOrObject {
    pub(super) fn id(&self) -> &Url {
        match self {
            Self::Id(id) | Self::Object { id } => id,
        }
    }
}

/// `Accept` or `Reject` of a Follow the instance actor sent.
#[derive(Debug, Clone, Deserialize)]
pub struct Answer {
    pub(super) id: Url,
    #[serde(rename = "type")]
    pub(super) kind: AnswerKind,
    pub(super) actor: ObjectId<RemoteActor>,
    pub(super) object: IdOrObject,
}

/// The two answers to a Follow.
#[derive(Debug, Clone, Copy, Deserialize)]
pub enum AnswerKind {
    Accept,
    Reject,
}

/// `Create` or `Update` of an object: a broadcast Note, or an actor's own profile.
#[derive(Debug, Clone, Deserialize)]
pub struct Publish {
    pub(super) id: Url,
    #[serde(rename = "type")]
    _kind: PublishKind,
    pub(super) actor: ObjectId<RemoteActor>,
    pub(super) object: serde_json::Value,
}

/// The activities that publish an object.
#[derive(Debug, Clone, Copy, Deserialize)]
pub enum PublishKind {
    Create,
    Update,
}

/// `Announce` of an object: what a LitePub relay sends.
#[derive(Debug, Clone, Deserialize)]
pub struct Announce {
    pub(super) id: Url,
    #[serde(rename = "type")]
    _kind: AnnounceType,
    pub(super) actor: ObjectId<RemoteActor>,
    pub(super) object: serde_json::Value,
}

/// Any other verified activity: accepted and dropped.
#[derive(Debug, Clone, Deserialize)]
pub struct Other {
    pub(super) id: Url,
    pub(super) actor: Url,
}

/// Everything the inbox parses; the catch-all comes last so that ours match first.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum InboxActivity {
    Follow(Follow),
    Undo(Undo),
    Delete(Delete),
    Answer(Answer),
    Publish(Publish),
    Announce(Announce),
    Other(Other),
}

impl InboxActivity {
    pub(super) fn id(&self) -> &Url {
        match self {
            Self::Follow(a) => &a.id,
            Self::Undo(a) => &a.id,
            Self::Delete(a) => &a.id,
            Self::Answer(a) => &a.id,
            Self::Publish(a) => &a.id,
            Self::Announce(a) => &a.id,
            Self::Other(a) => &a.id,
        }
    }

    pub(super) fn actor(&self) -> &Url {
        match self {
            Self::Follow(a) => a.actor.inner(),
            Self::Undo(a) => a.actor.inner(),
            Self::Delete(a) => a.actor.inner(),
            Self::Answer(a) => a.actor.inner(),
            Self::Publish(a) => a.actor.inner(),
            Self::Announce(a) => a.actor.inner(),
            Self::Other(a) => &a.actor,
        }
    }
}
