use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{DbConn, schema::received_activities},
    error::Result,
};

/// Ids of inbound activities already processed, so a redelivery is processed once.
#[derive(Debug)]
pub struct ReceivedActivity;

impl ReceivedActivity {
    /// Records `ap_id`; false if it was already there.
    pub fn first_time(conn: &mut DbConn, ap_id: &str, now: NaiveDateTime) -> Result<bool> {
        let seen = received_activities::table
            .find(ap_id)
            .count()
            .get_result::<i64>(conn)?
            > 0;
        if seen {
            return Ok(false);
        }
        diesel::insert_into(received_activities::table)
            .values((
                received_activities::ap_id.eq(ap_id),
                received_activities::received_at.eq(now),
            ))
            .execute(conn)?;
        Ok(true)
    }

    /// Forgets up to `limit` ids received before `before`; returns how many.
    pub fn forget_before(conn: &mut DbConn, before: NaiveDateTime, limit: i64) -> Result<usize> {
        let old: Vec<String> = received_activities::table
            .filter(received_activities::received_at.lt(before))
            .select(received_activities::ap_id)
            .limit(limit)
            .load(conn)?;
        Ok(diesel::delete(
            received_activities::table.filter(received_activities::ap_id.eq_any(old)),
        )
        .execute(conn)?)
    }
}
