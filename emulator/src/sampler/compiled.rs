//! A sparse Ising problem compiled once into flat arrays.

/// An Ising problem over local variables `0..n`, stored as compressed sparse rows.
///
/// Built once per problem and shared read-only by every read of a sampling call. Row `i` of the
/// CSR lists the neighbours `j` of `i` in increasing order with the coupling `J_ij` (each coupler
/// appears in both rows). The merged upper-triangle coupler list is kept as well for energies.
#[derive(Clone, Debug)]
pub struct CompiledProblem {
    linear: Vec<f64>,
    /// `[num_vars + 1]`: row `i` is `offsets[i]..offsets[i + 1]` of `neighbours`/`couplings`.
    offsets: Vec<u32>,
    neighbours: Vec<u32>,
    couplings: Vec<f64>,
    /// The same couplings rounded to `f32`, for the annealing kernel.
    couplings_f32: Vec<f32>,
    /// Merged couplers `(i, j, J_ij)` with `i < j`, sorted by `(i, j)`.
    edges: Vec<(u32, u32, f64)>,
}

impl CompiledProblem {
    /// Compiles `h = linear` and the quadratic entries `(i, j, J)` (with `i != j`, both below
    /// `num_vars`, in either orientation); duplicate entries for a pair are summed.
    ///
    /// Values are expected finite (the service validates them before compiling).
    ///
    /// # Panics
    /// If `linear.len() != num_vars`, a quadratic entry is a self-loop or names a variable
    /// `≥ num_vars`, or there are more than `u32::MAX` variables or coupler entries: these are
    /// programming errors of the caller, which validates user input.
    pub fn new(num_vars: usize, linear: &[f64], quadratic: &[(usize, usize, f64)]) -> Self {
        assert_eq!(linear.len(), num_vars, "linear biases must have one entry per variable");
        assert!(u32::try_from(num_vars).is_ok(), "too many variables");
        assert!(u32::try_from(2 * quadratic.len()).is_ok(), "too many couplers");

        let mut entries: Vec<(u32, u32, f64)> = quadratic
            .iter()
            .map(|&(i, j, v)| {
                assert!(i != j, "quadratic entry ({i}, {j}) is a self-loop");
                assert!(i < num_vars && j < num_vars, "quadratic entry ({i}, {j}) out of range");
                (i.min(j) as u32, i.max(j) as u32, v)
            })
            .collect();
        entries.sort_unstable_by_key(|&(i, j, _)| (i, j));
        let mut edges: Vec<(u32, u32, f64)> = Vec::with_capacity(entries.len());
        for (i, j, v) in entries {
            match edges.last_mut() {
                Some(last) if (last.0, last.1) == (i, j) => last.2 += v,
                _ => edges.push((i, j, v)),
            }
        }

        let mut degree = vec![0u32; num_vars];
        for &(i, j, _) in &edges {
            degree[i as usize] += 1;
            degree[j as usize] += 1;
        }
        let mut offsets = Vec::with_capacity(num_vars + 1);
        let mut total = 0u32;
        offsets.push(0);
        for d in &degree {
            total += d;
            offsets.push(total);
        }
        // Filling rows in (i, j) order leaves each row sorted: first its lower neighbours (as
        // the second endpoint of earlier edges), then its higher ones.
        let mut cursor: Vec<u32> = offsets[..num_vars].to_vec();
        let mut neighbours = vec![0u32; total as usize];
        let mut couplings = vec![0f64; total as usize];
        for &(i, j, v) in &edges {
            for (row, other) in [(i, j), (j, i)] {
                let slot = cursor[row as usize] as usize;
                neighbours[slot] = other;
                couplings[slot] = v;
                cursor[row as usize] += 1;
            }
        }
        let couplings_f32 = couplings.iter().map(|&v| v as f32).collect();

        CompiledProblem {
            linear: linear.to_vec(),
            offsets,
            neighbours,
            couplings,
            couplings_f32,
            edges,
        }
    }

    pub fn num_vars(&self) -> usize {
        self.linear.len()
    }

    /// Number of distinct couplers after merging duplicates.
    pub fn num_couplers(&self) -> usize {
        self.edges.len()
    }

    /// The linear biases `h`, `[num_vars]`.
    pub fn linear(&self) -> &[f64] {
        &self.linear
    }

    /// The merged couplers `(i, j, J_ij)` with `i < j`, sorted.
    pub fn couplers(&self) -> &[(u32, u32, f64)] {
        &self.edges
    }

