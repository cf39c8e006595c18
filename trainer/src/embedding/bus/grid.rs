//! A Zephyr or Pegasus graph seen as a square grid of cells crossed by *tracks* of qubits.
//!
//! Every qubit lies along one line of the grid (a column if vertical, `u = 0`; a row if
//! horizontal, `u = 1`) and covers `span` consecutive cells of it: Zephyr qubit
//! (u, w, k, j, z) lies on line `w` in slot `2k + j` over cells `2z + j ..= 2z + j + 1`
//! (grid side 2m + 1, 2t slots); Pegasus qubit (u, w, k, z) on line `6w + k/2` in slot
//! `k mod 2` over the six cells from `6z + offset/2` (grid side 6m, 2 slots). This is the
//! fragment view of minorminer's busclique. A *track* is one slot of one line; consecutive
//! qubits of a track are joined by external couplers; a vertical and a horizontal qubit that
//! cover the same cell are joined by an internal coupler on the full chip.
//!
//! Per cell of a track the grid keeps the qubit there, its ordinal along the track, and how far
//! back from it the track is usable (every qubit active and not banned, every joint coupler
//! active), so whether a track serves cells `a..=b` and how many qubits that takes are O(1).

use qahm_common::topology::{Family, WorkingGraph};

const NONE: u32 = u32::MAX;
const NO_RUN: u16 = u16::MAX;

/// The grid of one working graph, with qubits banned by the clash search.
pub(super) struct Grid<'g> {
    graph: &'g WorkingGraph,
    /// Cells per line and lines per orientation.
    pub(super) dim: usize,
    /// Tracks (slots) per line.
    pub(super) shore: usize,
    /// Per cell of each track (`track_index(u, w, k) + z`): the qubit covering it, or NONE.
    qubit: Vec<u32>,
    /// Ordinal of that qubit along its track.
    ordinal: Vec<u16>,
    /// First cell of the usable run of the track that ends at this cell, or NO_RUN.
    run: Vec<u16>,
    banned: Vec<bool>,
}

impl<'g> Grid<'g> {
    /// The grid of `graph` seen as `family`; `None` for Chimera (it has its own layout), for
    /// shapes whose labels exceed the graph, or more than 15 slots per line.
    pub(super) fn new(graph: &'g WorkingGraph, family: Family) -> Option<Grid<'g>> {
        let (dim, shore, span) = match family {
            Family::Zephyr(z) => (2 * z.m as usize + 1, 2 * z.t as usize, 2),
            Family::Pegasus(p) => (6 * p.m as usize, 2, 6),
            Family::Chimera(_) => return None,
        };
        if shore == 0
            || shore > 15
            || dim >= NO_RUN as usize
            || family.num_qubits() != graph.num_qubits()
        {
            return None;
        }
        let mut grid = Grid {
            graph,
            dim,
            shore,
            qubit: vec![NONE; 2 * dim * shore * dim],
            ordinal: vec![0; 2 * dim * shore * dim],
            run: vec![NO_RUN; 2 * dim * shore * dim],
            banned: vec![false; graph.num_qubits() as usize],
        };
        for q in family.qubits() {
            let (u, w, k, first) = match family {
                Family::Zephyr(z) => {
                    let c = z.coord(q);
                    (c.u, c.w, 2 * c.k + c.j, 2 * c.z + c.j)
                }
                Family::Pegasus(p) => {
                    let c = p.coord(q);
                    (c.u, 6 * c.w + c.k / 2, c.k % 2, qahm_common::topology::Pegasus::first_cell(c))
                }
                Family::Chimera(_) => return None,
            };
            let start = grid.track(u as usize, w as usize, k as usize) + first as usize;
            grid.qubit[start..start + span].fill(q);
        }
        for track in 0..2 * dim * shore {
            let base = track * dim;
            let mut ordinal = 0u16;
            for z in 1..dim {
                if grid.qubit[base + z] != grid.qubit[base + z - 1] {
                    ordinal += 1;
                }
                grid.ordinal[base + z] = ordinal;
            }
            grid.refresh(base);
        }
        Some(grid)
    }

    /// Index of cell 0 of track (`u`, line `w`, slot `k`).
    fn track(&self, u: usize, w: usize, k: usize) -> usize {
        ((u * self.dim + w) * self.shore + k) * self.dim
    }

    fn usable_qubit(&self, q: u32) -> bool {
        q != NONE && !self.banned[q as usize] && self.graph.is_active(q)
    }

    /// Recomputes the usable runs of the track starting at `base`.
    fn refresh(&mut self, base: usize) {
        for z in 0..self.dim {
            let q = self.qubit[base + z];
            self.run[base + z] = if !self.usable_qubit(q) {
                NO_RUN
            } else if z > 0 && self.run[base + z - 1] != NO_RUN {
                let prev = self.qubit[base + z - 1];
                if prev == q || self.graph.has_coupler(prev, q) {
                    self.run[base + z - 1]
                } else {
                    z as u16
                }
            } else {
                z as u16
            };
        }
    }

    /// Takes qubit `q`, which covers cell `z` of track (`u`, `w`, `k`), out of every line.
    pub(super) fn ban(&mut self, u: usize, w: usize, k: usize, q: u32) {
        if let Some(slot) = self.banned.get_mut(q as usize) {
            *slot = true;
        }
        let base = self.track(u, w, k);
        self.refresh(base);
    }

    /// Whether track (`u`, `w`, `k`) serves cells `a..=b` with active, joined qubits.
    pub(super) fn usable(&self, u: usize, w: usize, k: usize, a: usize, b: usize) -> bool {
        let run = self.run[self.track(u, w, k) + b];
        run != NO_RUN && run as usize <= a
    }

    /// Qubits track (`u`, `w`, `k`) needs to serve cells `a..=b`.
    pub(super) fn length(&self, u: usize, w: usize, k: usize, a: usize, b: usize) -> usize {
        let base = self.track(u, w, k);
        (self.ordinal[base + b] - self.ordinal[base + a]) as usize + 1
    }

    /// The qubit covering cell `z` of track (`u`, `w`, `k`).
    pub(super) fn qubit(&self, u: usize, w: usize, k: usize, z: usize) -> u32 {
        self.qubit[self.track(u, w, k) + z]
    }

    /// The qubits of track (`u`, `w`, `k`) serving cells `a..=b`, in order.
    pub(super) fn line(&self, u: usize, w: usize, k: usize, a: usize, b: usize) -> Vec<u32> {
        let base = self.track(u, w, k);
        let mut out: Vec<u32> = Vec::with_capacity(self.length(u, w, k, a, b));
        for z in a..=b {
            let q = self.qubit[base + z];
            if out.last() != Some(&q) {
                out.push(q);
            }
        }
        out
    }

    /// Whether the vertical qubit of slot `kv` and the horizontal one of slot `kh` that meet in
    /// cell (`row`, `col`) are coupled.
    pub(super) fn joined(&self, row: usize, col: usize, kv: usize, kh: usize) -> bool {
        let (v, h) = (self.qubit(0, col, kv, row), self.qubit(1, row, kh, col));
        v != NONE && h != NONE && self.graph.has_coupler(v, h)
    }

    pub(super) fn graph(&self) -> &WorkingGraph {
        self.graph
    }
}

#[cfg(test)]
mod tests {
    use qahm_common::topology::{Pegasus, Zephyr};

