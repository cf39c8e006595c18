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
//! bit-for-bit deterministic whatever the thread count.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub mod fastmath;
mod generate;
mod kernels;

pub use generate::{Generated, generate};

pub(crate) use kernels::mat_mul;
use kernels::{FitSums, delta_in_place, gemm_split_rows, tanh_biased_in_place};
pub use kernels::{log_lik, sample_pm1, sample_pm1_in_place};

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

// ---------------------------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Layer
// ---------------------------------------------------------------------------------------------

/// One fully connected layer of ±1 (or tanh) units: activation `a = W x + b`, mean `tanh(a)`.
///
/// Invariant: `w` is `[n_out, n_in]` and `b` is `[n_out]`; [`Layer::new`] and deserialisation
/// check it, direct field writes must keep it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LayerRepr", into = "LayerRepr")]
pub struct Layer {
    /// Weights `[n_out, n_in]`.
    pub w: Array2<f32>,
    /// Biases `[n_out]`.
    pub b: Array1<f32>,
}

/// The delta-rule gradient of one layer, averaged over a batch (an ascent direction).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerGradient {
    /// `⟨(y − tanh a) xᵀ⟩`, `[n_out, n_in]`.
    pub dw: Array2<f32>,
    /// `⟨y − tanh a⟩`, `[n_out]`.
    pub db: Array1<f32>,
}

impl LayerGradient {
    /// `self += other`.
    fn accumulate(&mut self, other: &LayerGradient) {
        self.dw += &other.dw;
        self.db += &other.db;
    }
}

impl Layer {
    /// A layer from weights `[n_out, n_in]` and biases `[n_out]`, all finite.
    pub fn new(w: Array2<f32>, b: Array1<f32>) -> Result<Self, ModelError> {
        if w.nrows() != b.len() {
            return Err(ModelError::Layer(format!(
                "{} weight rows but {} biases",
                w.nrows(),
                b.len()
            )));
        }
        if !w.iter().chain(b.iter()).all(|x| x.is_finite()) {
            return Err(ModelError::Layer("non-finite parameter".into()));
        }
        Ok(Layer { w, b })
    }

    /// All-zero weights and biases.
    pub fn zeros(n_in: usize, n_out: usize) -> Self {
        Layer { w: Array2::zeros((n_out, n_in)), b: Array1::zeros(n_out) }
    }

    /// Weights drawn i.i.d. N(0, std²) in row-major order, zero biases.
    pub fn random<R: Rng + ?Sized>(n_in: usize, n_out: usize, std: f32, rng: &mut R) -> Self {
        let w = Array2::from_shape_simple_fn((n_out, n_in), || {
            std * rng.sample::<f32, _>(StandardNormal)
        });
        Layer { w, b: Array1::zeros(n_out) }
    }

    /// Number of inputs (parents).
    pub fn n_in(&self) -> usize {
        self.w.ncols()
    }

    /// Number of outputs (units).
    pub fn n_out(&self) -> usize {
        self.w.nrows()
    }

    /// Activations `x Wᵀ + b`, `[batch, n_out]`, for inputs `x` `[batch, n_in]`.
    ///
    /// # Panics
    /// If `x` does not have `n_in` columns.
    pub fn activation(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let mut a = self.weighted_inputs(x);
        a += &self.b;
        a
    }

    /// `x Wᵀ` without the biases, which the elementwise pass that follows adds.
    fn weighted_inputs(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let mut a = Array2::zeros((x.nrows(), self.n_out()));
        self.weighted_inputs_into(x, a.view_mut());
        a
    }

    /// `out ← x Wᵀ`.
    fn weighted_inputs_into(&self, x: ArrayView2<f32>, out: ArrayViewMut2<f32>) {
        assert_eq!(x.ncols(), self.n_in(), "layer input width");
        gemm_split_rows(1.0, x, self.w.t(), 0.0, out);
    }

    fn biases(&self) -> &[f32] {
        self.b.as_slice().expect("biases are contiguous")
    }

    /// Means `tanh(x Wᵀ + b)`, `[batch, n_out]`.
    pub fn mean(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let mut a = Array2::zeros((x.nrows(), self.n_out()));
        self.mean_into(x, a.view_mut());
        a
    }

    /// `out ← tanh(x Wᵀ + b)`, into rows the caller owns.
    fn mean_into(&self, x: ArrayView2<f32>, mut out: ArrayViewMut2<f32>) {
        self.weighted_inputs_into(x, out.view_mut());
        tanh_biased_in_place(out, self.biases());
    }

    /// The delta-rule gradient for parents `x` `[batch, n_in]` and targets `y` `[batch, n_out]`:
    /// `dW = ⟨(y − tanh a) xᵀ⟩`, `db = ⟨y − tanh a⟩` over the batch (Eqs. 15–18). It is the
    /// gradient of the batch-mean of Σ_j [`log_lik`]`(y_j, a_j)`.
    pub fn delta_rule_gradient(&self, x: ArrayView2<f32>, y: ArrayView2<f32>) -> LayerGradient {
        self.fit(x, y, self.n_out()).0
    }

    /// Gradient (the batch mean) plus the objective sums, split at output column `split`.
    fn fit(
        &self,
        x: ArrayView2<f32>,
        y: ArrayView2<f32>,
        split: usize,
    ) -> (LayerGradient, FitSums) {
        self.fit_scaled(x, y, split, inverse_count(x.nrows()))
    }

    /// Like [`Layer::fit`] but the gradient is the sum over the rows times `scale`, so that the
    /// pieces of a batch split across threads add up to the batch mean.
    fn fit_scaled(
        &self,
        x: ArrayView2<f32>,
        y: ArrayView2<f32>,
        split: usize,
        scale: f32,
    ) -> (LayerGradient, FitSums) {
        let mut delta = self.weighted_inputs(x);
        let sums = delta_in_place(&mut delta, y, self.biases(), split);
        let mut dw = Array2::zeros(self.w.raw_dim());
        // Not split: the pieces would each pack all of `x` again.
        mat_mul(scale, delta.t(), x, 0.0, dw.view_mut());
        let db = delta.sum_axis(Axis(0)) * scale;
        (LayerGradient { dw, db }, sums)
    }

    /// `W += lr · dW`, `b += lr · db` (ascent).
    ///
    /// # Panics
    /// If the gradient's shapes differ from the layer's.
    pub fn apply(&mut self, grad: &LayerGradient, lr: f32) {
        self.w.scaled_add(lr, &grad.dw);
        self.b.scaled_add(lr, &grad.db);
    }
}

