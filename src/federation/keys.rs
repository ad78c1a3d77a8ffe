//! RSA key pairs of our actors. Generating one takes tens to hundreds of milliseconds, so it never
//! happens inside a YP request or a write transaction: stream keys are made by a background pass
//! (or on the first fetch of an actor that has none yet), the instance key at start.

use aws_lc_rs::{
    encoding::AsDer,
    rsa::{KeyPair, KeySize},
    signature::KeyPair as _,
};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};

use crate::{
    clock::Clock,
    db::{
        Db,
        models::{InstanceKeys, StreamKeys},
    },
    error::{Error, Result},
};

/// Streams given keys per background pass. One: generating a pair costs tens to hundreds of
/// milliseconds of CPU, and a backlog (many streams registered at once) must not starve the YP
/// endpoint. Nothing waits for the background pass: a key is made on demand the first time an
/// actor is fetched, which comes before anyone can follow it.
const PASS: i64 = 1;

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
            pem("PUBLIC KEY", public.as_ref()),
            pem("PRIVATE KEY", private.as_ref()),
        ))
    })
    .await?
}

/// PEM armour: base64 in lines of 64 characters.
fn pem(label: &str, der: &[u8]) -> String {
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

/// The instance actor's keys, made on the first start. Several processes starting at once each
/// make a pair; the first stored wins and the others read it.
pub async fn instance_keys(db: &Db, clock: &Clock) -> Result<InstanceKeys> {
    if let Some(keys) = db.read(InstanceKeys::find).await? {
        return Ok(keys);
    }
    let (public_key_pem, private_key_pem) = generate().await?;
    let keys = InstanceKeys {
        public_key_pem,
        private_key_pem,
    };
    let now = clock.now();
    let stored = keys.clone();
    match db
        .write(move |c| InstanceKeys::insert(c, &stored, now))
        .await
    {
        Err(e) if e.is_unique_violation() => {}
        other => other?,
    }
    db.read(InstanceKeys::find)
        .await?
        .ok_or_else(|| Error::Keys("instance keys vanished".to_owned()))
}

/// A stream's public key, making its pair now if the background pass has not yet.
pub async fn stream_public_key(db: &Db, clock: &Clock, stream_id: i64) -> Result<String> {
    if let Some(pem) = db
        .read(move |c| StreamKeys::public_key(c, stream_id))
        .await?
    {
        return Ok(pem);
    }
    make_stream_keys(db, clock, stream_id).await?;
    db.read(move |c| StreamKeys::public_key(c, stream_id))
        .await?
        .ok_or_else(|| Error::Keys(format!("no key for stream {stream_id}")))
}

async fn make_stream_keys(db: &Db, clock: &Clock, stream_id: i64) -> Result<()> {
    let (public_key_pem, private_key_pem) = generate().await?;
    let keys = StreamKeys {
        public_key_pem,
        private_key_pem,
    };
    let now = clock.now();
    match db.write(move |c| keys.insert(c, stream_id, now)).await {
        // Another process (or a concurrent fetch) made one first; theirs stands.
        Err(e) if e.is_unique_violation() => Ok(()),
        other => other,
    }
}

/// One background pass: gives keys to streams that have none. Returns how many it made.
pub async fn fill_missing(db: &Db, clock: &Clock) -> Result<usize> {
    let missing = db.read(|c| StreamKeys::list_missing(c, PASS)).await?;
    for &id in &missing {
        make_stream_keys(db, clock, id).await?;
        tracing::info!(stream = id, "key pair made");
    }
    Ok(missing.len())
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
