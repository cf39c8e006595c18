//! Hardware graphs: D-Wave's Chimera indexing and the generic working graph a solver reports.
//!
//! A [`WorkingGraph`] is what a client may rely on: the nominal qubit count, the active qubits
//! and the active couplers, exactly as `GetProperties` reports them. [`Chimera`] knows the
//! geometry of the family (used by the emulator to build a chip, and by the trainer to find a
//! native clique embedding when the reported topology says "chimera").

use std::collections::HashMap;

use thiserror::Error;

/// The qubits that were inactive on the real DW_2000Q_5 (SAPI recording, Jan 2020).
pub const DW_2000Q_5_INACTIVE_QUBITS: [u32; 18] = [
    49, 123, 264, 1676, 1804, 1805, 1806, 1812, 1920, 1921, 1932, 1934, 1935, 1940, 1941, 1942,
    1943, 1977,
];

/// Couplers that were dead on the real DW_2000Q_5 although both their qubits worked.
pub const DW_2000Q_5_DEAD_COUPLERS: [(u32, u32); 8] = [
    (9, 12),
    (41, 45),
    (786, 789),
    (858, 860),
    (1161, 1164),
    (1232, 1360),
    (1280, 1408),
    (1505, 1508),
];

/// A Chimera graph C(m, n, t): an m × n grid of K_{t,t} unit cells.
///
/// D-Wave's linear index is `q = i·n·2t + j·2t + u·t + k` for cell row `i`, cell column `j`,
/// shore `u` (0 = vertical, 1 = horizontal) and position `k` in the shore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chimera {
    pub rows: u32,
    pub cols: u32,
    pub shore: u32,
}

/// Chimera coordinates of a qubit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChimeraCoord {
    pub row: u32,
    pub col: u32,
    pub shore: u32,
    pub k: u32,
}

impl Chimera {
    /// The D-Wave 2000Q's C16: 16 × 16 cells of K_{4,4}, 2048 qubits.
    pub const C16: Chimera = Chimera { rows: 16, cols: 16, shore: 4 };

    pub fn new(rows: u32, cols: u32, shore: u32) -> Self {
        Chimera { rows, cols, shore }
    }

    pub fn num_qubits(&self) -> u32 {
        self.rows * self.cols * 2 * self.shore
    }

    pub fn linear(&self, c: ChimeraCoord) -> u32 {
        c.row * self.cols * 2 * self.shore + c.col * 2 * self.shore + c.shore * self.shore + c.k
    }

    pub fn coord(&self, q: u32) -> ChimeraCoord {
        let t = self.shore;
        ChimeraCoord {
            row: q / (self.cols * 2 * t),
            col: (q / (2 * t)) % self.cols,
            shore: (q / t) % 2,
            k: q % t,
        }
    }

    /// Every coupler of the full-yield graph as (u, v) with u < v, in D-Wave's encoding order
    /// (sorted by the larger endpoint, then the smaller).
    pub fn couplers(&self) -> Vec<(u32, u32)> {
        let t = self.shore;
        let mut edges = Vec::with_capacity(self.num_couplers());
        for row in 0..self.rows {
            for col in 0..self.cols {
                let at = |shore, k| self.linear(ChimeraCoord { row, col, shore, k });
                for a in 0..t {
                    for b in 0..t {
                        edges.push((at(0, a), at(1, b)));
                    }
                }
                for k in 0..t {
                    if row + 1 < self.rows {
                        let below = self.linear(ChimeraCoord { row: row + 1, col, shore: 0, k });
                        edges.push((at(0, k), below));
                    }
                    if col + 1 < self.cols {
                        let right = self.linear(ChimeraCoord { row, col: col + 1, shore: 1, k });
                        edges.push((at(1, k), right));
                    }
                }
            }
        }
        sort_encoding_order(&mut edges);
        edges
    }

    pub fn num_couplers(&self) -> usize {
        let (m, n, t) = (self.rows as usize, self.cols as usize, self.shore as usize);
        m * n * t * t + (m - 1) * n * t + m * (n - 1) * t
    }

    /// The working graph left after removing `inactive` qubits and `dead` couplers.
    pub fn working_graph(&self, inactive: &[u32], dead: &[(u32, u32)]) -> WorkingGraph {
        let mut is_active = vec![true; self.num_qubits() as usize];
        for &q in inactive {
            if let Some(slot) = is_active.get_mut(q as usize) {
                *slot = false;
            }
        }
        let dead: std::collections::HashSet<(u32, u32)> =
            dead.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
        let qubits = (0..self.num_qubits()).filter(|&q| is_active[q as usize]).collect();
        let couplers = self
            .couplers()
            .into_iter()
            .filter(|&(u, v)| is_active[u as usize] && is_active[v as usize])
            .filter(|e| !dead.contains(e))
            .collect();
        WorkingGraph::new(self.num_qubits(), qubits, couplers)
            .expect("a Chimera subgraph is a valid working graph")
    }

