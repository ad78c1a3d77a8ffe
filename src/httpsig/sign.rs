//! HTTP signatures on deliveries: draft-cavage `rsa-sha256` over `(request-target) host date
//! digest`, the scheme Mastodon and Fedify verify. Private keys are parsed once per actor and kept.
//! Signing is the fan-out's cost, so it uses aws-lc-rs: about four times faster than the `rsa`
//! crate on this machine class (../shared/perf/LIMITS.md).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use aws_lc_rs::{rand::SystemRandom, rsa::KeyPair, signature::RSA_PKCS1_SHA256};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use chrono::{DateTime, Utc};
use url::Url;

use crate::error::{Error, Result};

/// Which of our actors signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignerId {
    Stream(i64),
    Instance,
}

/// Parsed private keys by actor.
#[derive(Default)]
pub struct KeyCache {
    keys: Mutex<HashMap<SignerId, Arc<KeyPair>>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache").finish_non_exhaustive()
    }
}

impl KeyCache {
    /// The parsed key of `who`, parsing `pem()` the first time only.
    pub fn get(&self, who: SignerId, pem: impl FnOnce() -> Result<String>) -> Result<Arc<KeyPair>> {
        if let Some(key) = self
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&who)
        {
            return Ok(key.clone());
        }
        let key = Arc::new(parse_pkcs8_pem(&pem()?)?);
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(who, key.clone());
        Ok(key)
    }
}

/// A PKCS#8 PEM private key (what [`super::generate`] writes) as an aws-lc-rs key pair.
fn parse_pkcs8_pem(pem: &str) -> Result<KeyPair> {
    let der =
        super::pem_der(pem).ok_or_else(|| Error::Keys("private key PEM: not base64".into()))?;
    KeyPair::from_pkcs8(&der).map_err(|e| Error::Keys(format!("private key: {e}")))
}

/// The headers of a signed POST of `body` to `inbox`.
#[derive(Debug)]
pub struct SignedHeaders {
    pub host: String,
    pub date: String,
    pub digest: String,
    pub signature: String,
}

/// Signs a POST to `inbox` of the body whose [`super::body_digest`] is `digest`, as `key_id`
/// (blocking: a few hundred microseconds of CPU).
pub fn sign_post(
    key: &KeyPair,
    key_id: &Url,
    inbox: &Url,
    digest: &str,
    now: DateTime<Utc>,
) -> Result<SignedHeaders> {
    let host = match (inbox.host_str(), inbox.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => return Err(Error::Invalid(format!("inbox {inbox} has no host"))),
    };
    let target = match inbox.query() {
        Some(q) => format!("{}?{q}", inbox.path()),
        None => inbox.path().to_owned(),
    };
    let date = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let signing_string =
        format!("(request-target): post {target}\nhost: {host}\ndate: {date}\ndigest: {digest}");
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_string.as_bytes(),
        &mut signature,
    )
    .map_err(|e| Error::Keys(format!("signing: {e}")))?;
    let signature = format!(
        r#"keyId="{key_id}",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="{}""#,
        BASE64.encode(signature)
    );
    Ok(SignedHeaders {
        host,
        date,
        digest: digest.to_owned(),
        signature,
    })
}

#[cfg(test)]
mod tests {
    use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey, pkcs8::EncodePrivateKey};
    use sha2::{Digest, Sha256};

    use super::{super::body_digest, *};

    #[test]
    fn the_signature_verifies_over_the_cavage_signing_string() {
        let rsa_key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let pem = rsa_key
            .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
            .to_string();
        let key = parse_pkcs8_pem(&pem).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let inbox: Url = "http://peer.example:8802/users/bob/inbox".parse().unwrap();
        let key_id: Url = "http://localhost:8080/streams/jazz#main-key"
            .parse()
            .unwrap();
        let h = sign_post(&key, &key_id, &inbox, &body_digest(b"{}"), now).unwrap();
        assert_eq!(h.host, "peer.example:8802");
        assert_eq!(h.date, "Wed, 25 Nov 2026 10:00:00 GMT");
        assert_eq!(
            h.digest,
            "SHA-256=RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o="
        );
        let sig = h
            .signature
            .split("signature=\"")
            .nth(1)
            .unwrap()
            .trim_end_matches('"');
        let string = format!(
            "(request-target): post /users/bob/inbox\nhost: {}\ndate: {}\ndigest: {}",
            h.host, h.date, h.digest
        );
        RsaPublicKey::from(&rsa_key)
            .verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(string.as_bytes()),
                &BASE64.decode(sig).unwrap(),
            )
            .unwrap();
        let cache = KeyCache::default();
        let first = cache.get(SignerId::Stream(1), || Ok(pem.clone())).unwrap();
        let again = cache
            .get(SignerId::Stream(1), || panic!("parsed twice"))
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert!(
            parse_pkcs8_pem("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----")
                .is_err()
        );
    }
}
