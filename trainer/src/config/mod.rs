//! Every setting of a run, in one typed config of sections (data, model, schedule, prior,
//! annealing, run, evaluation).
//!
//! Each setting is declared once, below: its type, its documentation, its command-line flag
//! and its allowed range. A config is built in one pass from layers, in this order: a
//! [`Preset`], the `--config` TOML file, command-line flags, and (for the trainer service) an
//! API request ([`layers`]). TOML keys, JSON keys and the flags' aliases are the same dotted
//! names (`schedule.lr_start`). [`RunConfig::validate`] checks everything once and names the
//! field and its range; [`RunConfig::check_solver`] adds what only the annealer knows.
//!
//! The annealer's address and token are not settings of a run: a run is the same run whichever
//! annealer (of the same device) serves it.

use std::path::PathBuf;

use qahm_common::properties::SolverProperties;
use qahm_common::validation::max_num_reads_with;
pub use qahm_emulator::Solver;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub mod layers;
pub mod legacy;
pub mod proto;
pub(crate) mod schema;

pub use schema::{Check, FieldSpec, Kind, SectionSpec};
use schema::{
    SEED, Section, at_least, closed, count, fraction, negative, non_negative, open_closed, section,
};

/// A setting that cannot work, or a layer that does not parse.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum ConfigError {
    /// A value outside its range, or a combination that cannot work.
    #[error("{field}: {message}")]
    Field { field: String, message: String },
    /// A layer (file, flags, request) that is not a config.
    #[error("{origin}: {message}")]
    Layer { origin: String, message: String },
}

impl ConfigError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Field { field: field.into(), message: message.into() }
    }

    /// The dotted name of the setting at fault, if one is.
    pub fn field_name(&self) -> Option<&str> {
        match self {
            ConfigError::Field { field, .. } => Some(field),
            ConfigError::Layer { .. } => None,
        }
    }
}

/// Which settings a run starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Minibatches and a decaying learning rate: learns well in minutes.
    Default,
    /// Algorithm 1 as published: full training set per iteration, 1000 iterations, lr 0.005
    /// for 500 then linearly down to 0.0005, 1000 reads per annealer call.
    Paper,
}

impl Preset {
    pub const NAMES: &'static [&'static str] = &["default", "paper"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "default" => Some(Preset::Default),
            "paper" => Some(Preset::Paper),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Default => "default",
            Preset::Paper => "paper",
        }
    }
}

/// Which prior sits on the deepest layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

impl PriorKind {
    pub const NAMES: &'static [&'static str] = &["quantum", "factorized", "boltzmann"];

    pub fn name(self) -> &'static str {
        match self {
            PriorKind::Quantum => "quantum",
            PriorKind::Factorized => "factorized",
            PriorKind::Boltzmann => "boltzmann",
        }
    }
}

/// The emulator's solver names, as the `annealing.solver` setting takes them.
const SOLVER_NAMES: &[&str] = &["DW_2000Q_5", "Advantage2_system1.5", "Advantage_system_emulated"];

impl schema::Setting for Option<Solver> {
    const KIND: Kind = Kind::Choice(SOLVER_NAMES);
    fn check(&self, _path: &str, _check: &schema::Check) -> Result<(), ConfigError> {
        Ok(())
    }
}

impl schema::Setting for crate::model::Optimizer {
    const KIND: Kind = Kind::Choice(crate::model::Optimizer::NAMES);
    fn check(&self, _path: &str, _check: &schema::Check) -> Result<(), ConfigError> {
        Ok(())
    }
}

impl schema::Setting for PriorKind {
    const KIND: Kind = Kind::Choice(PriorKind::NAMES);
    fn check(&self, _path: &str, _check: &schema::Check) -> Result<(), ConfigError> {
        Ok(())
    }
}

section! {
    /// Where the images come from and how the model sees them.
    pub struct DataConfig in "data" {
        /// The data set: a directory holding MNIST-format IDX files by their standard names
        /// (train-images-idx3-ubyte[.gz], train-labels-…, t10k-…), USPS (usps, usps.t, bz2 or
        /// not) or the shipped mnist10k pair; or one IDX images file or LIBSVM file.
        pub dir: PathBuf, flag "data", check schema::Check::Free;
        /// Training examples: the first of the data set's training part (0 = all of it; a
        /// single set: the rest before the test examples, or 80 % if both are 0).
        pub train_size: usize, flag "train-size", check schema::Check::Free;
        /// Test examples: the first of the data set's test part (0 = all of it; a single set:
        /// its last examples, the rest after the training ones, or 20 % if both are 0).
        pub test_size: usize, flag "test-size", check schema::Check::Free;
        /// Side of the square images the model sees: every image is brought to it by exact
        /// area averaging.
        #[serde(default = "paper_side")]
        pub side: usize, flag "image-side", check count(1, 128);
        /// Class bits after the pixels: every label of the data must lie below it.
        #[serde(default = "paper_classes")]
        pub classes: usize, flag "classes", check count(1, crate::data::MAX_CLASSES as u64);
    }
}

