//! A classical baseline: a fully connected Boltzmann machine over the units, in the annealer's
//! energy convention (E(s) = Σ h s + Σ_{i<j} J s s, P ∝ e^{−E}), sampled by persistent Gibbs
//! chains (PCD). It is what the annealer-backed prior would be with an ideal sampler and no
//! embedding, so it bounds what the quantum prior can bring.

use ndarray::{Array2, ArrayView2, Axis};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{Draw, LogDensity, MomentGap, Moments, Prior, PriorError, PriorState};
use crate::seed;

/// Extra Gibbs sweeps when a draw changes the number of chains, so that copies of one
/// persistent chain drift apart: twenty training calls' worth at the default 10 sweeps.
const RESIZE_BURN_IN_SWEEPS: u32 = 200;

/// Parameters and persistent chains of the Boltzmann baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoltzmannParams {
    /// Fields, one per unit.
    pub h: Vec<f64>,
    /// Couplings, row-major `[units, units]`, symmetric with a zero diagonal.
    pub j: Vec<f64>,
    /// Gibbs sweeps per sampling call.
    pub sweeps: u32,
    /// The persistent chains, row-major `[chains, units]`, ±1 (empty before the first call).
    pub chains: Vec<i8>,
    pub seed: u64,
}

impl BoltzmannParams {
    /// All fields and couplings zero: the uniform distribution.
    pub fn new(units: usize, sweeps: u32, seed: u64) -> Self {
        BoltzmannParams {
            h: vec![0.0; units],
            j: vec![0.0; units * units],
            sweeps,
            chains: vec![],
            seed,
        }
    }
}

impl BoltzmannParams {
    /// The energy E(s) = Σ h s + Σ_{i<j} J s s of ±1 units `s` (P ∝ e^{−E}).
    pub fn energy(&self, s: &[f32]) -> f64 {
        super::ising_energy(&self.h, &self.j, s)
    }

    /// One sweep of sequential heat-bath updates over one chain at inverse temperature `beta`
    /// (P ∝ e^{−β E}); returns the change of E. Training samples at β = 1; annealed importance
    /// sampling ([`crate::eval`]) walks β from 0 to 1.
    pub fn sweep(&self, beta: f64, s: &mut [i8], rng: &mut impl Rng) -> f64 {
        let n = self.h.len();
        let mut change = 0.0;
        for i in 0..n {
            let row = &self.j[i * n..(i + 1) * n];
            let field =
                self.h[i] + row.iter().zip(s.iter()).map(|(&j, &x)| j * f64::from(x)).sum::<f64>();
            // E contains field · s_i, so P(s_i = +1) = 1 / (1 + e^{2 β field}). At β = 1 the
            // product 2β is exactly 2, so training draws are what they were before β existed.
            let p_up = 1.0 / (1.0 + (2.0 * beta * field).exp());
            let old = s[i];
            s[i] = if rng.random::<f64>() < p_up { 1 } else { -1 };
            change += field * f64::from(s[i] - old);
        }
        change
    }
}

/// The Gibbs-sampled Boltzmann prior.
pub struct BoltzmannPrior {
    params: BoltzmannParams,
}

impl BoltzmannPrior {
    pub fn new(params: BoltzmannParams) -> Self {
        BoltzmannPrior { params }
    }

    fn units(&self) -> usize {
        self.params.h.len()
    }

    /// One sweep of sequential heat-bath updates over one chain.
    fn sweep(&self, s: &mut [i8], rng: &mut impl Rng) {
        self.params.sweep(1.0, s, rng);
    }

    /// Runs `chains` (the persistent chains, or a copy of them) for the draw keyed `key`:
    /// `n` samples and the chains they end in. A draw of another size than the chains
    /// (pictures, `trainer generate`) starts from the chains, which sit in the model's
    /// distribution, cycled to `n`, and sweeps long enough that copies of one chain
    /// decorrelate; the first draw starts from coin flips.
    fn run_chains(&self, mut chains: Vec<i8>, n: usize, key: u64) -> (Vec<i8>, Array2<f32>) {
        let units = self.units();
        let mut rng = seed::prior_draw(self.params.seed, key);
        let mut sweeps = self.params.sweeps;
        if chains.is_empty() || units == 0 {
            chains = (0..n * units).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect();
        } else if chains.len() != n * units {
            chains = chains.chunks_exact(units).cycle().take(n).flatten().copied().collect();
            sweeps += RESIZE_BURN_IN_SWEEPS;
        }
        if units > 0 {
            for chain in chains.chunks_exact_mut(units) {
                for _ in 0..sweeps {
                    self.sweep(chain, &mut rng);
                }
            }
        }
        let samples = Array2::from_shape_fn((n, units), |(r, i)| f32::from(chains[r * units + i]));
        (chains, samples)
    }
}

