//! Who signed an inbound request. The key the signature names (`keyId`) is found in memory, else
//! in its owner's document (the `remote_actors` cache, or a fetch through the library, signed as
//! our instance actor for servers that require it), and checked with aws-lc-rs.
//!
//! Ours rather than the library's `receive_activity` for three reasons: aws-lc-rs verifies in
//! about 15 µs where the `rsa` crate takes about 150 µs (../shared/perf/LIMITS.md), the inbox's
//! hot path; the library checks the signature against the activity's `actor`, never its
//! `keyId`, so an activity forwarded by a relay could not be verified at all; and it has no
//! clock-skew bound (see [`crate::httpsig::inbound`]).

use activitypub_federation::{
    config::Data,
    fetch::object_id::ObjectId,
    traits::{Actor as _, Object as _},
};
use actix_web::http::{Method, header::HeaderMap};
use url::Url;

use super::remote_actor::RemoteActor;
use crate::{
    error::{Error, Result},
    httpsig::{Signer, verify::Checked},
    state::AppState,
};

/// Checks an inbound request's signature, its time window, the host it was made for and (for a
/// body) the digest; returns the signer.
pub async fn verify(
    data: &Data<AppState>,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Result<Signer> {
    let checked = Checked::from_request(
        &data.urls.host_forms(),
        method,
        path_and_query,
        headers,
        body,
        chrono::Utc::now(),
    )?;
    // Before anything is fetched from a blocked host.
    data.blocks.check(checked.key_id()).await?;
    data.verifier
        .verify(checked, |key_id, refresh| fetch(data, key_id, refresh))
        .await
}

/// The key `key_id` names, from its owner's document (fetched again from its server when
/// `refresh`): the owner and the PEM.
async fn fetch(data: &Data<AppState>, key_id: Url, refresh: bool) -> Result<(Url, String)> {
    let mut owner = key_id.clone();
    owner.set_fragment(None);
    let id = ObjectId::<RemoteActor>::from(owner);
    let fetched = if refresh {
        id.dereference_forced(data).await
    } else {
        id.dereference(data).await
    };
    let actor = fetched
        .map_err(|e| Error::Unauthorized(format!("the key {key_id} could not be fetched: {e}")))?;
    Ok((actor.id().clone(), actor.public_key_pem().to_owned()))
}
