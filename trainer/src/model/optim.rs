//! How the networks' delta-rule gradients become parameter changes.
//!
//! The paper's Algorithm 1 adds `lr ×` the gradient ([`Optimizer::Sgd`]; `--preset paper`).
//! [`Optimizer::Adam`] (Kingma & Ba 2015) scales each parameter's step by running estimates
//! of its gradient's first and second moments. Why it matters here: the delta rules of the
//! four layers differ in scale by orders of magnitude (the bottom generator layer sees 266
//! targets and batch-averaged pixel errors; the recognition's top layer sees 60 noisy ±1
//! targets from 100 dreams), so one global rate is either too slow for some layers or too
//! noisy for others. The gradients themselves, and so the structure of wake-sleep, stay the
//! paper's. The moments are training state: they are saved in checkpoints, so a resumed run
//! stays bit-identical.

use ndarray::Zip;
use serde::{Deserialize, Serialize};

use super::layer::{Layer, LayerGradient};
use super::machine::HelmholtzMachine;
use super::networks::{GeneratorGradient, RecognitionGradient};

/// The update rule of the networks' parameters (the prior keeps its own).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// `θ += lr · g`, the paper's rule.
    #[default]
    Sgd,
    /// Adam with β₁ = 0.9, β₂ = 0.999, ε = 1e-8 (the published defaults).
    Adam,
}

impl Optimizer {
    /// The names the config and the command line take.
    pub const NAMES: &'static [&'static str] = &["sgd", "adam"];

    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Sgd => "sgd",
            Optimizer::Adam => "adam",
        }
    }
}

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPSILON: f32 = 1e-8;

/// Adam's running moments of one layer's gradient, shaped like the layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Moments {
    first: Layer,
    second: Layer,
}

impl Moments {
    fn zeros_like(layer: &Layer) -> Self {
        Moments {
            first: Layer::zeros(layer.n_in(), layer.n_out()),
            second: Layer::zeros(layer.n_in(), layer.n_out()),
        }
    }

    /// One Adam step of `layer` along the ascent direction `grad`. `step_size` carries the
    /// bias corrections: lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ), so ε is applied to the uncorrected
    /// second moment (the paper's "efficient version", Kingma & Ba, Sec. 2).
    fn step(&mut self, layer: &mut Layer, grad: &LayerGradient, step_size: f32) {
        let update = |p: &mut f32, m: &mut f32, v: &mut f32, &g: &f32| {
            *m = BETA1 * *m + (1.0 - BETA1) * g;
            *v = BETA2 * *v + (1.0 - BETA2) * g * g;
            *p += step_size * *m / (v.sqrt() + EPSILON);
        };
        Zip::from(&mut layer.w)
            .and(&mut self.first.w)
            .and(&mut self.second.w)
            .and(&grad.dw)
            .for_each(update);
        Zip::from(&mut layer.b)
            .and(&mut self.first.b)
            .and(&mut self.second.b)
            .and(&grad.db)
            .for_each(update);
    }
}

/// Adam's state for the four layers of a machine: saved in checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamState {
    /// Steps taken (the `t` of the bias corrections).
    steps: u64,
    /// Generator P(u1 | u2), P(v | u1); recognition Q(u1 | v), Q(u2 | u1).
    layers: [Moments; 4],
}

impl AdamState {
    /// Zero moments shaped like `machine`'s layers.
    pub fn new(machine: &HelmholtzMachine) -> Self {
        let (g, r) = (&machine.generator, &machine.recognition);
        AdamState {
            steps: 0,
            layers: [
                Moments::zeros_like(&g.u2_to_u1),
                Moments::zeros_like(&g.u1_to_v),
                Moments::zeros_like(&r.v_to_u1),
                Moments::zeros_like(&r.u1_to_u2),
            ],
        }
    }

    /// Whether the moments have `machine`'s shapes (a checkpoint's state against its machine).
    pub fn fits(&self, machine: &HelmholtzMachine) -> bool {
        let shapes = |s: &AdamState| {
            s.layers.iter().map(|m| (m.first.w.dim(), m.second.w.dim())).collect::<Vec<_>>()
        };
        shapes(self) == shapes(&AdamState::new(machine))
    }

