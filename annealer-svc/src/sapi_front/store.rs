//! Problems the front has accepted, in memory: their status, answer or failure, and the wait
//! a long poll does until one of them ends.
//!
//! Every accepted problem stays until it is terminal; of terminal ones the newest
//! `max_history` are kept (older ones read as unknown).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use qahm_sapi::{ProblemStatus, ProblemType, QpAnswer, QpData, SolverIdentity};
use serde_json::{Map, Value};
use tokio::sync::Notify;
use tokio::time::Instant;

/// One accepted problem.
#[derive(Clone, Debug)]
pub struct Problem {
    pub id: String,
    pub solver: SolverIdentity,
    pub problem_type: ProblemType,
    pub label: Option<String>,
    pub data: QpData,
    pub params: Map<String, Value>,
    pub submitted_on: String,
    pub solved_on: Option<String>,
    pub status: ProblemStatus,
    pub error_message: Option<String>,
    pub answer: Option<Arc<QpAnswer>>,
    /// Set to stop the device between reads.
    pub cancel: Arc<AtomicBool>,
}

/// How a terminal problem ended.
#[derive(Debug)]
pub enum Outcome {
    /// Boxed: an answer is large beside the other outcomes.
    Completed(Box<QpAnswer>),
    Failed(String),
    Cancelled,
}

/// What a cancel request found.
#[derive(Debug)]
pub enum CancelOutcome {
    /// Was PENDING; now CANCELLED.
    Cancelled(Box<Problem>),
    /// IN_PROGRESS: the device was told to stop; the problem ends CANCELLED or COMPLETED.
    Attempting,
    Finished,
    Unknown,
}

#[derive(Default)]
struct Inner {
    problems: HashMap<String, Problem>,
    /// Terminal ids, oldest first.
    finished: VecDeque<String>,
    /// Problems not yet terminal.
    active: usize,
}

pub struct Store {
    inner: Mutex<Inner>,
    changed: Notify,
    max_history: usize,
}

impl Store {
    pub fn new(max_history: usize) -> Self {
        Store { inner: Mutex::default(), changed: Notify::new(), max_history: max_history.max(1) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map half-written: every update is
        // a single insert or field assignment.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn insert(&self, problem: Problem) {
        let mut inner = self.lock();
        inner.active += 1;
        inner.problems.insert(problem.id.clone(), problem);
    }

    pub fn get(&self, id: &str) -> Option<Problem> {
        self.lock().problems.get(id).cloned()
    }

    /// The newest problems first, at most `limit`.
    pub fn recent(&self, limit: usize) -> Vec<Problem> {
        let inner = self.lock();
        let mut all: Vec<&Problem> = inner.problems.values().collect();
        all.sort_by(|a, b| b.submitted_on.cmp(&a.submitted_on));
        all.into_iter().take(limit).cloned().collect()
    }

    /// PENDING → IN_PROGRESS; false if the problem was cancelled meanwhile.
    pub fn start(&self, id: &str) -> bool {
        let mut inner = self.lock();
        match inner.problems.get_mut(id) {
            Some(p) if p.status == ProblemStatus::Pending => {
                p.status = ProblemStatus::InProgress;
                true
            }
            _ => false,
        }
    }

    /// Ends a problem (once; later calls are ignored) and wakes long polls.
    pub fn finish(&self, id: &str, outcome: Outcome, solved_on: String) {
        let mut inner = self.lock();
        let Some(p) = inner.problems.get_mut(id) else { return };
        if p.status.is_terminal() {
            return;
        }
        match outcome {
            Outcome::Completed(answer) => {
                p.status = ProblemStatus::Completed;
                p.answer = Some(Arc::new(*answer));
            }
            Outcome::Failed(message) => {
                p.status = ProblemStatus::Failed;
                p.error_message = Some(message);
            }
            Outcome::Cancelled => p.status = ProblemStatus::Cancelled,
        }
        p.solved_on = Some(solved_on);
        Self::retire(&mut inner, id, self.max_history);
        drop(inner);
        self.changed.notify_waiters();
    }

    fn retire(inner: &mut Inner, id: &str, max_history: usize) {
        inner.active -= 1;
        inner.finished.push_back(id.to_string());
        while inner.finished.len() > max_history {
            if let Some(old) = inner.finished.pop_front() {
                inner.problems.remove(&old);
            }
        }
    }

    pub fn cancel(&self, id: &str, solved_on: String) -> CancelOutcome {
        let mut inner = self.lock();
        let Some(p) = inner.problems.get_mut(id) else { return CancelOutcome::Unknown };
        let outcome = match p.status {
            ProblemStatus::Pending => {
                p.status = ProblemStatus::Cancelled;
                p.solved_on = Some(solved_on);
                p.cancel.store(true, Ordering::Relaxed);
                CancelOutcome::Cancelled(Box::new(p.clone()))
            }
            ProblemStatus::InProgress => {
                p.cancel.store(true, Ordering::Relaxed);
                return CancelOutcome::Attempting;
            }
            _ => return CancelOutcome::Finished,
        };
        Self::retire(&mut inner, id, self.max_history);
        drop(inner);
        self.changed.notify_waiters();
        outcome
    }

    /// Problems accepted and not yet terminal.
    pub fn active(&self) -> usize {
        self.lock().active
    }

    /// Waits until one of `ids` is terminal (or unknown), or `deadline` passes.
    pub async fn wait_any_terminal(&self, ids: &[String], deadline: Instant) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let done = {
                let inner = self.lock();
                ids.iter().any(|id| inner.problems.get(id).is_none_or(|p| p.status.is_terminal()))
            };
            if done {
                return;
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(deadline) => return,
            }
        }
    }

    /// Tells every problem still pending or in progress to stop (the server is going away);
    /// each ends CANCELLED.
    pub fn stop_all(&self) {
        let inner = self.lock();
        for p in inner.problems.values().filter(|p| !p.status.is_terminal()) {
            p.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Waits until no problem is pending or in progress.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.active() == 0 {
                return;
            }
            notified.await;
        }
    }
}
