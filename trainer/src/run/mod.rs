//! A run directory's life: create it (never over another run), resume it, train until done or
//! until cancelled, checkpoint, log every update exactly once, and finish with a summary and
//! the pictures.
//!
//! A run directory holds `config.toml` (the settings), `checkpoint.json` (the state after the
//! last checkpoint), `metrics.jsonl` (one line per update), `evals/` (full evaluations during
//! training, if `evaluation.full_every` asks for them), and once finished `summary.json` and
//! `pictures/`. Every file is written through [`files::write_atomic`].

use std::path::{Path, PathBuf};

use qahm_wire::tls::ClientTls;
use serde::Serialize;
use thiserror::Error;
use tokio_util::sync::CancellationToken;

pub mod checkpoint;
pub mod files;
pub mod metrics;
pub mod pictures;
pub mod update;

pub use checkpoint::Checkpoint;
pub use files::FileError;
pub use pictures::PictureError;
pub use update::{Trainer, TrainingState, UpdateMetrics, epoch_order};

use crate::annealer::{
    Annealer, AnnealerError, InProcessAnnealer, RemoteAnnealer, RetryPolicy, SharedConnections,
};
use crate::config::{ConfigError, DataConfig, PriorKind, RunConfig};
use crate::data::{DataError, Dataset};
use crate::model::ModelError;
use crate::prior::{self, Prior, PriorError};
use metrics::MetricsLog;

pub const CONFIG_FILE: &str = "config.toml";
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
pub const METRICS_FILE: &str = "metrics.jsonl";
pub const SUMMARY_FILE: &str = "summary.json";
pub const PICTURES_DIR: &str = "pictures";
/// Full evaluations during training: `evals/<update, 8 digits>.json`.
pub const EVALS_DIR: &str = "evals";
/// Every checkpoint a run has written, as `checkpoints/<update, 8 digits>.json` (hard links to
/// what `checkpoint.json` was then, so they cost no space of their own while it is current).
pub const CHECKPOINTS_DIR: &str = "checkpoints";

/// Why a run could not start, go on or finish.
#[derive(Debug, Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Prior(#[from] PriorError),
    #[error(transparent)]
    Annealer(#[from] AnnealerError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Pictures(#[from] PictureError),
    #[error("{}: {message}", path.display())]
    Checkpoint { path: PathBuf, message: String },
    #[error(
        "{} already holds a run; use --resume {} to continue it or choose another directory",
        .0.display(), .0.display()
    )]
    Exists(PathBuf),
    #[error("{}: no run here (neither {CHECKPOINT_FILE} nor {CONFIG_FILE})", .0.display())]
    NotARun(PathBuf),
    #[error("{}: no checkpoint {}", .dir.display(), .update.map_or("yet".to_string(), |u| format!("at update {u}")))]
    NoCheckpoint { dir: PathBuf, update: Option<u64> },
}

/// The checkpoint of the run in `dir`: the latest, or the one written after `update` updates.
pub fn load_checkpoint(dir: &Path, update: Option<u64>) -> Result<Checkpoint, RunError> {
    let path = match update {
        None => dir.join(CHECKPOINT_FILE),
        Some(u) => dir.join(CHECKPOINTS_DIR).join(format!("{u:08}.json")),
    };
    if !path.exists() {
        if !dir.join(CONFIG_FILE).exists() && !dir.join(CHECKPOINT_FILE).exists() {
            return Err(RunError::NotARun(dir.to_path_buf()));
        }
        return Err(RunError::NoCheckpoint { dir: dir.to_path_buf(), update });
    }
    Checkpoint::load(&path)
}

/// What [`Run::train`] reports as it goes.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// An update is done (and its metrics line written).
    Update(&'a UpdateMetrics),
    /// A checkpoint holding this many updates is written.
    Checkpoint { update: u64 },
    /// A full evaluation of the model after this many updates is written to `path`.
    Evaluated { update: u64, path: &'a Path, report: &'a crate::eval::EvalReport },
}

/// Which annealer a run samples from. Not part of the run's identity: the same run may be
/// resumed against another address of the same device.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// `http://host:port` of a remote annealer; `None` for the in-process emulator (or, on
    /// resume, for the one the run last used).
    pub annealer: Option<String>,
    /// Bearer token for the remote annealer.
    pub token: Option<String>,
    /// What an `https://` annealer's certificate is checked against.
    pub tls: ClientTls,
    /// Connections shared with other runs (the trainer service's); `None`: a connection of
    /// this run's own.
    pub shared: Option<std::sync::Arc<SharedConnections>>,
}

