//! ActivityPub: our actors and what we publish about them. Depends on `db` and `streams`, never on
//! `routes`. Uses `activitypub_federation` for key generation and its wire helpers
//! (`PublicKey`, the media type); signing, the inbox and deliveries come next.

pub mod activities;
pub mod actor;
pub mod announce;
pub mod collections;
pub mod event;
pub mod follows;
pub mod inbox;
pub mod instance;
pub mod interact;
pub mod note;
pub mod relays;
pub mod remote_actor;
pub mod subscribe;
pub mod verifier;
pub mod vocab;

/// The media type of ActivityPub documents we serve.
pub const ACTIVITY_JSON: &str = "application/activity+json; charset=utf-8";

/// Whether an `Accept` header asks for ActivityPub JSON rather than a page: the ActivityPub media
/// type, or JSON-LD (with or without the ActivityStreams profile).
pub fn wants_activity_json(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let media = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        media == "application/activity+json" || media == "application/ld+json"
    })
}

#[cfg(test)]
mod tests {
    use super::wants_activity_json;

    #[test]
    fn content_negotiation() {
        assert!(wants_activity_json("application/activity+json"));
        assert!(wants_activity_json(
            r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#
        ));
        assert!(wants_activity_json(
            "text/html, application/activity+json;q=0.9"
        ));
        assert!(!wants_activity_json(
            "text/html,application/xhtml+xml,*/*;q=0.8"
        ));
        assert!(!wants_activity_json(""));
    }
}
