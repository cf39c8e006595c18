//! The recognition network Q (bottom-up, `v → u1 → u2`) and the generator network P (top-down,
//! `u2 → u1 → v`), and their gradients.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::kernels::sample_pm1_in_place;
use super::layer::{Layer, LayerGradient};

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

impl RecognitionGradient {
    /// `self += other`, layer by layer.
    pub fn accumulate(&mut self, other: &RecognitionGradient) {
        self.v_to_u1.accumulate(&other.v_to_u1);
        self.u1_to_u2.accumulate(&other.u1_to_u2);
    }
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
    pub(super) fn sample_into<R: Rng + ?Sized>(
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
