//! The test log-likelihood log p(v), estimated by importance sampling with the recognition
//! network as the proposal, and the ELBO beside it; only where the prior's log-probability can
//! be had honestly: exactly for the factorized prior, through an AIS estimate of log Z for the
//! Boltzmann prior ([`ais`]), and not at all for the annealer's prior.
//!
//! For K draws h_k = (u1, u2) ~ Q(u1 | v) Q(u2 | u1),
//! log w_k = log P(v | u1) + log P(u1 | u2) + log P(u2) − log Q(u1 | v) − log Q(u2 | u1),
//! log p̂(v) = log (1/K Σ_k w_k) (Burda, Grosse & Salakhutdinov, arXiv:1509.00519, Eq. 8) and
//! the ELBO is (1/K) Σ_k log w_k.
//!
//! What the figures assume:
//! - **Binarised pixels.** P(v | u1) is a product of ±1 units with means tanh(a) (see
//!   [`crate::model`]); a grey pixel is not a value such a unit takes, so a grey image has no
//!   likelihood under the model. Each test image is binarised once, a pixel x becoming +1
//!   with probability (1 + x)/2, on a fixed viewing stream ([`seed::eval_binarise`]). The
//!   per-unit log-likelihood ℓ(y, a) is linear in y, so over the binarisations the pixel term's
//!   expectation is exactly the grey-value cross-entropy the wake phase ascends: the figure
//!   scores the model on what it trained for. Class bits are ±1 already and stay as they are.
//! - **The proposal sees the grey image**, as Q does in training (dreams have grey pixels). Any
//!   proposal that gives every hidden state a positive probability makes p̂ unbiased.
//! - **A stochastic lower bound.** E[p̂(v)] = p(v), so E[log p̂(v)] ≤ log p(v) (Jensen), with a
//!   gap that shrinks as K grows; the ELBO is a looser bound (its expectation is log p(v) minus
//!   KL(Q ‖ P(h | v))).
//! - **The Boltzmann prior's log Z is an estimate.** log P(u2) = −E(u2) − log Ẑ with Ẑ from AIS,
//!   which has E[Ẑ] = Z, so log Ẑ tends to fall short of log Z and every log p̂(v) to come out
//!   too high by as much: with that prior the "bound" may be optimistic, by about log Z's
//!   standard error or more if AIS did not equilibrate. That error is the same for every image,
//!   so it is reported apart from the spread over images.
//! - The annealer's prior has none: its distribution is the device's, at an inverse
//!   temperature the trainer does not know.

use std::fmt;

use ndarray::{ArrayView1, ArrayView2, Axis, s};
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::{HelmholtzMachine, sample_pm1_in_place};
use crate::prior::{BoltzmannParams, FactorizedParams, PriorState};
use crate::seed;

mod ais;

pub use ais::{AisSettings, LogPartition, log_partition};

/// How many images and samples the estimate uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LikelihoodOptions {
    /// Importance samples per image (at least 1).
    pub samples: usize,
    /// The first this many test images (0 = all).
    pub images: usize,
}

/// The prior's log-probability, where it can be had.
#[derive(Clone, Debug, PartialEq)]
pub enum PriorDensity<'a> {
    /// Exact.
    Factorized(&'a FactorizedParams),
    /// −E(u2) − log Ẑ with log Ẑ estimated by AIS.
    Boltzmann { params: &'a BoltzmannParams, log_z: LogPartition },
}

/// Why a prior has no log-probability to estimate the likelihood with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoDensity {
    #[error(
        "not estimated: the quantum prior's distribution is the annealer's, at an inverse temperature the trainer does not know"
    )]
    Quantum,
}

impl<'a> PriorDensity<'a> {
    /// The density of the prior `state`: the factorized one as it is, the Boltzmann one after
    /// an AIS run for its log Z (the expensive part, reproducible given `seed`).
    pub fn of(state: &'a PriorState, ais: &AisSettings, seed: u64) -> Result<Self, NoDensity> {
        match state {
            PriorState::Factorized(params) => Ok(PriorDensity::Factorized(params)),
            PriorState::Boltzmann(params) => {
                Ok(PriorDensity::Boltzmann { params, log_z: log_partition(params, ais, seed) })
            }
            PriorState::Quantum(_) => Err(NoDensity::Quantum),
        }
    }

