//! Many small writes of one kind, done together: each caller hands in one job and waits; the jobs
//! that came in together are run by one call of their kind's function ([`Batch::run`]), in one
//! write transaction, and each caller gets its own outcome after the commit.
//!
//! ```text
//!  PostgreSQL: caller ──job──▶ waiting ◀── runner (one per kind, while there is work): take
//!                ▲                         what waits → Db::write(B::run(jobs)) → answers
//!                └──────── its outcome, after the commit ◀──┘
//!  SQLite:     caller ──job──▶ the writer thread's queue: the jobs of a kind that queued up
//!                              while the last transaction ran are joined into one → B::run
//! ```
//!
//! This is SQLite's group commit (`writer.rs`) carried into the statements, for both backends:
//! what a batch saves is per-transaction work (a commit and its fsync on PostgreSQL, a savepoint
//! on SQLite) and, when the kind's function reads and writes with set-based statements,
//! per-statement work (a network round trip each on PostgreSQL, a parse on SQLite: diesel keeps
//! no UPDATE prepared). A lone job runs at once, as a batch of one.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::oneshot;

use diesel::Connection;

use super::{Db, DbConn, writer::Job};
use crate::error::{Error, Result};

/// Most jobs in one batch: bounds one transaction's length and its statements' arrays.
const MAX_BATCH: usize = 512;

/// A kind of job that is run in batches.
pub trait Batch: 'static {
    /// What one caller hands in.
    type Job: Send + 'static;
    /// What one caller gets back.
    type Done: Send + 'static;

    /// Runs `jobs` in the open write transaction and returns one outcome per job, in order. An
    /// `Err` rolls the whole batch back and fails every job; a job's own `Err` does not undo its
    /// writes, so a job that may fail half-way runs in a savepoint (`conn.transaction`).
    fn run(conn: &mut DbConn, jobs: Vec<Self::Job>) -> Result<Vec<Result<Self::Done>>>;
}

/// The gathering places of one database, one per kind.
#[derive(Default)]
pub(super) struct Batches(Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

/// Jobs of one kind waiting for the runner, and whether it runs.
struct Gathering<B: Batch> {
    state: Mutex<Waiting<B>>,
}

/// A job and where its outcome goes.
type Waiter<B> = (
    <B as Batch>::Job,
    oneshot::Sender<Result<<B as Batch>::Done>>,
);

struct Waiting<B: Batch> {
    jobs: Vec<Waiter<B>>,
    running: bool,
}

impl Db {
    /// Runs `job` in the next batch of its kind and returns its outcome once that batch has
    /// committed.
    pub async fn batch<B: Batch>(&self, job: B::Job) -> Result<B::Done> {
        let (reply, outcome) = oneshot::channel();
        match &self.writer {
            // SQLite's writer thread gathers what queued up anyway; there the jobs of one kind
            // are joined into one.
            Some(writer) => writer.queue(Box::new(Joined::<B> {
                jobs: vec![job],
                replies: vec![reply],
                outcomes: None,
            }))?,
            None => self.gather::<B>(job, reply),
        }
        outcome.await.map_err(|_| Error::WriterGone)?
    }

    /// Leaves `job` for the runner of its kind, starting one if none runs.
    fn gather<B: Batch>(&self, job: B::Job, reply: oneshot::Sender<Result<B::Done>>) {
        let gathering = self.batches.gathering::<B>();
        let start = {
            let mut waiting = gathering.lock();
            waiting.jobs.push((job, reply));
            !std::mem::replace(&mut waiting.running, true)
        };
        if start {
            tokio::spawn(run_batches(self.clone(), gathering));
        }
    }
}

impl Batches {
    fn gathering<B: Batch>(&self) -> Arc<Gathering<B>> {
        let mut kinds = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let place = kinds.entry(TypeId::of::<B>()).or_insert_with(|| {
            Arc::new(Gathering::<B> {
                state: Mutex::new(Waiting {
                    jobs: Vec::new(),
                    running: false,
                }),
            })
        });
        match place.clone().downcast::<Gathering<B>>() {
            Ok(gathering) => gathering,
            Err(_) => unreachable!("the place for a kind is made for that kind"),
        }
    }
}

impl<B: Batch> Gathering<B> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting<B>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs batches until none is waiting. Jobs that come in meanwhile wait for the next batch
/// rather than start a transaction of their own: one batch at a time, so that the batches of a
/// process never wait for each other's row locks.
async fn run_batches<B: Batch>(db: Db, gathering: Arc<Gathering<B>>) {
    let mut runner = Runner {
        gathering: &gathering,
        done: false,
    };
    while let Some(jobs) = runner.next_batch() {
        let (jobs, replies): (Vec<_>, Vec<_>) = jobs.into_iter().unzip();
        let outcomes = db.write(move |conn| B::run(conn, jobs)).await;
        answer(replies, outcomes);
    }
}

/// Hands each caller its outcome, or every caller the batch's error.
fn answer<T>(replies: Vec<oneshot::Sender<Result<T>>>, outcomes: Result<Vec<Result<T>>>) {
    match outcomes {
        Ok(outcomes) if outcomes.len() == replies.len() => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                // The caller may have gone away (request cancelled); the write stands.
                let _ = reply.send(outcome);
            }
        }
        Ok(outcomes) => {
            let e = format!(
                "a batch of {} gave {} outcomes",
                replies.len(),
                outcomes.len()
            );
            tracing::error!("{e}");
            fail_all(replies, &Error::Commit(e));
        }
        Err(e) => {
            tracing::error!(error = %e, jobs = replies.len(), "a write batch failed");
            fail_all(replies, &e);
        }
    }
}