    /// One step of both networks: the generator along the wake gradient, the recognition
    /// network along the sleep gradient, at rate `lr`.
    pub fn apply(
        &mut self,
        machine: &mut HelmholtzMachine,
        wake: &GeneratorGradient,
        sleep: &RecognitionGradient,
        lr: f32,
    ) {
        self.steps += 1;
        let t = self.steps.min(i32::MAX as u64) as i32;
        let step_size = lr * (1.0 - BETA2.powi(t)).sqrt() / (1.0 - BETA1.powi(t));
        let [top, bottom, up, upper] = &mut self.layers;
        let (g, r) = (&mut machine.generator, &mut machine.recognition);
        top.step(&mut g.u2_to_u1, &wake.u2_to_u1, step_size);
        bottom.step(&mut g.u1_to_v, &wake.u1_to_v, step_size);
        up.step(&mut r.v_to_u1, &sleep.v_to_u1, step_size);
        upper.step(&mut r.u1_to_u2, &sleep.u1_to_u2, step_size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    fn layer(w: &[f32], b: &[f32]) -> Layer {
        Layer::new(
            Array2::from_shape_vec((b.len(), w.len() / b.len()), w.to_vec()).unwrap(),
            Array1::from(b.to_vec()),
        )
        .unwrap()
    }

    #[test]
    fn adams_first_step_moves_every_parameter_by_lr_in_the_gradients_sign() {
        // With zero moments the bias-corrected first step is lr · g / (|g| + ε'), whatever the
        // gradient's scale: the property that equalises the layers.
        let mut l = layer(&[0.0, 0.0], &[0.0]);
        let mut m = Moments::zeros_like(&l);
        let g = LayerGradient {
            dw: Array2::from_shape_vec((1, 2), vec![3e-3, -50.0]).unwrap(),
            db: Array1::from(vec![0.0]),
        };
        let t = 1;
        let step = 0.01 * (1.0 - BETA2.powi(t)).sqrt() / (1.0 - BETA1.powi(t));
        m.step(&mut l, &g, step);
        assert!((l.w[[0, 0]] - 0.01).abs() < 1e-5, "{}", l.w[[0, 0]]);
        assert!((l.w[[0, 1]] + 0.01).abs() < 1e-6, "{}", l.w[[0, 1]]);
        assert_eq!(l.b[0], 0.0);
    }

    #[test]
    fn adam_matches_a_scalar_reference_over_several_steps() {
        // The textbook form (bias-corrected moments, ε added to √v̂) against ours (ε on the
        // uncorrected √v): they differ by ε-terms only, far below 1e-6 at these gradients.
        let grads = [0.5f32, -0.2, 0.3, 0.0, 1.0];
        let (lr, mut p_ref, mut m_ref, mut v_ref) = (0.1f64, 0.0f64, 0.0f64, 0.0f64);
        let mut l = layer(&[0.0], &[0.0]);
        let mut mom = Moments::zeros_like(&l);
        for (k, &g) in grads.iter().enumerate() {
            let t = k as i32 + 1;
            m_ref = 0.9 * m_ref + 0.1 * f64::from(g);
            v_ref = 0.999 * v_ref + 0.001 * f64::from(g) * f64::from(g);
            let (mh, vh) = (m_ref / (1.0 - 0.9f64.powi(t)), v_ref / (1.0 - 0.999f64.powi(t)));
            p_ref += lr * mh / (vh.sqrt() + 1e-8);
            let grad =
                LayerGradient { dw: Array2::from_elem((1, 1), g), db: Array1::from(vec![g]) };
            let step = lr as f32 * (1.0 - BETA2.powi(t)).sqrt() / (1.0 - BETA1.powi(t));
            mom.step(&mut l, &grad, step);
            assert!(
                (f64::from(l.w[[0, 0]]) - p_ref).abs() < 1e-6,
                "step {t}: {} vs {p_ref}",
                l.w[[0, 0]]
            );
            assert_eq!(l.w[[0, 0]], l.b[0]);
        }
    }
}