/// Serialised form of a [`Layer`]: shape plus row-major data, validated on the way in.
#[derive(Serialize, Deserialize)]
struct LayerRepr {
    n_out: usize,
    n_in: usize,
    w: Vec<f32>,
    b: Vec<f32>,
}

impl TryFrom<LayerRepr> for Layer {
    type Error = ModelError;
    fn try_from(r: LayerRepr) -> Result<Self, ModelError> {
        let w = Array2::from_shape_vec((r.n_out, r.n_in), r.w).map_err(|_| {
            ModelError::Layer(format!("weights do not hold {} x {} values", r.n_out, r.n_in))
        })?;
        Layer::new(w, Array1::from(r.b))
    }
}

impl From<Layer> for LayerRepr {
    fn from(l: Layer) -> Self {
        let (n_out, n_in) = l.w.dim();
        LayerRepr { n_out, n_in, w: l.w.iter().copied().collect(), b: l.b.to_vec() }
    }
}

// ---------------------------------------------------------------------------------------------
// Recognition and generator networks
// ---------------------------------------------------------------------------------------------

/// The recognition network Q(u1, u2 | v) = Q(u1 | v) Q(u2 | u1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recognition {
    /// Q(u1 | v): `[hidden1, visible]`.
    pub v_to_u1: Layer,
    /// Q(u2 | u1): `[hidden2, hidden1]`.
    pub u1_to_u2: Layer,
}

/// The generator network P(v, u1 | u2) = P(v | u1) P(u1 | u2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Generator {
    /// P(u1 | u2): `[hidden1, hidden2]`.
    pub u2_to_u1: Layer,
    /// P(v | u1): `[visible, hidden1]`; the first `pixels` outputs are deterministic tanh units,
    /// the rest ±1 class bits.
    pub u1_to_v: Layer,
    /// Number of leading deterministic (pixel) outputs of `u1_to_v`.
    pub pixels: usize,
}

/// Gradient of the recognition network (sleep phase).
#[derive(Clone, Debug, PartialEq)]
pub struct RecognitionGradient {
    pub v_to_u1: LayerGradient,
    pub u1_to_u2: LayerGradient,
}

/// Gradient of the generator network (wake phase).
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorGradient {
    pub u2_to_u1: LayerGradient,
    pub u1_to_v: LayerGradient,
}

impl Recognition {
    /// Samples `(u1, u2)` from Q given visible vectors `v` `[batch, visible]`:
    /// `u1 ~ Q(u1 | v)`, `u2 ~ Q(u2 | u1)`; u1's draws come first.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        v: ArrayView2<f32>,
        rng: &mut R,
    ) -> (Array2<f32>, Array2<f32>) {
        let mut u1 = Array2::zeros((v.nrows(), self.v_to_u1.n_out()));
        let mut u2 = Array2::zeros((v.nrows(), self.u1_to_u2.n_out()));
        self.sample_into(v, rng, u1.view_mut(), u2.view_mut());
        (u1, u2)
    }

    /// [`Recognition::sample`] into rows the caller owns.
    fn sample_into<R: Rng + ?Sized>(
        &self,
        v: ArrayView2<f32>,
        rng: &mut R,
        mut u1: ArrayViewMut2<f32>,
        mut u2: ArrayViewMut2<f32>,
    ) {
        self.v_to_u1.mean_into(v, u1.view_mut());
        sample_pm1_in_place(u1.view_mut(), rng);
        self.u1_to_u2.mean_into(u1.view(), u2.view_mut());
        sample_pm1_in_place(u2, rng);
    }

    /// Mean-field pass: `m1 = tanh(W₁ v + b₁)`, `m2 = tanh(W₂ m1 + b₂)`.
    pub fn mean_field(&self, v: ArrayView2<f32>) -> (Array2<f32>, Array2<f32>) {
        let m1 = self.v_to_u1.mean(v);
        let m2 = self.u1_to_u2.mean(m1.view());
        (m1, m2)
    }

    /// `W += lr · dW`, `b += lr · db` for both layers.
    pub fn apply(&mut self, grad: &RecognitionGradient, lr: f32) {
        self.v_to_u1.apply(&grad.v_to_u1, lr);
        self.u1_to_u2.apply(&grad.u1_to_u2, lr);
    }
}

impl Generator {
    /// Means of the visible layer given `u1`: pixels `tanh(a)` and class-bit means `tanh(a)`.
    pub fn visible_means(&self, u1: ArrayView2<f32>) -> Array2<f32> {
        self.u1_to_v.mean(u1)
    }

    /// A dream (sleep phase, Eq. 17): `u1 ~ P(u1 | u2)`, then the visible layer with
    /// deterministic pixels and sampled ±1 class bits. Returns `(u1, v)`; u1's draws come first.
    pub fn dream<R: Rng + ?Sized>(
        &self,
        u2: ArrayView2<f32>,
        rng: &mut R,
    ) -> (Array2<f32>, Array2<f32>) {
        let mut u1 = self.u2_to_u1.mean(u2);
        sample_pm1_in_place(u1.view_mut(), rng);
        let mut v = self.visible_means(u1.view());
        let (_, classes) = v.view_mut().split_at(Axis(1), self.pixels);
        sample_pm1_in_place(classes, rng);
        (u1, v)
    }

    /// Generated visible means for prior samples `u2` `[batch, hidden2]`: `u1 ~ P(u1 | u2)`,
    /// then pixels and class-bit means (not sampled).
    pub fn generate<R: Rng + ?Sized>(&self, u2: ArrayView2<f32>, rng: &mut R) -> Array2<f32> {
        let mut u1 = self.u2_to_u1.mean(u2);
        sample_pm1_in_place(u1.view_mut(), rng);
        self.visible_means(u1.view())
    }

    /// Mean-field generation: `u1` replaced by its mean.
    pub fn generate_mean_field(&self, u2: ArrayView2<f32>) -> Array2<f32> {
        let m1 = self.u2_to_u1.mean(u2);
        self.visible_means(m1.view())
    }

    /// `W += lr · dW`, `b += lr · db` for both layers.
    pub fn apply(&mut self, grad: &GeneratorGradient, lr: f32) {
        self.u2_to_u1.apply(&grad.u2_to_u1, lr);
        self.u1_to_v.apply(&grad.u1_to_v, lr);
    }
}

// ---------------------------------------------------------------------------------------------
// The machine
// ---------------------------------------------------------------------------------------------