    /// A chip with `dead_qubits` random inactive qubits and `dead_couplers` random dead
    /// couplers between active qubits, all drawn from `seed`: the stand-in for an unknown
    /// device's yield in embedding tests and benchmarks.
    pub fn random_faulty(
        &self,
        seed: u64,
        dead_qubits: usize,
        dead_couplers: usize,
    ) -> WorkingGraph {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let inactive: Vec<u32> =
            rand::seq::index::sample(&mut rng, self.num_qubits() as usize, dead_qubits)
                .into_iter()
                .map(|q| q as u32)
                .collect();
        let all = self.couplers();
        let mut dead = Vec::new();
        while dead.len() < dead_couplers.min(all.len()) {
            let e = all[rng.random_range(0..all.len())];
            if !inactive.contains(&e.0) && !inactive.contains(&e.1) && !dead.contains(&e) {
                dead.push(e);
            }
        }
        self.working_graph(&inactive, &dead)
    }

    /// The working graph of the real DW_2000Q_5 chip: 2030 qubits, 5909 couplers.
    pub fn dw_2000q_5() -> WorkingGraph {
        Chimera::C16.working_graph(&DW_2000Q_5_INACTIVE_QUBITS, &DW_2000Q_5_DEAD_COUPLERS)
    }
}

/// Sorts couplers (u < v) by (v, u), the order real 2000Q solvers list them in.
pub fn sort_encoding_order(edges: &mut [(u32, u32)]) {
    edges.sort_unstable_by_key(|&(u, v)| (v, u));
}

/// Why a reported graph cannot be used.
#[derive(Debug, Error, PartialEq)]
pub enum GraphError {
    #[error("qubit {qubit} is not below num_qubits {num_qubits}")]
    QubitOutOfRange { qubit: u32, num_qubits: u32 },
    #[error("qubit {0} is listed twice")]
    DuplicateQubit(u32),
    #[error("coupler ({0}, {1}) joins a qubit that is not active")]
    CouplerOnInactiveQubit(u32, u32),
    #[error("coupler ({0}, {1}) is not of the form u < v")]
    CouplerNotOrdered(u32, u32),
    #[error("coupler ({0}, {1}) is listed twice")]
    DuplicateCoupler(u32, u32),
}

/// The active part of a solver's hardware graph, as reported by `GetProperties`.
///
/// Qubit labels are the solver's (e.g. Chimera linear indices below `num_qubits`). Lookups by
/// label are O(1): `index_of` maps a label to its position in `qubits`, and `adjacency` lists
/// each active qubit's neighbours with the position of the shared coupler in `couplers`.
#[derive(Clone, Debug)]
pub struct WorkingGraph {
    num_qubits: u32,
    qubits: Vec<u32>,
    couplers: Vec<(u32, u32)>,
    /// `index_of[label]` = position in `qubits`, or `u32::MAX` if inactive.
    index_of: Vec<u32>,
    /// CSR adjacency over positions in `qubits`: (neighbour label, coupler position).
    adj_offsets: Vec<u32>,
    adj: Vec<(u32, u32)>,
    coupler_index: HashMap<(u32, u32), u32>,
}

impl PartialEq for WorkingGraph {
    fn eq(&self, other: &Self) -> bool {
        self.num_qubits == other.num_qubits
            && self.qubits == other.qubits
            && self.couplers == other.couplers
    }
}

const INACTIVE: u32 = u32::MAX;

impl WorkingGraph {
    /// Builds and checks a graph. `qubits` may come in any order; couplers keep theirs.
    pub fn new(
        num_qubits: u32,
        mut qubits: Vec<u32>,
        couplers: Vec<(u32, u32)>,
    ) -> Result<Self, GraphError> {
        qubits.sort_unstable();
        let mut index_of = vec![INACTIVE; num_qubits as usize];
        for (position, &qubit) in qubits.iter().enumerate() {
            let slot = index_of
                .get_mut(qubit as usize)
                .ok_or(GraphError::QubitOutOfRange { qubit, num_qubits })?;
            if *slot != INACTIVE {
                return Err(GraphError::DuplicateQubit(qubit));
            }
            *slot = position as u32;
        }
        let mut coupler_index = HashMap::with_capacity(couplers.len());
        let mut degree = vec![0u32; qubits.len()];
        for (position, &(u, v)) in couplers.iter().enumerate() {
            if u >= v {
                return Err(GraphError::CouplerNotOrdered(u, v));
            }
            let active = |q: u32| index_of.get(q as usize).is_some_and(|&i| i != INACTIVE);
            if !active(u) || !active(v) {
                return Err(GraphError::CouplerOnInactiveQubit(u, v));
            }
            if coupler_index.insert((u, v), position as u32).is_some() {
                return Err(GraphError::DuplicateCoupler(u, v));
            }
            degree[index_of[u as usize] as usize] += 1;
            degree[index_of[v as usize] as usize] += 1;
        }
        let mut adj_offsets = Vec::with_capacity(qubits.len() + 1);
        adj_offsets.push(0u32);
        for d in &degree {
            adj_offsets.push(adj_offsets.last().copied().unwrap_or(0) + d);
        }
        let mut fill = adj_offsets.clone();
        let mut adj = vec![(0u32, 0u32); couplers.len() * 2];
        for (position, &(u, v)) in couplers.iter().enumerate() {
            for (a, b) in [(u, v), (v, u)] {
                let slot = &mut fill[index_of[a as usize] as usize];
                adj[*slot as usize] = (b, position as u32);
                *slot += 1;
            }
        }
        Ok(WorkingGraph { num_qubits, qubits, couplers, index_of, adj_offsets, adj, coupler_index })
    }

