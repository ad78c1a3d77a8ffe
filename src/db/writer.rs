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
//! job's result is handed back only after the commit, so a caller never sees a write that was not
//! committed (or, if the commit fails, every job of the batch gets the error). Committed means as
//! durable as `synchronous = NORMAL` makes it: a power cut may lose the last commits. Jobs of one
//! batch kind ([`super::Batch`], YP touches) that queued up together are run as one job, by one
//! call with set-based statements.

use std::{
    any::{Any, TypeId},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
};

use diesel::{
    Connection, RunQueryDsl,
    connection::{AnsiTransactionManager, SimpleConnection, TransactionManager},
};
use tokio::sync::{Notify, oneshot};

use super::{
    DbConn,
    changes::{self, Changes},
};
use crate::error::{Error, Result};

/// Most jobs in one transaction; bounds the latency a batch adds to its first job.
const MAX_BATCH: usize = 256;
/// Most jobs waiting; at about 30 µs a job, a full queue is a quarter second of work.
const MAX_QUEUE: usize = 8192;
/// How often the WAL is copied back into the database file. A pass with nothing new to copy
/// costs nothing (no sync); under a steady stream of writes the WAL holds about this long's worth.
const CHECKPOINT_EVERY: std::time::Duration = if cfg!(test) {
    std::time::Duration::from_millis(50)
} else {
    std::time::Duration::from_millis(250)
};
/// WAL frames (pages) past which the writer finishes a checkpoint itself (16 MiB at 4 KiB).
const RESTART_AFTER_FRAMES: i64 = if cfg!(test) { 256 } else { 4096 };

pub(super) trait Job: Send + 'static {
    /// Runs the job inside the open transaction (in its own savepoint). Skips it if its caller
    /// is gone: nobody would learn the outcome, and it was never acknowledged.
    fn run(&mut self, conn: &mut DbConn);
    /// Hands the result back once the transaction's fate is known.
    fn finish(self: Box<Self>, commit: Result<(), String>);
    /// For a job of a batch kind ([`super::Batch`]), the kind: the jobs of one kind queued
    /// together are joined into the first of them and run as one call.
    fn kind(&self) -> Option<TypeId> {
        None
    }
    /// Callers this job answers (more than one once others joined it).
    fn callers(&self) -> usize {
        1
    }
    /// Takes in `other`, a job of the same kind.
    fn join(&mut self, other: Box<dyn Job>) {
        debug_assert!(false, "only jobs of a batch kind join: {:?}", other.kind());
    }
    /// For [`Job::join`]'s downcast.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

struct TypedJob<T, F> {
    work: Option<F>,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
{
    fn run(&mut self, conn: &mut DbConn) {
        let Some(work) = self.work.take() else { return };
        if self.reply.is_closed() {
            self.result = Some(Err(Error::WriterGone));
            return;
        }
        let mark = changes::mark();
        // A panicking job must not take the writer thread (and every later write) with it.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| conn.transaction(work)));
        let result = ran.unwrap_or_else(|_| {
            Err(Error::Commit(
                "a write panicked and was rolled back".to_owned(),
            ))
        });
        if result.is_err() {
            // Rolled back to its savepoint: what it changed never happened.
            changes::roll_back_to(mark);
        }
        self.result = Some(result);
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }

    fn finish(self: Box<Self>, commit: Result<(), String>) {
        let result = match (commit, self.result) {
            (Ok(()), Some(result)) => result,
            (Err(e), Some(_)) => Err(Error::Commit(e)),
            (_, None) => Err(Error::Commit("the job never ran".to_owned())),
        };
        // The caller may have gone away (request cancelled); the write stands either way.
        let _ = self.reply.send(result);
    }
}

/// A handle to the writer thread; cloning shares the thread.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::SyncSender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on `conn`, and a checkpointer on `checkpoints`. Both stop when
    /// the last handle is dropped. `queued` is woken after a commit that queued deliveries;
    /// `published` gets the stream changes of committed jobs.
    pub fn start(
        mut conn: DbConn,
        checkpoints: DbConn,
        queued: Arc<Notify>,
        published: Changes,
    ) -> Result<Self> {
        let (jobs, queue) = mpsc::sync_channel::<Box<dyn Job>>(MAX_QUEUE);
        // Checkpoints copy the WAL into the database file and sync it: milliseconds. Run by the
        // writer they would stall every queued write; a PASSIVE checkpoint from another
        // connection runs beside the writer instead.
        conn.batch_execute("PRAGMA wal_autocheckpoint = 0;")?;
        let (stop, stopped) = mpsc::channel::<()>();
        let catch_up = Arc::new(AtomicBool::new(false));
        let asked = catch_up.clone();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(f)
                .map_err(|e| Error::Config(format!("cannot start {name}: {e}")))
        };
        spawn(
            "sqlite-writer",
            Box::new(move || {
                run(conn, &queue, &queued, &published, &catch_up);
                drop(stop);
            }),
        )?;
        spawn(
            "sqlite-checkpoint",
            Box::new(move || checkpoint_until(checkpoints, &stopped, &asked)),
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
        self.queue(Box::new(TypedJob {
            work: Some(work),
            result: None,
            reply,
        }))?;
        Ok(result)
    }

