use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{DbConn, schema::instance_keys},
    error::Result,
};

/// The key pair of the instance actor (`/actor`), made once.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = instance_keys)]
pub struct InstanceKeys {
    pub public_key_pem: String,
    pub private_key_pem: String,
}

impl std::fmt::Debug for InstanceKeys {
    // By hand: the private key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceKeys").finish_non_exhaustive()
    }
}

/// The only row's id.
const ONLY: i64 = 1;

impl InstanceKeys {
    /// The keys, if made.
    pub fn find(conn: &mut DbConn) -> Result<Option<Self>> {
        Ok(instance_keys::table
            .find(ONLY)
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Stores the keys; a unique violation means another process stored its own first.
    pub fn insert(conn: &mut DbConn, keys: &Self, now: NaiveDateTime) -> Result<()> {
        diesel::insert_into(instance_keys::table)
            .values((
                instance_keys::id.eq(ONLY),
                instance_keys::public_key_pem.eq(&keys.public_key_pem),
                instance_keys::private_key_pem.eq(&keys.private_key_pem),
                instance_keys::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    }
}
