//! The only module that knows SQL or which backend runs.
//!
//! One binary serves SQLite and PostgreSQL: the backend is picked at run time from the database URL
//! and every query is written once against [`DbConn`], diesel's runtime-selected connection.
//! Queries are blocking, so [`Db::read`] and [`Db::write`] move them onto tokio's blocking pool.
//!
//! SQLite allows one writer at a time. Rather than letting pooled connections fight over the write
//! lock (SQLite's busy handler sleeps in steps of milliseconds, which wrecks tail latency), writers in
//! this process queue on a mutex and open `BEGIN IMMEDIATE` transactions; the busy timeout is only
//! for other processes (a CLI command next to a running server).

pub mod migrations;
pub mod models;
pub mod schema;

use std::{sync::Arc, time::Duration};

use diesel::{
    Connection, RunQueryDsl, SqliteConnection,
    connection::{AnsiTransactionManager, SimpleConnection, TransactionManager},
    pg::PgConnection,
    r2d2::{self, ConnectionManager, CustomizeConnection},
};

use crate::error::{Error, Result};

/// A connection to whichever backend the URL selected.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// The embedded default.
    Sqlite(SqliteConnection),
    /// Production, and several processes sharing one database.
    Pg(PgConnection),
}

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file path, `sqlite://path` or `sqlite:path`.
    Sqlite,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

impl Backend {
    /// Picks the backend from a URL and returns the string diesel's connection expects.
    pub fn from_url(url: &str) -> (Self, String) {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return (Self::Postgres, url.to_owned());
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        (Self::Sqlite, path.to_owned())
    }
}

/// Sets the per-connection pragmas SQLite needs; nothing for PostgreSQL.
#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<DbConn, r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> std::result::Result<(), r2d2::Error> {
        if let DbConn::Sqlite(c) = conn {
            // WAL lets readers run beside the writer; NORMAL syncs at checkpoints only (a power cut
            // can lose the last commits, never corrupt the file). 5 s covers another process's
            // write transaction, which are all short.
            c.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
            )
            .map_err(r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// The database handle shared by the whole process.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<ConnectionManager<DbConn>>,
    backend: Backend,
    /// Serialises this process's SQLite writers; `None` on PostgreSQL.
    write_lock: Option<Arc<std::sync::Mutex<()>>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Opens a pool for `url` (no migrations: see [`migrations::run_pending`]).
    pub fn connect(url: &str, pool_size: u32) -> Result<Self> {
        let (backend, target) = Backend::from_url(url);
        if backend == Backend::Sqlite {
            // Opening once up front turns a bad path into a clear error instead of a pool timeout.
            SqliteConnection::establish(&target)
                .map_err(|e| Error::Config(format!("cannot open SQLite database {target}: {e}")))?;
        }
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(2))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(5))
            .connection_customizer(Box::new(Pragmas))
            .build(ConnectionManager::<DbConn>::new(target))
            .map_err(|e| Error::Config(format!("cannot connect to the database: {e}")))?;
        let write_lock = (backend == Backend::Sqlite).then(|| Arc::new(std::sync::Mutex::new(())));
        Ok(Self {
            pool,
            backend,
            write_lock,
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs read-only queries on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
    }

    /// Runs `f` in one write transaction on the blocking pool; an error rolls everything back.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.write_blocking(f)).await?
    }

    /// [`Db::write`] for callers that are already off the async executor (CLI, tests).
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConn) -> Result<T>,
    {
        // A poisoned lock only means another writer panicked; the database rolled it back.
        let _guard = self
            .write_lock
            .as_ref()
            .map(|l| l.lock().unwrap_or_else(|p| p.into_inner()));
        let mut conn = self.pool.get()?;
        let conn: &mut DbConn = &mut conn;
        let DbConn::Sqlite(sqlite) = conn else {
            return conn.transaction(f);
        };
        // IMMEDIATE takes the write lock up front, so a transaction never fails half-way when it
        // upgrades from reading to writing. The transaction state lives in the inner connection,
        // so nested `transaction` calls inside `f` still become savepoints.
        AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
        match f(conn) {
            Ok(value) => {
                <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
                Ok(value)
            }
            Err(e) => {
                <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
                Err(e)
            }
        }
    }

    /// Runs read-only queries on the current thread (CLI).
    pub fn read_blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConn) -> Result<T>,
    {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }

    /// Cheap round trip for `/healthz`.
    pub async fn ping(&self) -> Result<()> {
        self.read(|c| {
            diesel::sql_query("SELECT 1").execute(c)?;
            Ok(())
        })
        .await
    }
}