    /// Queues a job as it is.
    pub(super) fn queue(&self, job: Box<dyn Job>) -> Result<()> {
        // A full queue means writes are already far behind: refuse now (Icecast retries) rather
        // than queue past its 6 s timeout.
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => Error::Busy,
            mpsc::TrySendError::Disconnected(_) => Error::WriterGone,
        })
    }
}

fn run(
    mut conn: DbConn,
    queue: &mpsc::Receiver<Box<dyn Job>>,
    queued: &Notify,
    published: &Changes,
    catch_up: &AtomicBool,
) {
    while let Ok(first) = queue.recv() {
        let mut callers = first.callers();
        let mut batch = vec![first];
        while callers < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => {
                    callers += job.callers();
                    add(&mut batch, job);
                }
                Err(_) => break,
            }
        }
        super::take_queued();
        changes::take();
        let commit = run_batch(&mut conn, &mut batch);
        if let Err(e) = &commit {
            tracing::error!(error = %e, jobs = batch.len(), "SQLite write batch failed");
        }
        if super::take_queued() && commit.is_ok() {
            queued.notify_one();
        }
        let noted = changes::take();
        if commit.is_ok() {
            for change in noted {
                published.publish(change);
            }
        }
        for job in batch {
            job.finish(commit.clone());
        }
        if catch_up.swap(false, Ordering::Relaxed) {
            catch_up_checkpoint(&mut conn);
        }
    }
}

/// The checkpointer's passes run beside the writer, so under a steady stream of writes each one
/// ends a few commits short of the log's end, and SQLite starts the WAL over only after a
/// checkpoint that reached it: the file would grow by every commit (a gigabyte in ten seconds
/// of YP touches at full speed). Asked by the checkpointer once the log is long, the writer
/// copies those last frames itself, between two batches: no commit can slip in, so the next one
/// starts the log over (and `journal_size_limit` trims the file). The bulk was copied already;
/// this costs the few frames since and a sync, at most once per checkpointer pass. PASSIVE, so
/// it never waits for a reader: one holding an old snapshot only postpones the restart.
fn catch_up_checkpoint(conn: &mut DbConn) {
    checkpoint(conn);
}

/// A PASSIVE checkpoint on `conn`; the frames in the WAL after it, or `None` (logged) if it failed.
fn checkpoint(conn: &mut DbConn) -> Option<i64> {
    /// What `PRAGMA wal_checkpoint` reports.
    #[derive(diesel::QueryableByName)]
    struct Checkpointed {
        /// Frames in the WAL.
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        log: i64,
    }
    match diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result::<Checkpointed>(conn) {
        Ok(done) => Some(done.log),
        Err(e) => {
            tracing::warn!(error = %e, "WAL checkpoint failed");
            None
        }
    }
}

/// Adds `job` to the batch, joined into the batch's first job of its kind if it has one. Jobs
/// queued together are concurrent (none has been answered), so running a later one with an
/// earlier one is an order they could have had anyway.
fn add(batch: &mut Vec<Box<dyn Job>>, job: Box<dyn Job>) {
    if let Some(kind) = job.kind()
        && let Some(first) = batch.iter_mut().find(|j| j.kind() == Some(kind))
    {
        first.join(job);
        return;
    }
    batch.push(job);
}

/// Every [`CHECKPOINT_EVERY`], a PASSIVE checkpoint (it never waits for or blocks the
/// writer), until the writer thread ends; a log still long after it asks the writer to catch up.
fn checkpoint_until(mut conn: DbConn, writer_stopped: &mpsc::Receiver<()>, catch_up: &AtomicBool) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = writer_stopped.recv_timeout(CHECKPOINT_EVERY) {
        // Even a pass that copied the whole log may not do: a write transaction that began
        // while it ran still appends to the log, not over it (SQLite starts over only for a
        // transaction that began after a complete checkpoint). When the next batch did begin
        // after it, and so started the log over, the catch-up copies that batch only.
        if checkpoint(&mut conn).is_some_and(|log| log > RESTART_AFTER_FRAMES) {
            catch_up.store(true, Ordering::Relaxed);
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
        // Some errors (disk full, I/O) make SQLite roll back the whole transaction, and what
        // followed would run outside it. Stop, and report the batch as failed.
        // A job that panicked left its savepoint open: roll it back to the batch's own level.
        loop {
            let status =
                <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn);
            match status.transaction_depth() {
                Ok(Some(depth)) if depth.get() == 1 => break,
                Ok(Some(_)) => {
                    <DbConn as Connection>::TransactionManager::rollback_transaction(conn)
                        .map_err(|e| e.to_string())?
                }
                _ => return Err("SQLite aborted the transaction".to_owned()),
            }
        }
    }
    <DbConn as Connection>::TransactionManager::commit_transaction(conn).map_err(|e| {
        let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
        e.to_string()
    })
}