/// ⟨x⟩ and ⟨x xᵀ⟩ (row-major) of the rows of `x`.
fn first_and_second(x: ArrayView2<f32>) -> Moments {
    let x = x.mapv(f64::from);
    let rows = x.nrows().max(1) as f64;
    let mean = x.sum_axis(Axis(0)) / rows;
    let second = x.t().dot(&x) / rows;
    Moments { linear: mean.to_vec(), quadratic: second.into_iter().collect() }
}

impl Prior for BoltzmannPrior {
    fn num_units(&self) -> usize {
        self.units()
    }

    fn draw(&mut self, n: usize, iteration: u64) -> Result<Draw, PriorError> {
        let chains = std::mem::take(&mut self.params.chains);
        let (chains, samples) = self.run_chains(chains, n, iteration);
        self.params.chains = chains;
        let moments = first_and_second(samples.view());
        Ok(Draw::classical(samples, moments))
    }

    fn view(&mut self, n: usize, _per_call: usize, stream: u64) -> Result<Array2<f32>, PriorError> {
        Ok(self.run_chains(self.params.chains.clone(), n, stream).1)
    }

    fn update(&mut self, draw: &Draw, data: ArrayView2<f32>, lr: f32) -> MomentGap {
        let n = self.units();
        let data = first_and_second(data);
        let model = &draw.moments;
        let lr = f64::from(lr);
        let mut linear = 0.0;
        for ((h, d), m) in self.params.h.iter_mut().zip(&data.linear).zip(&model.linear) {
            // Lower the energy of what the data does more often than the model.
            *h -= lr * (d - m);
            linear += (d - m).abs();
        }
        let mut quadratic = 0.0;
        for a in 0..n {
            for b in (a + 1)..n {
                let diff = data.quadratic[a * n + b] - model.quadratic[a * n + b];
                self.params.j[a * n + b] -= lr * diff;
                self.params.j[b * n + a] -= lr * diff;
                quadratic += diff.abs();
            }
        }
        let pairs = (n * n.saturating_sub(1) / 2).max(1) as f64;
        MomentGap { linear: linear / n.max(1) as f64, quadratic: quadratic / pairs }
    }

    fn log_density(&self) -> LogDensity {
        // The chains sample e^{−E} at β = 1.
        LogDensity { h: self.params.h.clone(), j: self.params.j.clone(), beta: 1.0 }
    }

