//! The training loop (paper, Algorithm 1): per update, a recognition pass over the batch, one
//! annealer call for prior samples, majority vote, a generator pass, then wake, sleep and
//! prior updates. Also the learning-rate schedule, presets, checkpoints and resume.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::Array2;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::annealer::{Annealer, AnnealerError, InProcessAnnealer, RemoteAnnealer, RetryPolicy};
use crate::data::{Dataset, Split};
use crate::embedding::{self, CliqueOptions};
use crate::model::{HelmholtzMachine, LayerSizes};
use crate::prior::{
    AnnealSettings, BoltzmannParams, BoltzmannPrior, FactorizedParams, FactorizedPrior, MomentGap,
    Prior, PriorError, PriorState, QuantumParams, QuantumPrior, mix,
};

/// Which settings a run starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Minibatches and a decaying learning rate: learns well in minutes.
    Default,
    /// Algorithm 1 as published: full training set per iteration, 1000 iterations, lr 0.005
    /// for 500 then linearly down to 0.0005, 1000 reads per annealer call.
    Paper,
}

/// Which prior sits on the deepest layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PriorKind {
    /// The annealer-backed Boltzmann prior of the paper.
    Quantum,
    /// Independent units (classical baseline; no annealer).
    Factorized,
    /// A fully connected Boltzmann machine sampled by persistent Gibbs chains (classical
    /// baseline; no annealer).
    Boltzmann,
}

/// Every setting of a run. Saved as `config.toml` in the run directory and in checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub preset: Preset,
    /// Directory holding the MNIST-format IDX files.
    pub data_dir: PathBuf,
    pub train_size: usize,
    pub test_size: usize,
    pub hidden1: usize,
    pub hidden2: usize,
    pub init_std: f32,
    /// Examples per update; 0 = the whole training set (paper).
    pub batch_size: usize,
    /// Total updates.
    pub iterations: u64,
    pub lr_start: f32,
    pub lr_end: f32,
    /// The learning rate stays at `lr_start` for this fraction of the run, then decays
    /// linearly to `lr_end`.
    pub lr_hold_fraction: f32,
    /// The prior's learning rate relative to the networks'.
    pub prior_lr_scale: f32,
    /// Epochs at the start during which the prior stays fixed (uniform at first) while the
    /// networks learn a representation; see [`TrainConfig::prior_lr`].
    #[serde(default)]
    pub prior_warmup_epochs: f64,
    pub prior: PriorKind,
    /// Annealer reads per update (= dreams per sleep phase).
    pub num_reads: u32,
    /// µs.
    pub annealing_time: f64,
    /// Initial J inside chains.
    pub chain_strength: f64,
    /// Gibbs sweeps per update of the Boltzmann baseline's persistent chains.
    #[serde(default = "default_gibbs_sweeps")]
    pub gibbs_sweeps: u32,
    /// Most reads per annealer call (0: the device's limit); a draw of `num_reads` is spread
    /// over several calls, each with its own control errors.
    #[serde(default)]
    pub reads_per_call: u32,
    /// `http://host:port` of a remote annealer; in-process emulator when absent.
    pub annealer: Option<String>,
    /// Seed of the in-process emulator's hidden temperature.
    pub device_seed: u64,
    pub seed: u64,
    pub checkpoint_every: u64,
    /// Evaluate reconstruction error on train and test every this many updates.
    pub eval_every: u64,
    /// Size of the evaluation subsets (0 = whole sets).
    pub eval_size: usize,
}

fn default_gibbs_sweeps() -> u32 {
    10
}