#[cfg(test)]
mod tests {
    use diesel::{RunQueryDsl, connection::SimpleConnection, sql_types::BigInt};

    use super::{Changes, Writer};
    use crate::{db::DbConn, error::Error};

    fn sqlite(path: &std::path::Path) -> DbConn {
        use diesel::Connection;
        let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        conn.batch_execute("PRAGMA journal_mode = WAL;").unwrap();
        DbConn::Sqlite(conn)
    }

    /// A writer on a new database at `path`, its checkpointer on a second connection.
    fn start(path: &std::path::Path, changes: Changes) -> Writer {
        Writer::start(
            sqlite(path),
            sqlite(path),
            std::sync::Arc::default(),
            changes,
        )
        .unwrap()
    }

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_or_panicking_job_rolls_back_alone_and_the_writer_lives_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let writer = start(&path, Changes::default());
        writer
            .write(|c| Ok(c.batch_execute("CREATE TABLE t (n INTEGER NOT NULL)")?))
            .await
            .unwrap();
        // Queued together, so most of them share one batch.
        let jobs: Vec<_> = (0..200i64)
            .map(|i| {
                let w = writer.clone();
                tokio::spawn(async move {
                    w.write(move |c| {
                        diesel::sql_query(format!("INSERT INTO t (n) VALUES ({i})")).execute(c)?;
                        match i {
                            13 => Err(Error::Invalid("job 13 fails".to_owned())),
                            42 => panic!("job 42 panics"),
                            _ => Ok(i),
                        }
                    })
                    .await
                })
            })
            .collect();
        let mut failed = Vec::new();
        for (i, job) in jobs.into_iter().enumerate() {
            if job.await.unwrap().is_err() {
                failed.push(i);
            }
        }
        assert_eq!(failed, [13, 42]);
        let count = writer
            .write(|c| {
                Ok(diesel::sql_query("SELECT COUNT(*) AS n FROM t")
                    .get_result::<Count>(c)?
                    .n)
            })
            .await
            .unwrap();
        assert_eq!(count, 198, "everything but the failed jobs committed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_committed_jobs_changes_reach_live_pages() {
        use crate::db::changes::{StreamChange, stream_changed};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let changes = Changes::default();
        let mut heard = changes.subscribe();
        let writer = start(&path, changes);
        let change = |id: i64| StreamChange {
            stream_id: id,
            status: "live".to_owned(),
            title: format!("title {id}"),
        };
        let failed = writer.write(move |c| {
            stream_changed(c, change(1))?;
            Err::<(), _>(Error::Invalid("rolled back".to_owned()))
        });
        let panicked = writer.write(move |c| -> crate::error::Result<()> {
            stream_changed(c, change(2))?;
            panic!("rolled back too")
        });
        let committed = writer.write(move |c| stream_changed(c, change(3)));
        let (failed, panicked, committed) = tokio::join!(failed, panicked, committed);
        assert!(failed.is_err() && panicked.is_err() && committed.is_ok());
        assert_eq!(heard.recv().await.unwrap().stream_id, 3);
        assert!(heard.try_recv().is_err(), "nothing else was published");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_writes_that_never_pause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let writer = start(&path, Changes::default());
        writer
            .write(|c| {
                Ok(c.batch_execute(
                    "CREATE TABLE t (n INTEGER PRIMARY KEY, pad BLOB NOT NULL); \
                     WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 200) \
                     INSERT INTO t SELECT n, zeroblob(1000) FROM k;",
                )?)
            })
            .await
            .unwrap();
        // Sixteen callers that each write again as soon as their last write is answered: the
        // queue is never empty, so no checkpoint pass ever sees the end of the log on its own.
        // Every commit appends at least the pages it changed (13 rows of 1 kB: 3 of 4 kB); they
        // go on until 96 MiB were appended, which a WAL never started over would hold.
        let enough: u64 = (96 << 20) / (3 * 4096);
        let commits = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let callers: Vec<_> = (0..16i64)
            .map(|k| {
                let (w, commits) = (writer.clone(), commits.clone());
                tokio::spawn(async move {
                    while commits.load(std::sync::atomic::Ordering::Relaxed) < enough {
                        w.write(move |c| {
                            let sql =
                                format!("UPDATE t SET pad = randomblob(1000) WHERE n % 16 = {k}");
                            Ok(diesel::sql_query(sql).execute(c)?)
                        })
                        .await
                        .unwrap();
                        commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let wal = path.with_extension("db-wal");
        let mut largest = 0;
        while callers.iter().any(|c| !c.is_finished()) {
            largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        for c in callers {
            c.await.unwrap();
        }
        assert!(
            largest < 24 << 20,
            "the WAL grew to {largest} bytes over 96 MiB of commits"
        );
    }
}
