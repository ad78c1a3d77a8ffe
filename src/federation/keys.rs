//! RSA key pairs of our actors. Generating one takes tens to hundreds of milliseconds, so it never
//! happens inside a YP request or a write transaction: stream keys are made by a background pass
//! (or on the first fetch of an actor that has none yet), the instance key at start.

use activitypub_federation::http_signatures::generate_actor_keypair;

use crate::{
    clock::Clock,
    db::{
        Db,
        models::{InstanceKeys, StreamKeys},
    },
    error::{Error, Result},
};

/// Streams given keys per background pass.
const PASS: i64 = 20;

async fn generate() -> Result<(String, String)> {
    let pair = tokio::task::spawn_blocking(generate_actor_keypair)
        .await?
        .map_err(|e| Error::Keys(e.to_string()))?;
    Ok((pair.public_key, pair.private_key))
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
