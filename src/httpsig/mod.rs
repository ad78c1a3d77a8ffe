//! HTTP signatures, the ground floor of federation: key pairs and PEM, signing our requests
//! ([`sign`]), reading and checking inbound ones ([`inbound`], [`verify`]), body digests. Pure
//! code over aws-lc-rs; nothing here knows the database or who the actors are.

pub mod inbound;
pub mod sign;
pub mod verify;

use aws_lc_rs::{
    encoding::AsDer,
    rsa::{KeyPair, KeySize},
    signature::KeyPair as _,
};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub use inbound::{SignatureHeader, check_digest};
pub use sign::{KeyCache, SignedHeaders, SignerId, sign_post};
pub use verify::{Signer, Verifier};

/// A new RSA-2048 pair as (SPKI public PEM, PKCS#8 private PEM), the formats the library and
/// every peer read. aws-lc-rs makes it several times faster than the `rsa` crate.
pub async fn generate() -> Result<(String, String)> {
    tokio::task::spawn_blocking(|| {
        let fail = |what: &str| Error::Keys(format!("generating a key pair: {what}"));
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| fail("generate"))?;
        let private = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
            .map_err(|_| fail("private key"))?;
        let public = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(pair.public_key())
            .map_err(|_| fail("public key"))?;
        Ok((
            armour("PUBLIC KEY", public.as_ref()),
            armour("PRIVATE KEY", private.as_ref()),
        ))
    })
    .await?
}

/// PEM armour: base64 in lines of 64 characters.
fn armour(label: &str, der: &[u8]) -> String {
    let b64 = BASE64.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The DER inside PEM armour (any label), or `None` when the base64 is broken.
pub fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let b64: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect();
    BASE64.decode(b64).ok()
}

/// The `Digest` header of a body: computed once per activity, not per inbox.
pub fn body_digest(body: &[u8]) -> String {
    format!("SHA-256={}", BASE64.encode(Sha256::digest(body)))
}

#[cfg(test)]
mod tests {
    use rsa::{RsaPrivateKey, RsaPublicKey, pkcs8::DecodePrivateKey, pkcs8::DecodePublicKey};

    #[tokio::test]
    async fn generated_pems_are_what_the_library_and_peers_read() {
        let (public, private) = super::generate().await.unwrap();
        assert!(
            public.starts_with("-----BEGIN PUBLIC KEY-----\n")
                && public.ends_with("-----END PUBLIC KEY-----\n")
        );
        assert!(public.lines().all(|l| l.len() <= 64));
        let private = RsaPrivateKey::from_pkcs8_pem(&private).unwrap();
        assert_eq!(
            RsaPublicKey::from(&private),
            RsaPublicKey::from_public_key_pem(&public).unwrap()
        );
        assert_eq!(
            rsa::traits::PublicKeyParts::size(&RsaPublicKey::from(&private)),
            256,
            "2048 bits"
        );
    }
}
