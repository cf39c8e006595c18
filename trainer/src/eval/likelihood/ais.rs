//! log Z of the Boltzmann prior by annealed importance sampling (Neal, "Annealed importance
//! sampling", Statistics and Computing 11, 2001; as for RBMs in Salakhutdinov & Murray, ICML
//! 2008).
//!
//! The chain starts from the uniform distribution over ±1 units (β = 0, Z₀ = 2ⁿ) and walks a
//! linear schedule β_t = t/T, t = 0…T, towards P ∝ e^{−E} (β = 1), with one heat-bath Gibbs
//! sweep at each intermediate β as the transition. Its weight is
//! log w = Σ_{t=1}^{T} (β_{t−1} − β_t) E(s_{t−1}), where s_{t−1} is the state after the sweep
//! at β_{t−1}; then Ẑ = Z₀ · mean(w) over M independent chains, and E[Ẑ] = Z exactly.
//! log Ẑ is therefore low in expectation (Jensen), and its standard error, by the delta
//! method, is sd(w)/(√M · mean(w)); both are honest only if the weights' spread is not
//! dominated by rare chains, which more temperatures fix.

use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::prior::BoltzmannParams;
use crate::seed;

/// How hard AIS works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AisSettings {
    /// Independent chains M (at least 2, for a standard error).
    pub chains: usize,
    /// Steps T of the linear β schedule from 0 to 1 (at least 1).
    pub temperatures: usize,
}

/// An AIS estimate of log Z.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogPartition {
    /// log Ẑ, nats.
    pub log_z: f64,
    /// Its standard error by the delta method over the chains' weights.
    pub standard_error: f64,
    pub chains: usize,
    pub temperatures: usize,
}

/// log Z of the Boltzmann machine `params` (P ∝ e^{−E}) by AIS with `settings`; reproducible
/// given `seed` (a stream per chain, [`seed::eval_ais`], so threads do not matter).
///
/// # Panics
/// If `settings` has fewer than 2 chains or no temperature.
pub fn log_partition(params: &BoltzmannParams, settings: &AisSettings, seed: u64) -> LogPartition {
    assert!(settings.chains >= 2 && settings.temperatures >= 1, "ais: {settings:?}");
    let log_w: Vec<f64> = (0..settings.chains)
        .into_par_iter()
        .map(|c| {
            chain_log_weight(params, settings.temperatures, &mut seed::eval_ais(seed, c as u64))
        })
        .collect();
    let (log_mean, standard_error) = log_mean_and_error(&log_w);
    LogPartition {
        log_z: params.h.len() as f64 * std::f64::consts::LN_2 + log_mean,
        standard_error,
        chains: settings.chains,
        temperatures: settings.temperatures,
    }
}

/// The log importance weight of one AIS chain over `temperatures` steps.
fn chain_log_weight<R: Rng>(params: &BoltzmannParams, temperatures: usize, rng: &mut R) -> f64 {
    let n = params.h.len();
    let mut s: Vec<i8> = (0..n).map(|_| if rng.random::<bool>() { 1 } else { -1 }).collect();
    let start: Vec<f32> = s.iter().map(|&x| f32::from(x)).collect();
    // The sweeps report their energy changes, so E costs O(n) per sweep, not O(n²) again.
    let mut energy = params.energy(&start);
    let step = 1.0 / temperatures as f64;
    let mut log_w = 0.0;
    for t in 1..=temperatures {
        log_w -= step * energy;
        if t < temperatures {
            energy += params.sweep(t as f64 * step, &mut s, rng);
        }
    }
    log_w
}

