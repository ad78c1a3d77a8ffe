//! The activities we send, typed: each constructor mints the id (through [`Urls`]) and says what
//! the activity is about and what pending news of it it replaces, so the delivery queue takes
//! all of that from the value (see [`Outgoing`]).

use serde::Serialize;
use serde_json::Value;
use url::Url;

use super::vocab::{CONTEXT, PUBLIC, live_context};
use crate::{
    accounts::random_alphanumeric,
    db::models::Stream,
    delivery::{Outgoing, SUPERSEDED_BY_DELETE, SUPERSEDED_BY_UPDATE},
    urls::Urls,
};

/// The activity types we send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    Follow,
    Accept,
    Reject,
    Undo,
    Create,
    Update,
    Delete,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Follow => "Follow",
            Self::Accept => "Accept",
            Self::Reject => "Reject",
            Self::Undo => "Undo",
            Self::Create => "Create",
            Self::Update => "Update",
            Self::Delete => "Delete",
        }
    }
}

/// `@context`: plain ActivityStreams, or with the terms a broadcast's Note uses.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Context {
    Plain(&'static str),
    Extended(Value),
}

/// The object an activity is about, and the kinds of pending activity about it that it makes
/// pointless. Not sent.
#[derive(Debug, Clone)]
struct About {
    object: Url,
    supersedes: &'static [&'static str],
}

/// An activity we send, with its object `O`.
#[derive(Debug, Clone, Serialize)]
pub struct Activity<O> {
    #[serde(rename = "@context")]
    context: Context,
    id: Url,
    #[serde(rename = "type")]
    kind: Kind,
    actor: Url,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<[&'static str; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cc: Option<[Url; 1]>,
    object: O,
    #[serde(skip)]
    about: Option<About>,
}

/// A `Follow` as the object of an answer or an Undo: the id is what peers match on.
#[derive(Debug, Clone, Serialize)]
pub struct FollowRef {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Kind,
    actor: String,
    object: String,
}

impl FollowRef {
    /// The Follow `id` (as it was sent) of `object` by `actor`.
    pub fn new(id: Option<String>, actor: impl ToString, object: impl ToString) -> Self {
        Self {
            id,
            kind: Kind::Follow,
            actor: actor.to_string(),
            object: object.to_string(),
        }
    }
}

/// A `Delete`'s object: the broadcast's Note as a Tombstone.
#[derive(Debug, Clone, Serialize)]
pub struct Tombstone {
    id: Url,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// A fresh id for an activity we send.
fn mint(urls: &Urls) -> Url {
    urls.activity(&random_alphanumeric(22))
}

/// Whether a stored activity was addressed to the public (`to` names [`PUBLIC`]): such an
/// activity may be served to anyone who asks for its id.
pub fn is_public(body: &str) -> bool {
    serde_json::from_str::<Value>(body).is_ok_and(|v| match &v["to"] {
        Value::String(to) => to == PUBLIC,
        Value::Array(to) => to.iter().any(|t| t == PUBLIC),
        _ => false,
    })
}

impl<O> Activity<O> {
    /// An activity sent to one inbox, addressed by that alone (Follow, Undo, answers).
    fn direct(kind: Kind, actor: Url, object: O, urls: &Urls) -> Self {
        Self {
            context: Context::Plain(CONTEXT),
            id: mint(urls),
            kind,
            actor,
            to: None,
            cc: None,
            object,
            about: None,
        }
    }

    /// A public activity of a stream, to its followers.
    fn public(kind: Kind, id: Url, stream: &Stream, object: O, about: About, urls: &Urls) -> Self {
        Self {
            context: Context::Extended(live_context()),
            id,
            kind,
            actor: urls.stream(&stream.handle),
            to: Some([PUBLIC]),
            cc: Some([urls.stream_followers(&stream.handle)]),
            object,
            about: Some(about),
        }
    }

    pub fn id(&self) -> &Url {
        &self.id
    }
}

impl Activity<String> {
    /// The instance actor's `Follow` of `object` (a stream actor, a relay, or Public).
    pub fn follow(object: &str, urls: &Urls) -> Self {
        Self::direct(Kind::Follow, urls.instance_actor(), object.to_owned(), urls)
    }
}

impl Activity<FollowRef> {
    /// The instance actor's `Undo` of its Follow.
    pub fn undo_follow(follow: FollowRef, urls: &Urls) -> Self {
        Self::direct(Kind::Undo, urls.instance_actor(), follow, urls)
    }

    /// `Accept` or `Reject` of `follow` by `actor`.
    pub fn answer(kind: Kind, actor: Url, follow: FollowRef, urls: &Urls) -> Self {
        debug_assert!(matches!(kind, Kind::Accept | Kind::Reject));
        Self::direct(kind, actor, follow, urls)
    }
}

impl Activity<Value> {
    /// Going on air: `Create` of the broadcast's Note.
    pub fn create(stream: &Stream, broadcast: i64, note: Value, urls: &Urls) -> Self {
        Self::create_with_id(mint(urls), stream, broadcast, note, urls)
    }

