//! Layouts of a clique in the grid: nested rectangles, one *ell* of chains per rectangle.
//!
//! For a width `W`, level `i` in `0..W` owns a rectangle of `i + 1` rows and `W − i` columns;
//! each level's rectangle is the previous one with one row added (top or bottom) and one
//! column removed (left or right), so every rectangle's columns lie inside the ones before and
//! its rows contain theirs. Level `i` places a bundle of `t_i` chains, each one vertical track
//! over the rectangle's rows in the column the next level drops, plus one horizontal track
//! over its columns in the row this level added; they meet in that corner cell. A chain of
//! level `i` and one of level `j > i` meet where the first's row crosses the second's column,
//! inside both rectangles; chains of one bundle meet in their corner. Every column and row of
//! the W × W square is used by exactly one level, so chains on distinct tracks are disjoint.
//!
//! A bundle of `t` chains uses the `t` shortest usable vertical tracks and the `t` shortest
//! horizontal ones, paired longest with shortest; it is allowed if every pair fits the bound
//! `L` on the chain length. Dynamic programming over (level, rectangle, side of its new row)
//! finds the layout with exactly `n` chains and the fewest qubits for one `(W, L)`; a cheaper
//! pass without the chain count says whether `n` chains fit at all.

use super::grid::Grid;

const INF: u32 = u32::MAX;

/// Lengths of the usable tracks of one side of an ell, ascending.
#[derive(Clone, Copy, Default)]
struct Side {
    len: [u8; 16],
    count: usize,
}

impl Side {
    fn collect(grid: &Grid, u: usize, line: usize, a: usize, b: usize) -> Side {
        let mut side = Side::default();
        for k in 0..grid.shore {
            if grid.usable(u, line, k, a, b) {
                side.len[side.count] = grid.length(u, line, k, a, b).min(255) as u8;
                side.count += 1;
            }
        }
        side.len[..side.count].sort_unstable();
        side
    }
}

/// What the ells of one width offer, flat with stride `shore` per ell: for `t` chains
/// (`t` in `1..=limit`), `need[t − 1]` is the longest of the `t` shortest chains paired
/// longest with shortest, and `cost[t − 1]` their qubits.
struct Ells {
    shore: usize,
    limit: Vec<u8>,
    need: Vec<u8>,
    cost: Vec<u16>,
}

impl Ells {
    fn with_capacity(shore: usize, ells: usize) -> Ells {
        Ells {
            shore,
            limit: Vec::with_capacity(ells),
            need: Vec::with_capacity(ells * shore),
            cost: Vec::with_capacity(ells * shore),
        }
    }

    fn push(&mut self, v: &Side, h: &Side) {
        self.limit.push(0);
        self.need.resize(self.need.len() + self.shore, u8::MAX);
        self.cost.resize(self.cost.len() + self.shore, u16::MAX);
        self.set(self.limit.len() - 1, v, h);
    }

    fn set(&mut self, e: usize, v: &Side, h: &Side) {
        let limit = v.count.min(h.count);
        self.limit[e] = limit as u8;
        let mut cost = 0u16;
        for t in 1..=limit {
            let need = (0..t).map(|j| v.len[j] + h.len[t - 1 - j]).max().unwrap_or(0);
            cost += u16::from(v.len[t - 1]) + u16::from(h.len[t - 1]);
            self.need[e * self.shore + t - 1] = need;
            self.cost[e * self.shore + t - 1] = cost;
        }
    }

    /// The most chains ell `e` offers with every chain at most `bound` qubits long.
    fn most(&self, e: usize, bound: usize) -> usize {
        let need = &self.need[e * self.shore..e * self.shore + self.limit[e] as usize];
        need.iter().take_while(|&&x| x as usize <= bound).count()
    }

    /// Qubits of the `t` shortest chains of ell `e`.
    fn cost(&self, e: usize, t: usize) -> u32 {
        if t == 0 { 0 } else { u32::from(self.cost[e * self.shore + t - 1]) }
    }

    /// The shortest chain any ell offers.
    fn shortest(&self) -> usize {
        (0..self.limit.len())
            .filter(|&e| self.limit[e] > 0)
            .map(|e| self.need[e * self.shore] as usize)
            .min()
            .unwrap_or(usize::MAX)
    }
}

/// One level of a layout: its rectangle, corner and number of chains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Level {
    pub(super) rows: (usize, usize),
    pub(super) cols: (usize, usize),
    pub(super) row: usize,
    pub(super) col: usize,
    pub(super) chains: usize,
}

/// The ells of every (level, position, row side, column side) for one width.
pub(super) struct Layouts {
    dim: usize,
    width: usize,
    /// Per level: ell `((y * nx + x) * 2 + row_side) * 2 + col_side`.
    ells: Vec<Ells>,
}

