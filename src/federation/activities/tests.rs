//! The wire shape of the activities the instance actor and answers send.

use serde_json::json;

use super::{Activity, FollowRef, Kind};
use crate::{delivery::Outgoing, urls::Urls};

fn urls() -> Urls {
    Urls::new("https://radio.example/".parse().unwrap())
}

/// The body without its fresh id, which is checked on its own.
fn body(activity: &impl Outgoing) -> serde_json::Value {
    let mut body = serde_json::to_value(activity).unwrap();
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(id, activity.ap_id().as_str());
    assert!(id.starts_with("https://radio.example/activities/"), "{id}");
    body.as_object_mut().unwrap().remove("id");
    body
}

#[test]
fn follow_and_undo_are_the_instance_actors() {
    let urls = urls();
    let follow = Activity::follow("https://far.example/users/jazz", &urls);
    assert_eq!(follow.kind(), "Follow");
    assert!(follow.object_id().is_none() && follow.supersedes().is_empty());
    assert_eq!(
        body(&follow),
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "type": "Follow",
            "actor": "https://radio.example/actor",
            "object": "https://far.example/users/jazz",
        })
    );
    let undone = FollowRef::new(
        Some(follow.id().to_string()),
        urls.instance_actor(),
        "https://far.example/users/jazz",
    );
    let undo = Activity::undo_follow(undone, &urls);
    assert_eq!(undo.kind(), "Undo");
    assert_eq!(
        body(&undo)["object"],
        json!({
            "id": follow.id(),
            "type": "Follow",
            "actor": "https://radio.example/actor",
            "object": "https://far.example/users/jazz",
        })
    );
}

#[test]
fn an_answer_quotes_the_follow_as_sent() {
    let urls = urls();
    let actor = urls.stream("jazz");
    let follow = FollowRef::new(None, "https://far.example/users/a", &actor);
    let reject = Activity::answer(Kind::Reject, actor, follow, &urls);
    assert_eq!(reject.kind(), "Reject");
    assert_eq!(
        body(&reject),
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "type": "Reject",
            "actor": "https://radio.example/streams/jazz",
            "object": {
                "id": null,
                "type": "Follow",
                "actor": "https://far.example/users/a",
                "object": "https://radio.example/streams/jazz",
            },
        })
    );
}
