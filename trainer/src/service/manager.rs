//! The runs of the trainer service: start, schedule (a bounded number at once, first come
//! first served), train on blocking threads, cancel, resume, delete, watch, and a graceful stop
//! that leaves running runs checkpointed and `Interrupted`. No transport code: the gRPC layer
//! adapts these calls.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::ServiceError;
use super::record::{
    Progress, RunRecord, RunState, RunView, found_record, now_ms, progress_on_disk,
};
use crate::config::layers::{Layer, build, read_run_config};
use crate::config::{ConfigError, Preset, PriorKind, RunConfig};
use crate::data::DataError;
use crate::run::{CONFIG_FILE, Connection, Event, Run, RunError, Stop, settle_data};

/// How the service runs its runs.
#[derive(Clone, Debug)]
pub struct ManagerConfig {
    /// Where run directories live (one per run id).
    pub runs_dir: PathBuf,
    /// Runs training at once; the others wait, pending.
    pub max_concurrent_runs: usize,
    /// Pending runs at most; more are refused (RESOURCE_EXHAUSTED).
    pub max_queued_runs: usize,
    /// The annealer every run samples from (`None`: the in-process emulator).
    pub connection: Connection,
}

/// Why a run's attempt was asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StopReason {
    Cancel,
    Shutdown,
}

/// A run the service knows.
struct Entry {
    dir: PathBuf,
    view: watch::Sender<RunView>,
    /// The running attempt's stop token and why it was fired.
    attempt: Mutex<Option<(CancellationToken, Option<StopReason>)>>,
    /// Held while a state change is published and its record written, and while the run is
    /// deleted: a watcher sees a state only together with its record on disk, so a delete
    /// right after a run stops never races the record's write.
    files: Mutex<()>,
}

impl Entry {
    fn state(&self) -> RunState {
        self.view.borrow().record.state
    }

    /// Moves the run to `state` if it is in one of `from` (atomically), and saves the record.
    fn transition(&self, from: &[RunState], to: RunState, error: Option<String>) -> bool {
        let _files = self.files.lock().expect("files lock");
        let mut moved = false;
        self.view.send_if_modified(|v| {
            moved = from.contains(&v.record.state);
            if moved {
                v.enter(to, error.clone());
            }
            moved
        });
        if moved {
            self.save();
        }
        moved
    }

    fn save(&self) {
        let record = self.view.borrow().record.clone();
        if let Err(e) = record.save(&self.dir) {
            tracing::error!(run = %record.id, error = %e, "cannot save the run's record");
        }
    }

    fn stop(&self, reason: StopReason) {
        if let Some((token, why)) = self.attempt.lock().expect("attempt lock").as_mut() {
            why.get_or_insert(reason);
            token.cancel();
        }
    }
}

struct Inner {
    config: ManagerConfig,
    runs: Mutex<BTreeMap<String, Arc<Entry>>>,
    slots: Arc<Semaphore>,
    tasks: TaskTracker,
    closing: CancellationToken,
}

/// The service's runs. Cheap to clone.
#[derive(Clone)]
pub struct Manager {
    inner: Arc<Inner>,
}

/// A request to start a run.
#[derive(Clone, Debug, Default)]
pub struct StartRequest {
    /// Generated when absent.
    pub run_id: Option<String>,
    pub preset: Option<Preset>,
    /// Settings over the preset, as config.toml names them (`{section: {key: value}}`).
    pub config: serde_json::Value,
}

/// Longest run id.
const MAX_ID_LEN: usize = 64;

/// Pauses between attempts to start the run a service starts on start, while its annealer is
/// away: the first, and the longest (doubling in between).
const START_RETRY_FIRST: Duration = Duration::from_secs(1);
const START_RETRY_MAX: Duration = Duration::from_secs(15);

/// Checks a client's run id: a directory name that cannot escape the runs directory.
pub fn check_run_id(id: &str) -> Result<(), ServiceError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let valid = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.chars().all(ok_char)
        && id.starts_with(|c: char| c.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "run_id",
            format!(
                "{id:?} must be 1 to {MAX_ID_LEN} letters, digits, '.', '_' or '-', starting with \
                 a letter or digit"
            ),
        ))
    }
}

