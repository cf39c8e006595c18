//! What the trainer service knows of a run besides its directory: its state, timestamps and
//! progress. The record is saved as `service.json` in the run directory, so runs (and their
//! states) survive a restart of the service.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::{Preset, RunConfig};
use crate::run::files::{FileError, write_atomic};
use crate::run::{CHECKPOINT_FILE, METRICS_FILE, SUMMARY_FILE, UpdateMetrics};

/// The service's own file in a run directory.
pub const RECORD_FILE: &str = "service.json";

/// Where a run is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Waiting for a free slot.
    Pending,
    Running,
    /// Every update done; summary and pictures written.
    Succeeded,
    /// Stopped by an error; resumable.
    Failed,
    /// Cancelled by a client; resumable.
    Cancelled,
    /// The service stopped while the run was pending or running; resumable.
    Interrupted,
}

impl RunState {
    /// Pending or running: the run has a task.
    pub fn is_active(self) -> bool {
        matches!(self, RunState::Pending | RunState::Running)
    }

    /// A run in this state can be resumed.
    pub fn is_resumable(self) -> bool {
        matches!(self, RunState::Failed | RunState::Cancelled | RunState::Interrupted)
    }

    pub fn name(self) -> &'static str {
        match self {
            RunState::Pending => "pending",
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
            RunState::Interrupted => "interrupted",
        }
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A state a run entered, and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateChange {
    pub state: RunState,
    pub error: Option<String>,
    pub time_ms: u64,
}

/// A checkpoint a run wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointMark {
    /// Updates it holds.
    pub update: u64,
    pub time_ms: u64,
}

/// The service's record of a run (`service.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub state: RunState,
    /// Why the run failed.
    pub error: Option<String>,
    pub preset: Preset,
    /// The annealer the run samples from, as its client describes it.
    pub annealer: String,
    pub created_ms: u64,
    /// When the run last started (or resumed) training, and when it ended.
    pub started_ms: Option<u64>,
    pub finished_ms: Option<u64>,
    pub last_checkpoint: Option<CheckpointMark>,
}

impl RunRecord {
    /// The record of a run just started: pending, created now.
    pub fn new(id: &str, preset: Preset, annealer: String) -> Self {
        RunRecord {
            id: id.to_string(),
            state: RunState::Pending,
            error: None,
            preset,
            annealer,
            created_ms: now_ms(),
            started_ms: None,
            finished_ms: None,
            last_checkpoint: None,
        }
    }

    /// Saves the record into the run directory `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), FileError> {
        let text = serde_json::to_string_pretty(self).expect("records serialise");
        write_atomic(&dir.join(RECORD_FILE), text.as_bytes())
    }
}

/// Where a run stands: the last update's figures and the last evaluation's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    pub update: u64,
    pub total_updates: u64,
    pub epoch: f64,
    pub lr: f64,
    pub wake_objective: f64,
    pub sleep_objective: f64,
    pub reconstruction_error: Option<f64>,
    pub test_accuracy: Option<f64>,
    pub moment_gap_linear: f64,
    pub moment_gap_quadratic: f64,
    pub chain_breaks: f64,
    pub annealer_wall_ms: f64,
    pub qpu_access_ms: f64,
    pub updates_per_second: f64,
    pub eta_seconds: f64,
}

impl Progress {
    /// Takes in one update's metrics (evaluations stick until the next one).
    pub fn record(&mut self, m: &UpdateMetrics) {
        self.update = m.iteration;
        self.epoch = m.epoch;
        self.lr = f64::from(m.lr);
        self.wake_objective = f64::from(m.wake_objective);
        self.sleep_objective = f64::from(m.sleep_objective);
        if let Some(r) = m.recon_test {
            self.reconstruction_error = Some(f64::from(r));
        }
        if m.test_accuracy.is_some() {
            self.test_accuracy = m.test_accuracy;
        }
        self.moment_gap_linear = m.prior_gap_linear;
        self.moment_gap_quadratic = m.prior_gap_quadratic;
        self.chain_breaks = m.chain_breaks;
        self.annealer_wall_ms = m.annealer_wall_ms;
        self.qpu_access_ms = m.qpu_access_ms;
    }

    /// The rate since an attempt started at `start_update`, `elapsed` seconds ago, and the
    /// time left at that rate.
    pub fn pace(&mut self, start_update: u64, elapsed: f64) {
        let done = self.update.saturating_sub(start_update) as f64;
        self.updates_per_second = if elapsed > 0.0 { done / elapsed } else { 0.0 };
        let left = self.total_updates.saturating_sub(self.update) as f64;
        self.eta_seconds =
            if self.updates_per_second > 0.0 { left / self.updates_per_second } else { 0.0 };
    }
}

/// How many checkpoint marks a view keeps for watchers that fell behind.
pub const CHECKPOINT_MARKS: usize = 64;

/// A run as its watchers see it.
#[derive(Clone, Debug)]
pub struct RunView {
    pub record: RunRecord,
    pub config: Arc<RunConfig>,
    pub progress: Progress,
    /// Every state the run entered since the service learnt of it, in order.
    pub changes: Vec<StateChange>,
    /// The last checkpoints written (at most [`CHECKPOINT_MARKS`]), and how many in all.
    pub checkpoints: VecDeque<CheckpointMark>,
    pub checkpoints_total: u64,
}

