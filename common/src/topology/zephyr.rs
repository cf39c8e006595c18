//! Zephyr Z(m, t): D-Wave's Advantage2 family, as dwave-networkx's `zephyr_graph` and
//! `zephyr_coordinates` define it.
//!
//! A qubit has coordinates (u, w, k, j, z): orientation `u` (0 vertical, 1 horizontal),
//! perpendicular offset `w` in `0..2m+1`, track `k` in `0..t`, parity `j` in `0..2` and
//! position `z` in `0..m` along its line. Seen as a grid of (2m + 1)² cells, qubit
//! (0, w, k, j, z) runs down column `w` over rows `2z + j` and `2z + j + 1`, and
//! (1, w, k, j, z) along row `w` over columns `2z + j` and `2z + j + 1`; every vertical qubit
//! is coupled to every horizontal one it crosses ("internal" couplers), to the next qubit on
//! its line ((z, z + 1), "external") and to the two of the other parity beside it ("odd").
//! D-Wave's linear index is `(((u·(2m+1) + w)·t + k)·2 + j)·m + z`.

use super::sort_encoding_order;

/// A Zephyr graph Z(m, t): `m` rows of unit tiles, `t` tracks per tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zephyr {
    pub m: u32,
    pub t: u32,
}

/// Zephyr coordinates of a qubit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ZephyrCoord {
    pub u: u32,
    pub w: u32,
    pub k: u32,
    pub j: u32,
    pub z: u32,
}

impl Zephyr {
    /// Advantage2's Z12 with t = 4: 4800 qubits.
    pub const Z12: Zephyr = Zephyr { m: 12, t: 4 };

    pub fn new(m: u32, t: u32) -> Self {
        Zephyr { m, t }
    }

    /// Lines across the grid: `2m + 1`.
    pub fn width(&self) -> u32 {
        2 * self.m + 1
    }

    /// Nominal qubit count, `4t·m·(2m + 1)`.
    pub fn num_qubits(&self) -> u32 {
        2 * self.width() * self.t * 2 * self.m
    }

    pub fn linear(&self, c: ZephyrCoord) -> u32 {
        (((c.u * self.width() + c.w) * self.t + c.k) * 2 + c.j) * self.m + c.z
    }

    pub fn coord(&self, q: u32) -> ZephyrCoord {
        let (rest, z) = (q / self.m, q % self.m);
        let (rest, j) = (rest / 2, rest % 2);
        let (rest, k) = (rest / self.t, rest % self.t);
        ZephyrCoord { u: rest / self.width(), w: rest % self.width(), k, j, z }
    }

    /// Every coupler of the full graph as (u, v) with u < v, in D-Wave's encoding order.
    pub fn couplers(&self) -> Vec<(u32, u32)> {
        let (m, t, width) = (self.m, self.t, self.width());
        let at = |u, w, k, j, z| self.linear(ZephyrCoord { u, w, k, j, z });
        let mut edges = Vec::new();
        for u in 0..2 {
            for w in 0..width {
                for k in 0..t {
                    for j in 0..2 {
                        // External: the next qubit on the same line.
                        for z in 0..m.saturating_sub(1) {
                            edges.push((at(u, w, k, j, z), at(u, w, k, j, z + 1)));
                        }
                    }
                    // Odd: (j = 0, z) beside (j = 1, z) and (j = 1, z - 1).
                    for z in 0..m {
                        edges.push((at(u, w, k, 0, z), at(u, w, k, 1, z)));
                        if z > 0 {
                            edges.push((at(u, w, k, 0, z), at(u, w, k, 1, z - 1)));
                        }
                    }
                }
            }
        }
        // Internal: vertical (0, w, k, j, z) over rows 2z + j, 2z + j + 1 crosses horizontal
        // (1, w', k', j', z') over columns 2z' + j', 2z' + j' + 1 in cell (w', w).
        for col in 0..width {
            for row in 0..width {
                for (j, z) in covering(row, m) {
                    for (jh, zh) in covering(col, m) {
                        for k in 0..t {
                            for kh in 0..t {
                                let (a, b) = (at(0, col, k, j, z), at(1, row, kh, jh, zh));
                                edges.push((a.min(b), a.max(b)));
                            }
                        }
                    }
                }
            }
        }
        sort_encoding_order(&mut edges);
        edges
    }

    /// Which of `q`'s two coupling groups (0 or 1) its coupler to neighbour `p` belongs to:
    /// Advantage2's `per_group_coupling_range` limits the sum of J over each group. As
    /// dwave-system's `coupling_groups`: an internal coupler by which of the two cells `q` spans
    /// `p`'s line crosses, an odd one by the side `p` lies on, an external one by the direction
    /// along the line. Defined for couplers of the graph only.
    pub fn coupling_group(&self, q: u32, p: u32) -> usize {
        let (a, b) = (self.coord(q), self.coord(p));
        let (z, j) = (i64::from(a.z), i64::from(a.j));
        let offset = if a.u != b.u {
            // q spans cells 2z + j and 2z + j + 1 across p's line w.
            2 * z + j + 1 - i64::from(b.w)
        } else if a.j != b.j {
            // Odd: (j = 0, z) beside (1, z) and (1, z − 1); (j = 1, z) beside (0, z), (0, z + 1).
            z + j - i64::from(b.z)
        } else {
            // External: the next qubit on the line (group 0) or the previous one (group 1).
            i64::from(b.z < a.z)
        };
        debug_assert!((0..=1).contains(&offset), "({q}, {p}) is not a coupler");
        usize::from(offset == 1)
    }