    /// Nominal qubit count, inactive qubits included.
    pub fn num_qubits(&self) -> u32 {
        self.num_qubits
    }

    /// Active qubit labels, ascending.
    pub fn qubits(&self) -> &[u32] {
        &self.qubits
    }

    /// Active couplers (u < v) in the solver's order.
    pub fn couplers(&self) -> &[(u32, u32)] {
        &self.couplers
    }

    pub fn is_active(&self, qubit: u32) -> bool {
        self.index(qubit).is_some()
    }

    /// Position of an active qubit in [`Self::qubits`].
    pub fn index(&self, qubit: u32) -> Option<usize> {
        match self.index_of.get(qubit as usize) {
            Some(&i) if i != INACTIVE => Some(i as usize),
            _ => None,
        }
    }

    /// Position in [`Self::couplers`] of the coupler joining `a` and `b` (either order).
    pub fn coupler(&self, a: u32, b: u32) -> Option<usize> {
        self.coupler_index.get(&(a.min(b), a.max(b))).map(|&i| i as usize)
    }

    pub fn has_coupler(&self, a: u32, b: u32) -> bool {
        self.coupler(a, b).is_some()
    }

    /// Neighbours of an active qubit as (neighbour label, coupler position); empty if inactive.
    pub fn neighbours(&self, qubit: u32) -> &[(u32, u32)] {
        match self.index(qubit) {
            Some(i) => &self.adj[self.adj_offsets[i] as usize..self.adj_offsets[i + 1] as usize],
            None => &[],
        }
    }

    pub fn degree(&self, qubit: u32) -> usize {
        self.neighbours(qubit).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c16_has_the_documented_size() {
        let c = Chimera::C16;
        assert_eq!(c.num_qubits(), 2048);
        assert_eq!(c.couplers().len(), 6016);
        assert_eq!(c.num_couplers(), 6016);
    }

    #[test]
    fn linear_index_round_trips_and_matches_dwave_formula() {
        let c = Chimera::C16;
        for q in 0..c.num_qubits() {
            let x = c.coord(q);
            assert_eq!(q, 128 * x.row + 8 * x.col + 4 * x.shore + x.k);
            assert_eq!(c.linear(x), q);
        }
    }

    #[test]
    fn coupler_list_starts_as_the_real_solver_lists_it() {
        let couplers = Chimera::C16.couplers();
        assert_eq!(&couplers[..5], &[(0, 4), (1, 4), (2, 4), (3, 4), (0, 5)]);
        assert!(couplers.windows(2).all(|w| (w[0].1, w[0].0) < (w[1].1, w[1].0)));
        // (4, 12) is the first horizontal inter-cell coupler.
        assert!(couplers.contains(&(4, 12)));
        assert!(couplers.contains(&(0, 128)));
    }

    #[test]
    fn dw_2000q_5_working_graph_matches_the_recorded_solver() {
        let g = Chimera::dw_2000q_5();
        assert_eq!(g.num_qubits(), 2048);
        assert_eq!(g.qubits().len(), 2030);
        assert_eq!(g.couplers().len(), 5909);
        assert!(!g.is_active(49));
        assert!(!g.has_coupler(9, 12));
        assert!(g.has_coupler(12, 4));
        assert_eq!(g.degree(0), 5); // 4 in-cell + 1 vertical (row 0 has no neighbour above)
    }

    #[test]
    fn neighbours_are_symmetric_and_name_their_coupler() {
        let g = Chimera::dw_2000q_5();
        for &q in g.qubits() {
            for &(n, c) in g.neighbours(q) {
                let (u, v) = g.couplers()[c as usize];
                assert_eq!((u.min(v), u.max(v)), (q.min(n), q.max(n)));
                assert!(g.neighbours(n).iter().any(|&(m, _)| m == q));
            }
        }
    }

    #[test]
    fn bad_graphs_are_rejected() {
        assert_eq!(
            WorkingGraph::new(4, vec![0, 5], vec![]).unwrap_err(),
            GraphError::QubitOutOfRange { qubit: 5, num_qubits: 4 }
        );
        assert_eq!(
            WorkingGraph::new(4, vec![0, 1], vec![(0, 2)]).unwrap_err(),
            GraphError::CouplerOnInactiveQubit(0, 2)
        );
        assert_eq!(
            WorkingGraph::new(4, vec![0, 1], vec![(1, 0)]).unwrap_err(),
            GraphError::CouplerNotOrdered(1, 0)
        );
    }
}
