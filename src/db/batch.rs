//! Many small writes of one kind, done together: each caller hands in one job and waits; the jobs
//! that gathered while the previous batch ran go into the next, run by one function in one
//! write transaction.
//!
//! ```text
//!  caller ──job──▶ waiting ◀── runner (one per kind and database, while there is work):
//!     ▲                          take everything waiting → Db::write(B::run(jobs)) → answers
//!     └──────── its outcome, after the commit ◀──┘
//! ```
//!
//! This is SQLite's group commit (`writer.rs`) one level up, and for both backends: what a batch
//! saves is per-transaction work (a commit and its fsync on PostgreSQL, a savepoint on SQLite)
//! and, when the kind's function reads and writes with set-based statements, per-statement work
//! (a network round trip each on PostgreSQL). A lone job runs at once, as a batch of one.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::oneshot;

use super::{Db, DbConn};
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
        let gathering = self.batches.gathering::<B>();
        let (reply, outcome) = oneshot::channel();
        let start = {
            let mut waiting = gathering.lock();
            waiting.jobs.push((job, reply));
            !std::mem::replace(&mut waiting.running, true)
        };
        if start {
            tokio::spawn(run_batches(self.clone(), gathering));
        }
        outcome.await.map_err(|_| Error::WriterGone)?
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
        let count = replies.len();
        match db.write(move |conn| B::run(conn, jobs)).await {
            Ok(outcomes) if outcomes.len() == count => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Ok(outcomes) => {
                let e = format!("a batch of {count} gave {} outcomes", outcomes.len());
                tracing::error!("{e}");
                fail_all(replies, &Error::Commit(e));
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = count, "a write batch failed");
                fail_all(replies, &e);
            }
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
