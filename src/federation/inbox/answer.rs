//! Answers to the instance actor's Follows (of remote streams and relays).

use activitypub_federation::config::Data;
use url::Url;

use super::wire::{Answer, AnswerKind};
use crate::{
    db::models::{RemoteStream, Subscription, SubscriptionState},
    error::Result,
    state::AppState,
};

/// The answer to one of the instance actor's Follows: the subscription becomes accepted, or is
/// rejected and its catalog entries go.
pub(super) async fn receive(answer: Answer, data: &Data<AppState>) -> Result<()> {
    let (follow, actor, now) = (
        answer.object.id().to_string(),
        answer.actor.inner().to_string(),
        data.clock.now(),
    );
    let kind = answer.kind;
    let matched = data
        .db
        .write(move |c| {
            let state = match kind {
                AnswerKind::Accept => SubscriptionState::Accepted,
                AnswerKind::Reject => SubscriptionState::Rejected,
            };
            let Some(sub) = Subscription::find_by_follow(c, &follow)? else {
                return Ok(false);
            };
            // The followed actor answers; a Mastodon-kind relay, subscribed by its inbox, answers
            // as its actor on the same host.
            let same_host = |a: &str, b: &str| {
                let host = |s: &str| Url::parse(s).ok().map(|u| u.authority().to_owned());
                host(a).is_some() && host(a) == host(b)
            };
            let ours =
                sub.actor_id == actor || (sub.kind.is_relay() && same_host(&sub.actor_id, &actor));
            if !ours {
                return Ok(false);
            }
            Subscription::set_state(c, sub.id, state, now)?;
            if matches!(kind, AnswerKind::Reject) {
                RemoteStream::delete(c, &sub.actor_id)?;
            }
            Ok(true)
        })
        .await?;
    tracing::info!(actor = %answer.actor.inner(), ?kind, matched, "follow answered");
    Ok(())
}
