//! Brute-force enumeration of small problems: the reference for the samplers' statistics.

use rayon::prelude::*;

use super::CompiledProblem;

/// The largest problem [`exact_energies`] enumerates: 2^24 states, 128 MiB of energies.
pub const MAX_EXACT_VARS: usize = 24;

/// States enumerated per parallel task (each starts with one full energy evaluation).
const CHUNK_BITS: usize = 14;

/// The energies of all `2^n` states, `[2^n]`. State index bit `i` set ⇔ `s_i = +1`.
///
/// Walks a Gray code within each chunk of fixed high bits, so each state costs one incremental
/// update `ΔE = −2 s_t · (h_t + Σ_j J_tj s_j)` of the single flipped spin `t`; each chunk starts
/// from a full `f64` recomputation, bounding accumulated round-off to `2^CHUNK_BITS` steps.
///
/// # Panics
/// If `problem.num_vars() > MAX_EXACT_VARS`: the caller checks the size first.
pub fn exact_energies(problem: &CompiledProblem) -> Vec<f64> {
    let n = problem.num_vars();
    assert!(
        n <= MAX_EXACT_VARS,
        "exact enumeration supports at most {MAX_EXACT_VARS} variables, got {n}"
    );
    let chunk_bits = n.min(CHUNK_BITS);
    let mut energies = vec![0.0; 1usize << n];
    energies.par_chunks_mut(1 << chunk_bits).enumerate().for_each(|(chunk, out)| {
        let high = chunk << chunk_bits;
        let mut spins: Vec<i8> = (0..n).map(|i| if high >> i & 1 == 1 { 1 } else { -1 }).collect();
        let mut energy = problem.energy(&spins);
        out[0] = energy;
        for k in 1..out.len() {
            let t = k.trailing_zeros() as usize;
            let field = problem.local_field(t, |j| f64::from(spins[j]));
            energy -= 2.0 * f64::from(spins[t]) * field;
            spins[t] = -spins[t];
            out[k ^ (k >> 1)] = energy;
        }
    });
    energies
}

/// The Boltzmann distribution `p(s) = exp(−β E(s)) / Z` over all `2^n` states, `[2^n]`, indexed
/// as in [`exact_energies`]. Computed relative to the minimum energy, so it never overflows.
///
/// # Panics
/// As [`exact_energies`].
pub fn exact_boltzmann(problem: &CompiledProblem, beta: f64) -> Vec<f64> {
    let mut p = exact_energies(problem);
    let e_min = p.iter().copied().fold(f64::INFINITY, f64::min);
    p.par_iter_mut().for_each(|e| *e = (-beta * (*e - e_min)).exp());
    let z: f64 = p.par_iter().sum();
    p.par_iter_mut().for_each(|w| *w /= z);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn random_dense(n: usize, seed: u64) -> CompiledProblem {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let h: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut q = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                q.push((i, j, rng.random_range(-1.0..1.0)));
            }
        }
        CompiledProblem::new(n, &h, &q)
    }

    fn spins_of(state: usize, n: usize) -> Vec<i8> {
        (0..n).map(|i| if state >> i & 1 == 1 { 1 } else { -1 }).collect()
    }

    #[test]
    fn enumeration_matches_brute_force() {
        // 17 variables: more than one Gray-code chunk, so chunk starts are exercised too.
        for (n, seed) in [(1, 1), (5, 2), (10, 3), (17, 4)] {
            let p = random_dense(n, seed);
            let energies = exact_energies(&p);
            assert_eq!(energies.len(), 1 << n);
            for (state, &e) in energies.iter().enumerate().step_by(if n > 12 { 97 } else { 1 }) {
                // ≤ 2^14 incremental steps of magnitude ≤ 2·17: round-off ≲ 1e-10.
                assert_relative_eq!(e, p.energy(&spins_of(state, n)), epsilon = 1e-9);
            }
        }
    }

    #[test]
    fn boltzmann_is_normalised_and_has_the_right_ratios() {
        let p = random_dense(6, 9);
        let beta = 1.3;
        let probs = exact_boltzmann(&p, beta);
        let energies = exact_energies(&p);
        assert_relative_eq!(probs.iter().sum::<f64>(), 1.0, epsilon = 1e-12);
        for s in 1..probs.len() {
            assert_relative_eq!(
                probs[s] / probs[0],
                (-beta * (energies[s] - energies[0])).exp(),
                max_relative = 1e-12
            );
        }
        let uniform = exact_boltzmann(&p, 0.0);
        assert!(uniform.iter().all(|&q| (q - 1.0 / 64.0).abs() < 1e-15));
    }

    #[test]
    fn empty_problem_has_one_state() {
        let p = CompiledProblem::new(0, &[], &[]);
        assert_eq!(exact_energies(&p), vec![0.0]);
        assert_eq!(exact_boltzmann(&p, 2.0), vec![1.0]);
    }
}
