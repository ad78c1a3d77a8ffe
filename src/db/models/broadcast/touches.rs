//! Recording touches: the hot path's one write. A batch's touches are one `UPDATE … FROM` a set
//! of rows, which diesel's query builder cannot express; it is written here as a query fragment
//! with a static query id, so that diesel keeps it prepared on each connection as it does its own
//! statements (a raw `sql_query` is parsed, and on PostgreSQL planned, for every batch: a fifth
//! of the batch's time in the database there).

use chrono::NaiveDateTime;
use diesel::{
    pg::Pg,
    prelude::*,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp},
    sqlite::Sqlite,
};

use super::Broadcast;
use crate::{db::DbConn, error::Result};

/// What a touch records (a missing `max_listeners` keeps the one recorded before).
#[derive(Debug, Clone)]
pub struct TouchUpdate<'a> {
    pub title: &'a str,
    pub listeners: i32,
    pub max_listeners: Option<i32>,
    pub last_touch_at: NaiveDateTime,
}

/// One touch of a batch: the broadcast as it was read (its id and SID) and what to record.
#[derive(Debug, Clone)]
pub struct TouchRow<'a> {
    pub id: i64,
    pub sid: &'a str,
    pub touch: TouchUpdate<'a>,
}

/// Every touch of a batch in one statement on PostgreSQL: the rows as arrays, unnested; only
/// those still live under the SID that was read are written.
struct RecordPg<'a> {
    ids: Vec<i64>,
    sids: Vec<&'a str>,
    titles: Vec<&'a str>,
    listeners: Vec<i32>,
    max_listeners: Vec<Option<i32>>,
    at: Vec<NaiveDateTime>,
}

impl<'a> RecordPg<'a> {
    fn of(rows: &[TouchRow<'a>]) -> Self {
        Self {
            ids: rows.iter().map(|r| r.id).collect(),
            sids: rows.iter().map(|r| r.sid).collect(),
            titles: rows.iter().map(|r| r.touch.title).collect(),
            listeners: rows.iter().map(|r| r.touch.listeners).collect(),
            max_listeners: rows.iter().map(|r| r.touch.max_listeners).collect(),
            at: rows.iter().map(|r| r.touch.last_touch_at).collect(),
        }
    }
}

impl QueryFragment<Pg> for RecordPg<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "UPDATE broadcasts AS b SET title = t.title, listeners = t.listeners, \
             max_listeners = COALESCE(t.max_listeners, b.max_listeners), last_touch_at = t.at \
             FROM unnest(",
        );
        out.push_bind_param::<Array<BigInt>, _>(&self.ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.sids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.titles)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&self.listeners)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Integer>>, _>(&self.max_listeners)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamp>, _>(&self.at)?;
        out.push_sql(
            ") AS t (id, sid, title, listeners, max_listeners, at) \
             WHERE b.id = t.id AND b.state = 'live' AND b.sid = t.sid RETURNING b.id",
        );
        Ok(())
    }
}

/// The same for SQLite, which has no arrays: the rows as one JSON array of arrays (one short
/// statement, whatever the batch's size).
struct RecordSqlite(String);

impl RecordSqlite {
    fn of(rows: &[TouchRow<'_>]) -> Self {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let t = &r.touch;
                serde_json::json!([
                    r.id,
                    r.sid,
                    t.title,
                    t.listeners,
                    t.max_listeners,
                    // As diesel writes a Timestamp to SQLite (`%F %T%.f`, which is chrono's
                    // Display without parsing a format per row): TEXT that compares in time
                    // order with the cutoffs it binds (the reaper's).
                    t.last_touch_at.to_string(),
                ])
            })
            .collect();
        Self(serde_json::Value::Array(rows).to_string())
    }
}

impl QueryFragment<Sqlite> for RecordSqlite {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(
            "UPDATE broadcasts SET title = t.title, listeners = t.listeners, \
             max_listeners = coalesce(t.max_listeners, broadcasts.max_listeners), \
             last_touch_at = t.at \
             FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS sid, \
             json_extract(value, '$[2]') AS title, json_extract(value, '$[3]') AS listeners, \
             json_extract(value, '$[4]') AS max_listeners, json_extract(value, '$[5]') AS at \
             FROM json_each(",
        );
        out.push_bind_param::<Text, _>(&self.0)?;
        out.push_sql(
            ")) AS t WHERE broadcasts.id = t.id AND broadcasts.state = 'live' \
             AND broadcasts.sid = t.sid RETURNING broadcasts.id",
        );
        Ok(())
    }
}

// Both statements have one fixed text each, so a static id, so diesel keeps them prepared; they
// return the ids of the broadcasts written.
impl QueryId for RecordPg<'_> {
    type QueryId = RecordPg<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for RecordPg<'_> {
    type SqlType = BigInt;
}

impl<Conn> RunQueryDsl<Conn> for RecordPg<'_> {}

impl QueryId for RecordSqlite {
    type QueryId = RecordSqlite;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for RecordSqlite {
    type SqlType = BigInt;
}

impl<Conn> RunQueryDsl<Conn> for RecordSqlite {}

impl Broadcast {
    /// Records a touch. False if the broadcast is no longer live under this SID (a reaper or a
    /// re-add in another process got there first).
    pub fn record_touch(&self, conn: &mut DbConn, touch: &TouchUpdate<'_>) -> Result<bool> {
        let Some(sid) = self.sid.as_deref() else {
            return Ok(false);
        };
        let row = TouchRow {
            id: self.id,
            sid,
            touch: touch.clone(),
        };
        Ok(Self::record_touches(conn, &[row])? == [self.id])
    }

    /// Records a batch of touches (one row per broadcast), each only if its broadcast is still
    /// live under the SID that was read; returns the ids of those that landed. One statement for
    /// the batch.
    pub fn record_touches(conn: &mut DbConn, rows: &[TouchRow<'_>]) -> Result<Vec<i64>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        Ok(match conn {
            DbConn::Pg(c) => RecordPg::of(rows).load::<i64>(c)?,
            DbConn::Sqlite(c) => RecordSqlite::of(rows).load::<i64>(c)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveDateTime};

    #[test]
    fn a_touch_time_is_written_as_diesel_writes_timestamps_to_sqlite() {
        let at = |nanos: u32| -> NaiveDateTime {
            NaiveDate::from_ymd_opt(2026, 3, 29)
                .unwrap()
                .and_hms_nano_opt(1, 59, 7, nanos)
                .unwrap()
        };
        for nanos in [0, 120_000_000, 123_456_000, 123_456_789] {
            let t = at(nanos);
            assert_eq!(t.to_string(), t.format("%F %T%.f").to_string());
        }
    }
}