impl Connection {
    /// The in-process emulator (`annealer` None), or the remote annealer at that address with
    /// a connection of its own.
    pub fn to(annealer: Option<String>, token: Option<String>) -> Self {
        Connection { annealer, token, tls: ClientTls::default(), shared: None }
    }

    /// This connection trusting `tls` (e.g. a private CA) for an `https://` annealer.
    pub fn with_tls(self, tls: ClientTls) -> Self {
        Connection { tls, ..self }
    }

    /// Opens the annealer: the remote one named, or the in-process emulator of the config's
    /// `annealing.device_seed`.
    pub fn open(&self, config: &RunConfig) -> Result<Box<dyn Annealer + Send>, AnnealerError> {
        let (token, retry) = (self.token.clone(), RetryPolicy::default());
        Ok(match (&self.annealer, &self.shared) {
            (Some(url), Some(shared)) => Box::new(shared.client(url, token, &self.tls, retry)?),
            (Some(url), None) => Box::new(RemoteAnnealer::with_tls(url, token, &self.tls, retry)?),
            (None, _) => Box::new(InProcessAnnealer::new(qahm_emulator::DeviceConfig {
                device_seed: Some(config.annealing.device_seed),
                solver: config.annealing.solver.unwrap_or_default(),
                ..qahm_emulator::DeviceConfig::default()
            })?),
        })
    }

    /// This connection, or the annealer a checkpoint recorded where this one names none.
    pub fn or_recorded(&self, recorded: Option<String>) -> Connection {
        Connection { annealer: self.annealer.clone().or(recorded), ..self.clone() }
    }
}

/// The training and test sets of a config.
pub fn load_data(config: &DataConfig) -> Result<(Dataset, Dataset), DataError> {
    crate::data::load(&config.dir, config.shape(), config.split())
}

/// The config with `data.train_size` and `data.test_size` as the data set settles them where
/// they are 0 (it loads the data then), checked again; so a run's `config.toml` states what it
/// trains and tests on, and everything counted in epochs is known before the run starts.
pub fn settle_data(mut config: RunConfig) -> Result<RunConfig, RunError> {
    if !config.data.sizes_known() {
        let (train, test) = load_data(&config.data)?;
        (config.data.train_size, config.data.test_size) = (train.len(), test.len());
        config.validate()?;
    }
    Ok(config)
}

/// The prior of a config, fresh or from a checkpoint's state, sampling through `connection`
/// (which is only opened for the quantum prior).
pub fn open_prior(
    config: &RunConfig,
    state: Option<prior::PriorState>,
    connection: &Connection,
    log: &mut dyn FnMut(String),
) -> Result<Box<dyn Prior + Send>, RunError> {
    let annealer = match config.prior.kind {
        PriorKind::Quantum => {
            let annealer = connection.open(config)?;
            log(format!("annealer: {}", annealer.describe()));
            Some(annealer)
        }
        PriorKind::Factorized | PriorKind::Boltzmann => None,
    };
    Ok(prior::build(config, state, annealer, log)?)
}

/// Why [`Run::train`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every update of the run is done.
    Finished,
    /// The cancellation token fired; the update in progress was finished and checkpointed.
    Cancelled,
    /// This call's limit of updates was reached (checkpointed).
    Paused,
}

/// What `summary.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub iterations: u64,
    pub test_accuracy: f64,
    pub wall_seconds: f64,
    /// Mean-field reconstruction pixel MSE (train, test).
    pub reconstruction: (f32, f32),
}

/// A run directory with its training state in memory.
pub struct Run {
    dir: PathBuf,
    trainer: Trainer,
    metrics: MetricsLog,
    /// The remote annealer in use (recorded in checkpoints), `None` in-process.
    annealer: Option<String>,
    /// The update count of the last checkpoint this process wrote.
    last_checkpoint: Option<u64>,
    /// The data set's judge, once a full evaluation has needed it.
    judge: Option<crate::eval::Judge>,
}