/// Metrics and by-products of a wake phase. Log-likelihoods are per example (summed over units,
/// averaged over the batch); the MSE is per pixel.
#[derive(Clone, Debug, PartialEq)]
pub struct WakeStats {
    /// Recognition samples `u1 ~ Q(u1 | v)`, `[batch, hidden1]`.
    pub u1: Array2<f32>,
    /// Recognition samples `u2 ~ Q(u2 | u1)`, `[batch, hidden2]`: the data side of the prior's
    /// update (its statistics are ⟨u2⟩ and ⟨u2 u2ᵀ⟩ over the batch).
    pub u2: Array2<f32>,
    /// ⟨log P(u1 | u2)⟩ before the update.
    pub log_p_u1: f32,
    /// ⟨log P(class bits | u1)⟩ before the update.
    pub log_p_classes: f32,
    /// ⟨Σ pixels ℓ(y, a)⟩, the soft-target cross-entropy the pixel delta rule ascends.
    pub pixel_log_lik: f32,
    /// Mean squared pixel error of the generator's prediction tanh(a) from the recognised u1.
    pub pixel_mse: f32,
}

impl WakeStats {
    /// The wake objective the update ascends: `log_p_u1 + log_p_classes + pixel_log_lik`.
    pub fn objective(&self) -> f32 {
        self.log_p_u1 + self.log_p_classes + self.pixel_log_lik
    }
}

/// Metrics of a sleep phase, per example, before the update.
#[derive(Clone, Debug, PartialEq)]
pub struct SleepStats {
    /// ⟨log Q(u1 | v)⟩ over the dreams.
    pub log_q_u1: f32,
    /// ⟨log Q(u2 | u1)⟩ over the dreams.
    pub log_q_u2: f32,
}

impl SleepStats {
    /// The sleep objective the update ascends: `log_q_u1 + log_q_u2`.
    pub fn objective(&self) -> f32 {
        self.log_q_u1 + self.log_q_u2
    }
}

/// A reconstruction `v → u1 → u2 → u1' → v̂`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reconstruction {
    /// Visible means `[batch, visible]`: pixels, then class-bit means.
    pub visible: Array2<f32>,
    /// Mean squared pixel error against the input.
    pub pixel_mse: f32,
}

/// The Helmholtz machine: recognition Q and generator P (the prior over u2 is external).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MachineRepr")]
pub struct HelmholtzMachine {
    pub sizes: LayerSizes,
    pub recognition: Recognition,
    pub generator: Generator,
}

#[derive(Deserialize)]
struct MachineRepr {
    sizes: LayerSizes,
    recognition: Recognition,
    generator: Generator,
}

impl TryFrom<MachineRepr> for HelmholtzMachine {
    type Error = ModelError;
    fn try_from(r: MachineRepr) -> Result<Self, ModelError> {
        let m =
            HelmholtzMachine { sizes: r.sizes, recognition: r.recognition, generator: r.generator };
        m.validate()?;
        Ok(m)
    }
}

/// `1/n`, or 0 for an empty batch.
fn inverse_count(n: usize) -> f32 {
    if n == 0 { 0.0 } else { 1.0 / n as f32 }
}

fn mean_of(sum: f64, n: usize) -> f32 {
    if n == 0 { 0.0 } else { (sum / n as f64) as f32 }
}

/// A phase splits its batch into pieces of at least this many rows...
const PIECE_MIN_ROWS: usize = 50;
/// ...and into at most this many pieces.
const MAX_PIECES: usize = 8;

/// The row ranges a batch of `n` is split into. They depend on `n` alone, never on the number
/// of threads, so results are the same on every machine.
fn row_pieces(n: usize) -> Vec<std::ops::Range<usize>> {
    let k = (n / PIECE_MIN_ROWS).clamp(1, MAX_PIECES);
    (0..k).map(|i| (i * n / k)..((i + 1) * n / k)).collect()
}

/// Runs `f` on every piece of a batch of `n` rows, in parallel, each with its own generator
/// seeded from `rng` in piece order; returns the results in piece order.
fn map_row_pieces<T, R, F>(n: usize, rng: &mut R, f: F) -> Vec<T>
where
    T: Send,
    R: Rng + ?Sized,
    F: Fn(std::ops::Range<usize>, &mut Xoshiro256PlusPlus) -> T + Sync,
{
    let unit = vec![(); row_pieces(n).len()];
    map_row_pieces_with(n, rng, unit, |rows, rng, ()| f(rows, rng))
}

/// [`map_row_pieces`] handing each piece its own item of `parts` (one per piece, in order),
/// typically its rows of an output array.
fn map_row_pieces_with<P, T, R, F>(n: usize, rng: &mut R, parts: Vec<P>, f: F) -> Vec<T>
where
    P: Send,
    T: Send,
    R: Rng + ?Sized,
    F: Fn(std::ops::Range<usize>, &mut Xoshiro256PlusPlus, P) -> T + Sync,
{
    let pieces = row_pieces(n);
    assert_eq!(parts.len(), pieces.len(), "one part per piece");
    let seeds: Vec<u64> = pieces.iter().map(|_| rng.next_u64()).collect();
    pieces
        .into_par_iter()
        .zip(seeds)
        .zip(parts)
        .map(|((rows, seed), part)| f(rows, &mut Xoshiro256PlusPlus::seed_from_u64(seed), part))
        .collect()
}

/// `a`'s rows split as [`row_pieces`] splits a batch of `a.nrows()`, mutably and in order: each
/// piece fills its own rows of a shared output (stacking the pieces' rows afterwards would
/// copy them all on one thread).
fn piece_rows_mut(a: &mut Array2<f32>) -> Vec<ArrayViewMut2<'_, f32>> {
    let mut rest = a.view_mut();
    let mut parts = Vec::new();
    let mut start = 0;
    for rows in row_pieces(rest.nrows()) {
        let (head, tail) = rest.split_at(Axis(0), rows.end - start);
        parts.push(head);
        (rest, start) = (tail, rows.end);
    }
    parts
}

/// The sum of the pieces' gradients and objective sums, added in piece order.
fn sum_fits<'a>(
    mut pieces: impl Iterator<Item = &'a (LayerGradient, FitSums)>,
) -> (LayerGradient, FitSums) {
    let (first, first_sums) = pieces.next().expect("a batch has at least one piece");
    let (mut grad, mut sums) = (first.clone(), *first_sums);
    for (g, s) in pieces {
        grad.accumulate(g);
        sums.accumulate(s);
    }
    (grad, sums)
}