impl TrainConfig {
    pub fn preset(preset: Preset) -> Self {
        let common = TrainConfig {
            preset,
            data_dir: PathBuf::from("data/mnist-10k"),
            train_size: 8000,
            test_size: 2000,
            hidden1: 120,
            hidden2: 60,
            init_std: 0.01,
            batch_size: 100,
            iterations: 4000,
            lr_start: 0.05,
            lr_end: 0.005,
            lr_hold_fraction: 0.5,
            // Per logical parameter (the prior divides by chain length and couplers per pair).
            // The device's unknown β multiplies it; 0.5 tracks the recognition network closely
            // without the prior overshooting (at 1.0 runs degrade, above that the prior
            // collapses onto a few states).
            prior_lr_scale: 0.5,
            prior_warmup_epochs: 5.0,
            prior: PriorKind::Quantum,
            num_reads: 100,
            // A 5 µs anneal leaves 87 % of the chains broken (a quench): the majority vote then
            // hands the generator coin flips. At 1000 µs 1 % are, and the learned prior is
            // close to what a Gibbs-sampled Boltzmann machine reaches (README, "Where the
            // model stands"). On a real 2000Q it costs 4× the QPU time of 5 µs anneals, since
            // readout (198 µs a read) and programming dominate there.
            annealing_time: 1000.0,
            chain_strength: -1.0,
            gibbs_sweeps: default_gibbs_sweeps(),
            reads_per_call: 0,
            annealer: None,
            device_seed: 7,
            seed: 1,
            checkpoint_every: 500,
            eval_every: 80,
            eval_size: 2000,
        };
        match preset {
            Preset::Default => common,
            Preset::Paper => TrainConfig {
                batch_size: 0,
                iterations: 1000,
                lr_start: 0.005,
                lr_end: 0.0005,
                lr_hold_fraction: 0.5,
                num_reads: 1000,
                annealing_time: 5.0,
                // Algorithm 1 uses one learning rate for every parameter.
                prior_lr_scale: 1.0,
                prior_warmup_epochs: 0.0,
                checkpoint_every: 100,
                eval_every: 10,
                ..common
            },
        }
    }

    /// Checks every value once; the error names the setting and its allowed range.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |field: &str, why: String| Err(TrainError::Config(format!("{field}: {why}")));
        let rate = |v: f32| v.is_finite() && v > 0.0 && v <= 10.0;
        if self.train_size == 0 || self.test_size == 0 {
            return bad("train_size/test_size", "must both be at least 1".into());
        }
        if self.hidden1 == 0 || self.hidden2 == 0 {
            return bad("hidden1/hidden2", "must both be at least 1".into());
        }
        if self.batch_size > self.train_size {
            return bad(
                "batch_size",
                format!("{} exceeds train_size {}", self.batch_size, self.train_size),
            );
        }
        if self.iterations == 0 {
            return bad("iterations", "must be at least 1".into());
        }
        if !rate(self.lr_start) || !rate(self.lr_end) {
            return bad("lr_start/lr_end", "must lie in (0, 10]".into());
        }
        if !(0.0..=1.0).contains(&self.lr_hold_fraction) {
            return bad("lr_hold_fraction", format!("{} is outside [0, 1]", self.lr_hold_fraction));
        }
        if !(self.prior_lr_scale.is_finite() && self.prior_lr_scale >= 0.0) {
            return bad("prior_lr_scale", "must be finite and ≥ 0".into());
        }
        if !(self.prior_warmup_epochs.is_finite() && self.prior_warmup_epochs >= 0.0) {
            return bad(
                "prior_warmup_epochs",
                format!("{} must be finite and ≥ 0", self.prior_warmup_epochs),
            );
        }
        if !(1..=10_000).contains(&self.num_reads) {
            return bad("num_reads", format!("{} is outside [1, 10000]", self.num_reads));
        }
        if !(self.annealing_time.is_finite() && self.annealing_time > 0.0) {
            return bad("annealing_time", format!("{} µs must be positive", self.annealing_time));
        }
        if !(self.init_std.is_finite() && self.init_std >= 0.0) {
            return bad("init_std", "must be finite and ≥ 0".into());
        }
        if !(self.chain_strength.is_finite() && self.chain_strength < 0.0) {
            return bad(
                "chain_strength",
                format!("{} must be negative (ferromagnetic chains)", self.chain_strength),
            );
        }
        if self.gibbs_sweeps == 0 {
            return bad("gibbs_sweeps", "must be at least 1".into());
        }
        if self.checkpoint_every == 0 || self.eval_every == 0 {
            return bad("checkpoint_every/eval_every", "must be at least 1".into());
        }
        Ok(())
    }

    /// Learning rate of update `it` (0-based): hold, then linear decay to `lr_end`.
    pub fn lr(&self, it: u64) -> f32 {
        let total = self.iterations.max(1) as f32;
        let hold = (self.lr_hold_fraction * total).floor();
        let t = it as f32;
        if t < hold || total - hold <= 1.0 {
            return self.lr_start;
        }
        let frac = ((t - hold) / (total - hold - 1.0)).clamp(0.0, 1.0);
        self.lr_start + frac * (self.lr_end - self.lr_start)
    }

    /// The prior's learning rate at update `it` (0-based): 0 during the warm-up, then
    /// `prior_lr_scale` × the networks' rate.
    ///
    /// Why a warm-up: early recognition samples carry little information, and a prior that
    /// learns from them concentrates on a few states; the dreams it then produces teach the
    /// recognition network to encode everything into those states, which the prior learns in
    /// turn — a collapse wake-sleep does not leave. Holding the prior uniform for a few epochs
    /// lets the sleep phase keep the code spread out until the code means something.
    pub fn prior_lr(&self, it: u64, batches_per_epoch: u64) -> f32 {
        let warmup = (self.prior_warmup_epochs * batches_per_epoch as f64).ceil() as u64;
        if it < warmup { 0.0 } else { self.lr(it) * self.prior_lr_scale }
    }

    pub fn sizes(&self) -> LayerSizes {
        LayerSizes { hidden1: self.hidden1, hidden2: self.hidden2, ..LayerSizes::default() }
    }
}