/// `data.side` of configs written before it existed: the paper's 16.
fn paper_side() -> usize {
    crate::data::PAPER_SIDE
}

/// `data.classes` of configs written before it existed: the 10 digits.
fn paper_classes() -> usize {
    crate::data::N_CLASSES
}

impl DataConfig {
    /// The image side and class bits the model sees.
    pub fn shape(&self) -> crate::data::Shape {
        crate::data::Shape { side: self.side, classes: self.classes }
    }

    /// The sizes asked for (0: the data set's choice).
    pub fn split(&self) -> crate::data::Split {
        crate::data::Split { train: self.train_size, test: self.test_size }
    }

    /// Whether both sizes are known (no 0 left for the data set to settle).
    pub fn sizes_known(&self) -> bool {
        self.train_size > 0 && self.test_size > 0
    }
}

section! {
    /// The networks' shapes and initial weights.
    pub struct ModelConfig in "model" {
        /// Units of the first hidden layer.
        pub hidden1: usize, flag "hidden1", check count(1, 100_000);
        /// Units of the deepest hidden layer (the annealer's logical variables).
        pub hidden2: usize, flag "hidden2", check count(1, 10_000);
        /// Standard deviation of the initial weights.
        pub init_std: f64, flag "init-std", check closed(0.0, 10.0);
    }
}

section! {
    /// How long and how fast the networks learn.
    pub struct ScheduleConfig in "schedule" {
        /// Examples per update (0 = the whole training set, as in the paper).
        pub batch_size: usize, flag "batch-size", check schema::Check::Free;
        /// Total updates (or give `epochs`; a layer that sets one clears the other).
        pub iterations: Option<u64>, flag "iterations", check at_least(1);
        /// Training epochs: sets the number of updates from the batch size.
        pub epochs: Option<u64>, flag "epochs", check at_least(1);
        /// Learning rate at the start.
        pub lr_start: f64, flag "lr-start", check open_closed(0.0, 10.0);
        /// Learning rate at the end of the linear decay.
        pub lr_end: f64, flag "lr-end", check open_closed(0.0, 10.0);
        /// Fraction of the run at lr_start before the linear decay to lr_end.
        pub lr_hold_fraction: f64, flag "lr-hold-fraction", check fraction();
        /// How the networks step along their gradients: sgd (the paper's rule) or adam.
        #[serde(default)]
        pub optimizer: crate::model::Optimizer, flag "optimizer", check schema::Check::Free;
        /// Recognition samples per example in the wake phase, one kept by importance weight
        /// p(v, u) / Q(u | v) (1: the paper's wake phase, Q's one sample as it is).
        #[serde(default = "one")]
        pub wake_samples: usize, flag "wake-samples", check count(1, 1000);
        /// Weight of the recognition network's fit to the wake phase's kept codes of real data,
        /// added to its fit to dreams (0: the paper's, Q learns in the sleep phase only).
        #[serde(default)]
        pub wake_recognition: f64, flag "wake-recognition", check closed(0.0, 10.0);
    }
}

/// What a run written before a setting existed had: one wake sample.
fn one() -> usize {
    1
}

section! {
    /// The prior over the deepest hidden layer.
    pub struct PriorConfig in "prior" {
        /// Which prior: the annealer's (quantum) or a classical baseline.
        pub kind: PriorKind, flag "prior", check schema::Check::Free;
        /// The prior's learning rate relative to the networks'.
        pub lr_scale: f64, flag "prior-lr-scale", check closed(0.0, 10_000.0);
        /// Epochs at the start during which the prior does not learn.
        pub warmup_epochs: f64, flag "prior-warmup-epochs", check non_negative();
        /// Gibbs sweeps per update of the Boltzmann baseline.
        pub gibbs_sweeps: u32, flag "gibbs-sweeps", check count(1, 100_000);
    }
}

