//! Pegasus P(m): D-Wave's Advantage family, as dwave-networkx's `pegasus_graph` (default
//! offsets, `offsets_index = 0`) and `pegasus_coordinates` define it.
//!
//! A qubit has coordinates (u, w, k, z): orientation `u` (0 vertical, 1 horizontal), tile
//! offset `w` in `0..m`, track `k` in `0..12` and position `z` in `0..m-1` along its line.
//! D-Wave's linear index is `((m·u + w)·12 + k)·(m − 1) + z`. Seen as a grid of 6m × 6m
//! cells, qubit (u, w, k, z) runs along line `6w + k/2` (a column if vertical) over the six
//! cells from `6z + offset_u[k]/2`, in slot `k mod 2` of its line, with the offsets below.
//! A qubit is coupled to every orthogonal qubit it crosses ("internal", 12), to the next qubit
//! on its line ((z, z + 1), "external") and to its twin track `k xor 1` ("odd").
//!
//! The full chip is only the *fabric*: the qubits with at least one internal coupler (5640 of
//! P16's nominal 5760); `pegasus_graph(m, fabric_only=False)` is the nominal graph.

use super::sort_encoding_order;

/// dwave-networkx's default vertical and horizontal offsets (`offsets_index = 0`).
const OFFSETS: [[u32; 12]; 2] =
    [[2, 2, 2, 2, 10, 10, 10, 10, 6, 6, 6, 6], [6, 6, 6, 6, 2, 2, 2, 2, 10, 10, 10, 10]];

/// A Pegasus graph P(m) with the default offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pegasus {
    pub m: u32,
}

/// Pegasus coordinates of a qubit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PegasusCoord {
    pub u: u32,
    pub w: u32,
    pub k: u32,
    pub z: u32,
}

/// "Nice" coordinates (t, y, x, u, k): Pegasus as three interleaved Chimera C(m−1) graphs
/// with t = 4, `t` choosing the Chimera, (y, x) its cell, `u` the shore, `k` in `0..4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NiceCoord {
    pub t: u32,
    pub y: u32,
    pub x: u32,
    pub u: u32,
    pub k: u32,
}

impl Pegasus {
    /// Advantage's P16: 5640 fabric qubits (5760 nominal).
    pub const P16: Pegasus = Pegasus { m: 16 };

    pub fn new(m: u32) -> Self {
        Pegasus { m }
    }

    /// Nominal qubit count (labels `0..24m(m−1)`), fabric or not.
    pub fn num_qubits(&self) -> u32 {
        24 * self.m * self.m.saturating_sub(1)
    }

    pub fn linear(&self, c: PegasusCoord) -> u32 {
        ((self.m * c.u + c.w) * 12 + c.k) * (self.m - 1) + c.z
    }

    pub fn coord(&self, q: u32) -> PegasusCoord {
        let m1 = self.m - 1;
        let (rest, z) = (q / m1, q % m1);
        let (rest, k) = (rest / 12, rest % 12);
        PegasusCoord { u: rest / self.m, w: rest % self.m, k, z }
    }

    /// The first of the six grid cells qubit `c` spans along its line (half dwave-networkx's
    /// offset, as minorminer's busclique fragments it).
    pub fn first_cell(c: PegasusCoord) -> u32 {
        6 * c.z + OFFSETS[c.u as usize][c.k as usize] / 2
    }

    /// dwave-networkx's `pegasus_to_nice`; `None` for the qubits outside the three
    /// C(m − 1) graphs (a band along the fabric's edge that nice coordinates leave out).
    pub fn to_nice(&self, c: PegasusCoord) -> Option<NiceCoord> {
        let PegasusCoord { u, w, k, z } = c;
        let t = if u == 0 { (2 + k / 4) % 3 } else { (4 - k / 4) % 3 };
        let (y, x) = if u == 1 { (w, z) } else { (z, w) };
        let (y, x, k) = match (t, u) {
            (0, 1) => (y.checked_sub(1)?, x, k - 4),
            (0, _) => (y, x, k - 4),
            (1, 1) => (y.checked_sub(1)?, x, k),
            (1, _) => (y, x, k - 8),
            (_, 1) => (y, x, k - 8),
            (_, _) => (y, x.checked_sub(1)?, k),
        };
        (y + 1 < self.m && x + 1 < self.m).then_some(NiceCoord { t, y, x, u, k })
    }