impl HelmholtzMachine {
    /// A machine with weights i.i.d. N(0, init_std²) and zero biases. Draw order: Q(u1|v),
    /// Q(u2|u1), P(u1|u2), P(v|u1), each row-major.
    pub fn new<R: Rng + ?Sized>(
        sizes: LayerSizes,
        init_std: f32,
        rng: &mut R,
    ) -> Result<Self, ModelError> {
        sizes.validate()?;
        if !(init_std.is_finite() && init_std >= 0.0) {
            return Err(ModelError::InitScale(init_std.to_string()));
        }
        let LayerSizes { pixels, hidden1: h1, hidden2: h2, .. } = sizes;
        let vis = sizes.visible();
        let recognition = Recognition {
            v_to_u1: Layer::random(vis, h1, init_std, rng),
            u1_to_u2: Layer::random(h1, h2, init_std, rng),
        };
        let generator = Generator {
            u2_to_u1: Layer::random(h2, h1, init_std, rng),
            u1_to_v: Layer::random(h1, vis, init_std, rng),
            pixels,
        };
        Ok(HelmholtzMachine { sizes, recognition, generator })
    }

    /// Checks that every layer's shape matches `sizes`.
    pub fn validate(&self) -> Result<(), ModelError> {
        self.sizes.validate()?;
        let s = &self.sizes;
        let expect = [
            ("recognition v_to_u1", &self.recognition.v_to_u1, s.visible(), s.hidden1),
            ("recognition u1_to_u2", &self.recognition.u1_to_u2, s.hidden1, s.hidden2),
            ("generator u2_to_u1", &self.generator.u2_to_u1, s.hidden2, s.hidden1),
            ("generator u1_to_v", &self.generator.u1_to_v, s.hidden1, s.visible()),
        ];
        for (name, layer, n_in, n_out) in expect {
            if (layer.n_in(), layer.n_out(), layer.b.len()) != (n_in, n_out, n_out) {
                return Err(ModelError::Shapes(format!(
                    "{name} is {} -> {} with {} biases, expected {n_in} -> {n_out}",
                    layer.n_in(),
                    layer.n_out(),
                    layer.b.len()
                )));
            }
        }
        if self.generator.pixels != s.pixels {
            return Err(ModelError::Shapes(format!(
                "generator has {} pixels, sizes say {}",
                self.generator.pixels, s.pixels
            )));
        }
        Ok(())
    }

    /// Sets the generator's visible biases so that, with zero weights, P(v | u1) reproduces the
    /// data's mean visible vector: `b = atanh(clamp(⟨v⟩, ±0.999))`. A common initialisation that
    /// spares the first epochs learning the mean image; not part of the paper's description.
    pub fn set_visible_bias_from_data(&mut self, v: ArrayView2<f32>) {
        assert_eq!(v.ncols(), self.sizes.visible(), "visible width");
        if let Some(mean) = v.mean_axis(Axis(0)) {
            self.generator.u1_to_v.b = mean.mapv(|m| m.clamp(-0.999, 0.999).atanh());
        }
    }

    /// Wake-phase gradient (Eqs. 15–16) for data `v` `[batch, visible]`: samples `u1, u2` from Q
    /// and fits the generator's P(u1 | u2) and P(v | u1) to them by the delta rule.
    ///
    /// # Panics
    /// If `v` is not `[batch, visible]`.
    pub fn wake_gradient<R: Rng + ?Sized>(
        &self,
        v: ArrayView2<f32>,
        rng: &mut R,
    ) -> (GeneratorGradient, WakeStats) {
        assert_eq!(v.ncols(), self.sizes.visible(), "wake: visible width");
        let n = v.nrows();
        let scale = inverse_count(n);
        let mut u1 = Array2::zeros((n, self.sizes.hidden1));
        let mut u2 = Array2::zeros((n, self.sizes.hidden2));
        let outputs = piece_rows_mut(&mut u1).into_iter().zip(piece_rows_mut(&mut u2)).collect();
        let pieces = map_row_pieces_with(n, rng, outputs, |rows, rng, (mut u1, mut u2)| {
            let v = v.slice(ndarray::s![rows, ..]);
            self.recognition.sample_into(v, rng, u1.view_mut(), u2.view_mut());
            let top =
                self.generator.u2_to_u1.fit_scaled(u2.view(), u1.view(), self.sizes.hidden1, scale);
            let bottom = self.generator.u1_to_v.fit_scaled(u1.view(), v, self.sizes.pixels, scale);
            (top, bottom)
        });
        let (g_top, s_top) = sum_fits(pieces.iter().map(|p| &p.0));
        let (g_bottom, s_bottom) = sum_fits(pieces.iter().map(|p| &p.1));
        let stats = WakeStats {
            log_p_u1: mean_of(s_top.log_lik[0], n),
            log_p_classes: mean_of(s_bottom.log_lik[1], n),
            pixel_log_lik: mean_of(s_bottom.log_lik[0], n),
            pixel_mse: mean_of(s_bottom.sq_err[0], n * self.sizes.pixels),
            u1,
            u2,
        };
        (GeneratorGradient { u2_to_u1: g_top, u1_to_v: g_bottom }, stats)
    }

    /// One wake phase with plain gradient ascent at rate `lr` on the generator. The returned
    /// [`WakeStats::u2`] are the recognition samples the prior's own update needs.
    pub fn wake_step<R: Rng + ?Sized>(
        &mut self,
        v: ArrayView2<f32>,
        lr: f32,
        rng: &mut R,
    ) -> WakeStats {
        let (grad, stats) = self.wake_gradient(v, rng);
        self.generator.apply(&grad, lr);
        stats
    }

    /// Sleep-phase gradient (Eqs. 17–18) for prior samples `u2` `[batch, hidden2]` (±1): dreams
    /// `u1, v` from the generator and fits the recognition's Q(u1 | v) and Q(u2 | u1) to them.
    ///
    /// # Panics
    /// If `u2` is not `[batch, hidden2]`.
    pub fn sleep_gradient<R: Rng + ?Sized>(
        &self,
        u2: ArrayView2<f32>,
        rng: &mut R,
    ) -> (RecognitionGradient, SleepStats) {
        assert_eq!(u2.ncols(), self.sizes.hidden2, "sleep: prior sample width");
        let n = u2.nrows();
        let scale = inverse_count(n);
        let pieces = map_row_pieces(n, rng, |rows, rng| {
            let u2 = u2.slice(ndarray::s![rows, ..]);
            let (u1, v) = self.generator.dream(u2, rng);
            let bottom =
                self.recognition.v_to_u1.fit_scaled(v.view(), u1.view(), self.sizes.hidden1, scale);
            let top =
                self.recognition.u1_to_u2.fit_scaled(u1.view(), u2, self.sizes.hidden2, scale);
            (bottom, top)
        });
        let (g_bottom, s_bottom) = sum_fits(pieces.iter().map(|p| &p.0));
        let (g_top, s_top) = sum_fits(pieces.iter().map(|p| &p.1));
        let stats = SleepStats {
            log_q_u1: mean_of(s_bottom.log_lik[0], n),
            log_q_u2: mean_of(s_top.log_lik[0], n),
        };
        (RecognitionGradient { v_to_u1: g_bottom, u1_to_u2: g_top }, stats)
    }