impl Run {
    /// Starts a new run in `dir` (created if absent). Refuses a directory that already holds
    /// a run: nothing there is touched.
    pub fn create(
        dir: &Path,
        config: RunConfig,
        connection: &Connection,
        log: &mut dyn FnMut(String),
    ) -> Result<Run, RunError> {
        let config = Self::prepare(dir, config)?;
        Self::start(dir, config, None, connection, log)
    }

    /// Makes `dir` a run directory of `config` that has not started: [`Run::resume`] starts
    /// it. Refuses a directory that already holds a run. Returns the config as written, its
    /// data sizes settled ([`settle_data`]).
    pub fn prepare(dir: &Path, config: RunConfig) -> Result<RunConfig, RunError> {
        config.validate()?;
        if [CONFIG_FILE, CHECKPOINT_FILE, METRICS_FILE].iter().any(|f| dir.join(f).exists()) {
            return Err(RunError::Exists(dir.to_path_buf()));
        }
        let config = settle_data(config)?;
        files::write_atomic(&dir.join(CONFIG_FILE), config.to_toml().as_bytes())?;
        Ok(config)
    }

    /// Continues the run in `dir` from its checkpoint (or from its start, if it stopped
    /// before the first one), against `connection`'s annealer or else the one it last used.
    pub fn resume(
        dir: &Path,
        connection: &Connection,
        log: &mut dyn FnMut(String),
    ) -> Result<Run, RunError> {
        let checkpoint_path = dir.join(CHECKPOINT_FILE);
        if checkpoint_path.exists() {
            let c = Checkpoint::load(&checkpoint_path)?;
            log(format!("resuming at update {} of {}", c.state.iteration, c.config.iterations()));
            let connection = connection.or_recorded(c.annealer);
            return Self::start(dir, c.config, Some(c.state), &connection, log);
        }
        let config_path = dir.join(CONFIG_FILE);
        if !config_path.exists() {
            return Err(RunError::NotARun(dir.to_path_buf()));
        }
        let config = crate::config::layers::read_run_config(&config_path)?;
        log("no checkpoint yet: starting from update 0".into());
        Self::start(dir, config, None, connection, log)
    }

