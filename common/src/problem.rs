//! Ising problems over a solver's qubits, and their energy.
//!
//! Convention (D-Wave's): E(s) = Σ_i h_i s_i + Σ_{i<j} J_ij s_i s_j with s ∈ {−1, +1}; low
//! energy is likely.

/// A sparse Ising problem restricted to its active variables.
///
/// `active` are the qubit labels that carry a bias or a coupler, ascending; `linear[i]` is the
/// bias of `active[i]`; `quadratic` holds (i, j, J) with local indices i < j, one entry per
/// coupler.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IsingProblem {
    pub active: Vec<u32>,
    pub linear: Vec<f64>,
    pub quadratic: Vec<(usize, usize, f64)>,
}

impl IsingProblem {
    /// Builds a problem from label-keyed biases. Labels in `j` that have no `h` entry become
    /// active with h = 0. Entries are taken as given (no de-duplication: validate first).
    pub fn from_labels(h: &[(u32, f64)], j: &[(u32, u32, f64)]) -> Self {
        let mut active: Vec<u32> =
            h.iter().map(|&(q, _)| q).chain(j.iter().flat_map(|&(u, v, _)| [u, v])).collect();
        active.sort_unstable();
        active.dedup();
        let local = |q: u32| active.binary_search(&q).expect("label was collected above");
        let mut linear = vec![0.0; active.len()];
        for &(q, value) in h {
            linear[local(q)] += value;
        }
        let quadratic = j
            .iter()
            .map(|&(u, v, value)| {
                let (a, b) = (local(u), local(v));
                (a.min(b), a.max(b), value)
            })
            .collect();
        IsingProblem { active, linear, quadratic }
    }

    pub fn num_variables(&self) -> usize {
        self.active.len()
    }

    /// Energy of one state given as ±1 spins over `active`.
    pub fn energy(&self, spins: &[i8]) -> f64 {
        debug_assert_eq!(spins.len(), self.active.len());
        let linear: f64 = self.linear.iter().zip(spins).map(|(&h, &s)| h * f64::from(s)).sum();
        let quadratic: f64 = self
            .quadratic
            .iter()
            .map(|&(i, j, value)| value * f64::from(spins[i]) * f64::from(spins[j]))
            .sum();
        linear + quadratic
    }

    /// The largest |h| and |J| (0 for an empty problem).
    pub fn max_abs_biases(&self) -> (f64, f64) {
        let h = self.linear.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let j = self.quadratic.iter().fold(0.0f64, |m, &(_, _, v)| m.max(v.abs()));
        (h, j)
    }

    /// A copy with every bias multiplied by `factor`.
    pub fn scaled(&self, factor: f64) -> Self {
        IsingProblem {
            active: self.active.clone(),
            linear: self.linear.iter().map(|v| v * factor).collect(),
            quadratic: self.quadratic.iter().map(|&(i, j, v)| (i, j, v * factor)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_follows_the_dwave_convention() {
        // Worked example A of the SAPI reference: h = {0: 1, 4: -0.5},
        // J = {(0,5): -1, (1,4): 0.5}; ground state (s0,s1,s4,s5) = (-1,-1,+1,-1) has E = -3.
        let p = IsingProblem::from_labels(&[(0, 1.0), (4, -0.5)], &[(0, 5, -1.0), (4, 1, 0.5)]);
        assert_eq!(p.active, vec![0, 1, 4, 5]);
        assert_eq!(p.energy(&[-1, -1, 1, -1]), -3.0);
        assert_eq!(p.energy(&[-1, 1, -1, -1]), -2.0);
    }

    #[test]
    fn scaling_scales_energy() {
        let p = IsingProblem::from_labels(&[(2, 0.3)], &[(2, 7, -0.8)]);
        let s = [1, -1];
        assert!((p.scaled(0.5).energy(&s) - 0.5 * p.energy(&s)).abs() < 1e-12);
        assert_eq!(p.max_abs_biases(), (0.3, 0.8));
    }
}
