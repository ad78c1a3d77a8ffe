use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{DbConn, schema::show_reminders},
    error::Result,
};

/// A reminder post sent for one occurrence of a show, as it was sent.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = show_reminders)]
pub struct ShowReminder {
    pub id: i64,
    pub show_id: i64,
    /// The occurrence's start (UTC).
    pub starts_at: NaiveDateTime,
    /// How many minutes ahead it went out.
    pub minutes: i32,
    pub sent_at: NaiveDateTime,
    /// Taken back (the occurrence will not happen as announced).
    pub withdrawn_at: Option<NaiveDateTime>,
}

impl ShowReminder {
    /// Notes a reminder of the occurrence at `starts_at`; false if one was sent for it already.
    pub fn record(
        conn: &mut DbConn,
        show_id: i64,
        starts_at: NaiveDateTime,
        minutes: i32,
        now: NaiveDateTime,
    ) -> Result<bool> {
        let row = (
            show_reminders::show_id.eq(show_id),
            show_reminders::starts_at.eq(starts_at),
            show_reminders::minutes.eq(minutes),
            show_reminders::sent_at.eq(now),
        );
        let insert = diesel::insert_into(show_reminders::table).values(row);
        let n = match conn {
            DbConn::Sqlite(c) => insert.on_conflict_do_nothing().execute(c)?,
            DbConn::Pg(c) => insert.on_conflict_do_nothing().execute(c)?,
        };
        Ok(n == 1)
    }

    pub fn find(conn: &mut DbConn, show_id: i64, starts_at: NaiveDateTime) -> Result<Option<Self>> {
        Ok(show_reminders::table
            .filter(show_reminders::show_id.eq(show_id))
            .filter(show_reminders::starts_at.eq(starts_at))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Takes back the show's reminders of occurrences after `after` (except the one at `keep`);
    /// returns the starts of those taken back.
    pub fn withdraw(
        conn: &mut DbConn,
        show_id: i64,
        after: NaiveDateTime,
        keep: Option<NaiveDateTime>,
        now: NaiveDateTime,
    ) -> Result<Vec<NaiveDateTime>> {
        let starts: Vec<NaiveDateTime> = show_reminders::table
            .filter(show_reminders::show_id.eq(show_id))
            .filter(show_reminders::starts_at.gt(after))
            .filter(show_reminders::withdrawn_at.is_null())
            .select(show_reminders::starts_at)
            .load::<NaiveDateTime>(conn)?
            .into_iter()
            .filter(|s| Some(*s) != keep)
            .collect();
        if !starts.is_empty() {
            diesel::update(
                show_reminders::table
                    .filter(show_reminders::show_id.eq(show_id))
                    .filter(show_reminders::starts_at.eq_any(&starts)),
            )
            .set(show_reminders::withdrawn_at.eq(now))
            .execute(conn)?;
        }
        Ok(starts)
    }
}