    fn state(&self) -> PriorState {
        PriorState::Boltzmann(self.params.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact ⟨s⟩ and ⟨s_0 s_1⟩ of a small machine by enumeration.
    fn exact(params: &BoltzmannParams) -> (Vec<f64>, f64) {
        let n = params.h.len();
        let (mut z, mut mean, mut corr) = (0.0, vec![0.0; n], 0.0);
        for bits in 0..(1u32 << n) {
            let s: Vec<f64> = (0..n).map(|i| if bits >> i & 1 == 1 { 1.0 } else { -1.0 }).collect();
            let mut e: f64 = params.h.iter().zip(&s).map(|(h, x)| h * x).sum();
            for a in 0..n {
                for b in (a + 1)..n {
                    e += params.j[a * n + b] * s[a] * s[b];
                }
            }
            let w = (-e).exp();
            z += w;
            mean.iter_mut().zip(&s).for_each(|(m, x)| *m += w * x);
            corr += w * s[0] * s[1];
        }
        (mean.iter().map(|m| m / z).collect(), corr / z)
    }

    /// 40k samples' ⟨s⟩ and ⟨s_0 s_1⟩ against the exact ones: each has sd ≤ 1/√40000 =
    /// 0.005, so 0.02 is 4 sd.
    fn assert_moments_near(samples: ArrayView2<f32>, mean: &[f64], corr: f64) {
        let m = first_and_second(samples);
        for (a, b) in m.linear.iter().zip(mean) {
            assert!((a - b).abs() < 0.02, "{m:?} vs {mean:?}");
        }
        // ⟨s_0 s_1⟩ is entry (0, 1) of the row-major second moments.
        assert!((m.quadratic[1] - corr).abs() < 0.02, "{} vs {corr}", m.quadratic[1]);
    }

    #[test]
    fn gibbs_chains_sample_the_boltzmann_distribution() {
        let mut params = BoltzmannParams::new(4, 5, 11);
        params.h = vec![0.3, -0.5, 0.1, 0.0];
        for (a, b, j) in [(0, 1, -0.8), (1, 2, 0.4), (0, 3, 0.6), (2, 3, -0.3)] {
            params.j[a * 4 + b] = j;
            params.j[b * 4 + a] = j;
        }
        let (mean, corr) = exact(&params);
        let mut prior = BoltzmannPrior::new(params);
        // 40k chains after 5 sweeps from random starts; the 4-unit chain mixes in a sweep
        // or two.
        let samples = prior.draw(40_000, 0).unwrap().units;
        assert_moments_near(samples.view(), &mean, corr);
    }

    #[test]
    fn a_draw_of_another_size_grows_from_the_persistent_chains() {
        // Four ferromagnetically coupled units: two modes (all up, all down) that one sweep
        // seldom leaves (from all down, a unit flips up with probability 1/(1 + e³) ≈ 0.05).
        let mut params = BoltzmannParams::new(4, 1, 12);
        params.h = vec![0.05, 0.0, 0.0, 0.0];
        for a in 0..4 {
            for b in 0..4 {
                params.j[a * 4 + b] = if a == b { 0.0 } else { -0.5 };
            }
        }
        let (mean, corr) = exact(&params);
        // Two persistent chains, both all down: one sweep per call would leave 40k copies of
        // them mostly down (⟨s⟩ ≈ −0.8); the burn-in spreads them over both modes.
        params.chains = vec![-1; 8];
        let mut prior = BoltzmannPrior::new(params);
        let samples = prior.draw(40_000, 3).unwrap().units;
        assert_moments_near(samples.view(), &mean, corr);
        assert_eq!(prior.params.chains.len(), 40_000 * 4);
    }

    #[test]
    fn a_viewing_draw_leaves_the_persistent_chains_as_they_were() {
        let mut params = BoltzmannParams::new(5, 3, 13);
        params.h = vec![0.2, -0.1, 0.0, 0.4, -0.3];
        let mut prior = BoltzmannPrior::new(params);
        prior.draw(30, 0).unwrap();
        let before = prior.state();
        // Another size than the chains (the resize path) and the same size.
        let seen = prior.view(500, 10, seed::PICTURES_GENERATED).unwrap();
        prior.view(30, 10, 7).unwrap();
        assert_eq!(prior.state(), before);
        assert_eq!(seen.dim(), (500, 5));
        // The viewing draw is the draw the training path would have made, on a copy.
        let mut twin = BoltzmannPrior::new(match before {
            PriorState::Boltzmann(p) => p,
            other => panic!("{other:?}"),
        });
        assert_eq!(twin.draw(500, seed::PICTURES_GENERATED).unwrap().units, seen);
    }

    #[test]
    fn energy_counts_each_coupled_pair_once_and_sweeps_report_its_change() {
        let mut params = BoltzmannParams::new(3, 1, 0);
        params.h = vec![0.3, -0.5, 0.1];
        for (a, b, j) in [(0, 1, -0.8), (1, 2, 0.4)] {
            params.j[a * 3 + b] = j;
            params.j[b * 3 + a] = j;
        }
        // Fields 0.3 + 0.5 + 0.1, couplings −0.8·(1·−1) + 0.4·(−1·1): E = 0.9 + 0.8 − 0.4.
        assert!((params.energy(&[1.0, -1.0, 1.0]) - 1.3).abs() < 1e-12);
        let mut rng = seed::prior_draw(9, 0);
        let mut s = vec![1i8, -1, 1];
        for beta in [0.0, 0.5, 1.0, 3.0] {
            let before = params.energy(&s.iter().map(|&x| f32::from(x)).collect::<Vec<_>>());
            let change = params.sweep(beta, &mut s, &mut rng);
            let after = params.energy(&s.iter().map(|&x| f32::from(x)).collect::<Vec<_>>());
            assert!(
                (after - before - change).abs() < 1e-12,
                "β {beta}: {change} vs {after} − {before}"
            );
        }
    }

    #[test]
    fn learning_matches_the_data_moments() {
        // Data: unit 0 and 1 always equal, unit 2 mostly up.
        let data = ndarray::array![
            [1.0f32, 1.0, 1.0],
            [-1.0, -1.0, 1.0],
            [1.0, 1.0, 1.0],
            [-1.0, -1.0, -1.0]
        ];
        let mut prior = BoltzmannPrior::new(BoltzmannParams::new(3, 2, 4));
        let mut gap = MomentGap::default();
        for it in 0..3000 {
            let draw = prior.draw(200, it).unwrap();
            gap = prior.update(&draw, data.view(), 0.05);
        }
        let samples = prior.draw(20_000, 9999).unwrap().units;
        let m = first_and_second(samples.view());
        // Targets ⟨s_2⟩ = 0.5 and ⟨s_0 s_1⟩ = 1 (approached, as the couplings grow);
        // 20k samples give sd ≈ 0.006.
        assert!((m.linear[2] - 0.5).abs() < 0.05, "{m:?}");
        assert!(m.quadratic[1] > 0.9, "{m:?}");
        assert!(gap.mean() < 0.1, "{gap:?}");
    }
}