    /// log P(u2) of ±1 units `u2`.
    pub fn log_prob(&self, u2: &[f32]) -> f64 {
        match self {
            PriorDensity::Factorized(params) => params.log_prob(u2),
            PriorDensity::Boltzmann { params, log_z } => -params.energy(u2) - log_z.log_z,
        }
    }

    fn log_partition(&self) -> Option<LogPartition> {
        match self {
            PriorDensity::Factorized(_) => None,
            PriorDensity::Boltzmann { log_z, .. } => Some(*log_z),
        }
    }

    fn kind_name(&self) -> &'static str {
        match self {
            PriorDensity::Factorized(_) => "factorized",
            PriorDensity::Boltzmann { .. } => "boltzmann",
        }
    }
}

/// The likelihood part of `trainer eval`'s report. All log-probabilities are in nats per test
/// image, over the visible vector (binarised pixels, then the class bits).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LikelihoodReport {
    /// Test images the figures are over (the first ones).
    pub images: usize,
    /// Importance samples per image, drawn from the recognition network.
    pub samples: usize,
    /// The prior whose log-probability entered: "factorized" (exact) or "boltzmann" (log Z by
    /// AIS).
    pub prior: String,
    /// Mean over images of log p̂(v) of the image binarised once (pixel +1 with probability
    /// (1 + x)/2). A lower bound on the mean log p(v) in expectation; with the Boltzmann prior
    /// possibly optimistic, as log Ẑ tends to fall short of log Z.
    pub log_likelihood: f64,
    /// Its standard error over the images (std/√n): the images' spread and the sampling noise,
    /// not log Ẑ's error, which shifts every image alike.
    pub log_likelihood_se: f64,
    /// Mean over images and samples of log w: the evidence lower bound of the recognition
    /// network (a true lower bound in expectation, given log Z).
    pub elbo: f64,
    /// Its standard error over the images.
    pub elbo_se: f64,
    /// The AIS estimate of the Boltzmann prior's log Z (absent for the factorized prior).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_partition: Option<LogPartition>,
}

/// The estimate for one image.
#[derive(Clone, Copy, Debug, PartialEq)]
struct ImageEstimate {
    /// log p̂(v) = log mean w.
    log_p: f64,
    /// mean log w.
    elbo: f64,
}

/// The importance-sampled log-likelihood of the first `options.images` rows of `visible`
/// (`[n, visible]`: grey pixels in [−1, 1], then ±1 class bits) under `machine` with the prior
/// `prior`. Reproducible given `seed` (streams [`seed::eval_binarise`] and
/// [`seed::eval_importance`], one per image, so the result does not depend on the threads).
///
/// # Panics
/// If fewer than two images are asked for (no standard error), or `options.samples` is 0.
pub fn estimate(
    machine: &HelmholtzMachine,
    prior: &PriorDensity,
    visible: ArrayView2<f32>,
    options: &LikelihoodOptions,
    seed: u64,
) -> LikelihoodReport {
    let n = if options.images == 0 { visible.nrows() } else { options.images.min(visible.nrows()) };
    assert!(n >= 2 && options.samples > 0, "likelihood: {n} images, {} samples", options.samples);
    let pixels = machine.sizes.pixels;
    let estimates: Vec<ImageEstimate> = (0..n)
        .into_par_iter()
        .map(|i| {
            let grey = visible.row(i);
            let mut target = grey.to_owned().insert_axis(Axis(0));
            sample_pm1_in_place(
                target.slice_mut(s![.., ..pixels]),
                &mut seed::eval_binarise(seed, i as u64),
            );
            let mut rng = seed::eval_importance(seed, i as u64);
            let log_w = log_weights(machine, prior, grey, target.row(0), options.samples, &mut rng);
            ImageEstimate { log_p: log_mean_exp(&log_w), elbo: mean_and_standard_error(&log_w).0 }
        })
        .collect();
    let log_p: Vec<f64> = estimates.iter().map(|e| e.log_p).collect();
    let elbo: Vec<f64> = estimates.iter().map(|e| e.elbo).collect();
    let (log_likelihood, log_likelihood_se) = mean_and_standard_error(&log_p);
    let (elbo, elbo_se) = mean_and_standard_error(&elbo);
    LikelihoodReport {
        images: n,
        samples: options.samples,
        prior: prior.kind_name().to_string(),
        log_likelihood,
        log_likelihood_se,
        elbo,
        elbo_se,
        log_partition: prior.log_partition(),
    }
}