    /// dwave-networkx's `nice_to_pegasus`.
    pub fn from_nice(n: NiceCoord) -> PegasusCoord {
        let NiceCoord { t, y, x, u, k } = n;
        let (w, k) = match (t, u) {
            (0, 1) => (y + 1, 4 + k),
            (0, _) => (x, 4 + k),
            (1, 1) => (y + 1, k),
            (1, _) => (x, 8 + k),
            (_, 1) => (y, 8 + k),
            (_, _) => (x + 1, k),
        };
        PegasusCoord { u, w, k, z: if u == 1 { x } else { y } }
    }

    /// Whether qubit `c` belongs to the fabric.
    pub fn in_fabric(&self, c: PegasusCoord) -> bool {
        let (start, end) = self.fabric_bounds();
        let u = c.u as usize;
        if c.w == 0 {
            c.k >= start[u]
        } else if c.w == self.m - 1 {
            c.k < 12 - end[u]
        } else {
            true
        }
    }

    /// dwave-networkx's `fabric_start` and `fabric_end` per orientation.
    fn fabric_bounds(&self) -> ([u32; 2], [u32; 2]) {
        let min = |o: &[u32; 12]| o.iter().copied().min().unwrap_or(0);
        let max = |o: &[u32; 12]| o.iter().copied().max().unwrap_or(0);
        let start = [min(&OFFSETS[1]), min(&OFFSETS[0])];
        let end = [12 - max(&OFFSETS[1]), 12 - max(&OFFSETS[0])];
        (start, end)
    }

    /// The fabric's qubits, ascending.
    pub fn qubits(&self) -> Vec<u32> {
        (0..self.num_qubits()).filter(|&q| self.in_fabric(self.coord(q))).collect()
    }

    /// Every coupler of the fabric as (u, v) with u < v, in D-Wave's encoding order.
    pub fn couplers(&self) -> Vec<(u32, u32)> {
        self.edges(true)
    }

    /// Every coupler of the nominal graph (`fabric_only=False`).
    pub fn nominal_couplers(&self) -> Vec<(u32, u32)> {
        self.edges(false)
    }

