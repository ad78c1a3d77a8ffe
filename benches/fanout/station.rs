//! The bench's broadcaster: an account with a YP token and one stream, whose followers are
//! written straight into the database (a Follow handshake per follower would dwarf the fan-out).

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use diesel::prelude::*;
use onair::{
    accounts::{self, UserName},
    clock::Clock,
    db::{
        Db,
        models::{Broadcast, Follower, FollowerState, StreamKeys},
        schema::{activities, deliveries},
    },
};

use super::onair::Onair;

/// One follower row: the actor, its own inbox and its instance's shared inbox, if it has one.
#[derive(Debug, Clone)]
pub struct FollowerRow {
    pub actor: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
}

/// Tells the accounts of one bench process apart on a reused database.
static ACCOUNTS: AtomicUsize = AtomicUsize::new(0);

/// The account and its stream.
pub struct Station {
    db: Db,
    user_id: i64,
    pub token: String,
    stream_id: Option<i64>,
}

impl Station {
    /// A new account with a YP token on `db`; its stream comes with [`Station::prepare`].
    pub async fn create(db: &Db) -> Self {
        let now = Clock::System.now();
        let name = format!(
            "fan{}x{}",
            std::process::id(),
            ACCOUNTS.fetch_add(1, Ordering::Relaxed)
        );
        let (user_id, token) = db
            .write(move |c| {
                let user = accounts::create_user(
                    c,
                    &UserName::parse(&name).unwrap(),
                    "a long password",
                    false,
                    now,
                )?;
                let (_, token) = accounts::create_token(c, user.id, "bench", now)?;
                Ok((user.id, token))
            })
            .await
            .unwrap();
        Self {
            db: db.clone(),
            user_id,
            token,
            stream_id: None,
        }
    }

    fn stream_id(&self) -> i64 {
        self.stream_id.expect("the stream exists after prepare")
    }

    /// Lists the stream through `onair` (which creates it, with no one to tell yet), ends that
    /// broadcast, gives the stream `followers` and waits for its key pair: the next add is a
    /// go-live to all of them.
    pub async fn prepare(&mut self, onair: &Onair, followers: Vec<FollowerRow>) {
        let sid = onair.first_add(&self.token).await;
        let (sid_for_read, user) = (sid.clone(), self.user_id);
        let stream_id = self
            .db
            .read(move |c| Broadcast::find_live_by_sid(c, &sid_for_read, user))
            .await
            .unwrap()
            .expect("the first add started a broadcast")
            .stream_id;
        onair.remove(&self.token, &sid).await;
        let now = Clock::System.now();
        self.db
            .write(move |c| {
                // Ended at once rather than after the grace, so the reaper queues nothing.
                diesel::sql_query(format!(
                    "UPDATE broadcasts SET state = 'ended', sid = NULL WHERE stream_id = {stream_id}"
                ))
                .execute(c)?;
                for f in &followers {
                    Follower::upsert(
                        c,
                        stream_id,
                        &f.actor,
                        &f.inbox,
                        f.shared_inbox.as_deref(),
                        FollowerState::Accepted,
                        None,
                        now,
                    )?;
                }
                Ok(())
            })
            .await
            .unwrap();
        onair::keys::fill_missing(&self.db, &Clock::System)
            .await
            .unwrap();
        self.stream_id = Some(stream_id);
    }

    /// The go-live: the YP add that queues the Create for every follower; returns how long the
    /// add took to answer.
    pub async fn go_live(&self, onair: &Onair) -> Duration {
        let started = Instant::now();
        let res = onair.add(&self.token).await;
        assert_eq!(res.headers()["YPResponse"], "1", "the go-live add failed");
        started.elapsed()
    }

    /// The stream's private key (PKCS#8 PEM).
    pub async fn private_key(&self) -> String {
        let id = self.stream_id();
        self.db
            .read(move |c| StreamKeys::private_key(c, id))
            .await
            .unwrap()
            .expect("the stream has a key")
    }

    /// Deliveries of the stream's activities not yet recorded as done, failed or superseded.
    pub async fn pending_deliveries(&self) -> i64 {
        let id = self.stream_id();
        self.db
            .read(move |c| {
                Ok(deliveries::table
                    .filter(deliveries::state.eq("pending"))
                    .filter(
                        deliveries::activity_id.eq_any(
                            activities::table
                                .filter(activities::stream_id.eq(id))
                                .select(activities::id),
                        ),
                    )
                    .count()
                    .get_result(c)?)
            })
            .await
            .unwrap()
    }

    /// Polls until nothing of the stream is pending or `limit` passes; returns whether drained.
    /// After a drain no worker will send the activity again, so counts read then are final.
    pub async fn wait_drained(&self, limit: Duration) -> bool {
        let started = Instant::now();
        loop {
            if self.pending_deliveries().await == 0 {
                return true;
            }
            if started.elapsed() >= limit {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// On a database that outlives the run: what this run left would otherwise be sent by the
    /// next run's server (Deletes when its reaper ends the broadcast, retries of the pending
    /// deliveries) to ports nobody listens on any more. Call it after the servers are gone.
    pub async fn retire(&self) {
        let id = self.stream_id();
        self.db
            .write(move |c| {
                diesel::sql_query(format!("DELETE FROM followers WHERE stream_id = {id}"))
                    .execute(c)?;
                diesel::sql_query(format!(
                    "UPDATE deliveries SET state = 'failed' WHERE state = 'pending' AND activity_id IN (SELECT id FROM activities WHERE stream_id = {id})"
                ))
                .execute(c)?;
                diesel::sql_query(format!(
                    "UPDATE broadcasts SET state = 'ended', sid = NULL WHERE stream_id = {id}"
                ))
                .execute(c)?;
                Ok(())
            })
            .await
            .unwrap();
    }
}
