//! The only module that knows SQL or which backend runs.
//!
//! One binary serves SQLite and PostgreSQL: the backend is picked at run time from the database URL
//! and every query is written once against [`DbConn`], diesel's runtime-selected connection.
//! Queries are blocking, so nothing here runs on the async executor: reads go to tokio's blocking
//! pool with a pooled connection; writes go to SQLite's writer thread ([`writer`]) or, on
//! PostgreSQL, to the blocking pool inside a transaction. Small writes of one kind that come in
//! many at once (YP touches) can be run in batches, one transaction each ([`batch`]).

pub mod backup;
mod batch;
mod changes;
mod listen;
pub mod migrations;
pub mod models;
pub mod schema;
mod turns;
mod writer;

use std::{cell::Cell, sync::Arc, time::Duration};

use diesel::{
    Connection, RunQueryDsl, SqliteConnection,
    connection::SimpleConnection,
    pg::PgConnection,
    r2d2::{self, ConnectionManager, CustomizeConnection},
};

use tokio::sync::Notify;

pub use self::{
    batch::Batch,
    changes::{StreamChange, stream_changed, streams_changed},
    listen::NOTIFY_DELIVERIES,
};
use self::{batch::Batches, changes::Changes, turns::Turns, writer::Writer};
use crate::error::{Error, Result};

thread_local! {
    /// Set when the transaction running on this thread queues deliveries; read after its
    /// commit, on the same thread, to wake the process's delivery worker.
    static QUEUED: Cell<bool> = const { Cell::new(false) };
}

/// On PostgreSQL, lets the open write transaction commit without waiting for its WAL to reach
/// the disk (`synchronous_commit` off for it alone; SQLite's WAL mode commits so already). For
/// YP touches: a PostgreSQL crash (not an onair one) can then lose the last fraction of a second
/// of them, which Icecast repeats 30 s later, and a title Update queued with one is lost with the
/// title it announces, so the next touch announces it again. Nothing is half-applied, and a later
/// durable commit (a delivery's, say) flushes it: the WAL is one sequence.
pub fn commit_lazily(conn: &mut DbConn) -> Result<()> {
    if let DbConn::Pg(c) = conn {
        c.batch_execute("SET LOCAL synchronous_commit TO OFF")?;
    }
    Ok(())
}

/// Notes that the write transaction running on this thread queued deliveries: once it commits,
/// [`Db::deliveries_queued`] is woken.
pub fn mark_deliveries_queued() {
    QUEUED.with(|q| q.set(true));
}

/// Whether a transaction on this thread queued deliveries since the last call (and forgets it).
fn take_queued() -> bool {
    QUEUED.with(|q| q.replace(false))
}

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

/// WAL lets readers run beside the writer; NORMAL syncs at checkpoints only (a power cut can lose
/// the last commits, never corrupt the file). The busy timeout covers another process's write
/// transaction (a CLI command beside the server); they are all short. It comes first: switching
/// a new file to WAL needs the lock a second process opening it at the same moment may hold.
/// A WAL that grew during a burst is cut back to 64 MiB once a checkpoint resets it. Sorts
/// (the delivery claim's ranking) stay in memory rather than in temporary files created and
/// deleted for each statement.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
    PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = 67108864; \
    PRAGMA temp_store = MEMORY;";

