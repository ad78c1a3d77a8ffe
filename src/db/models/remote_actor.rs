use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{DbConn, schema::remote_actors},
    error::Result,
};

/// A remote actor as last fetched: where to deliver and how to verify its signatures.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = remote_actors)]
pub struct RemoteActorRow {
    pub ap_id: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub public_key_pem: String,
    pub fetched_at: NaiveDateTime,
}

impl RemoteActorRow {
    /// The cached actor `ap_id`.
    pub fn find(conn: &mut DbConn, ap_id: &str) -> Result<Option<Self>> {
        Ok(remote_actors::table
            .filter(remote_actors::ap_id.eq(ap_id))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Stores or refreshes the cache entry.
    pub fn upsert(&self, conn: &mut DbConn) -> Result<()> {
        let changed =
            diesel::update(remote_actors::table.filter(remote_actors::ap_id.eq(&self.ap_id)))
                .set((
                    remote_actors::inbox.eq(&self.inbox),
                    remote_actors::shared_inbox.eq(&self.shared_inbox),
                    remote_actors::public_key_pem.eq(&self.public_key_pem),
                    remote_actors::fetched_at.eq(self.fetched_at),
                ))
                .execute(conn)?;
        if changed == 0 {
            diesel::insert_into(remote_actors::table)
                .values((
                    remote_actors::ap_id.eq(&self.ap_id),
                    remote_actors::inbox.eq(&self.inbox),
                    remote_actors::shared_inbox.eq(&self.shared_inbox),
                    remote_actors::public_key_pem.eq(&self.public_key_pem),
                    remote_actors::fetched_at.eq(self.fetched_at),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    /// Forgets an actor (it was deleted).
    pub fn delete(conn: &mut DbConn, ap_id: &str) -> Result<()> {
        diesel::delete(remote_actors::table.filter(remote_actors::ap_id.eq(ap_id)))
            .execute(conn)?;
        Ok(())
    }
}