    fn edges(&self, fabric_only: bool) -> Vec<(u32, u32)> {
        let (m, m1) = (self.m, self.m.saturating_sub(1));
        let keep = |c: PegasusCoord| !fabric_only || self.in_fabric(c);
        let mut edges = Vec::new();
        let mut push = |a: PegasusCoord, b: PegasusCoord| {
            if keep(a) && keep(b) {
                let (a, b) = (self.linear(a), self.linear(b));
                edges.push((a.min(b), a.max(b)));
            }
        };
        for u in 0..2 {
            for w in 0..m {
                for k in 0..12 {
                    for z in 0..m1 {
                        let here = PegasusCoord { u, w, k, z };
                        if z + 1 < m1 {
                            push(here, PegasusCoord { z: z + 1, ..here });
                        }
                        if k % 2 == 0 {
                            push(here, PegasusCoord { k: k + 1, ..here });
                        }
                    }
                }
            }
        }
        // Internal: vertical (0, w, k, z) meets horizontal (1, z + [kk < off0[k]], kk,
        // w − [k < off1[kk]]), over the ranges dwave-networkx's generator walks.
        let [off0, off1] = OFFSETS;
        for w in 0..m {
            for kk in 0..12 {
                let ks = if w > 0 { 0 } else { off1[kk as usize] };
                let ke = if w < m1 { 12 } else { off1[kk as usize] };
                for k in ks..ke {
                    for z in 0..m1 {
                        let wh = z + u32::from(kk < off0[k as usize]);
                        let zh = w - u32::from(k < off1[kk as usize]);
                        push(
                            PegasusCoord { u: 0, w, k, z },
                            PegasusCoord { u: 1, w: wh, k: kk, z: zh },
                        );
                    }
                }
            }
        }
        sort_encoding_order(&mut edges);
        edges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p16_has_the_published_sizes() {
        let p16 = Pegasus::P16;
        assert_eq!(p16.num_qubits(), 5760);
        assert_eq!(p16.qubits().len(), 5640);
        assert_eq!(p16.couplers().len(), 40484);
        assert_eq!(p16.nominal_couplers().len(), 40656);
        // `pegasus_graph(6)`: 680 qubits, 4484 couplers (dwave-networkx 0.8.19).
        let p6 = Pegasus::new(6);
        assert_eq!((p6.qubits().len(), p6.couplers().len()), (680, 4484));
        let edges = p16.couplers();
        let unique: std::collections::HashSet<_> = edges.iter().collect();
        assert_eq!(unique.len(), edges.len());
    }

    /// `pegasus_coordinates(16).linear_to_pegasus(q)` and, for fabric qubits,
    /// `linear_to_nice(q)`, printed by dwave-networkx 0.8.19 (PyPI).
    const P16_COORDINATES: [(u32, [u32; 4], Option<[u32; 5]>); 10] = [
        (0, [0, 0, 0, 0], None),
        (14, [0, 0, 0, 14], None),
        (15, [0, 0, 1, 0], None),
        (179, [0, 0, 11, 14], Some([1, 14, 0, 0, 3])),
        (180, [0, 1, 0, 0], Some([2, 0, 0, 0, 0])),
        (1234, [0, 6, 10, 4], Some([1, 4, 6, 0, 2])),
        (2879, [0, 15, 11, 14], None),
        (2880, [1, 0, 0, 0], None),
        (4000, [1, 6, 2, 10], Some([1, 5, 10, 1, 2])),
        (5759, [1, 15, 11, 14], None),
    ];

    #[test]
    fn linear_and_nice_coordinates_match_dwave_networkx() {
        let p16 = Pegasus::P16;
        for (q, [u, w, k, z], nice) in P16_COORDINATES {
            let c = PegasusCoord { u, w, k, z };
            assert_eq!(p16.coord(q), c, "qubit {q}");
            assert_eq!(p16.linear(c), q);
            assert_eq!(p16.in_fabric(c), nice.is_some(), "qubit {q}");
            if let Some([t, y, x, u, k]) = nice {
                let n = NiceCoord { t, y, x, u, k };
                assert_eq!(p16.to_nice(c), Some(n), "qubit {q}");
                assert_eq!(Pegasus::from_nice(n), c);
            }
        }
        // `nice_to_linear(n)` for a few nice coordinates.
        for ((t, y, x, u, k), q) in [
            ((0, 0, 0, 0, 0), 60),
            ((1, 3, 4, 1, 2), 3634),
            ((2, 14, 14, 1, 3), 5579),
            ((0, 5, 7, 0, 1), 1340),
        ] {
            assert_eq!(p16.linear(Pegasus::from_nice(NiceCoord { t, y, x, u, k })), q);
        }
        // Nice coordinates name 3·(m − 1)²·8 qubits, all in the fabric, and round-trip (5400, as
        // `pegasus_graph(16, nice_coordinates=True)` has).
        let mut named = 0;
        for q in p16.qubits() {
            let c = p16.coord(q);
            assert_eq!(p16.linear(c), q);
            if let Some(n) = p16.to_nice(c) {
                assert_eq!(Pegasus::from_nice(n), c, "qubit {q}");
                named += 1;
            }
        }
        assert_eq!(named, 3 * 15 * 15 * 8);
    }

    #[test]
    fn neighbours_match_dwave_networkx() {
        // `sorted(pegasus_graph(16).edges(1234))`, dwave-networkx 0.8.19.
        let expected = [
            1233, 1235, 1249, 3696, 3711, 3726, 3741, 3756, 3771, 3786, 3801, 3816, 3831, 3846,
            3861,
        ];
        let mut found: Vec<u32> = Pegasus::P16
            .couplers()
            .iter()
            .filter_map(|&(a, b)| (a == 1234).then_some(b).or((b == 1234).then_some(a)))
            .collect();
        found.sort_unstable();
        assert_eq!(found, expected);
    }
}
