//! Whom an inbound signature names, and whether it verifies: the parsed keys by `keyId` in
//! memory, the owner's document asked for (by the caller's `fetch`) only when a key is unknown or
//! an old copy fails. Keys are checked with aws-lc-rs.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use actix_web::http::{Method, header::HeaderMap};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use chrono::{DateTime, Utc};
use url::Url;

use super::{SignatureHeader, check_digest, pem_der};
use crate::error::{Error, Result};

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
    Error::Unauthorized(format!(
        "the signature does not verify with {key_id} (it must be made for this instance's host)"
    ))
}

/// A signature that parsed, is inside its time window and (for a body) matches its digest;
/// what remains is the key, and that it was made for one of our host forms.
pub struct Checked {
    key_id: Url,
    /// The signing string with each of our host forms, the likeliest first.
    signed: Vec<String>,
    signature: Vec<u8>,
}

impl Checked {
    /// Checks the signature's time window and, for a body, the digest, and rebuilds what was
    /// signed for each of `ours` (our `Host` forms). The `host` line is ours, never the header's:
    /// a proxy may rewrite `Host` (nginx sends the upstream's unless told otherwise), and a
    /// request signed for another server still cannot be replayed here, since it verifies with
    /// none of our forms.
    pub fn from_request(
        ours: &[String],
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let sig = SignatureHeader::from_headers(headers)?;
        sig.check_time(headers, now)?;
        if let Some(body) = body {
            check_digest(headers, body)?;
        }
        // The header as sent first when it is one of ours (in its own spelling): then the first
        // try verifies; otherwise each of our forms.
        let sent = headers.get("host").and_then(|h| h.to_str().ok());
        let mut hosts: Vec<&str> = sent
            .filter(|h| ours.iter().any(|o| o.eq_ignore_ascii_case(h)))
            .into_iter()
            .collect();
        hosts.extend(ours.iter().map(String::as_str).filter(|o| sent != Some(*o)));
        let signed = hosts
            .into_iter()
            .map(|host| sig.signing_string(method, path_and_query, headers, host))
            .collect::<Result<_>>()?;
        Ok(Self {
            key_id: sig.key_id,
            signed,
            signature: sig.signature,
        })
    }

    /// The key the signature names.
    pub fn key_id(&self) -> &Url {
        &self.key_id
    }
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
    /// Verifies a checked signature with the key it names: from memory, else through `fetch`
    /// (`key_id`, whether to bypass the caller's caches) → the key's owner and its PEM.
    pub async fn verify<F, Fut>(&self, checked: Checked, fetch: F) -> Result<Signer>
    where
        F: FnOnce(Url, bool) -> Fut,
        Fut: Future<Output = Result<(Url, String)>>,
    {
        let verifies = |key: &Key| {
            checked
                .signed
                .iter()
                .any(|s| key.key.verify_sig(s.as_bytes(), &checked.signature).is_ok())
        };
        let cached = self.cached(&checked.key_id);
        if let Some(key) = &cached
            && verifies(key)
        {
            return Ok(Signer {
                actor: key.owner.clone(),
            });
        }
        // Not known yet, or (an old copy only) the owner may have rotated its key: read the
        // owner's document, from the caller's cache or, when that copy is old too, its server.
        let refresh = cached
            .as_ref()
            .is_some_and(|k| k.parsed.elapsed() >= REFRESH_AFTER);
        if cached.is_some() && !refresh {
            return Err(not_verified(&checked.key_id));
        }
        let (owner, pem) = fetch(checked.key_id.clone(), refresh).await?;
        let key = Arc::new(Key {
            owner,
            key: parse_pem(&pem)?,
            parsed: Instant::now(),
        });
        if !verifies(&key) {
            return Err(not_verified(&checked.key_id));
        }
        // Kept only once it verified something: made-up key ids cannot crowd the cache.
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= MAX_KEYS {
            keys.clear();
        }
        keys.insert(checked.key_id, key.clone());
        Ok(Signer {
            actor: key.owner.clone(),
        })
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
    let der = pem_der(pem)
        .ok_or_else(|| Error::Unauthorized("the signer's public key is not valid PEM".into()))?;
    ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
        .map_err(|e| Error::Unauthorized(format!("the signer's public key is unusable: {e}")))
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::{rand::SystemRandom, rsa::KeyPair, signature::RSA_PKCS1_SHA256};

    use base64::{Engine, engine::general_purpose::STANDARD as BASE64};

    use super::*;

    #[tokio::test]
    async fn our_own_key_pem_parses_and_verifies() {
        let (public, private) = super::super::generate().await.unwrap();
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