    /// Coupler count of the full graph: external, odd and internal.
    pub fn num_couplers(&self) -> usize {
        let (m, t, width) = (self.m as usize, self.t as usize, self.width() as usize);
        let lines = 2 * width * t;
        lines * 2 * m.saturating_sub(1) + lines * (2 * m).saturating_sub(1) + 16 * m * m * t * t
    }
}

/// The (j, z) of the qubits of one line that cover position `p` in `0..2m+1`.
fn covering(p: u32, m: u32) -> impl Iterator<Item = (u32, u32)> {
    (0..2).filter_map(move |j| {
        let z = p.checked_sub(j)? / 2;
        // Qubit (j, z) covers 2z + j and 2z + j + 1.
        (z < m && (p == 2 * z + j || p == 2 * z + j + 1)).then_some((j, z))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coupling_groups_split_every_qubits_couplers_in_two_halves() {
        // dwave-system's coupling_groups on the full Z12: two groups of 10 per qubit (8 internal
        // couplers, 1 odd, 1 external each) away from the edges.
        let z12 = Zephyr::Z12;
        let mut sizes = vec![[0usize; 2]; z12.num_qubits() as usize];
        for (u, v) in z12.couplers() {
            sizes[u as usize][z12.coupling_group(u, v)] += 1;
            sizes[v as usize][z12.coupling_group(v, u)] += 1;
        }
        let q = z12.linear(ZephyrCoord { u: 0, w: 5, k: 2, j: 1, z: 6 });
        assert_eq!(sizes[q as usize], [10, 10]);
        assert!(sizes.iter().all(|s| s[0] <= 10 && s[1] <= 10));
        // Qubit 0 at the edge: one line of 4 horizontals across each of its cells, one odd
        // neighbour (beside it, group 0) and one external (ahead, group 0).
        assert_eq!(sizes[0], [4 + 1 + 1, 4]);
    }

    #[test]
    fn z12_and_z15_have_the_published_sizes() {
        for (zephyr, qubits, couplers) in
            [(Zephyr::Z12, 4800, 45864), (Zephyr::new(15, 4), 7440, 71736)]
        {
            assert_eq!(zephyr.num_qubits(), qubits);
            assert_eq!(zephyr.num_couplers(), couplers);
            let edges = zephyr.couplers();
            assert_eq!(edges.len(), couplers);
            let unique: std::collections::HashSet<_> = edges.iter().collect();
            assert_eq!(unique.len(), couplers);
            assert!(edges.iter().all(|&(u, v)| u < v && v < qubits));
        }
    }

    /// `dwave_networkx.zephyr_coordinates(12, 4).linear_to_zephyr(q)` for these `q`, printed by
    /// dwave-networkx 0.8.19 (PyPI).
    const Z12_COORDINATES: [(u32, [u32; 5]); 10] = [
        (0, [0, 0, 0, 0, 0]),
        (1, [0, 0, 0, 0, 1]),
        (11, [0, 0, 0, 0, 11]),
        (12, [0, 0, 0, 1, 0]),
        (95, [0, 0, 3, 1, 11]),
        (96, [0, 1, 0, 0, 0]),
        (2399, [0, 24, 3, 1, 11]),
        (2400, [1, 0, 0, 0, 0]),
        (3333, [1, 9, 2, 1, 9]),
        (4799, [1, 24, 3, 1, 11]),
    ];

    #[test]
    fn linear_index_matches_dwave_networkx_and_round_trips() {
        let z12 = Zephyr::Z12;
        for (q, [u, w, k, j, z]) in Z12_COORDINATES {
            let c = ZephyrCoord { u, w, k, j, z };
            assert_eq!(z12.coord(q), c, "qubit {q}");
            assert_eq!(z12.linear(c), q);
        }
        for q in 0..z12.num_qubits() {
            assert_eq!(z12.linear(z12.coord(q)), q);
        }
    }

    #[test]
    fn neighbours_match_dwave_networkx() {
        // `sorted(zephyr_graph(12, 4).edges(0))` and the first 20 of `.edges(2400)`, from
        // dwave-networkx 0.8.19.
        let edges = Zephyr::Z12.couplers();
        let neighbours = |q: u32| {
            let mut n: Vec<u32> = edges
                .iter()
                .filter_map(|&(a, b)| (a == q).then_some(b).or((b == q).then_some(a)))
                .collect();
            n.sort_unstable();
            n
        };
        assert_eq!(neighbours(0), [1, 12, 2400, 2424, 2448, 2472, 2496, 2520, 2544, 2568]);
        assert_eq!(neighbours(2400)[..10], [0, 24, 48, 72, 96, 120, 144, 168, 2401, 2412]);
        // A qubit inside the grid has 16 internal, 2 external and 2 odd neighbours.
        let inner = Zephyr::Z12.linear(ZephyrCoord { u: 0, w: 7, k: 1, j: 1, z: 5 });
        assert_eq!(neighbours(inner).len(), 20);
    }
}