#[derive(Debug, Error)]
pub enum TrainError {
    #[error("config {0}")]
    Config(String),
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Embedding(#[from] embedding::EmbeddingError),
    #[error(transparent)]
    Annealer(#[from] AnnealerError),
    #[error(transparent)]
    Prior(#[from] PriorError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

/// The training and test sets of a config.
pub fn load_data(config: &TrainConfig) -> Result<(Dataset, Dataset), TrainError> {
    let all = crate::data::load_mnist_10k(&config.data_dir)?;
    Ok(all.split(Split { train: config.train_size, test: config.test_size })?)
}

/// Opens the annealer a config names.
pub fn open_annealer(
    config: &TrainConfig,
    token: Option<String>,
) -> Result<Box<dyn Annealer + Send>, TrainError> {
    Ok(match &config.annealer {
        Some(url) => Box::new(RemoteAnnealer::new(url, token, RetryPolicy::default())?),
        None => Box::new(InProcessAnnealer::new(qahm_emulator::DeviceConfig {
            device_seed: Some(config.device_seed),
            ..qahm_emulator::DeviceConfig::default()
        })?),
    })
}

/// Builds the prior of a config, fresh (`state` None) or from a checkpoint.
pub fn build_prior(
    config: &TrainConfig,
    state: Option<PriorState>,
    annealer: Option<Box<dyn Annealer + Send>>,
    log: &mut dyn FnMut(String),
) -> Result<Box<dyn Prior + Send>, TrainError> {
    let units = config.hidden2;
    match (config.prior, state) {
        (PriorKind::Factorized, Some(PriorState::Factorized(p))) => {
            Ok(Box::new(FactorizedPrior::new(p)))
        }
        (PriorKind::Factorized, None) => Ok(Box::new(FactorizedPrior::new(FactorizedParams {
            bias: vec![0.0; units],
            seed: mix(config.seed, 0xFAC),
        }))),
        (PriorKind::Boltzmann, Some(PriorState::Boltzmann(p))) => {
            Ok(Box::new(BoltzmannPrior::new(p)))
        }
        (PriorKind::Boltzmann, None) => Ok(Box::new(BoltzmannPrior::new(BoltzmannParams::new(
            units,
            config.gibbs_sweeps,
            mix(config.seed, 0xB01),
        )))),
        (PriorKind::Quantum, state @ (None | Some(PriorState::Quantum(_)))) => {
            let mut annealer = match annealer {
                Some(a) => a,
                None => open_annealer(config, None)?,
            };
            let props = annealer.properties()?;
            let params = match state {
                Some(PriorState::Quantum(p)) => {
                    p.embedding.validate(&props.graph, units)?;
                    p
                }
                _ => {
                    let started = Instant::now();
                    let chimera = props.topology.as_chimera();
                    let found = embedding::embed_clique_with(
                        &props.graph,
                        units,
                        chimera,
                        &CliqueOptions { seed: config.seed, ..CliqueOptions::default() },
                    )?;
                    log(format!(
                        "embedded K{} into {} ({:?}) in {:.0} ms: {}",
                        units,
                        props.name,
                        found.method,
                        started.elapsed().as_secs_f64() * 1e3,
                        found.embedding.stats()
                    ));
                    QuantumParams::new(
                        found.embedding,
                        &props,
                        config.chain_strength,
                        mix(config.seed, 0xA2),
                    )
                }
            };
            let settings = AnnealSettings {
                annealing_time: config.annealing_time,
                seeded_requests: true,
                chain_strength: config.chain_strength,
                reads_per_call: config.reads_per_call,
            };
            Ok(Box::new(QuantumPrior::new(params, settings, &props, annealer)))
        }
        (kind, Some(state)) => Err(TrainError::Config(format!(
            "prior: the config asks for a {} prior but the checkpoint holds a {} one",
            format!("{kind:?}").to_lowercase(),
            state.kind_name()
        ))),
    }
}

/// One line of `metrics.jsonl`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IterationMetrics {
    pub iteration: u64,
    pub epoch: f64,
    pub lr: f32,
    pub wake_objective: f32,
    pub sleep_objective: f32,
    /// Mean squared pixel error of the wake pass on this batch.
    pub batch_pixel_mse: f32,
    /// Mean-field reconstruction error on train / test subsets (on evaluation iterations).
    pub recon_train: Option<f32>,
    pub recon_test: Option<f32>,
    /// Test accuracy through the model (class bits hidden), on evaluation iterations.
    pub test_accuracy: Option<f64>,
    pub prior_gap_linear: f64,
    pub prior_gap_quadratic: f64,
    pub annealer_wall_ms: f64,
    pub qpu_access_ms: f64,
    /// Fraction of (read, chain) pairs broken before the majority vote.
    #[serde(default)]
    pub chain_breaks: f64,
    /// Time split of the update, ms: the wake phase and the annealer call run side by side
    /// (each timed on its own), then the sleep phase, then the parameter updates; `t_step_ms`
    /// is the wall time of the whole update.
    pub t_wake_ms: f64,
    pub t_annealer_ms: f64,
    pub t_sleep_ms: f64,
    pub t_update_ms: f64,
    #[serde(default)]
    pub t_step_ms: f64,
}

/// Everything needed to continue a run bit for bit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    pub config: TrainConfig,
    /// Updates completed.
    pub iteration: u64,
    pub machine: HelmholtzMachine,
    pub prior: PriorState,
    pub rng: Xoshiro256PlusPlus,
    /// Wall time spent training so far, over every invocation (not part of the model state).
    #[serde(default)]
    pub wall_seconds: f64,
}

pub const CHECKPOINT_FILE: &str = "checkpoint.json";

impl Checkpoint {
    /// Writes atomically: a temporary file, fsync, rename. The previous checkpoint survives
    /// any crash.
    pub fn save(&self, dir: &Path) -> Result<(), TrainError> {
        let path = dir.join(CHECKPOINT_FILE);
        let tmp = dir.join(format!("{CHECKPOINT_FILE}.tmp"));
        let file_err =
            |e: std::io::Error| TrainError::File { path: tmp.clone(), message: e.to_string() };
        let bytes = serde_json::to_vec(self)
            .map_err(|e| TrainError::File { path: path.clone(), message: e.to_string() })?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(file_err)?;
            f.write_all(&bytes).map_err(file_err)?;
            f.sync_all().map_err(file_err)?;
        }
        std::fs::rename(&tmp, &path)
            .map_err(|e| TrainError::File { path: path.clone(), message: e.to_string() })
    }

    pub fn load(dir: &Path) -> Result<Self, TrainError> {
        let path = dir.join(CHECKPOINT_FILE);
        let bytes = std::fs::read(&path)
            .map_err(|e| TrainError::File { path: path.clone(), message: e.to_string() })?;
        serde_json::from_slice(&bytes).map_err(|e| TrainError::File {
            path: path.clone(),
            message: format!("not a qahm checkpoint: {e}"),
        })
    }
}

/// The order of training examples in epoch `epoch`: a shuffle seeded by (seed, epoch), so a
/// resumed run sees the same batches.
pub fn epoch_order(seed: u64, epoch: u64, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix(seed ^ 0xE90C, epoch));
    order.shuffle(&mut rng);
    order
}