/// A request's data set that cannot be read or does not fit its settings: INVALID_ARGUMENT
/// naming the setting at fault.
fn data_refusal(e: RunError) -> ServiceError {
    match e {
        RunError::Config(e) => request_config_error(e),
        RunError::Data(e) => {
            let field = match &e {
                DataError::TooManyClasses { .. } => "config.data.classes".to_string(),
                DataError::TooFew { setting, .. } => format!("config.{setting}"),
                DataError::BadSplit { .. } => "config.data.train_size".to_string(),
                _ => "config.data.dir".to_string(),
            };
            ServiceError::invalid(field, e.to_string())
        }
        other => ServiceError::Internal(other.to_string()),
    }
}

/// A config error of a request, its field named from the request (`config.schedule.lr_start`).
fn request_config_error(e: ConfigError) -> ServiceError {
    match e {
        ConfigError::Field { field, message } => {
            let field = if field == "preset" { field } else { format!("config.{field}") };
            ServiceError::Invalid { field, message }
        }
        ConfigError::Layer { origin, message } => {
            ServiceError::invalid("config", format!("{message} ({origin})"))
        }
    }
}

impl Manager {
    /// The service's runs: every run directory in `config.runs_dir`, with its state (a run
    /// that was pending or running when the service stopped is interrupted).
    pub fn open(config: ManagerConfig) -> Result<Self, ServiceError> {
        std::fs::create_dir_all(&config.runs_dir)
            .map_err(|e| ServiceError::Internal(format!("{}: {e}", config.runs_dir.display())))?;
        let mut runs = BTreeMap::new();
        let listing = std::fs::read_dir(&config.runs_dir)
            .map_err(|e| ServiceError::Internal(format!("{}: {e}", config.runs_dir.display())))?;
        for dir in listing.flatten().map(|e| e.path()).filter(|p| p.join(CONFIG_FILE).exists()) {
            let Some(id) = dir.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
                continue;
            };
            let run_config = match read_run_config(&dir.join(CONFIG_FILE)) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "not a run: skipped");
                    continue;
                }
            };
            let record = found_record(&id, &dir, &run_config);
            record.save(&dir).map_err(|e| ServiceError::Internal(e.to_string()))?;
            let progress = progress_on_disk(&dir, run_config.iterations());
            let view = RunView::new(record, run_config, progress);
            let entry = Entry {
                dir,
                view: watch::Sender::new(view),
                attempt: Mutex::new(None),
                files: Mutex::new(()),
            };
            runs.insert(id, Arc::new(entry));
        }
        tracing::info!(runs = runs.len(), dir = %config.runs_dir.display(), "runs found");
        let slots = Arc::new(Semaphore::new(config.max_concurrent_runs.max(1)));
        let inner = Inner {
            config,
            runs: Mutex::new(runs),
            slots,
            tasks: TaskTracker::new(),
            closing: CancellationToken::new(),
        };
        Ok(Manager { inner: Arc::new(inner) })
    }

    fn entry(&self, id: &str) -> Result<Arc<Entry>, ServiceError> {
        check_run_id(id)?;
        let runs = self.inner.runs.lock().expect("runs lock");
        runs.get(id).cloned().ok_or_else(|| ServiceError::NotFound(id.to_string()))
    }

    fn refuse_if_closing(&self) -> Result<(), ServiceError> {
        if self.inner.closing.is_cancelled() { Err(ServiceError::shutting_down()) } else { Ok(()) }
    }

    /// The directory of run `id` (which may not exist).
    pub fn dir_of(&self, id: &str) -> PathBuf {
        self.inner.config.runs_dir.join(id)
    }

    /// The connection runs sample through.
    pub fn connection(&self) -> &Connection {
        &self.inner.config.connection
    }

    fn pending(&self) -> usize {
        let runs = self.inner.runs.lock().expect("runs lock");
        runs.values().filter(|e| e.state() == RunState::Pending).count()
    }

    fn check_queue(&self) -> Result<(), ServiceError> {
        let max = self.inner.config.max_queued_runs;
        if self.pending() >= max {
            return Err(ServiceError::ResourceExhausted(format!(
                "{max} runs are already waiting for a slot; retry later"
            )));
        }
        Ok(())
    }

    /// Starts a run: checks its config (against the annealer's properties too), creates its
    /// directory and queues it.
    pub async fn start(&self, request: StartRequest) -> Result<RunView, ServiceError> {
        self.refuse_if_closing()?;
        let id = match request.run_id {
            Some(id) => {
                check_run_id(&id)?;
                id
            }
            None => generated_id(),
        };
        let layer = Layer::from_json("request", request.config).map_err(request_config_error)?;
        let config = build(request.preset, &[layer]).map_err(request_config_error)?;
        self.check_queue()?;
        let dir = self.dir_of(&id);
        // The cheap refusal first: settling the data below may read a whole data set. (Checked
        // again under the lock below, where it counts.)
        if self.inner.runs.lock().expect("runs lock").contains_key(&id) || dir.exists() {
            return Err(ServiceError::AlreadyExists(id));
        }
        let connection = self.inner.config.connection.clone();
        // Settling the data sizes reads the data set: on a blocking thread, like the annealer.
        let (config, annealer) = tokio::task::spawn_blocking(move || {
            let config = settle_data(config).map_err(data_refusal)?;
            let annealer = describe_and_check(&config, &connection)?;
            Ok::<_, ServiceError>((config, annealer))
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
        let entry = {
            let mut runs = self.inner.runs.lock().expect("runs lock");
            if runs.contains_key(&id) || dir.exists() {
                return Err(ServiceError::AlreadyExists(id));
            }
            let config = Run::prepare(&dir, config).map_err(|e| match e {
                RunError::Exists(_) => ServiceError::AlreadyExists(id.clone()),
                other => ServiceError::Internal(other.to_string()),
            })?;
            let record = RunRecord::new(&id, config.preset, annealer);
            record.save(&dir).map_err(|e| ServiceError::Internal(e.to_string()))?;
            let total = config.iterations();
            let progress = Progress { total_updates: total, ..Progress::default() };
            let view = RunView::new(record, config, progress);
            let entry = Arc::new(Entry {
                dir,
                view: watch::Sender::new(view),
                attempt: Mutex::new(None),
                files: Mutex::new(()),
            });
            runs.insert(id.clone(), entry.clone());
            entry
        };
        tracing::info!(run = %id, "run started (pending)");
        self.schedule(entry.clone());
        Ok(entry.view.borrow().clone())
    }

    /// Starts `request` (whose `run_id` must be set) unless the service has a run of that id
    /// already, in whatever state: what a service does on every start, so the run is started
    /// exactly once however often the service restarts. While the annealer cannot be reached
    /// it waits, one log line per retry, until it can or the service stops. `None`: the run
    /// existed.
    pub async fn start_unless_present(
        &self,
        request: StartRequest,
    ) -> Result<Option<RunView>, ServiceError> {
        let id =
            request.run_id.clone().ok_or_else(|| ServiceError::invalid("run_id", "missing"))?;
        let mut pause = START_RETRY_FIRST;
        loop {
            match self.entry(&id) {
                Ok(_) => {
                    tracing::info!(run = %id, "run to start exists already; not started again");
                    return Ok(None);
                }
                Err(ServiceError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
            match self.start(request.clone()).await {
                Ok(view) => return Ok(Some(view)),
                Err(ServiceError::AlreadyExists(_)) => return Ok(None),
                Err(ServiceError::Unavailable(why)) if !self.inner.closing.is_cancelled() => {
                    tracing::warn!(run = %id, error = %why, retry_in = ?pause,
                        "cannot start the run yet (annealer unavailable); retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = self.inner.closing.cancelled() => return Err(ServiceError::shutting_down()),
                    }
                    pause = (pause * 2).min(START_RETRY_MAX);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The run as it stands.
    pub fn get(&self, id: &str) -> Result<RunView, ServiceError> {
        Ok(self.entry(id)?.view.borrow().clone())
    }

    /// Runs in creation order (then by id), `page_size` at a time from `page_token` (an id).
    pub fn list(
        &self,
        page_size: usize,
        page_token: &str,
    ) -> Result<(Vec<RunView>, Option<String>), ServiceError> {
        let mut all: Vec<RunView> = {
            let runs = self.inner.runs.lock().expect("runs lock");
            runs.values().map(|e| e.view.borrow().clone()).collect()
        };
        all.sort_by(|a, b| {
            (a.record.created_ms, &a.record.id).cmp(&(b.record.created_ms, &b.record.id))
        });
        let start = if page_token.is_empty() {
            0
        } else {
            all.iter().position(|v| v.record.id == page_token).ok_or_else(|| {
                ServiceError::invalid("page_token", format!("{page_token:?} names no run"))
            })?
        };
        let rest = &all[start..];
        let page = rest.iter().take(page_size).cloned().collect();
        let next = rest.get(page_size).map(|v| v.record.id.clone());
        Ok((page, next))
    }

    /// Cancels a pending run at once, or asks a running one to stop after its update (it
    /// checkpoints first). A cancelled run stays cancelled; a finished one cannot be.
    pub fn cancel(&self, id: &str) -> Result<RunView, ServiceError> {
        let entry = self.entry(id)?;
        match entry.state() {
            RunState::Pending => {
                entry.transition(&[RunState::Pending], RunState::Cancelled, None);
            }
            RunState::Running => entry.stop(StopReason::Cancel),
            RunState::Cancelled => {}
            state @ (RunState::Succeeded | RunState::Failed | RunState::Interrupted) => {
                return Err(ServiceError::FailedPrecondition(format!(
                    "run {id:?} is {}: only a pending or running run can be cancelled",
                    state.name()
                )));
            }
        }
        Ok(entry.view.borrow().clone())
    }

    /// Queues an interrupted, cancelled or failed run again; it continues from its last
    /// checkpoint.
    pub fn resume(&self, id: &str) -> Result<RunView, ServiceError> {
        self.refuse_if_closing()?;
        let entry = self.entry(id)?;
        let state = entry.state();
        if !state.is_resumable() {
            return Err(ServiceError::FailedPrecondition(format!(
                "run {id:?} is {}: only an interrupted, cancelled or failed run can be resumed",
                state.name()
            )));
        }
        self.check_queue()?;
        if entry.transition(&[state], RunState::Pending, None) {
            self.schedule(entry.clone());
        }
        Ok(entry.view.borrow().clone())
    }

    /// Resumes every interrupted run (what a restarted service does when asked to).
    pub fn resume_interrupted(&self) -> Vec<String> {
        let ids: Vec<String> = {
            let runs = self.inner.runs.lock().expect("runs lock");
            runs.iter()
                .filter(|(_, e)| e.state() == RunState::Interrupted)
                .map(|(id, _)| id.clone())
                .collect()
        };
        ids.into_iter().filter(|id| self.resume(id).is_ok()).collect()
    }

    /// Deletes a run that is neither pending nor running, and its directory.
    pub fn delete(&self, id: &str) -> Result<(), ServiceError> {
        let entry = self.entry(id)?;
        let mut runs = self.inner.runs.lock().expect("runs lock");
        let _files = entry.files.lock().expect("files lock");
        let state = entry.state();
        if state.is_active() {
            return Err(ServiceError::FailedPrecondition(format!(
                "run {id:?} is {}: cancel it first",
                state.name()
            )));
        }
        std::fs::remove_dir_all(&entry.dir)
            .map_err(|e| ServiceError::Internal(format!("{}: {e}", entry.dir.display())))?;
        runs.remove(id);
        tracing::info!(run = %id, "run deleted");
        Ok(())
    }

    /// A receiver of the run's view: every change of state, progress and checkpoint.
    pub fn watch(&self, id: &str) -> Result<watch::Receiver<RunView>, ServiceError> {
        Ok(self.entry(id)?.view.subscribe())
    }

    /// Waits for a slot, then trains the run on a blocking thread.
    fn schedule(&self, entry: Arc<Entry>) {
        let manager = self.clone();
        self.inner.tasks.spawn(async move {
            let slots = manager.inner.slots.clone();
            let permit = tokio::select! {
                permit = slots.acquire_owned() => permit.expect("slots are never closed"),
                _ = manager.inner.closing.cancelled() => return,
            };
            let token = CancellationToken::new();
            *entry.attempt.lock().expect("attempt lock") = Some((token.clone(), None));
            if manager.inner.closing.is_cancelled()
                || !entry.transition(&[RunState::Pending], RunState::Running, None)
            {
                *entry.attempt.lock().expect("attempt lock") = None;
                return;
            }
            let connection = manager.inner.config.connection.clone();
            let worker = entry.clone();
            let outcome =
                tokio::task::spawn_blocking(move || train(&worker, &connection, &token)).await;
            let why = entry.attempt.lock().expect("attempt lock").take().and_then(|(_, why)| why);
            let (state, error) = match outcome {
                Ok(Ok(Stop::Finished)) => (RunState::Succeeded, None),
                Ok(Ok(Stop::Cancelled | Stop::Paused)) => match why {
                    Some(StopReason::Shutdown) | None => (RunState::Interrupted, None),
                    Some(StopReason::Cancel) => (RunState::Cancelled, None),
                },
                Ok(Err(e)) => (RunState::Failed, Some(format!("{e:#}"))),
                Err(join) => (RunState::Failed, Some(format!("training task failed: {join}"))),
            };
            let id = entry.view.borrow().record.id.clone();
            tracing::info!(run = %id, state = state.name(), error = ?error, "run stopped");
            entry.transition(&[RunState::Running], state, error);
            drop(permit);
        });
    }

    /// Stops the service's runs: pending ones become interrupted, running ones finish their
    /// update, checkpoint and become interrupted. Waits for them at most `timeout`.
    pub async fn shutdown(&self, timeout: Duration) {
        self.inner.closing.cancel();
        let entries: Vec<Arc<Entry>> = {
            let runs = self.inner.runs.lock().expect("runs lock");
            runs.values().cloned().collect()
        };
        for entry in &entries {
            entry.transition(&[RunState::Pending], RunState::Interrupted, None);
            entry.stop(StopReason::Shutdown);
        }
        self.inner.tasks.close();
        if tokio::time::timeout(timeout, self.inner.tasks.wait()).await.is_err() {
            tracing::warn!(?timeout, "runs did not stop in time");
        }
    }
}

/// A fresh run id: the time and a random suffix.
fn generated_id() -> String {
    let secs = now_ms() / 1000;
    format!("run-{secs}-{:04x}", rand::random::<u16>())
}

/// The annealer's description for a config, after checking the config against its
/// properties (classical priors need none).
fn describe_and_check(config: &RunConfig, connection: &Connection) -> Result<String, ServiceError> {
    if config.prior.kind != PriorKind::Quantum {
        return Ok("none (classical prior)".into());
    }
    let unavailable = |e: crate::annealer::AnnealerError| ServiceError::Unavailable(e.to_string());
    let mut annealer = connection.open(config).map_err(unavailable)?;
    let props = annealer.properties().map_err(unavailable)?;
    config.check_solver(&props).map_err(request_config_error)?;
    Ok(annealer.describe())
}

/// One attempt at training a run, on a blocking thread: resume from its directory (its start
/// if it never checkpointed), train until done or stopped, finish.
fn train(
    entry: &Entry,
    connection: &Connection,
    stop: &CancellationToken,
) -> Result<Stop, RunError> {
    let id = entry.view.borrow().record.id.clone();
    let mut log = |line: String| tracing::info!(run = %id, "{line}");
    let mut run = Run::resume(&entry.dir, connection, &mut log)?;
    let start_update = run.trainer().iteration();
    let started = Instant::now();
    let stop_reason = run.train(None, stop, &mut |event| match event {
        Event::Update(m) => {
            entry.view.send_modify(|v| {
                v.progress.record(m);
                v.progress.pace(start_update, started.elapsed().as_secs_f64());
            });
        }
        Event::Checkpoint { update } => {
            entry.view.send_modify(|v| v.checkpointed(update));
            entry.save();
        }
        Event::Evaluated { update, path, .. } => {
            tracing::info!(run = %id, update, path = %path.display(), "evaluated");
        }
    })?;
    if stop_reason == Stop::Finished {
        let summary = run.finish()?;
        log(format!(
            "trained {} updates in {:.1} s; test accuracy {:.4}",
            summary.iterations, summary.wall_seconds, summary.test_accuracy
        ));
    }
    Ok(stop_reason)
}
