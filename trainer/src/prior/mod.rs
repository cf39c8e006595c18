//! Priors over the deepest hidden layer u2: one trait, the annealer-backed quantum prior of the
//! paper (Sec. IV, Eqs. 19–21, gray-box updates Eqs. 8–9) and two classical baselines (a
//! factorized prior and a fully connected Boltzmann machine sampled by Gibbs chains).
//!
//! The quantum prior ([`quantum`]) programs the annealer with trainable h on every embedded qubit and J on
//! every coupler the embedding uses (inside and between chains), in D-Wave's convention
//! E(s) = Σ h s + Σ J s s, P ∝ exp(−β E). Its gradient is a moment difference,
//! ∂ log L / ∂θ = −β (⟨φ⟩_data − ⟨φ⟩_annealer), with β unknown and absorbed into the learning
//! rate: data-side statistics come from recognition samples of u2 replicated into chains (the
//! map f, Eq. 20), annealer statistics from the raw physical samples. Logical samples for the
//! generator come from the majority vote g (Eq. 21).

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::annealer::AnnealerError;

mod boltzmann;
mod build;
mod factorized;
mod quantum;
pub mod temperature;

pub use boltzmann::{BoltzmannParams, BoltzmannPrior};
pub use build::build;
pub use factorized::{FactorizedParams, FactorizedPrior};
pub use quantum::{AnnealSettings, QuantumParams, QuantumPrior, majority_vote, replicate};

/// Why the prior could not be built or could not sample.
#[derive(Debug, Error)]
pub enum PriorError {
    #[error(transparent)]
    Annealer(#[from] AnnealerError),
    #[error("annealer answer does not cover the embedded qubits: {0}")]
    Answer(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Embedding(#[from] crate::embedding::EmbeddingError),
    #[error(
        "prior.kind: the config asks for a {wanted} prior but the checkpoint holds a {found} one"
    )]
    KindMismatch { wanted: &'static str, found: &'static str },
}

/// What the annealer (or sampler) measured in a training draw: the model-side statistics of
/// the prior's gradient (Eqs. 8–9), in the prior's own parametrisation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Moments {
    /// One per linear parameter (⟨s⟩).
    pub linear: Vec<f64>,
    /// One per coupling parameter (⟨s s⟩).
    pub quadratic: Vec<f64>,
}

/// A training draw: samples of the logical units for the sleep phase, the statistics the
/// prior's update needs, and what the draw cost.
#[derive(Clone, Debug)]
pub struct Draw {
    /// ±1, `[num_samples, num_units]`.
    pub units: Array2<f32>,
    /// The model side of the prior's gradient.
    pub moments: Moments,
    /// Wall time of the annealer calls, µs (0 for classical priors).
    pub annealer_wall_us: f64,
    /// Modelled QPU access time, µs (0 for classical priors).
    pub qpu_access_us: f64,
    /// Fraction of (read, chain) pairs whose qubits disagree, before the majority vote (0 for
    /// classical priors).
    pub chain_breaks: f64,
    /// The device's inverse temperature estimated from this draw's physical reads on the
    /// Hamiltonian the trainer programmed ([`temperature`]); `None` for classical priors, or
    /// when the reads admit no finite estimate.
    pub beta_hat: Option<f64>,
    /// The same for the logical units: the pseudo-likelihood β of the draw's majority-voted
    /// samples on the logical Hamiltonian (chains' fields and couplings summed). Chains freeze
    /// before single qubits do, so the logical samples can be hotter than the physical reads
    /// say; this is the temperature of the distribution the model's prior actually is.
    /// `None` for classical priors or without a finite estimate.
    pub logical_beta_hat: Option<f64>,
}

impl Draw {
    /// A draw of a classical prior: no annealer, no chains.
    pub fn classical(units: Array2<f32>, moments: Moments) -> Self {
        Draw {
            units,
            moments,
            annealer_wall_us: 0.0,
            qpu_access_us: 0.0,
            chain_breaks: 0.0,
            beta_hat: None,
            logical_beta_hat: None,
        }
    }
}

/// How far the prior's statistics are from the data's after an update.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MomentGap {
    /// Mean |⟨s⟩_data − ⟨s⟩_model| over the linear parameters.
    pub linear: f64,
    /// Mean |⟨ss⟩_data − ⟨ss⟩_model| over the coupling parameters (0 for factorized priors).
    pub quadratic: f64,
}

impl MomentGap {
    /// One number for logs and tests: the mean over all parameters' moment gaps.
    pub fn mean(&self) -> f64 {
        (self.linear + self.quadratic) / 2.0
    }
}

