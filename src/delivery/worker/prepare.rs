//! What a claim sends: each activity's body, digest and signing key, read once and kept while
//! its deliveries last, and how one request to one inbox is signed.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{NaiveDateTime, Utc};
use url::Url;

use super::Worker;
use crate::{
    db::models::{Activity, InstanceKeys, Stream, StreamKeys},
    error::{Error, Result},
    httpsig::{SignedHeaders, SignerId, body_digest, sign_post},
};

/// An activity ready to sign and send to any number of inboxes.
pub(super) struct Prepared {
    /// Shared by every request of the step: a reference count, not a copy, per delivery.
    pub(super) body: Bytes,
    digest: String,
    key: Arc<aws_lc_rs::rsa::KeyPair>,
    key_id: Url,
    /// When it was queued, for the enqueue-to-delivery histogram.
    pub(super) queued_at: NaiveDateTime,
}

impl Worker {
    /// The body, key and key id of an activity, for every delivery of it.
    pub(super) async fn prepare(&self, activity_id: i64) -> Result<Prepared> {
        let activity = self
            .db
            .read(move |c| Activity::find(c, activity_id))
            .await?
            .ok_or_else(|| Error::Invalid(format!("activity {activity_id} is gone")))?;
        let (signer, key_id) = self.signer_of(&activity).await?;
        let key = match self
            .keys
            .get(signer, || Err(Error::Keys("not cached".to_owned())))
        {
            Ok(key) => key,
            Err(_) => {
                let pem = self.private_key_pem(signer).await?;
                self.keys.get(signer, || Ok(pem))?
            }
        };
        let queued_at = activity.created_at;
        let body = Bytes::from(activity.body.into_bytes());
        Ok(Prepared {
            queued_at,
            digest: body_digest(&body),
            body,
            key,
            key_id,
        })
    }

    async fn signer_of(&self, activity: &Activity) -> Result<(SignerId, Url)> {
        match activity.stream_id {
            None => Ok((SignerId::Instance, self.urls.instance_key())),
            Some(id) => {
                let handle = self
                    .db
                    .read(move |c| Stream::handle_of(c, id))
                    .await?
                    .ok_or_else(|| Error::Invalid(format!("stream {id} is gone")))?;
                Ok((SignerId::Stream(id), self.urls.stream_key(&handle)))
            }
        }
    }

    async fn private_key_pem(&self, signer: SignerId) -> Result<String> {
        let pem = match signer {
            SignerId::Instance => self
                .db
                .read(InstanceKeys::find)
                .await?
                .map(|k| k.private_key_pem),
            SignerId::Stream(id) => {
                // A stream that goes on air before the key maker reached it (its first Create to
                // a relay, say) gets its pair now rather than a retry a minute later.
                crate::keys::stream_public_key(&self.db, &self.clock, id).await?;
                self.db
                    .read(move |c| StreamKeys::private_key(c, id))
                    .await?
            }
        };
        pem.ok_or_else(|| Error::Keys(format!("no private key for {signer:?}")))
    }
}

/// A delivery's signed headers, or why signing failed.
pub(super) type Signed = std::result::Result<SignedHeaders, String>;

impl Prepared {
    /// Signs this activity's POST to `inbox` (a few hundred microseconds of CPU: call it on the
    /// blocking pool).
    pub(super) fn sign(&self, inbox: &str) -> Signed {
        let inbox = Url::parse(inbox).map_err(|e| format!("bad inbox: {e}"))?;
        sign_post(&self.key, &self.key_id, &inbox, &self.digest, Utc::now())
            .map_err(|e| e.to_string())
    }
}