/// A training run in memory.
pub struct Trainer {
    pub config: TrainConfig,
    pub machine: HelmholtzMachine,
    pub prior: Box<dyn Prior + Send>,
    pub rng: Xoshiro256PlusPlus,
    pub iteration: u64,
    train: Dataset,
    test: Dataset,
    train_visible: Array2<f32>,
    batch: Array2<f32>,
    /// Training wall time of earlier invocations, and when this one started.
    wall_before: f64,
    started: Instant,
}

impl Trainer {
    /// A fresh run.
    pub fn new(
        config: TrainConfig,
        train: Dataset,
        test: Dataset,
        prior: Box<dyn Prior + Send>,
    ) -> Result<Self, TrainError> {
        config.validate()?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed);
        let mut machine = HelmholtzMachine::new(config.sizes(), config.init_std, &mut rng)?;
        let train_visible = train.visible();
        machine.set_visible_bias_from_data(train_visible.view());
        Ok(Self::assemble(config, machine, prior, rng, 0, train, test, train_visible))
    }

    /// A run continued from a checkpoint.
    pub fn resume(
        checkpoint: Checkpoint,
        train: Dataset,
        test: Dataset,
        prior: Box<dyn Prior + Send>,
    ) -> Result<Self, TrainError> {
        checkpoint.config.validate()?;
        checkpoint.machine.validate()?;
        let train_visible = train.visible();
        let wall_before = checkpoint.wall_seconds;
        let mut trainer = Self::assemble(
            checkpoint.config,
            checkpoint.machine,
            prior,
            checkpoint.rng,
            checkpoint.iteration,
            train,
            test,
            train_visible,
        );
        trainer.wall_before = wall_before;
        Ok(trainer)
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        config: TrainConfig,
        machine: HelmholtzMachine,
        prior: Box<dyn Prior + Send>,
        rng: Xoshiro256PlusPlus,
        iteration: u64,
        train: Dataset,
        test: Dataset,
        train_visible: Array2<f32>,
    ) -> Self {
        let batch = Array2::zeros((0, train_visible.ncols()));
        Trainer {
            config,
            machine,
            prior,
            rng,
            iteration,
            train,
            test,
            train_visible,
            batch,
            wall_before: 0.0,
            started: Instant::now(),
        }
    }

    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            version: 1,
            config: self.config.clone(),
            iteration: self.iteration,
            machine: self.machine.clone(),
            prior: self.prior.state(),
            rng: self.rng.clone(),
            wall_seconds: self.wall_seconds(),
        }
    }

    /// Wall time spent training, including earlier invocations of a resumed run.
    pub fn wall_seconds(&self) -> f64 {
        self.wall_before + self.started.elapsed().as_secs_f64()
    }

    pub fn train_set(&self) -> &Dataset {
        &self.train
    }

    pub fn test_set(&self) -> &Dataset {
        &self.test
    }

    fn batch_size(&self) -> usize {
        match self.config.batch_size {
            0 => self.train.len(),
            b => b,
        }
    }

    pub fn batches_per_epoch(&self) -> u64 {
        (self.train.len() / self.batch_size()).max(1) as u64
    }

    /// Makes [`Self::batch`] hold the examples of update `it`.
    fn load_batch(&mut self, it: u64) {
        let size = self.batch_size();
        if size == self.train.len() {
            return;
        }
        let per_epoch = self.batches_per_epoch();
        let (epoch, index) = (it / per_epoch, (it % per_epoch) as usize);
        let order = epoch_order(self.config.seed, epoch, self.train.len());
        let rows = &order[index * size..(index + 1) * size];
        if self.batch.nrows() != size {
            self.batch = Array2::zeros((size, self.train_visible.ncols()));
        }
        self.train.fill_visible(rows, self.batch.view_mut());
    }

    /// One update of Algorithm 1. Returns its metrics.
    ///
    /// The wake phase runs while the annealer samples (it does not need the samples, and the
    /// annealer does not need the new parameters): with a remote annealer its whole time hides
    /// behind the network wait. Each phase draws from its own stream, forked from the run's
    /// generator, so the result does not depend on which of the two finishes first.
    pub fn step(&mut self) -> Result<IterationMetrics, TrainError> {
        let it = self.iteration;
        let lr = self.config.lr(it);
        let reads = self.config.num_reads as usize;

        let t0 = Instant::now();
        self.load_batch(it);
        let mut wake_rng = Xoshiro256PlusPlus::from_rng(&mut self.rng);
        let mut sleep_rng = Xoshiro256PlusPlus::from_rng(&mut self.rng);
        let batch = if self.batch_size() == self.train.len() {
            self.train_visible.view()
        } else {
            self.batch.view()
        };
        let (machine, prior) = (&self.machine, &mut self.prior);
        let ((wake_grad, wake, t_wake), (samples, t_annealer)) = rayon::join(
            || {
                let started = Instant::now();
                let (grad, stats) = machine.wake_gradient(batch, &mut wake_rng);
                (grad, stats, started.elapsed())
            },
            || {
                let started = Instant::now();
                (prior.sample(reads, it), started.elapsed())
            },
        );
        let samples = samples?;
        let t1 = Instant::now();
        let (sleep_grad, sleep) = self.machine.sleep_gradient(samples.units.view(), &mut sleep_rng);
        let t2 = Instant::now();
        self.machine.generator.apply(&wake_grad, lr);
        self.machine.recognition.apply(&sleep_grad, lr);
        let prior_lr = self.config.prior_lr(it, self.batches_per_epoch());
        let gap: MomentGap = self.prior.update(wake.u2.view(), prior_lr);
        let t3 = Instant::now();
        self.iteration += 1;

        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
        let mut metrics = IterationMetrics {
            iteration: self.iteration,
            epoch: self.iteration as f64 / self.batches_per_epoch() as f64,
            lr,
            wake_objective: wake.objective(),
            sleep_objective: sleep.objective(),
            batch_pixel_mse: wake.pixel_mse,
            prior_gap_linear: gap.linear,
            prior_gap_quadratic: gap.quadratic,
            annealer_wall_ms: samples.annealer_wall_us / 1e3,
            qpu_access_ms: samples.qpu_access_us / 1e3,
            chain_breaks: samples.chain_breaks,
            t_wake_ms: t_wake.as_secs_f64() * 1e3,
            t_annealer_ms: t_annealer.as_secs_f64() * 1e3,
            t_sleep_ms: ms(t1, t2),
            t_update_ms: ms(t2, t3),
            t_step_ms: ms(t0, t3),
            ..IterationMetrics::default()
        };
        if self.iteration.is_multiple_of(self.config.eval_every)
            || self.iteration == self.config.iterations
        {
            let (train, test) = self.reconstruction_errors();
            metrics.recon_train = Some(train);
            metrics.recon_test = Some(test);
            metrics.test_accuracy = Some(self.test_accuracy());
        }
        Ok(metrics)
    }

    fn eval_rows(&self, n: usize) -> usize {
        match self.config.eval_size {
            0 => n,
            k => k.min(n),
        }
    }

    /// Mean-field reconstruction pixel MSE on (subsets of) the training and test sets.
    pub fn reconstruction_errors(&self) -> (f32, f32) {
        let train_rows: Vec<usize> = (0..self.eval_rows(self.train.len())).collect();
        let test_rows: Vec<usize> = (0..self.eval_rows(self.test.len())).collect();
        let train = self.train.select(&train_rows).visible();
        let test = self.test.select(&test_rows).visible();
        (
            self.machine.reconstruct(train.view()).pixel_mse,
            self.machine.reconstruct(test.view()).pixel_mse,
        )
    }

    /// Test accuracy through the model: class bits unknown, inferred through the generator.
    pub fn test_accuracy(&self) -> f64 {
        accuracy(&self.machine, &self.test)
    }

    pub fn done(&self) -> bool {
        self.iteration >= self.config.iterations
    }
}