    /// One sleep phase with plain gradient ascent at rate `lr` on the recognition network.
    pub fn sleep_step<R: Rng + ?Sized>(
        &mut self,
        u2_prior: ArrayView2<f32>,
        lr: f32,
        rng: &mut R,
    ) -> SleepStats {
        let (grad, stats) = self.sleep_gradient(u2_prior, rng);
        self.recognition.apply(&grad, lr);
        stats
    }

    fn reconstruction(&self, v: ArrayView2<f32>, visible: Array2<f32>) -> Reconstruction {
        let p = self.sizes.pixels;
        let mut se = 0.0f64;
        for (a, b) in v.rows().into_iter().zip(visible.rows()) {
            let row: f32 = a.iter().zip(b.iter()).take(p).map(|(x, y)| (x - y) * (x - y)).sum();
            se += f64::from(row);
        }
        Reconstruction { pixel_mse: mean_of(se, v.nrows() * p), visible }
    }

    /// Mean-field reconstruction `v → m1 → m2 → m1' → v̂` (all units replaced by their means).
    pub fn reconstruct(&self, v: ArrayView2<f32>) -> Reconstruction {
        assert_eq!(v.ncols(), self.sizes.visible(), "reconstruct: visible width");
        let (_, m2) = self.recognition.mean_field(v);
        let visible = self.generator.generate_mean_field(m2.view());
        self.reconstruction(v, visible)
    }

    /// Stochastic reconstruction: `u1, u2 ~ Q(· | v)`, `u1' ~ P(u1 | u2)`, v̂ = means of P(v | u1').
    pub fn reconstruct_sampled<R: Rng + ?Sized>(
        &self,
        v: ArrayView2<f32>,
        rng: &mut R,
    ) -> Reconstruction {
        assert_eq!(v.ncols(), self.sizes.visible(), "reconstruct: visible width");
        let (_, u2) = self.recognition.sample(v, rng);
        let visible = self.generator.generate(u2.view(), rng);
        self.reconstruction(v, visible)
    }

    /// Generated visible means for prior samples `u2` `[batch, hidden2]`
    /// (see [`Generator::generate`]): pixels, then class-bit means.
    pub fn generate<R: Rng + ?Sized>(&self, u2: ArrayView2<f32>, rng: &mut R) -> Array2<f32> {
        assert_eq!(u2.ncols(), self.sizes.hidden2, "generate: prior sample width");
        self.generator.generate(u2, rng)
    }

    /// Visible vectors for classification: the pixels, class bits 0 ("unknown").
    fn unlabelled(&self, pixels: ArrayView2<f32>) -> Array2<f32> {
        assert_eq!(pixels.ncols(), self.sizes.pixels, "classify: pixel width");
        let mut v = Array2::zeros((pixels.nrows(), self.sizes.visible()));
        v.view_mut().split_at(Axis(1), self.sizes.pixels).0.assign(&pixels);
        v
    }

    /// Class-bit means `[batch, classes]` for pixels `[batch, pixels]`: a mean-field recognition
    /// pass with the class bits set to 0, then down through the generator.
    pub fn class_scores(&self, pixels: ArrayView2<f32>) -> Array2<f32> {
        let v = self.unlabelled(pixels);
        let visible = self.reconstruct(v.view()).visible;
        visible.view().split_at(Axis(1), self.sizes.pixels).1.to_owned()
    }

    /// Class-bit means averaged over `n_samples` stochastic passes (Q samples, then P(u1 | u2));
    /// zeros if `n_samples` is 0.
    pub fn class_scores_sampled<R: Rng + ?Sized>(
        &self,
        pixels: ArrayView2<f32>,
        n_samples: usize,
        rng: &mut R,
    ) -> Array2<f32> {
        let v = self.unlabelled(pixels);
        let mut acc = Array2::zeros((pixels.nrows(), self.sizes.classes));
        for _ in 0..n_samples {
            let visible = self.reconstruct_sampled(v.view(), rng).visible;
            acc += &visible.view().split_at(Axis(1), self.sizes.pixels).1;
        }
        if n_samples > 0 {
            acc /= n_samples as f32;
        }
        acc
    }

    /// Predicted classes (argmax of [`class_scores`](Self::class_scores), ties to the lowest).
    ///
    /// # Panics
    /// If the machine has no class units.
    pub fn classify(&self, pixels: ArrayView2<f32>) -> Vec<u8> {
        argmax_rows(self.class_scores(pixels).view())
    }
}