/// log(mean e^{x}) and its standard error by the delta method, sd(e^x)/(√n · mean(e^x)), with
/// the sample deviation; computed about the largest term.
pub(crate) fn log_mean_and_error(log_w: &[f64]) -> (f64, f64) {
    let top = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = log_w.iter().map(|&x| (x - top).exp()).collect();
    let (mean, se) = super::mean_and_standard_error(&w);
    (top + mean.ln(), se / mean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use rand::SeedableRng;
    use rand_distr::StandardNormal;

    /// log Z by enumerating all 2ⁿ states, with the energy written out naively.
    fn exact_log_z(params: &BoltzmannParams) -> f64 {
        let n = params.h.len();
        let log_terms: Vec<f64> = (0..1u32 << n)
            .map(|bits| {
                let s: Vec<f64> =
                    (0..n).map(|i| if bits >> i & 1 == 1 { 1.0 } else { -1.0 }).collect();
                let mut e = 0.0;
                for a in 0..n {
                    e += params.h[a] * s[a];
                    for b in (a + 1)..n {
                        e += params.j[a * n + b] * s[a] * s[b];
                    }
                }
                -e
            })
            .collect();
        super::super::log_mean_exp(&log_terms) + n as f64 * std::f64::consts::LN_2
    }

    /// A 12-unit machine with fields N(0, 0.5²) and couplings N(0, 0.4²): strong enough
    /// (a unit's coupled field has sd ≈ 1.3) that log Z is far from that of the fields alone.
    fn random_machine(seed: u64) -> BoltzmannParams {
        let n = 12;
        let mut rng = seed::Rng::seed_from_u64(seed);
        let mut params = BoltzmannParams::new(n, 1, 0);
        for h in &mut params.h {
            *h = 0.5 * rng.sample::<f64, _>(StandardNormal);
        }
        for a in 0..n {
            for b in (a + 1)..n {
                let j = 0.4 * rng.sample::<f64, _>(StandardNormal);
                params.j[a * n + b] = j;
                params.j[b * n + a] = j;
            }
        }
        params
    }

    #[test]
    fn ais_log_z_agrees_with_enumeration_within_its_standard_error() {
        let params = random_machine(3);
        let exact = exact_log_z(&params);
        let settings = AisSettings { chains: 200, temperatures: 1000 };
        let z = log_partition(&params, &settings, 1);
        // Within 4 reported standard errors (a 6e-5 chance for a correct estimator with a
        // well-estimated error; the seed is fixed). The error must also be small, or the test
        // would pass for any answer: 200 chains of 1000 steps on 12 units give a few 1e-3.
        assert!(z.standard_error < 0.02, "{z:?}");
        assert!((z.log_z - exact).abs() < 4.0 * z.standard_error, "{z:?} vs exact {exact}");
        assert_eq!((z.chains, z.temperatures), (200, 1000));
        // Reproducible given the seed, different with another.
        assert_eq!(log_partition(&params, &settings, 1), z);
        assert_ne!(log_partition(&params, &settings, 2).log_z, z.log_z);
    }

    #[test]
    fn one_temperature_is_plain_importance_sampling_from_the_uniform_distribution() {
        // T = 1: w = e^{−E(s₀)} with s₀ uniform, an unbiased but noisy estimate of Z / 2ⁿ.
        // With no fields and couplings of sd 0.05, E over uniform states has sd ≈ 0.05·√66
        // ≈ 0.4, so w's relative sd is about 0.4 and 4000 chains give an error near 0.007.
        let mut params = random_machine(4);
        params.h.iter_mut().for_each(|h| *h = 0.0);
        params.j.iter_mut().for_each(|j| *j *= 0.125);
        let z = log_partition(&params, &AisSettings { chains: 4000, temperatures: 1 }, 5);
        let exact = exact_log_z(&params);
        assert!(z.standard_error < 0.02, "{z:?}");
        assert!((z.log_z - exact).abs() < 4.0 * z.standard_error, "{z:?} vs exact {exact}");
    }

    #[test]
    fn the_delta_method_error_of_known_weights() {
        // Weights 1 and 3: mean 2, sample variance 2, so se(mean) = √(2/2) = 1 and
        // se(log mean) = 1/2.
        let (log_mean, se) = log_mean_and_error(&[0.0, 3f64.ln()]);
        assert_abs_diff_eq!(log_mean, 2f64.ln(), epsilon = 1e-15);
        assert_abs_diff_eq!(se, 0.5, epsilon = 1e-15);
        // Scale-free: shifting every log weight leaves the error alone and does not overflow.
        let (log_mean, se) = log_mean_and_error(&[800.0, 800.0 + 3f64.ln()]);
        assert_abs_diff_eq!(log_mean, 800.0 + 2f64.ln(), epsilon = 1e-12);
        assert_abs_diff_eq!(se, 0.5, epsilon = 1e-12);
    }
}