    use super::*;

    /// On a full chip every crossing of a vertical and a horizontal qubit is a coupler, and
    /// these are all its internal couplers.
    fn crossings_are_the_internal_couplers(family: Family) {
        let graph = family.full_graph();
        let grid = Grid::new(&graph, family).unwrap();
        let mut pairs = std::collections::HashSet::new();
        for row in 0..grid.dim {
            for col in 0..grid.dim {
                for kv in 0..grid.shore {
                    for kh in 0..grid.shore {
                        let (v, h) = (grid.qubit(0, col, kv, row), grid.qubit(1, row, kh, col));
                        if v != NONE && h != NONE {
                            assert!(grid.joined(row, col, kv, kh), "{v} {h}");
                            pairs.insert((v.min(h), v.max(h)));
                        }
                    }
                }
            }
        }
        let coord_u = |q: u32| match family {
            Family::Zephyr(z) => z.coord(q).u,
            Family::Pegasus(p) => p.coord(q).u,
            Family::Chimera(c) => c.coord(q).shore,
        };
        let internal = graph.couplers().iter().filter(|&&(a, b)| coord_u(a) != coord_u(b)).count();
        assert_eq!(pairs.len(), internal);
    }

    #[test]
    fn zephyr_and_pegasus_crossings_are_exactly_their_internal_couplers() {
        crossings_are_the_internal_couplers(Zephyr::new(4, 4).into());
        crossings_are_the_internal_couplers(Zephyr::new(3, 2).into());
        crossings_are_the_internal_couplers(Pegasus::new(6).into());
    }

    #[test]
    fn tracks_are_usable_until_a_dead_qubit_or_coupler() {
        let family: Family = Zephyr::Z12.into();
        let z = Zephyr::Z12;
        // Track (0, w 3, slot 2k + j = 5): qubits (0, 3, 2, 1, z) over cells 2z + 1, 2z + 2.
        let q = |zz| z.linear(qahm_common::topology::ZephyrCoord { u: 0, w: 3, k: 2, j: 1, z: zz });
        let graph = family.working_graph(&[q(6)], &[(q(2), q(3))]);
        let grid = Grid::new(&graph, family).unwrap();
        assert_eq!(grid.qubit(0, 3, 5, 1), q(0));
        assert!(!grid.usable(0, 3, 5, 0, 0), "cell 0 of a j = 1 track holds no qubit");
        assert!(grid.usable(0, 3, 5, 1, 6));
        assert_eq!(grid.length(0, 3, 5, 1, 6), 3);
        assert_eq!(grid.line(0, 3, 5, 2, 5), vec![q(0), q(1), q(2)]);
        assert!(!grid.usable(0, 3, 5, 5, 7), "(q2, q3) is dead");
        assert!(grid.usable(0, 3, 5, 7, 12));
        assert!(!grid.usable(0, 3, 5, 12, 13), "q6 is inactive");
    }
}
