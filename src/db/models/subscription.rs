use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::stored_text;
use crate::{
    db::{DbConn, schema::subscriptions},
    error::Result,
};

stored_text! {
    /// What the instance actor follows.
    pub enum SubscriptionKind("subscription kind") {
        /// A remote stream actor: its announcements fill the catalog.
        Stream = "stream",
        /// A Mastodon-kind relay, subscribed by its inbox.
        Relay = "relay",
        /// A LitePub-kind relay, an actor that follows us back.
        LitePubRelay = "litepub-relay",
    }
}

impl SubscriptionKind {
    /// Either kind of relay.
    pub fn is_relay(self) -> bool {
        self != Self::Stream
    }
}

stored_text! {
    /// Where a subscription is: waiting for the remote side, or answered.
    pub enum SubscriptionState("subscription state") {
        /// The Follow is sent, not answered yet.
        Pending = "pending",
        /// The remote side accepted.
        Accepted = "accepted",
        /// The remote side refused.
        Rejected = "rejected",
    }
}

/// A remote actor the instance actor follows: a stream (its announcements fill the catalog) or a
/// relay.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
pub struct Subscription {
    pub id: i64,
    pub actor_id: String,
    pub inbox: String,
    #[diesel(deserialize_as = String)]
    pub kind: SubscriptionKind,
    /// Pending until the remote side answers.
    #[diesel(deserialize_as = String)]
    pub state: SubscriptionState,
    pub follow_id: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Subscription {
    /// Records a Follow just sent (or sent again: the state goes back to pending, with the new
    /// Follow's id).
    pub fn upsert(
        conn: &mut DbConn,
        actor_id: &str,
        inbox: &str,
        kind: SubscriptionKind,
        follow_id: &str,
        now: NaiveDateTime,
    ) -> Result<()> {
        let changed =
            diesel::update(subscriptions::table.filter(subscriptions::actor_id.eq(actor_id)))
                .set((
                    subscriptions::inbox.eq(inbox),
                    subscriptions::kind.eq(kind.as_str()),
                    subscriptions::state.eq(SubscriptionState::Pending.as_str()),
                    subscriptions::follow_id.eq(follow_id),
                    subscriptions::updated_at.eq(now),
                ))
                .execute(conn)?;
        if changed == 0 {
            diesel::insert_into(subscriptions::table)
                .values((
                    subscriptions::actor_id.eq(actor_id),
                    subscriptions::inbox.eq(inbox),
                    subscriptions::kind.eq(kind.as_str()),
                    subscriptions::state.eq(SubscriptionState::Pending.as_str()),
                    subscriptions::follow_id.eq(follow_id),
                    subscriptions::created_at.eq(now),
                    subscriptions::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    /// The subscription to `actor_id`, if any.
    pub fn find(conn: &mut DbConn, actor_id: &str) -> Result<Option<Self>> {
        Ok(subscriptions::table
            .filter(subscriptions::actor_id.eq(actor_id))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// The subscription our Follow `follow_id` asked for.
    pub fn find_by_follow(conn: &mut DbConn, follow_id: &str) -> Result<Option<Self>> {
        Ok(subscriptions::table
            .filter(subscriptions::follow_id.eq(follow_id))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Records the answer: accepted or rejected.
    pub fn set_state(
        conn: &mut DbConn,
        id: i64,
        state: SubscriptionState,
        now: NaiveDateTime,
    ) -> Result<()> {
        diesel::update(subscriptions::table.find(id))
            .set((
                subscriptions::state.eq(state.as_str()),
                subscriptions::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Inboxes of the relays that accepted us.
    pub fn relay_inboxes(conn: &mut DbConn) -> Result<Vec<String>> {
        Ok(subscriptions::table
            .filter(subscriptions::kind.ne(SubscriptionKind::Stream.as_str()))
            .filter(subscriptions::state.eq(SubscriptionState::Accepted.as_str()))
            .select(subscriptions::inbox)
            .load(conn)?)
    }

    /// Whether the instance follows `actor_id` and was accepted.
    pub fn is_accepted(conn: &mut DbConn, actor_id: &str) -> Result<bool> {
        Ok(diesel::select(diesel::dsl::exists(
            subscriptions::table
                .filter(subscriptions::actor_id.eq(actor_id))
                .filter(subscriptions::state.eq(SubscriptionState::Accepted.as_str())),
        ))
        .get_result(conn)?)
    }

    /// Every subscription, oldest first.
    pub fn list(conn: &mut DbConn) -> Result<Vec<Self>> {
        Ok(subscriptions::table
            .order(subscriptions::id)
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Forgets a subscription; returns it if there was one.
    pub fn delete(conn: &mut DbConn, actor_id: &str) -> Result<Option<Self>> {
        let found = Self::find(conn, actor_id)?;
        if found.is_some() {
            diesel::delete(subscriptions::table.filter(subscriptions::actor_id.eq(actor_id)))
                .execute(conn)?;
        }
        Ok(found)
    }
}
