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
    /// A held turn is confirmed in `pg_locks` for this session: if the connection was lost or
    /// the server ended the session, so was the lock, and every turn is tried afresh on a new
    /// connection. (Needs a direct connection: behind a transaction-pooling proxy a session
    /// lock belongs to whichever server connection ran the statement.)
    pub(super) fn hold(&self, key: i64) -> Result<bool> {
        let Some(url) = &self.url else {
            return Ok(true);
        };
        let connected = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .conn
            .is_some();
        if !connected {
            // Outside the lock: a database that does not answer holds up this pass only.
            let conn = PgConnection::establish(&with_connect_timeout(url))
                .map_err(|e| Error::Commit(format!("connecting for pass turns: {e}")))?;
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            if held.conn.is_none() {
                held.keys.clear();
                held.conn = Some(conn);
            }
        }
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let Held { conn, keys } = &mut *held;
        let Some(c) = conn.as_mut() else {
            return Ok(false);
        };
        let answer = if keys.contains(&key) {
            diesel::sql_query(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
                 AND pid = pg_backend_pid() AND granted AND objsubid = 1 \
                 AND classid = ($1 >> 32)::oid AND objid = ($1 & 4294967295)::oid) AS locked",
            )
            .bind::<diesel::sql_types::BigInt, _>(key)
            .get_result::<Locked>(c)
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
            Ok(Locked { locked: false }) => {
                keys.remove(&key);
                Ok(false)
            }
            Err(e) => {
                // The connection is suspect: drop it, and with it any lock it still held.
                *conn = None;
                keys.clear();
                Err(e.into())
            }
        }
    }

    /// Gives every turn up (the process is stopping): standbys take over at once.
    pub(super) fn release_all(&self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.conn = None;
        held.keys.clear();
    }
}

/// The URL with a connect timeout unless it names one: libpq would otherwise wait for as long
/// as the operating system tries to connect (minutes).
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}connect_timeout=5")
}