/// Index of the largest entry of each row (first on ties).
///
/// # Panics
/// If rows are empty or longer than 256.
pub fn argmax_rows(scores: ArrayView2<f32>) -> Vec<u8> {
    assert!(scores.ncols() > 0 && scores.ncols() <= 256, "argmax over 1..=256 columns");
    scores
        .rows()
        .into_iter()
        .map(|r| {
            let mut best = 0;
            for (j, &x) in r.iter().enumerate() {
                if x > r[best] {
                    best = j;
                }
            }
            best as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    type TestRng = Xoshiro256PlusPlus;

    fn rng(seed: u64) -> TestRng {
        TestRng::seed_from_u64(seed)
    }

    fn small_sizes() -> LayerSizes {
        LayerSizes { pixels: 6, classes: 3, hidden1: 5, hidden2: 4 }
    }

    /// Random ±1 matrix.
    fn pm1(rows: usize, cols: usize, r: &mut TestRng) -> Array2<f32> {
        Array2::from_shape_simple_fn((rows, cols), || if r.random::<bool>() { 1.0 } else { -1.0 })
    }

    /// Batch-mean of Σ_j ℓ(y_j, a_j) in f64 (the objective the delta rule ascends), computed
    /// naively from the layer's parameters.
    fn objective_f64(w: &Array2<f64>, b: &Array1<f64>, x: &Array2<f64>, y: &Array2<f64>) -> f64 {
        let a = x.dot(&w.t()) + b;
        let mut total = 0.0;
        for (&ai, &yi) in a.iter().zip(y.iter()) {
            // log((1 + y tanh a)/2) written stably as log σ(2a) − (1 − y) a.
            let ls = (2.0 * ai).min(0.0) - (-(2.0 * ai).abs()).exp().ln_1p();
            total += ls - (1.0 - yi) * ai;
        }
        total / x.nrows() as f64
    }

    /// Central finite differences of `objective_f64` with respect to every weight and bias.
    fn finite_difference(layer: &Layer, x: &Array2<f32>, y: &Array2<f32>) -> LayerGradient {
        let w = layer.w.mapv(f64::from);
        let b = layer.b.mapv(f64::from);
        let (x, y) = (x.mapv(f64::from), y.mapv(f64::from));
        let h = 1e-5;
        let mut dw = Array2::zeros(w.raw_dim());
        for idx in ndarray::indices(w.raw_dim()) {
            let (mut wp, mut wm) = (w.clone(), w.clone());
            wp[idx] += h;
            wm[idx] -= h;
            let g = (objective_f64(&wp, &b, &x, &y) - objective_f64(&wm, &b, &x, &y)) / (2.0 * h);
            dw[idx] = g as f32;
        }
        let mut db = Array1::zeros(b.len());
        for j in 0..b.len() {
            let (mut bp, mut bm) = (b.clone(), b.clone());
            bp[j] += h;
            bm[j] -= h;
            let g = (objective_f64(&w, &bp, &x, &y) - objective_f64(&w, &bm, &x, &y)) / (2.0 * h);
            db[j] = g as f32;
        }
        LayerGradient { dw, db }
    }

    /// Every entry of `dw` and `db` within 1e-5 (the error budget of the finite-difference
    /// tests: see the first of them).
    fn assert_gradients_agree(g: &LayerGradient, fd: &LayerGradient) {
        for (a, b) in g.dw.iter().zip(fd.dw.iter()).chain(g.db.iter().zip(fd.db.iter())) {
            assert_abs_diff_eq!(a, b, epsilon = 1e-5);
        }
    }

    #[test]
    fn log_lik_is_log_of_bernoulli_probability_and_stable() {
        for &a in &[-3.0f32, -0.7, 0.0, 0.2, 2.5] {
            for &y in &[-1.0f32, 1.0] {
                let direct = ((1.0 + y * a.tanh()) / 2.0).ln();
                // Direct formula is accurate to f32 round-off for |a| ≤ 3 (probabilities ≥ 2.5e-3).
                assert_abs_diff_eq!(log_lik(y, a), direct, epsilon = 1e-5);
            }
        }
        // Saturated activations stay finite: log P(−1 | a = 50) = −100 (up to e^{−100}).
        assert_abs_diff_eq!(log_lik(-1.0, 50.0), -100.0, epsilon = 1e-4);
        assert_abs_diff_eq!(log_lik(1.0, 50.0), 0.0, epsilon = 1e-6);
    }

    #[test]
    fn delta_rule_matches_finite_differences_for_pm1_targets() {
        let mut r = rng(1);
        // Weights large enough (std 0.5) that tanh is far from linear: a real test of the rule.
        let layer = Layer {
            w: Array2::from_shape_simple_fn((4, 7), || 0.5 * r.sample::<f32, _>(StandardNormal)),
            b: Array1::from_shape_simple_fn(4, || 0.3 * r.sample::<f32, _>(StandardNormal)),
        };
        let x = pm1(9, 7, &mut r);
        let y = pm1(9, 4, &mut r);
        let g = layer.delta_rule_gradient(x.view(), y.view());
        let fd = finite_difference(&layer, &x, &y);
        // Analytic gradient in f32 (entries O(1), sums of 9 terms: error ~1e-6); central
        // differences in f64 with h = 1e-5 have truncation error ~h² · |f'''| ≈ 1e-10 and
        // round-off ~1e-16/h ≈ 1e-11. So 1e-5 leaves a wide margin and still catches any wrong
        // factor or sign.
        assert_eq!(g.dw.dim(), (4, 7));
        assert_gradients_agree(&g, &fd);
    }

    #[test]
    fn pixel_delta_rule_is_the_gradient_of_the_soft_target_cross_entropy() {
        let mut r = rng(2);
        let layer = Layer {
            w: Array2::from_shape_simple_fn((5, 6), || 0.6 * r.sample::<f32, _>(StandardNormal)),
            b: Array1::from_shape_simple_fn(5, || 0.2 * r.sample::<f32, _>(StandardNormal)),
        };
        let x = pm1(8, 6, &mut r);
        // Continuous targets in [−1, 1], as grey pixels are.
        let y = Array2::from_shape_simple_fn((8, 5), || r.random_range(-1.0f32..=1.0));
        let g = layer.delta_rule_gradient(x.view(), y.view());
        let fd = finite_difference(&layer, &x, &y);
        // Same error budget as the ±1 test above.
        assert_gradients_agree(&g, &fd);
    }

    #[test]
    fn pixel_delta_rule_descends_the_squared_error() {
        // The delta rule is not the squared-error gradient, but for a single example the step
        // changes every activation by lr·δ_j·(|x|² + 1), and d/da (y − tanh a)² =
        // −2 δ (1 − tanh² a), so a small step can only lower the squared error; check it.
        let mut r = rng(3);
        for _ in 0..20 {
            let mut layer = Layer::random(6, 5, 0.8, &mut r);
            let x = pm1(1, 6, &mut r);
            let y = Array2::from_shape_simple_fn((1, 5), || r.random_range(-1.0f32..=1.0));
            let sq = |l: &Layer| (&y - &l.mean(x.view())).mapv(|d| d * d).sum();
            let before = sq(&layer);
            let g = layer.delta_rule_gradient(x.view(), y.view());
            layer.apply(&g, 1e-3);
            assert!(sq(&layer) <= before, "{} > {before}", sq(&layer));
        }
    }

    #[test]
    fn wake_stats_match_a_naive_recomputation() {
        let sizes = small_sizes();
        let mut r = rng(4);
        let m = HelmholtzMachine::new(sizes, 0.5, &mut r).unwrap();
        let mut v = Array2::from_shape_simple_fn((7, 9), || r.random_range(-1.0f32..=1.0));
        v.view_mut().split_at(Axis(1), 6).1.assign(&pm1(7, 3, &mut r));
        let (_, s) = m.wake_gradient(v.view(), &mut rng(5));
        let a1 = m.generator.u2_to_u1.activation(s.u2.view());
        let av = m.generator.u1_to_v.activation(s.u1.view());
        let mut ll_u1 = 0.0;
        for (&a, &y) in a1.iter().zip(s.u1.iter()) {
            ll_u1 += ((1.0 + y as f64 * (a as f64).tanh()) / 2.0).ln();
        }
        let (mut ll_px, mut ll_cls, mut se) = (0.0, 0.0, 0.0);
        for ((i, j), &a) in av.indexed_iter() {
            let (a, y) = (a as f64, v[[i, j]] as f64);
            let t = a.tanh();
            let l = ((1.0 + y) / 2.0) * ((1.0 + t) / 2.0).ln()
                + ((1.0 - y) / 2.0) * ((1.0 - t) / 2.0).ln();
            if j < 6 {
                ll_px += l;
                se += (y - t) * (y - t);
            } else {
                ll_cls += l;
            }
        }
        // f32 kernels vs f64 naive sums of ~40 terms of size O(1): agree to ~1e-5.
        assert_abs_diff_eq!(s.log_p_u1, (ll_u1 / 7.0) as f32, epsilon = 1e-4);
        assert_abs_diff_eq!(s.pixel_log_lik, (ll_px / 7.0) as f32, epsilon = 1e-4);
        assert_abs_diff_eq!(s.log_p_classes, (ll_cls / 7.0) as f32, epsilon = 1e-4);
        assert_abs_diff_eq!(s.pixel_mse, (se / 42.0) as f32, epsilon = 1e-5);
        assert_abs_diff_eq!(s.objective(), s.log_p_u1 + s.log_p_classes + s.pixel_log_lik);
    }

    #[test]
    fn shapes_of_every_pass() {
        let sizes = LayerSizes::default();
        let mut r = rng(6);
        let mut m = HelmholtzMachine::new(sizes, 0.01, &mut r).unwrap();
        assert_eq!(sizes.visible(), 266);
        assert_eq!(m.recognition.v_to_u1.w.dim(), (120, 266));
        assert_eq!(m.recognition.u1_to_u2.w.dim(), (60, 120));
        assert_eq!(m.generator.u2_to_u1.w.dim(), (120, 60));
        assert_eq!(m.generator.u1_to_v.w.dim(), (266, 120));
        let v = Array2::from_shape_simple_fn((11, 266), || r.random_range(-1.0f32..=1.0));
        let s = m.wake_step(v.view(), 0.1, &mut r);
        assert_eq!((s.u1.dim(), s.u2.dim()), ((11, 120), (11, 60)));
        assert!(s.u2.iter().all(|&x| x == 1.0 || x == -1.0));
        let u2 = pm1(13, 60, &mut r);
        let (u1, dream) = m.generator.dream(u2.view(), &mut r);
        assert_eq!((u1.dim(), dream.dim()), ((13, 120), (13, 266)));
        // Class bits of a dream are sampled ±1; pixels are continuous in (−1, 1).
        let (px, cls) = dream.view().split_at(Axis(1), 256);
        assert!(cls.iter().all(|&x| x == 1.0 || x == -1.0));
        assert!(px.iter().all(|&x| x.abs() < 1.0));
        let ss = m.sleep_step(u2.view(), 0.1, &mut r);
        assert!(ss.objective().is_finite() && ss.objective() < 0.0);
        assert_eq!(m.generate(u2.view(), &mut r).dim(), (13, 266));
        assert_eq!(m.reconstruct(v.view()).visible.dim(), (11, 266));
        assert_eq!(m.class_scores(px).dim(), (13, 10));
        assert_eq!(m.class_scores_sampled(px, 3, &mut r).dim(), (13, 10));
        assert_eq!(m.classify(px).len(), 13);
        // Empty batches are harmless.
        let empty = Array2::zeros((0, 266));
        let s = m.wake_step(empty.view(), 0.1, &mut r);
        assert_eq!((s.u2.dim(), s.log_p_u1), ((0, 60), 0.0));
    }

    #[test]
    fn sampling_is_unbiased_and_saturates() {
        let means = Array2::from_shape_fn((20_000, 3), |(_, j)| [-1.0, 0.4, 1.0][j]);
        let s = sample_pm1(means.view(), &mut rng(7));
        let avg = s.mean_axis(Axis(0)).unwrap();
        assert_eq!(avg[0], -1.0);
        assert_eq!(avg[2], 1.0);
        // Mean of 20,000 ±1 draws with mean 0.4: std (1 − 0.16)^½/√20000 ≈ 0.0065; 5σ ≈ 0.033.
        assert_abs_diff_eq!(avg[1], 0.4, epsilon = 0.033);
    }

    #[test]
    fn same_seed_same_machine_and_steps_different_seed_different() {
        let run = |seed: u64| {
            let mut r = rng(seed);
            let mut m = HelmholtzMachine::new(LayerSizes::default(), 0.01, &mut r).unwrap();
            // Big enough batches to take the parallel elementwise path.
            let v = Array2::from_shape_simple_fn((300, 266), || r.random_range(-1.0f32..=1.0));
            let u2 = pm1(300, 60, &mut r);
            let mut log = Vec::new();
            for _ in 0..3 {
                let w = m.wake_step(v.view(), 0.05, &mut r);
                let s = m.sleep_step(u2.view(), 0.05, &mut r);
                log.push((w.objective(), w.pixel_mse, s.objective(), w.u2));
            }
            (m, log)
        };
        let (a, la) = run(42);
        let (b, lb) = run(42);
        assert_eq!(a, b);
        assert_eq!(la, lb);
        let (c, _) = run(43);
        assert_ne!(a, c);
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let m = HelmholtzMachine::new(small_sizes(), 0.1, &mut rng(8)).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        let back: HelmholtzMachine = serde_json::from_str(&json).unwrap();
        assert_eq!(m, back);

        // A layer whose data does not fill its shape, and a machine whose layers disagree.
        let bad_layer = r#"{"n_out":2,"n_in":2,"w":[1,2,3],"b":[0,0]}"#;
        let err = serde_json::from_str::<Layer>(bad_layer).unwrap_err();
        assert!(err.to_string().contains("2 x 2"), "{err}");
        let mut wrong = m.clone();
        wrong.generator.u1_to_v = Layer::zeros(5, 8);
        let err = serde_json::from_str::<HelmholtzMachine>(&serde_json::to_string(&wrong).unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("generator u1_to_v"), "{err}");

        assert!(matches!(
            HelmholtzMachine::new(LayerSizes { hidden2: 0, ..small_sizes() }, 0.1, &mut rng(1)),
            Err(ModelError::Sizes(_))
        ));
        assert!(matches!(
            HelmholtzMachine::new(small_sizes(), f32::NAN, &mut rng(1)),
            Err(ModelError::InitScale(_))
        ));
        assert!(Layer::new(Array2::zeros((2, 3)), Array1::zeros(3)).is_err());
    }

    /// A toy data set: 4 prototypes of 8 pixels (±0.8 pattern) with class = prototype, plus
    /// pixel noise. Returns visible vectors `[n, 8 + 4]`.
    fn toy_data(n: usize, r: &mut TestRng) -> (Array2<f32>, Vec<u8>) {
        let protos = [
            [1.0f32, 1., 1., 1., -1., -1., -1., -1.],
            [-1., -1., -1., -1., 1., 1., 1., 1.],
            [1., -1., 1., -1., 1., -1., 1., -1.],
            [1., 1., -1., -1., 1., 1., -1., -1.],
        ];
        let mut v = Array2::zeros((n, 12));
        let mut labels = Vec::with_capacity(n);
        for (i, mut row) in v.outer_iter_mut().enumerate() {
            let k = i % 4;
            for j in 0..8 {
                row[j] = (0.8 * protos[k][j] + r.random_range(-0.15f32..0.15)).clamp(-1.0, 1.0);
            }
            for c in 0..4 {
                row[8 + c] = if c == k { 1.0 } else { -1.0 };
            }
            labels.push(k as u8);
        }
        (v, labels)
    }

    #[test]
    fn row_pieces_cover_the_batch_in_order() {
        assert_eq!(row_pieces(0), vec![0..0]);
        assert_eq!(row_pieces(99), vec![0..99]);
        assert_eq!(row_pieces(100), vec![0..50, 50..100]);
        let big = row_pieces(8000);
        assert_eq!(big.len(), MAX_PIECES);
        assert!(big.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!((big[0].start, big[MAX_PIECES - 1].end), (0, 8000));
    }

    #[test]
    fn a_batch_split_into_pieces_has_the_whole_batch_gradient() {
        // 230 rows → 4 pieces processed in parallel; the gradient must be the batch mean of the
        // delta rule over the samples the pieces drew (recomputed here in one piece).
        let sizes = small_sizes();
        let mut r = rng(21);
        let m = HelmholtzMachine::new(sizes, 0.5, &mut r).unwrap();
        let v = pm1(230, sizes.visible(), &mut r);
        let (g, s) = m.wake_gradient(v.view(), &mut rng(22));
        assert_eq!((s.u1.nrows(), s.u2.nrows()), (230, 230));
        let (top, _) = m.generator.u2_to_u1.fit(s.u2.view(), s.u1.view(), sizes.hidden1);
        let (bottom, _) = m.generator.u1_to_v.fit(s.u1.view(), v.view(), sizes.pixels);
        // Sums of 230 O(1) terms in a different order: agree to a few f32 ulps of the total.
        for (a, b) in [(&g.u2_to_u1, &top), (&g.u1_to_v, &bottom)] {
            for (x, y) in a.dw.iter().zip(&b.dw).chain(a.db.iter().zip(&b.db)) {
                assert_abs_diff_eq!(x, y, epsilon = 1e-5);
            }
        }
        // Same seed, same pieces, same result: bit for bit.
        let (g2, _) = m.wake_gradient(v.view(), &mut rng(22));
        assert_eq!(g, g2);
    }

    /// Trains a small machine on the toy data; returns (initial MSE, final MSE, first and last
    /// wake objective, correct classifications out of 200).
    fn train_toy(seed: u64) -> (f32, f32, f32, f32, usize) {
        let sizes = LayerSizes { pixels: 8, classes: 4, hidden1: 12, hidden2: 6 };
        let mut r = rng(seed);
        let (v, labels) = toy_data(200, &mut r);
        let mut m = HelmholtzMachine::new(sizes, 0.1, &mut r).unwrap();
        let mse0 = m.reconstruct(v.view()).pixel_mse;
        let mut first_wake = None;
        let mut last_wake = 0.0;
        for _ in 0..600 {
            let w = m.wake_step(v.view(), 0.1, &mut r);
            // A stand-in prior (the real one is trainer::prior): independent ±1 units whose means
            // are those of the recognised u2 (the aggregate posterior's marginals).
            let means = w.u2.mean_axis(Axis(0)).unwrap();
            let prior_means = means.broadcast((200, sizes.hidden2)).unwrap().to_owned();
            let u2 = sample_pm1(prior_means.view(), &mut r);
            m.sleep_step(u2.view(), 0.1, &mut r);
            first_wake.get_or_insert(w.objective());
            last_wake = w.objective();
        }
        let mse1 = m.reconstruct(v.view()).pixel_mse;
        let pixels = v.view().split_at(Axis(1), 8).0.to_owned();
        let pred = m.classify(pixels.view());
        let correct = pred.iter().zip(&labels).filter(|(a, b)| a == b).count();
        (mse0, mse1, first_wake.unwrap(), last_wake, correct)
    }

    #[test]
    fn wake_sleep_learns_a_toy_dataset() {
        // Untrained: reconstructions ≈ 0, so MSE ≈ ⟨pixel²⟩ ≈ 0.65. The pixels are four clean
        // patterns plus uniform noise of variance 0.15²/3 ≈ 0.0075, the floor no model can beat.
        // Wake-sleep is a local method: on this data about one run in six merges two of the
        // four modes (MSE 0.1–0.15, measured over seeds 1–12). So six fixed seeds: every run
        // must learn (MSE below a third of the start, wake objective up), and at least four
        // must find all four modes (MSE within 3× the floor, and the mean-field classifier
        // from pixels alone right almost always; chance is 25 %).
        let mut found_all_modes = 0;
        for seed in 1..=6 {
            let (mse0, mse1, first_wake, last_wake, correct) = train_toy(seed);
            assert!(mse0 > 0.5, "seed {seed}: initial mse {mse0}");
            assert!(mse1 < mse0 / 3.0, "seed {seed}: mse {mse0} -> {mse1}");
            assert!(last_wake > first_wake + 1.0, "seed {seed}: wake {first_wake} -> {last_wake}");
            if mse1 < 3.0 * 0.0075 {
                assert!(correct >= 180, "seed {seed}: {correct}/200 correct");
                found_all_modes += 1;
            }
        }
        assert!(found_all_modes >= 4, "{found_all_modes} of 6 runs found all four modes");
    }
}