/// log w_k for `k` draws (u1, u2) ~ Q(· | `input`) of the visible vector `target` (±1): the
/// module's equation. `input` is what the recognition network sees (the grey image).
fn log_weights<R: Rng + ?Sized>(
    machine: &HelmholtzMachine,
    prior: &PriorDensity,
    input: ArrayView1<f32>,
    target: ArrayView1<f32>,
    k: usize,
    rng: &mut R,
) -> Vec<f64> {
    // The sampler draws +1 with probability (1 + m)/2 from 24-bit uniforms, within 2⁻²⁴ of
    // the σ(2a) that ℓ scores: a bias far below the figures' precision.
    let codes = machine.recognition_codes(input.insert_axis(Axis(0)), k, rng);
    machine.log_weights(target.insert_axis(Axis(0)), &codes, k, &|u2| prior.log_prob(u2))
}

/// log((1/n) Σ e^{x_i}), computed about the largest term so that nothing overflows.
pub fn log_mean_exp(x: &[f64]) -> f64 {
    let top = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return top;
    }
    let sum: f64 = x.iter().map(|&v| (v - top).exp()).sum();
    top + (sum / x.len() as f64).ln()
}

/// The mean of `x` and its standard error, s/√n with s the sample standard deviation
/// (n − 1 in the denominator); the error is NaN for fewer than two values.
pub fn mean_and_standard_error(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

impl fmt::Display for LikelihoodReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "log-likelihood, nats per test image ({} images binarised once, {} importance samples each from the recognition network, {} prior)",
            self.images, self.samples, self.prior
        )?;
        writeln!(
            f,
            "  log p(v), importance-sampled   {:>10.3} ± {:.3}  (a lower bound in expectation)",
            self.log_likelihood, self.log_likelihood_se
        )?;
        writeln!(f, "  ELBO (mean log w)              {:>10.3} ± {:.3}", self.elbo, self.elbo_se)?;
        if let Some(z) = &self.log_partition {
            writeln!(
                f,
                "  prior log Z by AIS             {:>10.3} ± {:.3}  ({} chains, {} temperatures; an underestimate in expectation, so the bound may be optimistic)",
                z.log_z, z.standard_error, z.chains, z.temperatures
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Layer, LayerSizes};
    use approx::assert_abs_diff_eq;
    use ndarray::{Array1, Array2};
    use rand::SeedableRng;
    use rand_distr::StandardNormal;

    /// All ±1 vectors of length `n`, as rows.
    fn all_states(n: usize) -> Array2<f32> {
        Array2::from_shape_fn((1 << n, n), |(s, i)| if s >> i & 1 == 1 { 1.0 } else { -1.0 })
    }

    /// A tiny untrained machine with weights and biases N(0, 0.3²). Its recognition network
    /// knows nothing of its generator, so the ELBO sits nats below log p(v); the weights are
    /// small enough that Q still covers the posterior and the importance weights' variance
    /// stays moderate (at N(0, 1) one weight in millions dominates and no K is large enough).
    fn tiny_machine(sizes: LayerSizes, rng: &mut seed::Rng) -> HelmholtzMachine {
        let mut m = HelmholtzMachine::new(sizes, 0.3, rng).unwrap();
        let mut biases = |layer: &mut Layer| {
            layer.b = Array1::from_shape_simple_fn(layer.n_out(), || {
                0.3 * rng.sample::<f32, _>(StandardNormal)
            });
        };
        biases(&mut m.recognition.v_to_u1);
        biases(&mut m.recognition.u1_to_u2);
        biases(&mut m.generator.u2_to_u1);
        biases(&mut m.generator.u1_to_v);
        m
    }

    /// log p(v, h) − log q(h | v) for every hidden state h = (u1, u2), and log q(h | v), by
    /// enumeration and naive f64 sums: the reference the estimator is checked against.
    fn exact_log_weights(
        m: &HelmholtzMachine,
        prior: &FactorizedParams,
        v: &[f32],
    ) -> Vec<(f64, f64)> {
        let ll = |y: f32, a: f32| {
            let (y, a) = (f64::from(y), f64::from(a));
            ((1.0 + y * a.tanh()) / 2.0).ln()
        };
        let dot = |layer: &Layer, x: &[f32], j: usize| {
            layer.b[j] + layer.w.row(j).iter().zip(x).map(|(w, x)| w * x).sum::<f32>()
        };
        let (q, p) = (&m.recognition, &m.generator);
        let mut out = Vec::new();
        for u1 in all_states(m.sizes.hidden1).outer_iter() {
            for u2 in all_states(m.sizes.hidden2).outer_iter() {
                let (u1, u2) = (u1.to_vec(), u2.to_vec());
                let mut log_q = 0.0;
                let mut log_p = 0.0;
                for (j, &y) in u1.iter().enumerate() {
                    log_q += ll(y, dot(&q.v_to_u1, v, j));
                    log_p += ll(y, dot(&p.u2_to_u1, &u2, j));
                }
                for (j, &y) in u2.iter().enumerate() {
                    log_q += ll(y, dot(&q.u1_to_u2, &u1, j));
                    log_p += ll(y, prior.bias[j]);
                }
                for (j, &y) in v.iter().enumerate() {
                    log_p += ll(y, dot(&p.u1_to_v, &u1, j));
                }
                out.push((log_p - log_q, log_q));
            }
        }
        out
    }

    #[test]
    fn importance_sampling_converges_to_the_exact_log_likelihood_and_the_elbo_stays_below() {
        let sizes = LayerSizes { pixels: 4, classes: 2, hidden1: 3, hidden2: 3 };
        let mut rng = seed::Rng::seed_from_u64(5);
        let m = tiny_machine(sizes, &mut rng);
        let prior = FactorizedParams { bias: vec![0.8, -0.4, 0.1], seed: 0 };
        let density = PriorDensity::Factorized(&prior);
        // ±1 pixels, so binarisation leaves the image as it is and log p(v) is exact.
        let v = [1.0f32, -1.0, -1.0, 1.0, -1.0, 1.0];
        let exact = exact_log_weights(&m, &prior, &v);
        // p(v) = Σ_h p(v, h); the ELBO and the variances of w and log w under q, exactly.
        let (q_of, lw): (Vec<f64>, Vec<f64>) = exact.iter().map(|&(lw, lq)| (lq.exp(), lw)).unzip();
        let p_v: f64 = lw.iter().zip(&q_of).map(|(lw, q)| q * lw.exp()).sum();
        let elbo: f64 = lw.iter().zip(&q_of).map(|(lw, q)| q * lw).sum();
        let w2: f64 = lw.iter().zip(&q_of).map(|(lw, q)| q * (2.0 * lw).exp()).sum();
        let lw2: f64 = lw.iter().zip(&q_of).map(|(lw, q)| q * lw * lw).sum();
        assert_abs_diff_eq!(q_of.iter().sum::<f64>(), 1.0, epsilon = 1e-9);
        let k = 200_000;
        // log p̂ − log p ≈ (p̂ − p)/p, whose sd is √(E_q[w²]/p² − 1)/√K (≈ 0.02 here); the mean
        // of log w has sd √Var_q(log w)/√K (≈ 0.008). Both estimates must fall within 4 sd
        // (a 6e-5 chance to fail with a correct estimator; the seed is fixed, so it either
        // always passes or never). The Jensen bias of log p̂, about −sd²/2, is far smaller,
        // and so is ℓ's f32 rounding (~1e-6 per image). Both sds are asserted small, so that
        // a wrong term in log w (a missing prior, a sign) cannot hide in the tolerance.
        let sd_log_p = ((w2 / (p_v * p_v) - 1.0) / k as f64).sqrt();
        let sd_elbo = ((lw2 - elbo * elbo) / k as f64).sqrt();
        assert!(sd_log_p < 0.05 && sd_elbo < 0.05, "{sd_log_p} {sd_elbo}");
        let input = ndarray::aview1(&v);
        let log_w = log_weights(&m, &density, input, input, k, &mut seed::Rng::seed_from_u64(6));
        let (estimate, mean_log_w) = (log_mean_exp(&log_w), mean_and_standard_error(&log_w).0);
        assert!(
            (estimate - p_v.ln()).abs() < 4.0 * sd_log_p,
            "log p̂ {estimate} vs exact {} (sd {sd_log_p})",
            p_v.ln()
        );
        assert!(
            (mean_log_w - elbo).abs() < 4.0 * sd_elbo,
            "ELBO {mean_log_w} vs exact {elbo} (sd {sd_elbo})"
        );
        // The gap is a KL divergence the random weights make large (well over 10 sd), so the
        // ordering is a real check of the sign convention, not noise.
        assert!(p_v.ln() - elbo > 10.0 * sd_elbo, "gap {}", p_v.ln() - elbo);
        assert!(mean_log_w < estimate && mean_log_w < p_v.ln());
    }

    #[test]
    fn the_report_is_over_the_asked_images_and_reproducible_given_the_seed() {
        let sizes = LayerSizes { pixels: 4, classes: 2, hidden1: 3, hidden2: 2 };
        let m = tiny_machine(sizes, &mut seed::Rng::seed_from_u64(7));
        let prior = FactorizedParams { bias: vec![0.3, -0.2], seed: 0 };
        let density = PriorDensity::Factorized(&prior);
        let mut r = seed::Rng::seed_from_u64(8);
        let mut visible = Array2::from_shape_fn((5, 6), |_| r.random_range(-1.0f32..=1.0));
        visible.slice_mut(s![.., 4..]).assign(&ndarray::array![1.0, -1.0]);
        let options = LikelihoodOptions { samples: 30, images: 3 };
        let a = estimate(&m, &density, visible.view(), &options, 1);
        assert_eq!(
            (a.images, a.samples, a.prior.as_str(), a.log_partition),
            (3, 30, "factorized", None)
        );
        assert!(a.elbo < a.log_likelihood && a.log_likelihood < 0.0, "{a:?}");
        assert_eq!(estimate(&m, &density, visible.view(), &options, 1), a);
        assert_ne!(estimate(&m, &density, visible.view(), &options, 2), a);
        // An image's figures do not depend on how many images are evaluated.
        let all = LikelihoodOptions { images: 0, ..options };
        assert_eq!(estimate(&m, &density, visible.view(), &all, 1).images, 5);
        let two =
            estimate(&m, &density, visible.view(), &LikelihoodOptions { images: 2, ..options }, 1);
        let first_two: Vec<f64> = (0..2)
            .map(|i| {
                let one = visible.slice(s![i..i + 1, ..]);
                // Re-derive image i's estimate alone: same streams, keyed by its index.
                let mut target = one.to_owned();
                sample_pm1_in_place(
                    target.slice_mut(s![.., ..4]),
                    &mut seed::eval_binarise(1, i as u64),
                );
                let lw = log_weights(
                    &m,
                    &density,
                    one.row(0),
                    target.row(0),
                    30,
                    &mut seed::eval_importance(1, i as u64),
                );
                log_mean_exp(&lw)
            })
            .collect();
        assert_abs_diff_eq!(
            two.log_likelihood,
            (first_two[0] + first_two[1]) / 2.0,
            epsilon = 1e-12
        );
    }

    #[test]
    fn the_standard_error_is_the_sample_deviation_over_root_n() {
        // Values 1..4: mean 2.5, sample variance (2.25 + 0.25 + 0.25 + 2.25)/3 = 5/3, so the
        // standard error is √(5/3)/√4 = √(5/12).
        let (mean, se) = mean_and_standard_error(&[1.0, 2.0, 3.0, 4.0]);
        assert_abs_diff_eq!(mean, 2.5, epsilon = 1e-15);
        assert_abs_diff_eq!(se, (5.0f64 / 12.0).sqrt(), epsilon = 1e-15);
        assert_eq!(mean_and_standard_error(&[7.0, 7.0, 7.0]), (7.0, 0.0));
        assert!(mean_and_standard_error(&[3.0]).1.is_nan());
    }

    #[test]
    fn log_mean_exp_is_exact_on_known_values_and_does_not_overflow() {
        assert_abs_diff_eq!(log_mean_exp(&[0.0, 3f64.ln()]), 2f64.ln(), epsilon = 1e-15);
        // e^1000 overflows f64; the mean of two equal terms is that term.
        assert_abs_diff_eq!(log_mean_exp(&[1000.0, 1000.0]), 1000.0, epsilon = 1e-12);
        assert_abs_diff_eq!(
            log_mean_exp(&[-1000.0, -1000.0 + 2f64.ln()]),
            -1000.0 + 1.5f64.ln(),
            epsilon = 1e-12
        );
        assert_eq!(log_mean_exp(&[f64::NEG_INFINITY, f64::NEG_INFINITY]), f64::NEG_INFINITY);
    }
}