section! {
    /// What the annealer is asked for (the quantum prior only).
    pub struct AnnealingConfig in "annealing" {
        /// Annealer reads per update (= dreams per sleep phase).
        pub num_reads: u32, flag "num-reads", check count(1, 100_000);
        /// Anneal time in µs (within the solver's annealing_time_range).
        pub annealing_time: f64, flag "annealing-time", check open_closed(0.0, 1e6);
        /// Most reads per annealer call (0: the solver's limit); each call has its own noise.
        pub reads_per_call: u32, flag "reads-per-call", check schema::Check::Free;
        /// Initial J inside a chain (negative: ferromagnetic; within the solver's j_range).
        pub chain_strength: f64, flag "chain-strength", check negative();
        /// Seed of the in-process emulator's hidden temperature.
        pub device_seed: u64, flag "device-seed", check SEED;
        /// µs the chip waits after programming before the first anneal (SAPI's
        /// programming_thermalization; absent: the solver's default). Only the QPU time.
        pub programming_thermalization: Option<u64>, flag "programming-thermalization", check schema::Check::Free;
        /// µs the chip waits after each read (SAPI's readout_thermalization; absent: the
        /// solver's default). Only the QPU time.
        pub readout_thermalization: Option<u64>, flag "readout-thermalization", check schema::Check::Free;
        /// The in-process emulator's solver profile (absent: DW_2000Q_5). A remote annealer
        /// is whatever solver it reports.
        pub solver: Option<Solver>, flag "solver", check schema::Check::Free;
    }
}

section! {
    /// The run's seed and bookkeeping.
    pub struct RunSettings in "run" {
        /// Seed of every random stream of the run.
        pub seed: u64, flag "seed", check SEED;
        /// Write a checkpoint every this many updates.
        pub checkpoint_every: u64, flag "checkpoint-every", check at_least(1);
    }
}

section! {
    /// What is measured while training.
    pub struct EvaluationConfig in "evaluation" {
        /// Evaluate reconstruction and test accuracy every this many updates.
        pub every: u64, flag "eval-every", check at_least(1);
        /// Images in each evaluation subset (0 = whole sets).
        pub size: usize, flag "eval-size", check schema::Check::Free;
        /// Run the full evaluation (`trainer eval`'s report with its default settings:
        /// generated digits, the judge, inpainting, novelty) every this many updates and after
        /// the last, into evals/<update>.json (0 = never). It draws only viewing streams, so
        /// training is the same with it or without.
        #[serde(default)]
        pub full_every: u64, flag "full-eval-every", check schema::Check::Free;
    }
}

/// Every setting of a run. Saved as `config.toml` in the run directory and in checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The preset the layers started from (informational).
    pub preset: Preset,
    pub data: DataConfig,
    pub model: ModelConfig,
    pub schedule: ScheduleConfig,
    pub prior: PriorConfig,
    pub annealing: AnnealingConfig,
    pub run: RunSettings,
    pub evaluation: EvaluationConfig,
}

/// Every section's declaration, in the order of [`RunConfig`]'s fields.
pub const SECTIONS: [SectionSpec; 7] = [
    SectionSpec::of::<DataConfig>(),
    SectionSpec::of::<ModelConfig>(),
    SectionSpec::of::<ScheduleConfig>(),
    SectionSpec::of::<PriorConfig>(),
    SectionSpec::of::<AnnealingConfig>(),
    SectionSpec::of::<RunSettings>(),
    SectionSpec::of::<EvaluationConfig>(),
];

/// Every setting's declaration, section by section.
pub fn fields() -> impl Iterator<Item = &'static FieldSpec> {
    SECTIONS.iter().flat_map(|s| s.fields)
}

/// The declaration of the setting with this dotted name.
pub fn field(path: &str) -> Option<&'static FieldSpec> {
    fields().find(|f| f.path == path)
}