impl Layouts {
    pub(super) fn new(grid: &Grid, width: usize) -> Option<Layouts> {
        let dim = grid.dim;
        if width == 0 || width > dim {
            return None;
        }
        let mut ells = Vec::with_capacity(width);
        for level in 0..width {
            let (h, w) = (level + 1, width - level);
            let (ny, nx) = (dim - h + 1, dim - w + 1);
            // Sides by line and start: vertical (column, top row), horizontal (row, left column).
            let v_sides: Vec<Side> = (0..dim * ny)
                .map(|i| Side::collect(grid, 0, i / ny, i % ny, i % ny + h - 1))
                .collect();
            let h_sides: Vec<Side> = (0..dim * nx)
                .map(|i| Side::collect(grid, 1, i / nx, i % nx, i % nx + w - 1))
                .collect();
            let mut here = Ells::with_capacity(grid.shore, ny * nx * 4);
            for y in 0..ny {
                for x in 0..nx {
                    for row in [y, y + h - 1] {
                        for col in [x, x + w - 1] {
                            here.push(&v_sides[col * ny + y], &h_sides[row * nx + x]);
                        }
                    }
                }
            }
            ells.push(here);
        }
        Some(Layouts { dim, width, ells })
    }

    /// Recomputes the ells whose column (`u = 0`) or row (`u = 1`) is one of `lines`, after
    /// qubits on them were banned.
    pub(super) fn refresh(&mut self, grid: &Grid, lines: &[(usize, usize)]) {
        for level in 0..self.width {
            let (h, w, ny, nx) = self.shape(level);
            for y in 0..ny {
                for x in 0..nx {
                    for (rs, row) in [y, y + h - 1].into_iter().enumerate() {
                        for (cs, col) in [x, x + w - 1].into_iter().enumerate() {
                            if lines.contains(&(0, col)) || lines.contains(&(1, row)) {
                                let v = Side::collect(grid, 0, col, y, y + h - 1);
                                let h_side = Side::collect(grid, 1, row, x, x + w - 1);
                                let e = ((y * nx + x) * 2 + rs) * 2 + cs;
                                self.ells[level].set(e, &v, &h_side);
                            }
                        }
                    }
                }
            }
        }
    }

    /// The shortest chain any layout of this width can have.
    pub(super) fn shortest_chain(&self) -> usize {
        self.ells.iter().map(Ells::shortest).min().unwrap_or(usize::MAX)
    }

    /// A chain length no layout of this width needs to exceed: two whole lines.
    pub(super) fn longest_chain(&self) -> usize {
        2 * self.dim
    }

    fn shape(&self, level: usize) -> (usize, usize, usize, usize) {
        let (h, w) = (level + 1, self.width - level);
        (h, w, self.dim - h + 1, self.dim - w + 1)
    }

    /// Row sides a level may use: the first has a single row.
    fn row_sides(level: usize) -> usize {
        if level == 0 { 1 } else { 2 }
    }

    /// Column sides a level may drop: the last keeps its single column.
    fn col_sides(&self, level: usize) -> usize {
        if level + 1 == self.width { 1 } else { 2 }
    }

    /// The next level's state after dropping column side `cs` and adding row side `rs2`.
    fn next(&self, level: usize, y: usize, x: usize, cs: usize, rs2: usize) -> Option<usize> {
        let (h, ..) = self.shape(level);
        let (_, _, ny2, nx2) = self.shape(level + 1);
        let y2 = if rs2 == 0 { y.checked_sub(1)? } else { y };
        let x2 = x + usize::from(cs == 0);
        (y2 < ny2 && x2 < nx2 && y + h < self.dim + usize::from(rs2 == 0))
            .then_some((y2 * nx2 + x2) * 2 + rs2)
    }