    /// The `Create` as the outbox lists it, under the id the outbox gives it.
    pub fn create_with_id(
        id: Url,
        stream: &Stream,
        broadcast: i64,
        note: Value,
        urls: &Urls,
    ) -> Self {
        let about = About {
            object: urls.broadcast(broadcast),
            supersedes: &[],
        };
        Self::public(Kind::Create, id, stream, note, about, urls)
    }

    /// A new title: `Update` of the Note; it replaces an older pending Update.
    pub fn update(stream: &Stream, broadcast: i64, note: Value, urls: &Urls) -> Self {
        let about = About {
            object: urls.broadcast(broadcast),
            supersedes: SUPERSEDED_BY_UPDATE,
        };
        Self::public(Kind::Update, mint(urls), stream, note, about, urls)
    }

    /// Off air, the post kept: the `Update` that says it was on air; pending go-live news of it
    /// is dropped, as for a Delete.
    pub fn update_ended(stream: &Stream, broadcast: i64, note: Value, urls: &Urls) -> Self {
        let about = About {
            object: urls.broadcast(broadcast),
            supersedes: SUPERSEDED_BY_DELETE,
        };
        Self::public(Kind::Update, mint(urls), stream, note, about, urls)
    }
}

impl Activity<Value> {
    /// A show scheduled: `Create` of its Event.
    pub fn create_event(stream: &Stream, show: i64, event: Value, urls: &Urls) -> Self {
        let about = About {
            object: urls.show(show),
            supersedes: &[],
        };
        Self::public(Kind::Create, mint(urls), stream, event, about, urls)
    }

    /// A show changed (or moved on to its next occurrence, or marked cancelled): `Update` of its
    /// Event; it replaces an older pending one.
    pub fn update_event(stream: &Stream, show: i64, event: Value, urls: &Urls) -> Self {
        let about = About {
            object: urls.show(show),
            supersedes: SUPERSEDED_BY_UPDATE,
        };
        Self::public(Kind::Update, mint(urls), stream, event, about, urls)
    }
}

impl Activity<Value> {
    /// A show is about to start: `Create` of its reminder post (at `object`).
    pub fn create_reminder(stream: &Stream, object: Url, note: Value, urls: &Urls) -> Self {
        let about = About {
            object,
            supersedes: &[],
        };
        Self::public(Kind::Create, mint(urls), stream, note, about, urls)
    }
}

impl Activity<Tombstone> {
    /// A reminded show cancelled: `Delete` of the reminder post at `object`.
    pub fn delete_reminder(stream: &Stream, object: Url, urls: &Urls) -> Self {
        Self::delete_of(stream, object, urls)
    }

    /// A show cancelled: `Delete` of its Event; pending news of it is dropped.
    pub fn delete_event(stream: &Stream, show: i64, urls: &Urls) -> Self {
        Self::delete_of(stream, urls.show(show), urls)
    }

    /// Off air: `Delete` of the Note; pending go-live news of it is dropped.
    pub fn delete(stream: &Stream, broadcast: i64, urls: &Urls) -> Self {
        Self::delete_of(stream, urls.broadcast(broadcast), urls)
    }

    /// `Delete` of `object`, which supersedes whatever pending news of it the queue holds.
    fn delete_of(stream: &Stream, object: Url, urls: &Urls) -> Self {
        let tombstone = Tombstone {
            id: object.clone(),
            kind: "Tombstone",
        };
        let about = About {
            object,
            supersedes: SUPERSEDED_BY_DELETE,
        };
        Self::public(Kind::Delete, mint(urls), stream, tombstone, about, urls)
    }
}

impl<A: Serialize> Activity<A> {
    /// The stream's profile changed: `Update` of its actor; it replaces an older pending one.
    pub fn update_actor(stream: &Stream, actor: A, urls: &Urls) -> Self {
        let about = About {
            object: urls.stream(&stream.handle),
            supersedes: SUPERSEDED_BY_UPDATE,
        };
        Self::public(Kind::Update, mint(urls), stream, actor, about, urls)
    }
}

impl<O: Serialize> Outgoing for Activity<O> {
    fn ap_id(&self) -> &Url {
        &self.id
    }

    fn kind(&self) -> &'static str {
        self.kind.as_str()
    }

    fn object_id(&self) -> Option<&Url> {
        self.about.as_ref().map(|a| &a.object)
    }

    fn supersedes(&self) -> &'static [&'static str] {
        self.about.as_ref().map_or(&[], |a| a.supersedes)
    }
}

#[cfg(test)]
mod tests;