impl RunView {
    pub fn new(record: RunRecord, config: RunConfig, progress: Progress) -> Self {
        let first =
            StateChange { state: record.state, error: record.error.clone(), time_ms: now_ms() };
        RunView {
            record,
            config: Arc::new(config),
            progress,
            changes: vec![first],
            checkpoints: VecDeque::new(),
            checkpoints_total: 0,
        }
    }

    /// Moves the run to `state` (with `error` for a failure), stamping the times.
    pub fn enter(&mut self, state: RunState, error: Option<String>) {
        let time_ms = now_ms();
        let record = &mut self.record;
        record.state = state;
        record.error = error.clone();
        match state {
            RunState::Running => (record.started_ms, record.finished_ms) = (Some(time_ms), None),
            RunState::Pending => record.finished_ms = None,
            _ => record.finished_ms = Some(time_ms),
        }
        self.changes.push(StateChange { state, error, time_ms });
    }

    /// Notes a checkpoint.
    pub fn checkpointed(&mut self, update: u64) {
        let mark = CheckpointMark { update, time_ms: now_ms() };
        self.record.last_checkpoint = Some(mark);
        if self.checkpoints.len() == CHECKPOINT_MARKS {
            self.checkpoints.pop_front();
        }
        self.checkpoints.push_back(mark);
        self.checkpoints_total += 1;
    }
}

/// The last line of a run's `metrics.jsonl` and its latest evaluation, as progress.
pub fn progress_on_disk(dir: &Path, total_updates: u64) -> Progress {
    let mut progress = Progress { total_updates, ..Progress::default() };
    if let Ok(text) = std::fs::read_to_string(dir.join(METRICS_FILE)) {
        for line in text.lines() {
            if let Ok(m) = serde_json::from_str::<UpdateMetrics>(line) {
                progress.record(&m);
            }
        }
    }
    progress
}

/// The update count of a run's latest checkpoint, if it has one.
pub fn checkpoint_on_disk(dir: &Path) -> Option<CheckpointMark> {
    #[derive(Deserialize)]
    struct Head {
        iteration: u64,
    }
    let path = dir.join(CHECKPOINT_FILE);
    let bytes = std::fs::read(&path).ok()?;
    let head: Head = serde_json::from_slice(&bytes).ok()?;
    let time_ms = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64);
    Some(CheckpointMark { update: head.iteration, time_ms })
}

/// The record of a run directory the service finds on start: its `service.json`, or one
/// made up from its files (a run the command line trained). A run that was pending or running
/// when the service stopped is interrupted.
pub fn found_record(id: &str, dir: &Path, config: &RunConfig) -> RunRecord {
    let saved = std::fs::read(dir.join(RECORD_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<RunRecord>(&bytes).ok());
    let mut record = saved.unwrap_or_else(|| RunRecord {
        id: id.to_string(),
        state: if dir.join(SUMMARY_FILE).exists() {
            RunState::Succeeded
        } else {
            RunState::Interrupted
        },
        error: None,
        preset: config.preset,
        annealer: String::new(),
        created_ms: std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as u64),
        started_ms: None,
        finished_ms: None,
        last_checkpoint: None,
    });
    record.id = id.to_string();
    if record.state.is_active() {
        record.state = RunState::Interrupted;
    }
    record.last_checkpoint = checkpoint_on_disk(dir);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_keeps_the_last_evaluation_and_estimates_the_time_left() {
        let mut p = Progress { total_updates: 100, ..Progress::default() };
        p.record(&UpdateMetrics { iteration: 10, test_accuracy: Some(0.5), ..Default::default() });
        p.record(&UpdateMetrics { iteration: 20, ..Default::default() });
        assert_eq!((p.update, p.test_accuracy), (20, Some(0.5)));
        // 20 updates in 4 s since the start: 5 per second, 80 left.
        p.pace(0, 4.0);
        assert_eq!((p.updates_per_second, p.eta_seconds), (5.0, 16.0));
    }

    #[test]
    fn a_view_keeps_every_state_change_and_the_last_checkpoints() {
        let record = RunRecord::new("a", Preset::Default, String::new());
        let config = RunConfig::preset(Preset::Default);
        let mut view = RunView::new(record, config, Progress::default());
        view.enter(RunState::Running, None);
        for update in 1..=(CHECKPOINT_MARKS as u64 + 3) {
            view.checkpointed(update);
        }
        view.enter(RunState::Failed, Some("disk full".into()));
        let states: Vec<_> = view.changes.iter().map(|c| c.state).collect();
        assert_eq!(states, [RunState::Pending, RunState::Running, RunState::Failed]);
        assert_eq!(view.checkpoints.len(), CHECKPOINT_MARKS);
        assert_eq!(view.checkpoints_total, CHECKPOINT_MARKS as u64 + 3);
        assert_eq!(view.record.last_checkpoint.map(|c| c.update), Some(67));
        assert!(view.record.finished_ms.is_some() && view.record.started_ms.is_some());
    }
}