    /// The neighbours of `i` and their couplings.
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let range = self.offsets[i] as usize..self.offsets[i + 1] as usize;
        (&self.neighbours[range.clone()], &self.couplings[range])
    }

    /// CSR arrays for the annealing kernel: offsets, neighbours and `f32` couplings.
    pub(super) fn csr_f32(&self) -> (&[u32], &[u32], &[f32]) {
        (&self.offsets, &self.neighbours, &self.couplings_f32)
    }

    /// The local field `h_i + Σ_j J_ij s_j` on variable `i` (excluding `i` itself), in `f64`.
    /// Flipping `s_i` changes the energy by `−2 s_i · local_field(i)`.
    pub fn local_field(&self, i: usize, spin_of: impl Fn(usize) -> f64) -> f64 {
        let (nbrs, js) = self.row(i);
        nbrs.iter().zip(js).fold(self.linear[i], |acc, (&j, &v)| acc + v * spin_of(j as usize))
    }

    /// `E(s) = Σ h_i s_i + Σ_{i<j} J_ij s_i s_j`, recomputed in full in `f64`.
    ///
    /// # Panics
    /// If `spins.len() != num_vars`.
    pub fn energy(&self, spins: &[i8]) -> f64 {
        assert_eq!(spins.len(), self.num_vars(), "one spin per variable");
        let field: f64 = self.linear.iter().zip(spins).map(|(&h, &s)| h * f64::from(s)).sum();
        let coupling: f64 = self
            .edges
            .iter()
            .map(|&(i, j, v)| v * f64::from(spins[i as usize] * spins[j as usize]))
            .sum();
        field + coupling
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// The definition, over a dense upper-triangular matrix, with duplicates summed naively.
    fn naive_energy(n: usize, h: &[f64], q: &[(usize, usize, f64)], s: &[i8]) -> f64 {
        let mut dense = vec![0.0; n * n];
        for &(i, j, v) in q {
            dense[i.min(j) * n + i.max(j)] += v;
        }
        let mut e = 0.0;
        for i in 0..n {
            e += h[i] * f64::from(s[i]);
            for j in i + 1..n {
                e += dense[i * n + j] * f64::from(s[i]) * f64::from(s[j]);
            }
        }
        e
    }

    #[test]
    fn energy_matches_naive_with_duplicates_and_both_orientations() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let n = 40;
        let h: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut q = Vec::new();
        for _ in 0..200 {
            let i = rng.random_range(0..n);
            let j = rng.random_range(0..n);
            if i != j {
                q.push((i, j, rng.random_range(-1.0..1.0)));
            }
        }
        let p = CompiledProblem::new(n, &h, &q);
        assert!(p.num_couplers() <= q.len());
        for _ in 0..50 {
            let s: Vec<i8> = (0..n).map(|_| if rng.random() { 1 } else { -1 }).collect();
            // Both sides sum ~250 terms of magnitude ≤ 1 in different orders: ~1e-13 apart.
            assert_relative_eq!(p.energy(&s), naive_energy(n, &h, &q, &s), epsilon = 1e-10);
        }
    }

    #[test]
    fn csr_rows_are_sorted_and_symmetric() {
        let q = [(2, 0, 1.0), (0, 1, -0.5), (1, 2, 0.25), (0, 2, 0.5)];
        let p = CompiledProblem::new(3, &[0.0; 3], &q);
        assert_eq!(p.couplers(), &[(0, 1, -0.5), (0, 2, 1.5), (1, 2, 0.25)]);
        assert_eq!(p.row(0), (&[1u32, 2][..], &[-0.5, 1.5][..]));
        assert_eq!(p.row(1), (&[0u32, 2][..], &[-0.5, 0.25][..]));
        assert_eq!(p.row(2), (&[0u32, 1][..], &[1.5, 0.25][..]));
    }

    #[test]
    fn flip_changes_energy_by_minus_two_s_times_local_field() {
        let q = [(0, 1, 0.7), (1, 2, -0.3), (0, 2, 0.2)];
        let p = CompiledProblem::new(3, &[0.1, -0.4, 0.9], &q);
        let s = [1i8, -1, 1];
        for i in 0..3 {
            let mut t = s;
            t[i] = -t[i];
            let field = p.local_field(i, |j| f64::from(s[j]));
            // Three-term sums of exactly representable-ish decimals: round-off only.
            assert_relative_eq!(
                p.energy(&t) - p.energy(&s),
                -2.0 * f64::from(s[i]) * field,
                epsilon = 1e-12
            );
        }
    }

    #[test]
    fn empty_problem() {
        let p = CompiledProblem::new(0, &[], &[]);
        assert_eq!(p.num_vars(), 0);
        assert_eq!(p.energy(&[]), 0.0);
    }
}
