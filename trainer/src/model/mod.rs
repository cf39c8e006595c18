//! Recognition and generator networks and their wake-sleep gradients.
//!
//! A Helmholtz machine with ±1 stochastic units (Benedetti, Realpe-Gómez & Perdomo-Ortiz,
//! arXiv:1708.09784, Sec. III, Eqs. 12–18). Layers, bottom to top: the visible layer `v`
//! (`pixels` grey units then `classes` class bits, 256 + 10 by default), hidden `u1` (120) and the
//! deepest hidden `u2` (60), whose prior P(u2) lives in `trainer::prior`, not here.
//!
//! - Recognition Q (bottom-up): `v → u1 → u2`. Every hidden unit is ±1 with
//!   P(u = +1 | x) = (1 + tanh a)/2, a = W x + b, i.e. mean tanh(a).
//! - Generator P (top-down): `u2 → u1 → v`. `u1` as above; the visible layer's activation
//!   a = W u1 + b gives deterministic pixels tanh(a) ∈ (−1, 1) and ±1 class bits with mean tanh(a).
//!
//! Every layer learns by the same local delta rule (Eqs. 15–18): with parents `x` and targets `y`,
//! `ΔW ∝ ⟨(y − tanh(W x + b)) xᵀ⟩`, `Δb ∝ ⟨y − tanh(W x + b)⟩` (batch average). For y ∈ {±1}
//! that is gradient ascent on log P(y | x) = log((1 + y tanh a)/2), because
//! d/da log((1 + y tanh a)/2) = y − tanh a. For a continuous target y ∈ [−1, 1] (the pixels) it is
//! gradient ascent on the same expression with y read as a soft target, the cross-entropy
//! `ℓ(y, a) = ((1+y)/2) log((1+tanh a)/2) + ((1−y)/2) log((1−tanh a)/2) = log σ(2a) − (1 − y) a`
//! (d/da ℓ = y − tanh a exactly); it is *not* the gradient of the squared error
//! (y − tanh a)², which would carry an extra factor 1 − tanh² a. [`WakeStats`] reports both.
//!
//! Conventions: batches are rows (`[batch, units]`); weights are `[n_out, n_in]` so that the
//! activations of a batch are `x Wᵀ + b`. Randomness enters only as `&mut R: Rng`; sampling draws
//! one uniform per unit in row-major order, so results are reproducible given the generator state.
//! Elementwise work may run on rayon threads, but every reduction is ordered, so results are
//! bit-for-bit deterministic whatever the thread count (`pieces` says how a batch is split).
//!
//! Rooms: `layer` (one layer and its delta rule), `networks` (Q and P and their gradients),
//! `pieces` (how a phase splits its batch across threads), `machine` (the machine, its wake and
//! sleep phases), `importance` (importance weights of recognition samples), `optim` (how gradients become steps: the paper's rule or Adam), `inference` (reconstruction, generation, classification, inpainting), and the
//! hot loops in `kernels` and [`fastmath`].

use serde::{Deserialize, Serialize};

pub mod fastmath;
mod generate;
mod importance;
mod inference;
mod kernels;
mod layer;
mod machine;
mod networks;
mod optim;
mod pieces;
#[cfg(test)]
mod test_util;

pub use generate::{Generated, generate};
pub use importance::log_lik_sum;
pub use inference::{Inpainting, Reconstruction, Region, argmax_rows, region_mask};
pub(crate) use kernels::mat_mul;
pub use kernels::{log_lik, sample_pm1, sample_pm1_in_place};
pub use layer::{Layer, LayerGradient};
pub use machine::{HelmholtzMachine, SleepStats, WakeGradient, WakeRule, WakeStats};
pub use networks::{Generator, GeneratorGradient, Recognition, RecognitionGradient};
pub use optim::{AdamState, Optimizer};

/// Errors of the model module.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("invalid layer sizes: {0}")]
    Sizes(String),
    #[error("invalid layer: {0}")]
    Layer(String),
    #[error("inconsistent machine: {0}")]
    Shapes(String),
    #[error("invalid initial weight scale {0}: must be finite and non-negative")]
    InitScale(String),
}

/// Layer sizes. The visible layer is `pixels + classes` units, pixels first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerSizes {
    /// Deterministic grey units at the bottom of the generator (256 = 16 × 16).
    pub pixels: usize,
    /// ±1 class bits after the pixels (10); may be 0 for unlabelled data.
    pub classes: usize,
    /// First hidden layer `u1` (120).
    pub hidden1: usize,
    /// Deepest hidden layer `u2`, the prior's variables (60).
    pub hidden2: usize,
}

impl Default for LayerSizes {
    /// The paper's 266–120–60 machine.
    fn default() -> Self {
        LayerSizes { pixels: 256, classes: 10, hidden1: 120, hidden2: 60 }
    }
}

impl LayerSizes {
    /// Visible units: `pixels + classes`.
    pub fn visible(&self) -> usize {
        self.pixels + self.classes
    }

    /// Checks that every layer is non-empty (classes may be 0).
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.pixels == 0 || self.hidden1 == 0 || self.hidden2 == 0 {
            return Err(ModelError::Sizes(format!(
                "pixels {}, hidden1 {} and hidden2 {} must all be positive",
                self.pixels, self.hidden1, self.hidden2
            )));
        }
        Ok(())
    }
}