    /// For each bound in `from..from + count` (`count` at most 8): the most chains any layout
    /// of this width offers with chains of at most that many qubits. One pass for all bounds.
    pub(super) fn most_chains(&self, from: usize, count: usize) -> Vec<usize> {
        const UNSEEN: u16 = u16::MAX;
        let nb = count.clamp(1, 8);
        let (_, _, ny, nx) = self.shape(0);
        let mut best = vec![0u16; ny * nx * 2 * nb];
        let mut total = vec![0usize; nb];
        for level in 0..self.width {
            let (_, _, ny, nx) = self.shape(level);
            let last = level + 1 == self.width;
            let mut next = if last {
                Vec::new()
            } else {
                let (_, _, ny2, nx2) = self.shape(level + 1);
                vec![UNSEEN; ny2 * nx2 * 2 * nb]
            };
            let ells = &self.ells[level];
            for y in 0..ny {
                for x in 0..nx {
                    for rs in 0..Self::row_sides(level) {
                        let state = (y * nx + x) * 2 + rs;
                        let so_far = &best[state * nb..(state + 1) * nb];
                        if so_far[0] == UNSEEN {
                            continue;
                        }
                        for cs in 0..self.col_sides(level) {
                            let e = state * 2 + cs;
                            let mut chains = [0u16; 8];
                            for b in 0..nb {
                                chains[b] = so_far[b] + ells.most(e, from + b) as u16;
                            }
                            if last {
                                for b in 0..nb {
                                    total[b] = total[b].max(usize::from(chains[b]));
                                }
                                continue;
                            }
                            for rs2 in 0..2 {
                                if let Some(s2) = self.next(level, y, x, cs, rs2) {
                                    let slot = &mut next[s2 * nb..(s2 + 1) * nb];
                                    for b in 0..nb {
                                        if slot[b] == UNSEEN || slot[b] < chains[b] {
                                            slot[b] = chains[b];
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            best = next;
        }
        total
    }

    /// The layout of exactly `n` chains of at most `bound` qubits with the fewest qubits, and
    /// that number.
    pub(super) fn cheapest(
        &self,
        n: usize,
        shore: usize,
        bound: usize,
    ) -> Option<(u32, Vec<Level>)> {
        let width = self.width;
        // Chains placed before level i lie in lo(i)..=hi(i).
        let lo = |i: usize| n.saturating_sub(shore * (width - i));
        let hi = |i: usize| n.min(shore * i);
        let span = |i: usize| hi(i) + 1 - lo(i).min(hi(i) + 1);
        let states = |i: usize| {
            let (_, _, ny, nx) = self.shape(i);
            ny * nx * 2
        };
        let mut cost = vec![INF; states(0) * span(0)];
        // pred[i][state * span + c]: (previous state << 5) | (column side << 4) | chains.
        let mut preds: Vec<Vec<u32>> = Vec::with_capacity(width);
        for state in (0..states(0)).step_by(2) {
            cost[state * span(0)] = 0;
        }
        let mut best: Option<(u32, usize, usize, usize)> = None; // (cost, state, c, t)
        for level in 0..width {
            let (_, _, ny, nx) = self.shape(level);
            let last = level + 1 == width;
            let (lo2, span2) = if last { (0, 0) } else { (lo(level + 1), span(level + 1)) };
            let mut next_cost =
                if last { Vec::new() } else { vec![INF; states(level + 1) * span2] };
            let mut next_pred =
                if last { Vec::new() } else { vec![0u32; states(level + 1) * span2] };
            for y in 0..ny {
                for x in 0..nx {
                    for rs in 0..Self::row_sides(level) {
                        let state = (y * nx + x) * 2 + rs;
                        let row = &cost[state * span(level)..(state + 1) * span(level)];
                        if row.iter().all(|&c| c == INF) {
                            continue;
                        }
                        for cs in 0..self.col_sides(level) {
                            let (ells, e) = (&self.ells[level], state * 2 + cs);
                            let most = ells.most(e, bound);
                            for (ci, &so_far) in row.iter().enumerate() {
                                if so_far == INF {
                                    continue;
                                }
                                let c = lo(level) + ci;
                                if last {
                                    let t = n - c;
                                    if t <= most {
                                        let total = so_far + ells.cost(e, t);
                                        if best.is_none_or(|b| total < b.0) {
                                            best = Some((total, state * 2 + cs, c, t));
                                        }
                                    }
                                    continue;
                                }
                                for t in 0..=most {
                                    let c2 = c + t;
                                    if c2 < lo2 || c2 >= lo2 + span2 {
                                        continue;
                                    }
                                    let total = so_far + ells.cost(e, t);
                                    for rs2 in 0..2 {
                                        let Some(s2) = self.next(level, y, x, cs, rs2) else {
                                            continue;
                                        };
                                        let at = s2 * span2 + c2 - lo2;
                                        if total < next_cost[at] {
                                            next_cost[at] = total;
                                            next_pred[at] = ((state as u32) << 5)
                                                | ((cs as u32) << 4)
                                                | t as u32;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if !last {
                preds.push(next_pred);
                cost = next_cost;
            }
        }
        let (total, last_key, mut c, t) = best?;
        // Walk back: level W−1's state and chains, then each predecessor.
        let mut levels = vec![self.level(width - 1, last_key / 2, last_key % 2, t)];
        let mut state = last_key / 2;
        for level in (0..width - 1).rev() {
            let packed = preds[level][state * span(level + 1) + c - lo(level + 1)];
            let (prev, cs, t) =
                ((packed >> 5) as usize, ((packed >> 4) & 1) as usize, (packed & 15) as usize);
            levels.push(self.level(level, prev, cs, t));
            c -= t;
            state = prev;
        }
        levels.reverse();
        Some((total, levels))
    }

    fn level(&self, level: usize, state: usize, cs: usize, chains: usize) -> Level {
        let (h, w, _, nx) = self.shape(level);
        let (rs, pos) = (state % 2, state / 2);
        let (y, x) = (pos / nx, pos % nx);
        Level {
            rows: (y, y + h - 1),
            cols: (x, x + w - 1),
            row: if rs == 0 { y } else { y + h - 1 },
            col: if cs == 0 { x } else { x + w - 1 },
            chains,
        }
    }
}
