use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{DbConn, schema::activities},
    error::Result,
};

/// An outgoing activity, stored once however many inboxes it goes to.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = activities)]
pub struct Activity {
    pub id: i64,
    pub ap_id: String,
    pub kind: String,
    pub object_id: Option<String>,
    /// The signing actor: a stream, or `None` for the instance actor.
    pub stream_id: Option<i64>,
    pub body: String,
    pub created_at: NaiveDateTime,
}

impl std::fmt::Debug for Activity {
    // By hand: ids, not payloads, in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activity")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("ap_id", &self.ap_id)
            .finish_non_exhaustive()
    }
}

/// An activity about to be stored.
#[derive(Debug, Insertable)]
#[diesel(table_name = activities)]
pub struct NewActivity<'a> {
    pub ap_id: &'a str,
    pub kind: &'a str,
    pub object_id: Option<&'a str>,
    pub stream_id: Option<i64>,
    pub body: &'a str,
    pub created_at: NaiveDateTime,
}

impl Activity {
    /// Stores an activity and returns its row id.
    pub fn insert(conn: &mut DbConn, new: &NewActivity<'_>) -> Result<i64> {
        diesel::insert_into(activities::table)
            .values(new)
            .execute(conn)?;
        Ok(activities::table
            .filter(activities::ap_id.eq(new.ap_id))
            .select(activities::id)
            .first(conn)?)
    }

    /// One activity by its ActivityPub id.
    pub fn find_by_ap_id(conn: &mut DbConn, ap_id: &str) -> Result<Option<Self>> {
        Ok(activities::table
            .filter(activities::ap_id.eq(ap_id))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// One activity by row id.
    pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<Self>> {
        Ok(activities::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }
}
