//! Turns among the processes sharing a database, for background passes that one process at a
//! time should run. On PostgreSQL a turn is a session-level advisory lock held on a connection
//! of its own: the server releases it the moment that connection ends, so a crashed or
//! SIGKILLed process hands its turns over by itself. On SQLite only one process serves, so every
//! turn is its own.

use std::{collections::HashSet, sync::Mutex};

use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_types::Bool};

use crate::error::{Error, Result};

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// The connection holding this process's turns, and which turns it holds.
#[derive(Default)]
struct Held {
    conn: Option<PgConnection>,
    keys: HashSet<i64>,
}

/// This process's turns. One connection, shared by every pass (a check is one short query).
pub(super) struct Turns {
    url: Option<String>,
    held: Mutex<Held>,
}

impl Turns {
    /// Turns on the PostgreSQL at `url`; `None` (SQLite): every turn is ours.
    pub(super) fn new(url: Option<String>) -> Self {
        Self {
            url,
            held: Mutex::default(),
        }
    }

    /// Whether this process holds turn `key` now, taking it if nobody does (blocking).
    /// A held turn is confirmed with a query on its connection: if that connection was lost,
    /// so was the lock, and every turn is tried afresh on a new one.
    pub(super) fn hold(&self, key: i64) -> Result<bool> {
        let Some(url) = &self.url else {
            return Ok(true);
        };
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.conn.is_none() {
            held.keys.clear();
            let conn = PgConnection::establish(url)
                .map_err(|e| Error::Config(format!("connecting for pass turns: {e}")))?;
            held.conn = Some(conn);
        }
        let Held { conn, keys } = &mut *held;
        let Some(c) = conn.as_mut() else {
            return Ok(false);
        };
        let answer = if keys.contains(&key) {
            diesel::sql_query("SELECT true AS locked").get_result::<Locked>(c)
        } else {
            diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind::<diesel::sql_types::BigInt, _>(key)
                .get_result::<Locked>(c)
        };
        match answer {
            Ok(Locked { locked: true }) => {
                keys.insert(key);
                Ok(true)
            }
            Ok(Locked { locked: false }) => Ok(false),
            Err(e) => {
                // The connection is suspect: drop it, and with it any lock it still held.
                *conn = None;
                keys.clear();
                Err(e.into())
            }
        }
    }
}
