//! Importance weights of recognition samples: how far Q(u1, u2 | v) is from the generative
//! model's posterior, sample by sample.
//!
//! For a visible vector `v` and codes `(u1, u2) ~ Q(· | v)` the weight is
//! `w = p(v, u1, u2) / Q(u1, u2 | v)` with
//! `log w = log P(v | u1) + log P(u1 | u2) + log p(u2) − log Q(u1 | v) − log Q(u2 | u1)`.
//! `trainer eval` averages them into a likelihood estimate; the wake phase ([`WakeRule`])
//! keeps one of several samples with probability proportional to its weight, a draw much
//! closer to the true posterior than Q's own (reweighted wake-sleep, Bornschein & Bengio,
//! arXiv:1406.2751). Resampling needs the prior only up to a constant: the weights of one
//! example are normalised among themselves.
//!
//! [`WakeRule`]: super::WakeRule

use ndarray::{Array2, ArrayView1, ArrayView2};
use rand::Rng;

use super::kernels::{log_lik, sample_pm1_in_place};
use super::machine::HelmholtzMachine;

/// Σ_j log P(y_j | a_j) for units `y` (±1, or soft targets in [−1, 1]) with activations `a`,
/// summed in f64.
pub fn log_lik_sum(y: ArrayView1<f32>, a: ArrayView1<f32>) -> f64 {
    y.iter().zip(a).map(|(&y, &a)| f64::from(log_lik(y, a))).sum()
}

/// `k` recognition samples for each row of `input` and the activations that scored them.
pub(crate) struct Codes {
    /// Q's activation of u1 per input row, `[rows, hidden1]`.
    pub q_u1: Array2<f32>,
    /// Samples, `k` consecutive rows per input row: `[rows · k, hidden1]` and `[rows · k, hidden2]`.
    pub u1: Array2<f32>,
    pub u2: Array2<f32>,
    /// Q's activation of u2 per sample, `[rows · k, hidden2]`.
    pub q_u2: Array2<f32>,
}

impl HelmholtzMachine {
    /// Draws `k` samples `(u1, u2) ~ Q(· | input row)` per row of `input`; u1's draws come
    /// first, row by row.
    pub(crate) fn recognition_codes<R: Rng + ?Sized>(
        &self,
        input: ArrayView2<f32>,
        k: usize,
        rng: &mut R,
    ) -> Codes {
        let q = &self.recognition;
        let q_u1 = q.v_to_u1.activation(input);
        let mut u1 = Array2::from_shape_fn((input.nrows() * k, q_u1.ncols()), |(r, j)| {
            q_u1[[r / k, j]].tanh()
        });
        sample_pm1_in_place(u1.view_mut(), rng);
        let q_u2 = q.u1_to_u2.activation(u1.view());
        let mut u2 = q_u2.mapv(f32::tanh);
        sample_pm1_in_place(u2.view_mut(), rng);
        Codes { q_u1, u1, u2, q_u2 }
    }

    /// log w of every sample of `codes` (as [`recognition_codes`](Self::recognition_codes)
    /// drew them, `k` per row) for the visible vectors `target` (one row per input row) under
    /// the prior's log-density `log_prior` (up to a constant is enough for resampling).
    pub(crate) fn log_weights(
        &self,
        target: ArrayView2<f32>,
        codes: &Codes,
        k: usize,
        log_prior: &(dyn Fn(&[f32]) -> f64 + Sync),
    ) -> Vec<f64> {
        let p = &self.generator;
        let p_u1 = p.u2_to_u1.activation(codes.u2.view());
        let p_v = p.u1_to_v.activation(codes.u1.view());
        (0..codes.u1.nrows())
            .map(|r| {
                let u2 = codes.u2.row(r);
                let log_p = log_lik_sum(target.row(r / k), p_v.row(r))
                    + log_lik_sum(codes.u1.row(r), p_u1.row(r))
                    + log_prior(u2.as_slice().expect("rows of an owned array"));
                let log_q = log_lik_sum(codes.u1.row(r), codes.q_u1.row(r / k))
                    + log_lik_sum(u2, codes.q_u2.row(r));
                log_p - log_q
            })
            .collect()
    }
}

/// Draws one index with probability proportional to `exp(log_w)`; returns it and the
/// normalised effective sample size `(Σw)² / (k Σw²)` ∈ [1/k, 1] (1: equal weights).
pub(crate) fn resample_index<R: Rng + ?Sized>(log_w: &[f64], rng: &mut R) -> (usize, f64) {
    let top = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = log_w.iter().map(|&x| (x - top).exp()).collect();
    let (sum, sum_sq) = w.iter().fold((0.0, 0.0), |(s, q), &x| (s + x, q + x * x));
    let ess = sum * sum / (sum_sq * w.len() as f64);
    let mut left = rng.random::<f64>() * sum;
    for (i, &x) in w.iter().enumerate() {
        if left < x {
            return (i, ess);
        }
        left -= x;
    }
    // Round-off left a sliver past the last weight.
    (w.len() - 1, ess)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::rng;

    #[test]
    fn resampling_picks_indices_in_proportion_to_their_weights() {
        // Weights 1 : 2 : 5 (log-space, shifted by a large constant that must not matter).
        let log_w = [1000.0, 1000.0 + 2f64.ln(), 1000.0 + 5f64.ln()];
        let mut r = rng(3);
        let n = 80_000;
        let mut counts = [0usize; 3];
        let mut ess = 0.0;
        for _ in 0..n {
            let (i, e) = resample_index(&log_w, &mut r);
            counts[i] += 1;
            ess = e;
        }
        for (c, p) in counts.iter().zip([1.0 / 8.0, 2.0 / 8.0, 5.0 / 8.0]) {
            let f = *c as f64 / n as f64;
            // Binomial standard error ≤ √(0.25 / 80000) = 0.0018: 0.01 is over 5 of them.
            assert!((f - p).abs() < 0.01, "frequency {f} for probability {p}");
        }
        // (1 + 2 + 5)² / (3 (1 + 4 + 25)) = 64 / 90.
        assert!((ess - 64.0 / 90.0).abs() < 1e-12);
        // One sample, or equal weights: every draw is as good as any.
        assert_eq!(resample_index(&[-3.0], &mut r), (0, 1.0));
        assert!((resample_index(&[0.5; 4], &mut r).1 - 1.0).abs() < 1e-12);
    }
}
