//! Chimera C(m, n, t): D-Wave's 2000Q family, a grid of K_{t,t} unit cells.

use super::{Family, WorkingGraph, sort_encoding_order};

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
        Family::Chimera(*self).working_graph(inactive, dead)
    }

    /// The working graph of the real DW_2000Q_5 chip: 2030 qubits, 5909 couplers.
    pub fn dw_2000q_5() -> WorkingGraph {
        Chimera::C16.working_graph(&DW_2000Q_5_INACTIVE_QUBITS, &DW_2000Q_5_DEAD_COUPLERS)
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
}
