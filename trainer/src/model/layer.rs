//! One fully connected layer of ±1 (or tanh) units and the local delta rule every layer learns
//! by (Eqs. 15–18), with its serialised form.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::ModelError;
use super::kernels::{FitSums, delta_in_place, gemm_split_rows, mat_mul, tanh_biased_in_place};
use super::pieces::inverse_count;

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
    pub(super) fn accumulate(&mut self, other: &LayerGradient) {
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
    pub(super) fn mean_into(&self, x: ArrayView2<f32>, mut out: ArrayViewMut2<f32>) {
        self.weighted_inputs_into(x, out.view_mut());
        tanh_biased_in_place(out, self.biases());
    }

    /// The delta-rule gradient for parents `x` `[batch, n_in]` and targets `y` `[batch, n_out]`:
    /// `dW = ⟨(y − tanh a) xᵀ⟩`, `db = ⟨y − tanh a⟩` over the batch (Eqs. 15–18). It is the
    /// gradient of the batch-mean of Σ_j [`log_lik`](super::log_lik)`(y_j, a_j)`.
    pub fn delta_rule_gradient(&self, x: ArrayView2<f32>, y: ArrayView2<f32>) -> LayerGradient {
        self.fit(x, y, self.n_out()).0
    }

    /// Gradient (the batch mean) plus the objective sums, split at output column `split`.
    pub(super) fn fit(
        &self,
        x: ArrayView2<f32>,
        y: ArrayView2<f32>,
        split: usize,
    ) -> (LayerGradient, FitSums) {
        self.fit_scaled(x, y, split, inverse_count(x.nrows()))
    }

    /// Like [`Layer::fit`] but the gradient is the sum over the rows times `scale`, so that the
    /// pieces of a batch split across threads add up to the batch mean.
    pub(super) fn fit_scaled(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::{TestRng, pm1, rng};
    use approx::assert_abs_diff_eq;

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

    /// A layer `n_in → n_out` with weights N(0, w_std²), then biases N(0, b_std²), drawn
    /// row-major.
    fn gaussian_layer(n_in: usize, n_out: usize, w_std: f32, b_std: f32, r: &mut TestRng) -> Layer {
        let mut normal = |std: f32| std * r.sample::<f32, _>(StandardNormal);
        let w = Array2::from_shape_simple_fn((n_out, n_in), || normal(w_std));
        let b = Array1::from_shape_simple_fn(n_out, || normal(b_std));
        Layer { w, b }
    }

    /// Every entry of `dw` and `db` within 1e-5 (the error budget of the finite-difference
    /// tests: see the first of them).
    fn assert_gradients_agree(g: &LayerGradient, fd: &LayerGradient) {
        for (a, b) in g.dw.iter().zip(fd.dw.iter()).chain(g.db.iter().zip(fd.db.iter())) {
            assert_abs_diff_eq!(a, b, epsilon = 1e-5);
        }
    }

    #[test]
    fn delta_rule_matches_finite_differences_for_pm1_targets() {
        let mut r = rng(1);
        // Weights large enough (std 0.5) that tanh is far from linear: a real test of the rule.
        let layer = gaussian_layer(7, 4, 0.5, 0.3, &mut r);
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
        let layer = gaussian_layer(6, 5, 0.6, 0.2, &mut r);
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
}