    fn start(
        dir: &Path,
        config: RunConfig,
        state: Option<TrainingState>,
        connection: &Connection,
        log: &mut dyn FnMut(String),
    ) -> Result<Run, RunError> {
        let (train, test) = load_data(&config.data)?;
        log(format!(
            "data: {} training and {} test images ({}×{}) from {}",
            train.len(),
            test.len(),
            config.data.side,
            config.data.side,
            crate::data::locate(&config.data.dir)?
        ));
        let prior = open_prior(&config, state.as_ref().map(|s| s.prior.clone()), connection, log)?;
        let trainer = Trainer::start(config, state, train, test, prior)?;
        let metrics = MetricsLog::open(&dir.join(METRICS_FILE), trainer.iteration())?;
        let annealer = match trainer.config().prior.kind {
            PriorKind::Quantum => connection.annealer.clone(),
            PriorKind::Factorized | PriorKind::Boltzmann => None,
        };
        Ok(Run {
            dir: dir.to_path_buf(),
            trainer,
            metrics,
            annealer,
            last_checkpoint: None,
            judge: None,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &RunConfig {
        self.trainer.config()
    }

    /// The training state in memory (read-only).
    pub fn trainer(&self) -> &Trainer {
        &self.trainer
    }

    /// Trains until the run is done, `limit` updates of this call are done, or `cancel` fires
    /// (the update in progress is finished first). Checkpoints every
    /// `run.checkpoint_every` updates and whenever it returns; `on_event` hears every update
    /// and every checkpoint.
    pub fn train(
        &mut self,
        limit: Option<u64>,
        cancel: &CancellationToken,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Stop, RunError> {
        let stop_at = limit.map(|n| self.trainer.iteration().saturating_add(n));
        let every = self.config().run.checkpoint_every;
        let stop = loop {
            if self.trainer.done() {
                break Stop::Finished;
            }
            if stop_at.is_some_and(|s| self.trainer.iteration() >= s) {
                break Stop::Paused;
            }
            let m = self.trainer.step()?;
            self.metrics.write(&m)?;
            on_event(Event::Update(&m));
            if self.trainer.iteration().is_multiple_of(every) {
                self.checkpoint()?;
                on_event(Event::Checkpoint { update: self.trainer.iteration() });
            }
            let full = self.config().evaluation.full_every;
            if full > 0 && (self.trainer.iteration().is_multiple_of(full) || self.trainer.done()) {
                let (path, report) = self.evaluate()?;
                on_event(Event::Evaluated {
                    update: report.checkpoint,
                    path: &path,
                    report: &report,
                });
            }
            if cancel.is_cancelled() {
                break Stop::Cancelled;
            }
        };
        if self.last_checkpoint != Some(self.trainer.iteration()) {
            self.checkpoint()?;
            on_event(Event::Checkpoint { update: self.trainer.iteration() });
        }
        Ok(stop)
    }

    /// Writes the checkpoint, after making every metrics line before it durable, and keeps it
    /// in [`CHECKPOINTS_DIR`].
    pub fn checkpoint(&mut self) -> Result<(), RunError> {
        self.metrics.sync()?;
        let checkpoint = Checkpoint {
            version: checkpoint::VERSION,
            config: self.config().clone(),
            state: self.trainer.state(),
            annealer: self.annealer.clone(),
        };
        let latest = self.dir.join(CHECKPOINT_FILE);
        checkpoint.save(&latest)?;
        let update = self.trainer.iteration();
        let kept = self.dir.join(CHECKPOINTS_DIR).join(format!("{update:08}.json"));
        files::link_or_copy(&latest, &kept)?;
        self.last_checkpoint = Some(update);
        Ok(())
    }

    /// The pictures of the model as it stands (viewing draws: training is not affected).
    pub fn write_pictures(&mut self) -> Result<(), RunError> {
        let (machine, prior, train) = self.trainer.viewing();
        pictures::write_pictures(&self.dir.join(PICTURES_DIR), machine, prior, train)?;
        Ok(())
    }

    /// `n` digits from the model as it stands (viewing draws: training is not affected).
    pub fn generate(
        &mut self,
        n: usize,
        reads_per_call: usize,
        seed: u64,
    ) -> Result<crate::model::Generated, RunError> {
        let (machine, prior, _) = self.trainer.viewing();
        Ok(crate::model::generate(machine, prior, n, reads_per_call, seed)?)
    }

    /// The full evaluation of the model as it stands: `trainer eval`'s report with its
    /// defaults and seed 0 (so it equals `trainer eval --checkpoint N` of a checkpoint kept at
    /// this update), written to `evals/<update>.json`. Viewing draws only: training is not
    /// affected. The judge is read from the cache, or trained once and kept there.
    pub fn evaluate(&mut self) -> Result<(PathBuf, crate::eval::EvalReport), RunError> {
        use crate::eval;
        let update = self.trainer.iteration();
        let options = eval::EvalOptions::standard(update, 0);
        let generated = self.generate(
            eval::DEFAULT_SAMPLES,
            eval::DEFAULT_READS_PER_CALL,
            crate::seed::eval_generate(options.seed),
        )?;
        let prior = self.trainer.prior_state();
        let density = eval::PriorDensity::of(&prior, &eval::DEFAULT_AIS, options.seed).ok();
        let t = &self.trainer;
        let judge = self.judge.get_or_insert_with(|| {
            let settings = eval::JudgeSettings::default();
            eval::load_or_train(t.train_set(), t.test_set(), settings, eval::cache_dir().as_deref())
                .0
        });
        let report = eval::evaluate(
            t.machine(),
            t.train_set(),
            t.test_set(),
            &generated,
            Some(judge),
            density.as_ref(),
            &options,
        );
        let path = self.dir.join(EVALS_DIR).join(format!("{update:08}.json"));
        let mut json = serde_json::to_vec_pretty(&report).expect("reports serialise");
        json.push(b'\n');
        files::write_atomic(&path, &json)?;
        Ok((path, report))
    }

    /// After the last update: `summary.json` and the pictures.
    pub fn finish(&mut self) -> Result<Summary, RunError> {
        let summary = Summary {
            iterations: self.trainer.iteration(),
            test_accuracy: self.trainer.test_accuracy(),
            wall_seconds: self.trainer.wall_seconds(),
            reconstruction: self.trainer.reconstruction_errors(),
        };
        self.write_pictures()?;
        let text = serde_json::to_string_pretty(&summary).expect("summaries serialise");
        files::write_atomic(&self.dir.join(SUMMARY_FILE), text.as_bytes())?;
        Ok(summary)
    }
}
