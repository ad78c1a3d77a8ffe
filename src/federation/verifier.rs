//! Who signed an inbound request. The key the signature names (`keyId`) is found in memory, else
//! in its owner's document (the `remote_actors` cache, or a fetch through the library, signed as
//! our instance actor for servers that require it), and checked with aws-lc-rs.
//!
//! Ours rather than the library's `receive_activity` for three reasons: aws-lc-rs verifies in
//! about 15 µs where the `rsa` crate takes about 150 µs (../shared/perf/LIMITS.md), the inbox's
//! hot path; the library checks the signature against the activity's `actor`, never its
//! `keyId`, so an activity forwarded by a relay could not be verified at all; and it has no
//! clock-skew bound (see [`super::signature`]).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use activitypub_federation::{
    config::Data,
    fetch::object_id::ObjectId,
    traits::{Actor as _, Object as _},
};
use actix_web::http::{Method, header::HeaderMap};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use url::Url;

use super::{
    remote_actor::RemoteActor,
    signature::{SignatureHeader, check_digest},
};
use crate::{
    error::{Error, Result},
    state::AppState,
};

/// Parsed keys kept in memory; past this many the cache starts over (simpler than an LRU, and a
/// refill costs one cached-row read per signer).
const MAX_KEYS: usize = 10_000;

/// A verified key and the actor it belongs to.
struct Key {
    owner: Url,
    key: ParsedPublicKey,
    /// When it was read: a signature that fails with a copy this young is not worth a fetch.
    parsed: Instant,
}

/// A cached key older than this is fetched again when a signature does not verify with it (the
/// owner may have rotated it); a younger one is not, so bad signatures cost no outbound request.
const REFRESH_AFTER: Duration = Duration::from_secs(300);

fn not_verified(key_id: &Url) -> Error {
    Error::Unauthorized(format!("the signature does not verify with {key_id}"))
}

/// The inbox's signature checker; one per process, shared by every request.
#[derive(Default)]
pub struct Verifier {
    keys: Mutex<HashMap<Url, Arc<Key>>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").finish_non_exhaustive()
    }
}

/// A request whose signature verified: who signed it.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The actor that owns the key.
    pub actor: Url,
}

impl Verifier {
    /// Checks the signature, its time window, the host it was made for and (for a body) the
    /// digest; returns the signer.
    pub async fn verify(
        &self,
        data: &Data<AppState>,
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<Signer> {
        let sig = SignatureHeader::from_headers(headers)?;
        sig.check_time(headers, chrono::Utc::now())?;
        // A request signed for another server cannot be replayed here.
        let ours = data.urls.authority();
        if let Some(host) = headers.get("host").and_then(|h| h.to_str().ok())
            && !host.eq_ignore_ascii_case(&ours)
        {
            return Err(Error::Unauthorized(format!(
                "the request is for {host}, not {ours}"
            )));
        }
        if let Some(body) = body {
            check_digest(headers, body)?;
        }
        let signed = sig.signing_string(method, path_and_query, headers)?;
        // Before anything is fetched from a blocked host.
        data.blocks.check(&sig.key_id).await?;
        let verifies = |key: &Key| {
            key.key
                .verify_sig(signed.as_bytes(), &sig.signature)
                .is_ok()
        };
        let cached = self.cached(&sig.key_id);
        if let Some(key) = &cached
            && verifies(key)
        {
            return Ok(Signer {
                actor: key.owner.clone(),
            });
        }
        // Not known yet, or (an old copy only) the owner may have rotated its key: read the
        // owner's document, from the cache table or, when that copy is old too, its server.
        let refresh = cached
            .as_ref()
            .is_some_and(|k| k.parsed.elapsed() >= REFRESH_AFTER);
        if cached.is_some() && !refresh {
            return Err(not_verified(&sig.key_id));
        }
        let key = self.fetch(data, &sig.key_id, refresh).await?;
        if !verifies(&key) {
            return Err(not_verified(&sig.key_id));
        }
        // Kept only once it verified something: made-up key ids cannot crowd the cache.
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= MAX_KEYS {
            keys.clear();
        }
        keys.insert(sig.key_id.clone(), key.clone());
        Ok(Signer {
            actor: key.owner.clone(),
        })
    }

    /// The key `key_id` names, from its owner's document (fetched again from its server when
    /// `refresh`).
    async fn fetch(&self, data: &Data<AppState>, key_id: &Url, refresh: bool) -> Result<Arc<Key>> {
        let mut owner = key_id.clone();
        owner.set_fragment(None);
        let id = ObjectId::<RemoteActor>::from(owner);
        let fetched = if refresh {
            id.dereference_forced(data).await
        } else {
            id.dereference(data).await
        };
        let actor = fetched.map_err(|e| {
            Error::Unauthorized(format!("the key {key_id} could not be fetched: {e}"))
        })?;
        Ok(Arc::new(Key {
            owner: actor.id().clone(),
            key: parse_pem(actor.public_key_pem())?,
            parsed: Instant::now(),
        }))
    }

    fn cached(&self, key_id: &Url) -> Option<Arc<Key>> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.get(key_id).cloned()
    }

    /// Forgets an actor's keys (it was deleted or blocked).
    pub fn forget(&self, actor: &Url) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.retain(|_, k| k.owner != *actor);
    }
}

/// An RSA public key from SPKI (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`) PEM.
fn parse_pem(pem: &str) -> Result<ParsedPublicKey> {
    let b64: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = BASE64
        .decode(b64)
        .map_err(|_| Error::Unauthorized("the signer's public key is not valid PEM".into()))?;
    ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
        .map_err(|e| Error::Unauthorized(format!("the signer's public key is unusable: {e}")))
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::{rand::SystemRandom, rsa::KeyPair, signature::RSA_PKCS1_SHA256};

    use super::*;

    #[tokio::test]
    async fn our_own_key_pem_parses_and_verifies() {
        let (public, private) = crate::federation::keys::generate().await.unwrap();
        let key = parse_pem(&public).unwrap();
        let b64: String = private
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let pair = KeyPair::from_pkcs8(&BASE64.decode(b64).unwrap()).unwrap();
        let mut sig = vec![0; pair.public_modulus_len()];
        pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), b"signed", &mut sig)
            .unwrap();
        assert!(key.verify_sig(b"signed", &sig).is_ok());
        assert!(key.verify_sig(b"tampered", &sig).is_err());
        assert!(parse_pem("-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----").is_err());
    }
}
