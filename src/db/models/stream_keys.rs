use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{
        DbConn,
        schema::{stream_keys, streams},
    },
    error::Result,
};

/// A stream actor's RSA key pair (PEM).
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = stream_keys)]
pub struct StreamKeys {
    pub public_key_pem: String,
    pub private_key_pem: String,
}

impl std::fmt::Debug for StreamKeys {
    // By hand: the private key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamKeys").finish_non_exhaustive()
    }
}

impl StreamKeys {
    /// A stream's public key, if its pair was made.
    pub fn public_key(conn: &mut DbConn, stream_id: i64) -> Result<Option<String>> {
        Ok(stream_keys::table
            .find(stream_id)
            .select(stream_keys::public_key_pem)
            .first(conn)
            .optional()?)
    }

    /// A stream's private key (for signing only; never logged or served).
    pub fn private_key(conn: &mut DbConn, stream_id: i64) -> Result<Option<String>> {
        Ok(stream_keys::table
            .find(stream_id)
            .select(stream_keys::private_key_pem)
            .first(conn)
            .optional()?)
    }

    /// Streams that have no key pair yet, oldest first.
    pub fn list_missing(conn: &mut DbConn, limit: i64) -> Result<Vec<i64>> {
        Ok(streams::table
            .left_join(stream_keys::table)
            .filter(stream_keys::stream_id.nullable().is_null())
            .order(streams::id)
            .limit(limit)
            .select(streams::id)
            .load(conn)?)
    }

    /// Stores a pair; a unique violation means another process stored one first.
    pub fn insert(&self, conn: &mut DbConn, stream_id: i64, now: NaiveDateTime) -> Result<()> {
        diesel::insert_into(stream_keys::table)
            .values((
                stream_keys::stream_id.eq(stream_id),
                stream_keys::public_key_pem.eq(&self.public_key_pem),
                stream_keys::private_key_pem.eq(&self.private_key_pem),
                stream_keys::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    }
}
