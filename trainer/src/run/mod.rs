//! A run directory's life: create it (never over another run), resume it, train until done or
//! until cancelled, checkpoint, log every update exactly once, and finish with a summary and
//! the pictures.
//!
//! A run directory holds `config.toml` (the settings), `checkpoint.json` (the state after the
//! last checkpoint), `metrics.jsonl` (one line per update), and once finished `summary.json`
//! and `pictures/`. Every file is written through [`files::write_atomic`].

use std::path::{Path, PathBuf};

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

use crate::annealer::{Annealer, AnnealerError, InProcessAnnealer, RemoteAnnealer, RetryPolicy};
use crate::config::{ConfigError, DataConfig, PriorKind, RunConfig};
use crate::data::{DataError, Dataset, Split};
use crate::model::ModelError;
use crate::prior::{self, Prior, PriorError};
use metrics::MetricsLog;

pub const CONFIG_FILE: &str = "config.toml";
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
pub const METRICS_FILE: &str = "metrics.jsonl";
pub const SUMMARY_FILE: &str = "summary.json";
pub const PICTURES_DIR: &str = "pictures";

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
}

/// Which annealer a run samples from. Not part of the run's identity: the same run may be
/// resumed against another address of the same device.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Connection {
    /// `http://host:port` of a remote annealer; `None` for the in-process emulator (or, on
    /// resume, for the one the run last used).
    pub annealer: Option<String>,
    /// Bearer token for the remote annealer.
    pub token: Option<String>,
}

impl Connection {
    /// Opens the annealer: the remote one named, or the in-process emulator of the config's
    /// `annealing.device_seed`.
    pub fn open(&self, config: &RunConfig) -> Result<Box<dyn Annealer + Send>, AnnealerError> {
        Ok(match &self.annealer {
            Some(url) => {
                Box::new(RemoteAnnealer::new(url, self.token.clone(), RetryPolicy::default())?)
            }
            None => Box::new(InProcessAnnealer::new(qahm_emulator::DeviceConfig {
                device_seed: Some(config.annealing.device_seed),
                ..qahm_emulator::DeviceConfig::default()
            })?),
        })
    }

    /// This connection, or the annealer a checkpoint recorded where this one names none.
    pub fn or_recorded(&self, recorded: Option<String>) -> Connection {
        Connection { annealer: self.annealer.clone().or(recorded), token: self.token.clone() }
    }
}

/// The training and test sets of a config.
pub fn load_data(config: &DataConfig) -> Result<(Dataset, Dataset), DataError> {
    let all = crate::data::load_mnist_10k(&config.dir)?;
    all.split(Split { train: config.train_size, test: config.test_size })
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
        config.validate()?;
        if [CONFIG_FILE, CHECKPOINT_FILE, METRICS_FILE].iter().any(|f| dir.join(f).exists()) {
            return Err(RunError::Exists(dir.to_path_buf()));
        }
        files::write_atomic(&dir.join(CONFIG_FILE), config.to_toml().as_bytes())?;
        Self::start(dir, config, None, connection, log)
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
            "data: {} training and {} test images from {}",
            train.len(),
            test.len(),
            config.data.dir.display()
        ));
        let prior = open_prior(&config, state.as_ref().map(|s| s.prior.clone()), connection, log)?;
        let trainer = Trainer::start(config, state, train, test, prior)?;
        let metrics = MetricsLog::open(&dir.join(METRICS_FILE), trainer.iteration())?;
        let annealer = match trainer.config().prior.kind {
            PriorKind::Quantum => connection.annealer.clone(),
            PriorKind::Factorized | PriorKind::Boltzmann => None,
        };
        Ok(Run { dir: dir.to_path_buf(), trainer, metrics, annealer })
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
    /// `run.checkpoint_every` updates and whenever it returns; `on_update` hears every update.
    pub fn train(
        &mut self,
        limit: Option<u64>,
        cancel: &CancellationToken,
        on_update: &mut dyn FnMut(&UpdateMetrics),
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
            on_update(&m);
            if self.trainer.iteration().is_multiple_of(every) {
                self.checkpoint()?;
            }
            if cancel.is_cancelled() {
                break Stop::Cancelled;
            }
        };
        self.checkpoint()?;
        Ok(stop)
    }

    /// Writes the checkpoint, after making every metrics line before it durable.
    pub fn checkpoint(&mut self) -> Result<(), RunError> {
        self.metrics.sync()?;
        let checkpoint = Checkpoint {
            version: checkpoint::VERSION,
            config: self.config().clone(),
            state: self.trainer.state(),
            annealer: self.annealer.clone(),
        };
        checkpoint.save(&self.dir.join(CHECKPOINT_FILE))
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
