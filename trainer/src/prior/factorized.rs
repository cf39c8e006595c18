//! The factorized baseline: independent ±1 units, no annealer.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{Draw, LogDensity, MomentGap, Moments, Prior, PriorError, PriorState};
use crate::seed;

/// Parameters of the factorized baseline: independent ±1 units with P(+1) = (1 + tanh b)/2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FactorizedParams {
    pub bias: Vec<f32>,
    pub seed: u64,
}

impl FactorizedParams {
    /// log P(s) of ±1 units `s`, exactly: Σ log((1 + s tanh b)/2) = Σ log σ(2 b s).
    pub fn log_prob(&self, s: &[f32]) -> f64 {
        self.bias.iter().zip(s).map(|(&b, &x)| f64::from(crate::model::log_lik(x, b))).sum()
    }
}

/// A classical baseline prior with independent units (no annealer).
pub struct FactorizedPrior {
    params: FactorizedParams,
}

impl FactorizedPrior {
    pub fn new(params: FactorizedParams) -> Self {
        FactorizedPrior { params }
    }

    /// `n` independent samples from the draw keyed `key`.
    fn samples(&self, n: usize, key: u64) -> Array2<f32> {
        let mut rng = seed::prior_draw(self.params.seed, key);
        let means: Vec<f32> = self.params.bias.iter().map(|b| b.tanh()).collect();
        Array2::from_shape_fn((n, means.len()), |(_, i)| {
            if rng.random::<f32>() < (1.0 + means[i]) / 2.0 { 1.0 } else { -1.0 }
        })
    }
}

impl Prior for FactorizedPrior {
    fn num_units(&self) -> usize {
        self.params.bias.len()
    }

    fn draw(&mut self, n: usize, iteration: u64) -> Result<Draw, PriorError> {
        // The update needs no model statistics: the units' means are tanh(bias) exactly.
        Ok(Draw::classical(self.samples(n, iteration), Moments::default()))
    }

    fn view(&mut self, n: usize, _per_call: usize, stream: u64) -> Result<Array2<f32>, PriorError> {
        Ok(self.samples(n, stream))
    }

    fn update(&mut self, _draw: &Draw, data: ArrayView2<f32>, lr: f32) -> MomentGap {
        let data_mean: Array1<f32> =
            data.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(self.params.bias.len()));
        let mut gap = 0.0;
        for (b, &d) in self.params.bias.iter_mut().zip(&data_mean) {
            let diff = d - b.tanh();
            gap += f64::from(diff.abs());
            *b += lr * diff;
        }
        MomentGap { linear: gap / self.params.bias.len().max(1) as f64, quadratic: 0.0 }
    }

    fn state(&self) -> PriorState {
        PriorState::Factorized(self.params.clone())
    }

    fn log_density(&self) -> LogDensity {
        // log P(s) = Σ log σ(2 b s) = Σ (b s − log 2 cosh b): −E with h = −b, up to a constant.
        let n = self.params.bias.len();
        let h = self.params.bias.iter().map(|&b| -f64::from(b)).collect();
        LogDensity { h, j: vec![0.0; n * n], beta: 1.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn factorized_prior_learns_the_data_means() {
        let mut prior = FactorizedPrior::new(FactorizedParams { bias: vec![0.0; 2], seed: 3 });
        let data = array![[1.0, -1.0], [1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]];
        for it in 0..2000 {
            let draw = prior.draw(4, it).unwrap();
            prior.update(&draw, data.view(), 0.05);
        }
        let PriorState::Factorized(p) = prior.state() else { unreachable!() };
        // Data means 0.5 and -0.5: tanh(b) converges to them (fixed point of the update).
        assert!((p.bias[0].tanh() - 0.5).abs() < 1e-3);
        assert!((p.bias[1].tanh() + 0.5).abs() < 1e-3);
        let samples = prior.view(20_000, 1, 0).unwrap();
        let mean = samples.mean_axis(Axis(0)).unwrap();
        // 20k ±1 draws: standard error ≈ 0.007; allow 4σ.
        assert!((mean[0] - 0.5).abs() < 0.03 && (mean[1] + 0.5).abs() < 0.03, "{mean}");
    }

    #[test]
    fn the_wake_density_differs_from_the_exact_log_probability_by_a_constant() {
        let params = FactorizedParams { bias: vec![0.7, -1.2, 0.1], seed: 1 };
        let density = FactorizedPrior::new(params.clone()).log_density();
        let states = [[1.0, 1.0, 1.0], [-1.0, 1.0, -1.0], [1.0, -1.0, -1.0], [-1.0, -1.0, 1.0]];
        let offsets: Vec<f64> =
            states.iter().map(|s| params.log_prob(s) - density.log_unnormalised(s)).collect();
        for o in &offsets {
            assert!((o - offsets[0]).abs() < 1e-6, "{offsets:?}");
        }
    }
}