/// A trainable prior over the deepest hidden layer.
///
/// Training state lives in the parameters ([`Prior::state`]) and nowhere else: a training
/// draw returns its statistics and [`Prior::update`] takes them back, so a viewing draw in
/// between (pictures, `generate`) cannot change what the update does.
pub trait Prior {
    fn num_units(&self) -> usize;
    /// The training draw of update `iteration`: `n` samples and their statistics. May advance
    /// training state that belongs to sampling (the Boltzmann baseline's persistent chains).
    fn draw(&mut self, n: usize, iteration: u64) -> Result<Draw, PriorError>;
    /// One gradient step towards the data-side samples `data` (`[batch, num_units]`, ±1),
    /// against the statistics of `draw`.
    fn update(&mut self, draw: &Draw, data: ArrayView2<f32>, lr: f32) -> MomentGap;
    /// Draws `n` samples to look at, never to train on, in calls of at most `per_call` reads
    /// where the sampler has per-call noise; `stream` (see [`crate::seed`]) makes the draw
    /// reproducible. Leaves every piece of training state (parameters, persistent chains,
    /// random streams) exactly as it was; `&mut` only for the annealer's connection.
    fn view(&mut self, n: usize, per_call: usize, stream: u64) -> Result<Array2<f32>, PriorError>;
    /// The parameters, for checkpoints.
    fn state(&self) -> PriorState;
    /// The prior's log-probability as the trainer knows it, up to a constant: what the wake
    /// phase weighs its recognition samples with ([`crate::model::WakeRule`]).
    fn log_density(&self) -> LogDensity;
}

/// An unnormalised log-density over ±1 units, `log p̃(s) = −β E(s)` with the Ising energy
/// `E(s) = Σ h s + Σ_{i<j} J s s` (the form of every prior here).
#[derive(Clone, Debug, PartialEq)]
pub struct LogDensity {
    pub h: Vec<f64>,
    /// Row-major `[units, units]`; only the upper triangle (i < j) is read.
    pub j: Vec<f64>,
    pub beta: f64,
}

impl LogDensity {
    /// `−β E(s)`.
    pub fn log_unnormalised(&self, s: &[f32]) -> f64 {
        -self.beta * ising_energy(&self.h, &self.j, s)
    }
}

/// The Ising energy `Σ h s + Σ_{i<j} J s s` of ±1 units `s`; `j` row-major `[n, n]`, upper
/// triangle read.
pub(crate) fn ising_energy(h: &[f64], j: &[f64], s: &[f32]) -> f64 {
    let n = h.len();
    let mut e = 0.0;
    for i in 0..n {
        let x = f64::from(s[i]);
        let row = &j[i * n..(i + 1) * n];
        let coupled: f64 =
            row[i + 1..].iter().zip(&s[i + 1..]).map(|(&j, &y)| j * f64::from(y)).sum();
        e += x * (h[i] + coupled);
    }
    e
}

/// Serialisable parameters of any prior.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PriorState {
    Quantum(QuantumParams),
    Factorized(FactorizedParams),
    Boltzmann(BoltzmannParams),
}

impl PriorState {
    /// "quantum", "factorized" or "boltzmann", for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            PriorState::Quantum(_) => "quantum",
            PriorState::Factorized(_) => "factorized",
            PriorState::Boltzmann(_) => "boltzmann",
        }
    }
}

/// Mean of each column and of the products of coupled columns.
pub(crate) fn moments(spins: ArrayView2<f32>, couplers: &[(u32, u32)]) -> (Vec<f64>, Vec<f64>) {
    let n = spins.nrows().max(1) as f64;
    let linear = spins.mean_axis(Axis(0)).map(|m| m.iter().map(|&x| f64::from(x)).collect());
    let columns = spins.t().as_standard_layout().to_owned();
    let quadratic = couplers
        .iter()
        .map(|&(a, b)| {
            let (x, y) = (columns.row(a as usize), columns.row(b as usize));
            f64::from(x.dot(&y)) / n
        })
        .collect();
    (linear.unwrap_or_default(), quadratic)
}

pub(crate) fn mean_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn moments_are_means_of_columns_and_coupled_products() {
        let spins = array![[1.0, 1.0, -1.0], [1.0, -1.0, -1.0]];
        let (linear, quadratic) = moments(spins.view(), &[(0, 1), (0, 2)]);
        assert_eq!(linear, vec![1.0, 0.0, -1.0]);
        assert_eq!(quadratic, vec![0.0, -1.0]);
    }
}