impl RunConfig {
    /// The settings a preset starts from.
    pub fn preset(preset: Preset) -> Self {
        let default = RunConfig {
            preset: Preset::Default,
            data: DataConfig {
                dir: PathBuf::from("data/mnist-10k"),
                // The data set's own split: 8,000 and 2,000 of the shipped 10,000.
                train_size: 0,
                test_size: 0,
                side: crate::data::PAPER_SIDE,
                classes: crate::data::N_CLASSES,
            },
            model: ModelConfig { hidden1: 120, hidden2: 60, init_std: 0.01 },
            schedule: ScheduleConfig {
                batch_size: 100,
                // 50 epochs of the 8000 default training images.
                iterations: Some(4000),
                epochs: None,
                lr_start: 0.05,
                lr_end: 0.005,
                lr_hold_fraction: 0.5,
                optimizer: crate::model::Optimizer::Sgd,
                // Reweighted wake-sleep: the generator fits codes resampled towards its own
                // posterior, and Q fits them too, on real data as well as on dreams. Measured
                // (README, "Reweighted wake"): with the same networks and schedule it moves
                // every figure, the Gibbs twin's and the annealer's alike.
                wake_samples: 10,
                wake_recognition: 1.0,
            },
            prior: PriorConfig {
                kind: PriorKind::Quantum,
                // Per logical parameter (the prior divides by chain length and couplers per
                // pair). The device's unknown β multiplies it; 0.5 tracks the recognition
                // network closely without the prior overshooting (at 1.0 runs degrade, above
                // that the prior collapses onto a few states).
                lr_scale: 0.5,
                warmup_epochs: 5.0,
                gibbs_sweeps: 10,
            },
            annealing: AnnealingConfig {
                num_reads: 100,
                // The emulator's anneal time is calibrated against the chip (King et al.
                // 2022's kink densities; `make calibrate`). Measured over seeds 1–3 (README):
                // 40 µs brings the 2000Q prior level with its Gibbs-sampled twin (accuracy
                // 0.881, judge agreement 0.573 against 0.874 and 0.547 at the paper's 20 µs);
                // 60 and 100 µs gave no more (seed 1). On a real 2000Q a 40 µs read costs 8 %
                // more QPU time than a 20 µs one (readout dominates); on the emulator twice
                // the sweeps.
                annealing_time: 40.0,
                reads_per_call: 0,
                chain_strength: -1.0,
                device_seed: 7,
                solver: None,
                programming_thermalization: None,
                readout_thermalization: None,
            },
            run: RunSettings { seed: 1, checkpoint_every: 500 },
            evaluation: EvaluationConfig { every: 80, size: 2000, full_every: 0 },
        };
        match preset {
            Preset::Default => default,
            Preset::Paper => RunConfig {
                preset,
                schedule: ScheduleConfig {
                    batch_size: 0,
                    iterations: Some(1000),
                    epochs: None,
                    lr_start: 0.005,
                    lr_end: 0.0005,
                    lr_hold_fraction: 0.5,
                    optimizer: crate::model::Optimizer::Sgd,
                    wake_samples: 1,
                    wake_recognition: 0.0,
                },
                prior: PriorConfig {
                    // Algorithm 1 uses one learning rate for every parameter.
                    lr_scale: 1.0,
                    warmup_epochs: 0.0,
                    ..default.prior
                },
                annealing: AnnealingConfig {
                    num_reads: 1000,
                    annealing_time: 5.0,
                    // "set to their corresponding minimum values" (the paper, Sec. 4).
                    programming_thermalization: Some(0),
                    readout_thermalization: Some(0),
                    ..default.annealing
                },
                run: RunSettings { checkpoint_every: 100, ..default.run },
                evaluation: EvaluationConfig { every: 10, ..default.evaluation },
                ..default
            },
        }
    }