/// Fraction of `data` whose class the model infers correctly (class bits hidden, one
/// mean-field pass).
pub fn accuracy(machine: &HelmholtzMachine, data: &Dataset) -> f64 {
    accuracy_of(&machine.classify(data.pixels()), data.labels())
}

/// Fraction of predictions equal to the labels.
pub fn accuracy_of(predicted: &[u8], labels: &[u8]) -> f64 {
    let correct = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    correct as f64 / labels.len().max(1) as f64
}

/// Confusion matrix `[true][predicted]`.
pub fn confusion_of(predicted: &[u8], labels: &[u8]) -> [[u32; 10]; 10] {
    let mut m = [[0u32; 10]; 10];
    for (&p, &l) in predicted.iter().zip(labels) {
        if (p as usize) < 10 && (l as usize) < 10 {
            m[l as usize][p as usize] += 1;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_schedule_holds_then_decays_linearly() {
        let c = TrainConfig::preset(Preset::Paper);
        assert_eq!(c.lr(0), 0.005);
        assert_eq!(c.lr(499), 0.005);
        assert!((c.lr(999) - 0.0005).abs() < 1e-9);
        let mid = c.lr(750);
        assert!(mid < 0.005 && mid > 0.0005);
        assert_eq!(c.batch_size, 0);
        assert_eq!(c.num_reads, 1000);
        assert_eq!(c.annealing_time, 5.0);
    }

    #[test]
    fn epoch_orders_are_permutations_reproducible_by_seed() {
        let a = epoch_order(3, 5, 100);
        assert_eq!(a, epoch_order(3, 5, 100));
        assert_ne!(a, epoch_order(3, 6, 100));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn invalid_configs_name_the_setting() {
        let mut c = TrainConfig::preset(Preset::Default);
        c.num_reads = 0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("num_reads"), "{e}");
        let mut c = TrainConfig::preset(Preset::Default);
        c.batch_size = 9000;
        assert!(c.validate().unwrap_err().to_string().contains("batch_size"));
    }
}
