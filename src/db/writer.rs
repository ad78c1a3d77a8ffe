//! SQLite's single writer: one thread, one connection, group commit.
//!
//! ```text
//!  handlers ──job──▶ channel ──▶ writer thread: BEGIN IMMEDIATE
//!     ▲                                         ├─ SAVEPOINT; job 1; RELEASE (or ROLLBACK TO)
//!     │                                         ├─ SAVEPOINT; job 2; …
//!     └──────── result, after COMMIT ◀──────────┴─ COMMIT
//! ```
//!
//! SQLite allows one writer at a time anyway. Funnelling every write of the process through one
//! thread removes lock contention (SQLite's busy handler sleeps in millisecond steps), and taking
//! whatever queued up while the previous batch ran into one transaction spreads the commit over
//! the batch. Each job runs in its own savepoint, so one job's error rolls back only that job. A
//! job's result is handed back only after the commit, so a caller never sees a write that is not
//! durable (or, if the commit fails, every job of the batch gets the error).

use std::sync::mpsc;

use diesel::{
    Connection,
    connection::{AnsiTransactionManager, SimpleConnection, TransactionManager},
};
use tokio::sync::oneshot;

use super::DbConn;
use crate::error::{Error, Result};

/// Most jobs in one transaction; bounds the latency a batch adds to its first job.
const MAX_BATCH: usize = 256;
/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

trait Job: Send {
    /// Runs the job inside the open transaction (in its own savepoint).
    fn run(&mut self, conn: &mut DbConn);
    /// Hands the result back once the transaction's fate is known.
    fn finish(self: Box<Self>, commit: Result<(), String>);
}

struct TypedJob<T, F> {
    work: Option<F>,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send,
    F: FnOnce(&mut DbConn) -> Result<T> + Send,
{
    fn run(&mut self, conn: &mut DbConn) {
        if let Some(work) = self.work.take() {
            self.result = Some(conn.transaction(work));
        }
    }

    fn finish(self: Box<Self>, commit: Result<(), String>) {
        let result = match (commit, self.result) {
            (Ok(()), Some(result)) => result,
            (Err(e), Some(Ok(_))) => Err(Error::Commit(e)),
            (_, Some(Err(e))) => Err(e),
            (_, None) => Err(Error::Commit("the job never ran".to_owned())),
        };
        // The caller may have gone away (request cancelled); the write stands either way.
        let _ = self.reply.send(result);
    }
}

/// A handle to the writer thread; cloning shares the thread.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on `conn`, and a checkpointer on `checkpoints`. Both stop when
    /// the last handle is dropped.
    pub fn start(mut conn: DbConn, checkpoints: DbConn) -> Result<Self> {
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        // Checkpoints copy the WAL into the database file and sync it: milliseconds. Run by the
        // writer they would stall every queued write; a PASSIVE checkpoint from another
        // connection runs beside the writer instead.
        conn.batch_execute("PRAGMA wal_autocheckpoint = 0;")?;
        let (stop, stopped) = mpsc::channel::<()>();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(f)
                .map_err(|e| Error::Config(format!("cannot start {name}: {e}")))
        };
        spawn(
            "sqlite-writer",
            Box::new(move || {
                run(conn, &queue);
                drop(stop);
            }),
        )?;
        spawn(
            "sqlite-checkpoint",
            Box::new(move || checkpoint_until(checkpoints, &stopped)),
        )?;
        Ok(Self { jobs })
    }

    /// Queues `work` and waits for its result after the commit.
    pub async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        self.submit(work)?.await.map_err(|_| Error::WriterGone)?
    }

    /// [`Writer::write`] for threads outside the async runtime (CLI, blocking tasks).
    pub fn write_blocking<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        self.submit(work)?
            .blocking_recv()
            .map_err(|_| Error::WriterGone)?
    }

    fn submit<T, F>(&self, work: F) -> Result<oneshot::Receiver<Result<T>>>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let job = TypedJob {
            work: Some(work),
            result: None,
            reply,
        };
        self.jobs
            .send(Box::new(job))
            .map_err(|_| Error::WriterGone)?;
        Ok(result)
    }
}

fn run(mut conn: DbConn, queue: &mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let commit = run_batch(&mut conn, &mut batch);
        if let Err(e) = &commit {
            tracing::error!(error = %e, jobs = batch.len(), "SQLite write batch failed");
        }
        for job in batch {
            job.finish(commit.clone());
        }
    }
}

/// Every second, a PASSIVE checkpoint (it never waits for or blocks the writer), until the writer
/// thread ends.
fn checkpoint_until(mut conn: DbConn, writer_stopped: &mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = writer_stopped.recv_timeout(CHECKPOINT_EVERY) {
        if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

fn run_batch(conn: &mut DbConn, batch: &mut [Box<dyn Job>]) -> Result<(), String> {
    let DbConn::Sqlite(sqlite) = conn else {
        return Err("the writer thread only serves SQLite".to_owned());
    };
    // IMMEDIATE takes the write lock up front (waiting out other processes for the busy timeout),
    // so no statement inside fails half-way when it upgrades from reading to writing.
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")
        .map_err(|e| e.to_string())?;
    for job in batch.iter_mut() {
        job.run(conn);
    }
    <DbConn as Connection>::TransactionManager::commit_transaction(conn).map_err(|e| {
        let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
        e.to_string()
    })
}