    /// Checks every setting once: each against its declared range, then the combinations.
    /// The error names the dotted field and what is allowed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.data.check()?;
        self.model.check()?;
        self.schedule.check()?;
        self.prior.check()?;
        self.annealing.check()?;
        self.run.check()?;
        self.evaluation.check()?;
        let s = &self.schedule;
        // With data.train_size 0 the data set settles it, and the check waits until it has
        // (`run::settle_data`).
        if self.data.train_size > 0 && s.batch_size > self.data.train_size {
            return Err(ConfigError::field(
                "schedule.batch_size",
                format!(
                    "{} is outside [0, {}] (0 = the whole training set; data.train_size is {})",
                    s.batch_size, self.data.train_size, self.data.train_size
                ),
            ));
        }
        match (s.iterations, s.epochs) {
            (Some(_), None) | (None, Some(_)) => {}
            (None, None) => {
                return Err(ConfigError::field(
                    "schedule.iterations",
                    "the run's length is unset: give schedule.iterations or schedule.epochs",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(ConfigError::field(
                    "schedule.epochs",
                    "give schedule.iterations or schedule.epochs, not both",
                ));
            }
        }
        Ok(())
    }

    /// Checks what only the annealer knows: the anneal time against the solver's range, the
    /// chain strength against its J range, the reads per call against its limit.
    pub fn check_solver(&self, props: &SolverProperties) -> Result<(), ConfigError> {
        let a = &self.annealing;
        let name = &props.name;
        let time_range = props.annealing_time_range;
        if !time_range.contains(a.annealing_time) {
            return Err(ConfigError::field(
                "annealing.annealing_time",
                format!(
                    "{} µs is outside {name}'s annealing_time_range {time_range} µs",
                    a.annealing_time
                ),
            ));
        }
        let j_range = props.j_range;
        if !j_range.contains(a.chain_strength) {
            return Err(ConfigError::field(
                "annealing.chain_strength",
                format!("{} is outside {name}'s j_range {j_range}", a.chain_strength),
            ));
        }
        let thermalizations = [
            (
                "annealing.programming_thermalization",
                a.programming_thermalization,
                props.programming_thermalization_range,
            ),
            (
                "annealing.readout_thermalization",
                a.readout_thermalization,
                props.readout_thermalization_range,
            ),
        ];
        for (path, value, range) in thermalizations {
            if let Some(v) = value
                && !(u64::from(range.min)..=u64::from(range.max)).contains(&v)
            {
                return Err(ConfigError::field(
                    path,
                    format!("{v} µs is outside {name}'s range [{}, {}] µs", range.min, range.max),
                ));
            }
        }
        let limit = max_num_reads_with(
            props,
            a.annealing_time,
            a.programming_thermalization.map(|v| v as u32),
            a.readout_thermalization.map(|v| v as u32),
        );
        if a.reads_per_call > limit {
            return Err(ConfigError::field(
                "annealing.reads_per_call",
                format!(
                    "{} is outside [0, {limit}] ({name} takes at most {limit} reads per call at \
                     {} µs; 0 = that limit)",
                    a.reads_per_call, a.annealing_time
                ),
            ));
        }
        Ok(())
    }

    /// Examples per update.
    pub fn batch_size(&self) -> usize {
        match self.schedule.batch_size {
            0 => self.data.train_size,
            b => b,
        }
    }

    /// Updates per pass over the training set (a partial last batch is dropped). Like
    /// everything counted in epochs, it needs `data.train_size` settled (`run::settle_data`).
    pub fn batches_per_epoch(&self) -> u64 {
        (self.data.train_size / self.batch_size().max(1)).max(1) as u64
    }

    /// The run's total number of updates.
    pub fn iterations(&self) -> u64 {
        match (self.schedule.iterations, self.schedule.epochs) {
            (Some(n), _) => n,
            (None, Some(epochs)) => epochs.saturating_mul(self.batches_per_epoch()),
            (None, None) => 0,
        }
    }

    /// Learning rate of update `it` (0-based): hold, then linear decay to `lr_end`. Computed
    /// in f32, as the networks' parameters are. Settings are stored as f64 so that config.toml
    /// shows them as written; rounded to f32 each preset value is the f32 the first runs used
    /// (a test checks).
    pub fn lr(&self, it: u64) -> f32 {
        let s = &self.schedule;
        let (start, end) = (s.lr_start as f32, s.lr_end as f32);
        let total = self.iterations().max(1) as f32;
        let hold = (s.lr_hold_fraction as f32 * total).floor();
        let t = it as f32;
        if t < hold || total - hold <= 1.0 {
            return start;
        }
        let frac = ((t - hold) / (total - hold - 1.0)).clamp(0.0, 1.0);
        start + frac * (end - start)
    }

    /// The prior's learning rate at update `it` (0-based): 0 during the warm-up, then
    /// `prior.lr_scale` × the networks' rate.
    ///
    /// Why a warm-up: early recognition samples carry little information, and a prior that
    /// learns from them concentrates on a few states; the dreams it then produces teach the
    /// recognition network to encode everything into those states, which the prior learns in
    /// turn — a collapse wake-sleep does not leave. Holding the prior uniform for a few epochs
    /// lets the sleep phase keep the code spread out until the code means something.
    /// The wake phase's rule.
    pub fn wake_rule(&self) -> crate::model::WakeRule {
        crate::model::WakeRule {
            samples: self.schedule.wake_samples,
            recognition: self.schedule.wake_recognition as f32,
        }
    }

    pub fn prior_lr(&self, it: u64) -> f32 {
        let warmup = (self.prior.warmup_epochs * self.batches_per_epoch() as f64).ceil() as u64;
        if it < warmup { 0.0 } else { self.lr(it) * self.prior.lr_scale as f32 }
    }

    /// The layer sizes of the networks: the visible layer is `data.side`² pixels and
    /// `data.classes` class bits.
    pub fn sizes(&self) -> crate::model::LayerSizes {
        crate::model::LayerSizes {
            pixels: self.data.side * self.data.side,
            classes: self.data.classes,
            hidden1: self.model.hidden1,
            hidden2: self.model.hidden2,
        }
    }

    /// The config as `config.toml` text.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a validated config serialises to TOML")
    }
}

#[cfg(test)]
mod tests;