/// Sets the per-connection pragmas SQLite needs; nothing for PostgreSQL.
#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<DbConn, r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> std::result::Result<(), r2d2::Error> {
        if let DbConn::Sqlite(c) = conn {
            c.batch_execute(SQLITE_PRAGMAS)
                .map_err(r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// The database handle shared by the whole process (cheap to clone).
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<ConnectionManager<DbConn>>,
    backend: Backend,
    /// SQLite's writer thread; `None` on PostgreSQL.
    writer: Option<Writer>,
    /// Woken after a commit that queued deliveries.
    queued: Arc<Notify>,
    /// The PostgreSQL URL, for the notification listener; `None` on SQLite.
    pg_url: Option<String>,
    /// Turns among processes for passes one process at a time should run.
    turns: Arc<Turns>,
    /// Committed stream changes, for open live pages.
    changes: Changes,
    /// Whether the PostgreSQL listener was started (once per process).
    listening: Arc<std::sync::OnceLock<()>>,
    /// Jobs gathering for [`Db::batch`].
    batches: Arc<Batches>,
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
        let queued = Arc::new(Notify::new());
        let changes = Changes::default();
        let writer = match backend {
            Backend::Sqlite => Some(Writer::start(
                open_sqlite(&target)?,
                open_sqlite(&target)?,
                queued.clone(),
                changes.clone(),
            )?),
            Backend::Postgres => None,
        };
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(2))
            // No idle minimum: r2d2 would open replacement connections on a background thread,
            // and a short-lived CLI process can exit in the middle of one (libpq then crashes
            // during exit). Connections open on demand and stay pooled.
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(5))
            // A broken connection fails its query and is replaced; a ping per checkout costs more.
            .test_on_check_out(false)
            .connection_customizer(Box::new(Pragmas))
            .build(ConnectionManager::<DbConn>::new(target.clone()))
            .map_err(|e| Error::Config(format!("cannot connect to the database: {e}")))?;
        Ok(Self {
            pool,
            backend,
            writer,
            queued,
            changes,
            listening: Arc::default(),
            turns: Arc::new(Turns::new(
                (backend == Backend::Postgres).then(|| target.clone()),
            )),
            pg_url: (backend == Backend::Postgres).then_some(target),
            batches: Arc::default(),
        })
    }

    /// Completes (at once, if it happened meanwhile) after a write of this process that queued
    /// deliveries has committed: the delivery worker waits on it between polls, so a go-live
    /// goes out without waiting for the next poll. Other processes' writes wake it too once
    /// [`Db::listen_for_deliveries`] runs.
    /// (A job rolled back inside a committed SQLite batch may wake it too: one spare poll.)
    pub fn deliveries_queued(&self) -> tokio::sync::futures::Notified<'_> {
        self.queued.notified()
    }

    /// Makes [`Db::deliveries_queued`] fire on other processes' commits too, and
    /// [`Db::stream_changes`] carry every process's changes: on PostgreSQL it starts a thread
    /// that LISTENs for their notifications (once per process; later calls change nothing); on
    /// SQLite only this process writes, so nothing. The receiver completes once the listener
    /// is in place (at once on SQLite, or when it was started before).
    pub fn listen(&self) -> tokio::sync::oneshot::Receiver<()> {
        let (listening, ready) = tokio::sync::oneshot::channel();
        match &self.pg_url {
            Some(url) if self.listening.set(()).is_ok() => {
                listen::start(url.clone(), &self.queued, self.changes.clone(), listening);
            }
            _ => {
                let _ = listening.send(());
            }
        }
        ready
    }

    /// Committed changes of streams' status and title (of every process, once [`Db::listen`]
    /// runs on PostgreSQL), from now on.
    pub fn stream_changes(&self) -> tokio::sync::broadcast::Receiver<Arc<StreamChange>> {
        self.changes.subscribe()
    }

    /// Whether this process holds turn `key` among the processes on this database, taking it
    /// if nobody holds it (PostgreSQL advisory locks; always on SQLite, where one process
    /// serves). A process that dies gives its turns up with its connection.
    pub async fn hold_turn(&self, key: i64) -> Result<bool> {
        let turns = self.turns.clone();
        tokio::task::spawn_blocking(move || turns.hold(key)).await?
    }

    /// Gives up this process's turns (it is stopping), so another process takes them at once.
    pub fn release_turns(&self) {
        self.turns.release_all();
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

    /// Runs `f` in one write transaction; an error rolls back everything `f` did.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.write(f).await,
            None => {
                let pool = self.pool.clone();
                let queued = self.queued.clone();
                tokio::task::spawn_blocking(move || pg_transaction(&pool, &queued, f)).await?
            }
        }
    }

    /// [`Db::write`] for threads outside the async runtime (CLI, blocking tasks).
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.write_blocking(f),
            None => pg_transaction(&self.pool, &self.queued, f),
        }
    }

    /// Runs read-only queries on the current thread (CLI, migrations).
    pub fn read_blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConn) -> Result<T>,
    {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }

    /// Cheap round trip for `/healthz`: a read on the pool and an empty write transaction (on
    /// SQLite that goes through the writer thread, so a dead writer shows).
    pub async fn ping(&self) -> Result<()> {
        self.read(|c| {
            diesel::sql_query("SELECT 1").execute(c)?;
            Ok(())
        })
        .await?;
        self.write(|_| Ok(())).await
    }
}

fn pg_transaction<T>(
    pool: &r2d2::Pool<ConnectionManager<DbConn>>,
    queued: &Notify,
    f: impl FnOnce(&mut DbConn) -> Result<T>,
) -> Result<T> {
    let mut conn = pool.get()?;
    let conn: &mut DbConn = &mut conn;
    take_queued();
    let done = conn.transaction(f);
    if take_queued() && done.is_ok() {
        queued.notify_one();
    }
    done
}

fn open_sqlite(path: &str) -> Result<DbConn> {
    let mut conn = SqliteConnection::establish(path)
        .map_err(|e| Error::Config(format!("cannot open SQLite database {path}: {e}")))?;
    conn.batch_execute(SQLITE_PRAGMAS)?;
    Ok(DbConn::Sqlite(conn))
}