/// Every job of a failed batch learns why.
fn fail_all<T>(replies: Vec<oneshot::Sender<Result<T>>>, e: &Error) {
    for reply in replies {
        let _ = reply.send(Err(match e {
            Error::Busy => Error::Busy,
            Error::WriterGone => Error::WriterGone,
            other => Error::Commit(other.to_string()),
        }));
    }
}

/// The running runner's hold on its gathering.
struct Runner<'a, B: Batch> {
    gathering: &'a Gathering<B>,
    /// It found nothing waiting and stood down.
    done: bool,
}

impl<B: Batch> Runner<'_, B> {
    /// The oldest waiting jobs, at most [`MAX_BATCH`]; `None` (and the runner stands down) when
    /// none are waiting.
    fn next_batch(&mut self) -> Option<Vec<Waiter<B>>> {
        let mut waiting = self.gathering.lock();
        if waiting.jobs.is_empty() {
            waiting.running = false;
            self.done = true;
            return None;
        }
        let rest = waiting.jobs.len().saturating_sub(MAX_BATCH);
        let mut jobs = std::mem::take(&mut waiting.jobs);
        waiting.jobs = jobs.split_off(jobs.len() - rest);
        Some(jobs)
    }
}

/// A runner stopped before standing down (a panic, or its runtime shutting down): the next job
/// starts a new one, and the jobs that were waiting are dropped (their callers get an error)
/// rather than left waiting for good.
impl<B: Batch> Drop for Runner<'_, B> {
    fn drop(&mut self) {
        if !self.done {
            let mut waiting = self.gathering.lock();
            waiting.running = false;
            waiting.jobs.clear();
        }
    }
}

/// Jobs of one kind for SQLite's writer thread, joined there into the first that queued.
struct Joined<B: Batch> {
    jobs: Vec<B::Job>,
    replies: Vec<oneshot::Sender<Result<B::Done>>>,
    outcomes: Option<Result<Vec<Result<B::Done>>>>,
}

impl<B: Batch> Job for Joined<B> {
    fn run(&mut self, conn: &mut DbConn) {
        // Callers gone (requests cancelled): their jobs are skipped, as the writer skips a lone
        // job of a caller gone.
        let (jobs, replies): (Vec<_>, Vec<_>) = std::mem::take(&mut self.jobs)
            .into_iter()
            .zip(std::mem::take(&mut self.replies))
            .filter(|(_, reply)| !reply.is_closed())
            .unzip();
        self.replies = replies;
        // In a savepoint, as every writer job; a panic must not take the writer thread with it.
        // Live pages hear only of what stays: changes noted by a batch rolled back are dropped.
        let mark = super::changes::mark();
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            conn.transaction(|c| B::run(c, jobs))
        }));
        let outcomes = ran.unwrap_or_else(|_| {
            Err(Error::Commit(
                "a batch panicked and was rolled back".to_owned(),
            ))
        });
        if outcomes.is_err() {
            super::changes::roll_back_to(mark);
        }
        self.outcomes = Some(outcomes);
    }

    fn finish(self: Box<Self>, commit: Result<(), String>) {
        let outcomes = match (commit, self.outcomes) {
            (Ok(()), Some(outcomes)) => outcomes,
            (Err(e), _) => Err(Error::Commit(e)),
            (Ok(()), None) => Err(Error::Commit("the batch never ran".to_owned())),
        };
        answer(self.replies, outcomes);
    }

    fn kind(&self) -> Option<TypeId> {
        Some(TypeId::of::<B>())
    }

    fn callers(&self) -> usize {
        self.replies.len()
    }

    fn join(&mut self, other: Box<dyn Job>) {
        // Only a job of this kind is handed in; anything else would be dropped (its callers
        // then get an error), never run under the wrong kind.
        if let Ok(other) = other.into_any().downcast::<Self>() {
            self.jobs.extend(other.jobs);
            self.replies.extend(other.replies);
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}
