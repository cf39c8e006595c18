//! Native clique layouts in a (possibly faulty) Chimera graph.
//!
//! Work in a *view* of the grid: one of the eight symmetries of the cell grid (transpose, flip
//! rows, flip columns). In the view, shore 0 qubits form vertical lines `V(x, k)` (column `x`,
//! index `k`, coupled row to row) and shore 1 qubits horizontal lines `H(y, k)`.
//!
//! A layout fixes a top row `T` and a right column `R`. Each chain has a *corner* cell `(y, x)`
//! and is the vertical line `V(x, kv)` over rows `T..=y` plus the horizontal line `H(y, kh)`
//! over columns `x..=R`, joined by the intra-cell coupler of the corner: `(y-T+1) + (R-x+1)`
//! qubits. Corners lie on a monotone staircase (each step right, down or both), so any two
//! chains A, B with corners `(ya, xa) <= (yb, xb)` meet in cell `(ya, xb)`, where A's
//! horizontal line crosses B's vertical line; chains sharing a corner cell meet inside it.
//! With 15 corner cells on the diagonal and four chains each this is the K_60 "triangle" of
//! Boothby, King & Roy (2016) with chains of 16 qubits; choosing the staircase, the lines and
//! the symmetry lets the layout dodge inactive qubits and dead couplers.
//!
//! For one view and one `(T, R)`, a line is usable by a corner if all its qubits and the
//! couplers along it up to the corner are active. Lines of a row (column) are nested in what
//! they can serve, so whether a staircase fits is a prefix (suffix) count per row (column);
//! dynamic programming over cells finds the staircase with the most chains and then the fewest
//! qubits, for a bound on the chain length. Lines are then assigned (greedily, then by local
//! search against dead couplers). A dead coupler where two chosen lines cross branches the
//! search: one child bans the vertical line from that row down, the other the horizontal line
//! from that column left. Chains that still clash are left out and reported as missing, with
//! each kept chain's free end qubits as room for the heuristic that re-routes them.

use qahm_common::topology::{Chimera, ChimeraCoord, WorkingGraph};

/// A candidate line change for one chain: (horizontal line?, new line index, chain that
/// currently holds that line and takes the old one in exchange).
type Move = (bool, usize, Option<usize>);

/// Chain-length bounds tried beyond the first one that yields any layout.
const EXTRA_LENGTH_BOUNDS: usize = 3;
/// Layouts realised per chain-length bound in the best-first search.
const MAX_EXPANSIONS: usize = 64;
/// Line bans along one branch of the search.
const MAX_BANS: usize = 12;

#[derive(Clone, Copy, Debug)]
struct Orientation {
    transpose: bool,
    flip_rows: bool,
    flip_cols: bool,
}

/// The grid seen through one symmetry, with line and coupler health precomputed.
struct View {
    chimera: Chimera,
    orientation: Orientation,
    rows: usize,
    cols: usize,
    t: usize,
    /// `v_ok[(x * t + k) * rows + y]`: qubit `V(y, x, k)` active and, for `y > 0`, the coupler
    /// to `V(y - 1, x, k)` active.
    v_ok: Vec<bool>,
    v_qubit_ok: Vec<bool>,
    /// `h_ok[(y * t + k) * cols + x]`: qubit `H(y, x, k)` active and, for `x > 0`, the coupler to
    /// `H(y, x - 1, k)` active.
    h_ok: Vec<bool>,
    h_qubit_ok: Vec<bool>,
    /// `cell_ok[((y * cols + x) * t + kv) * t + kh]`: intra-cell coupler `V(kv)`–`H(kh)` active.
    cell_ok: Vec<bool>,
}

impl View {
    fn new(graph: &WorkingGraph, chimera: Chimera, orientation: Orientation) -> View {
        let (rows, cols) = if orientation.transpose {
            (chimera.cols as usize, chimera.rows as usize)
        } else {
            (chimera.rows as usize, chimera.cols as usize)
        };
        let t = chimera.shore as usize;
        let mut view = View {
            chimera,
            orientation,
            rows,
            cols,
            t,
            v_ok: vec![false; cols * t * rows],
            v_qubit_ok: vec![false; cols * t * rows],
            h_ok: vec![false; rows * t * cols],
            h_qubit_ok: vec![false; rows * t * cols],
            cell_ok: vec![false; rows * cols * t * t],
        };
        for y in 0..rows {
            for x in 0..cols {
                for k in 0..t {
                    let v = view.qubit(y, x, 0, k);
                    let h = view.qubit(y, x, 1, k);
                    let vi = (x * t + k) * rows + y;
                    let hi = (y * t + k) * cols + x;
                    view.v_qubit_ok[vi] = graph.is_active(v);
                    view.h_qubit_ok[hi] = graph.is_active(h);
                    view.v_ok[vi] = graph.is_active(v)
                        && (y == 0 || graph.has_coupler(v, view.qubit(y - 1, x, 0, k)));
                    view.h_ok[hi] = graph.is_active(h)
                        && (x == 0 || graph.has_coupler(h, view.qubit(y, x - 1, 1, k)));
                    for kh in 0..t {
                        view.cell_ok[((y * cols + x) * t + k) * t + kh] =
                            graph.has_coupler(v, view.qubit(y, x, 1, kh));
                    }
                }
            }
        }
        view
    }

    /// Physical label of view coordinates (row `y`, column `x`, shore `s`, index `k`).
    fn qubit(&self, y: usize, x: usize, s: usize, k: usize) -> u32 {
        let o = self.orientation;
        let (mut row, mut col, shore) = if o.transpose { (x, y, 1 - s) } else { (y, x, s) };
        if o.flip_rows {
            row = self.chimera.rows as usize - 1 - row;
        }
        if o.flip_cols {
            col = self.chimera.cols as usize - 1 - col;
        }
        self.chimera.linear(ChimeraCoord {
            row: row as u32,
            col: col as u32,
            shore: shore as u32,
            k: k as u32,
        })
    }

    fn junction(&self, y: usize, x: usize, kv: usize, kh: usize) -> bool {
        self.cell_ok[((y * self.cols + x) * self.t + kv) * self.t + kh]
    }

    /// For each vertical line `(x, k)`: the deepest corner row it can serve when lines start at
    /// row `top` (`None` if not even row `top` is usable).
    fn v_reach(&self, top: usize) -> Vec<Option<usize>> {
        let (rows, t) = (self.rows, self.t);
        (0..self.cols * t)
            .map(|line| {
                let base = line * rows;
                if !self.v_qubit_ok[base + top] {
                    return None;
                }
                let mut y = top;
                while y + 1 < rows && self.v_ok[base + y + 1] {
                    y += 1;
                }
                Some(y)
            })
            .collect()
    }

    /// For each horizontal line `(y, k)`: the leftmost corner column it can serve when lines
    /// end at column `right`.
    fn h_reach(&self, right: usize) -> Vec<Option<usize>> {
        let (cols, t) = (self.cols, self.t);
        (0..self.rows * t)
            .map(|line| {
                let base = line * cols;
                if !self.h_qubit_ok[base + right] {
                    return None;
                }
                let mut x = right;
                while x > 0 && self.h_ok[base + x] {
                    x -= 1;
                }
                Some(x)
            })
            .collect()
    }
}

/// Lines a corner cell can use for a given `(T, R)`.
struct Reach {
    top: usize,
    right: usize,
    v: Vec<Option<usize>>,
    h: Vec<Option<usize>>,
}

impl Reach {
    fn v_lines(&self, view: &View, y: usize, x: usize) -> Vec<usize> {
        (0..view.t).filter(|&k| self.v[x * view.t + k].is_some_and(|d| d >= y)).collect()
    }

    fn h_lines(&self, view: &View, y: usize, x: usize) -> Vec<usize> {
        (0..view.t).filter(|&k| self.h[y * view.t + k].is_some_and(|l| l <= x)).collect()
    }

    fn chain_len(&self, y: usize, x: usize) -> usize {
        (y - self.top + 1) + (self.right - x + 1)
    }
}

/// Maximum matching between usable vertical and horizontal lines through live corner couplers.
fn cell_capacity(view: &View, reach: &Reach, y: usize, x: usize) -> usize {
    let vs = reach.v_lines(view, y, x);
    let hs = reach.h_lines(view, y, x);
    let mut match_of_h: Vec<Option<usize>> = vec![None; view.t];
    let mut size = 0;
    for &kv in &vs {
        let mut seen = vec![false; view.t];
        if augment(view, y, x, kv, &hs, &mut match_of_h, &mut seen) {
            size += 1;
        }
    }
    size
}

fn augment(
    view: &View,
    y: usize,
    x: usize,
    kv: usize,
    hs: &[usize],
    match_of_h: &mut [Option<usize>],
    seen: &mut [bool],
) -> bool {
    for &kh in hs {
        if view.junction(y, x, kv, kh) && !seen[kh] {
            seen[kh] = true;
            let free = match match_of_h[kh] {
                None => true,
                Some(other) => augment(view, y, x, other, hs, match_of_h, seen),
            };
            if free {
                match_of_h[kh] = Some(kv);
                return true;
            }
        }
    }
    false
}

/// A staircase: corner cells `(y, x, count)` along a monotone path (each step moves right,
/// down, or both), so that any two corners are ordered in both coordinates.
#[derive(Clone)]
struct Plan {
    view: usize,
    top: usize,
    right: usize,
    cells: Vec<(usize, usize, usize)>,
    count: usize,
    total: usize,
}

const INF: u32 = u32::MAX;
const NONE: u32 = u32::MAX;

/// The staircase with the most chains (up to `n`) and, among those, the fewest qubits, all
/// chains at most `max_len` long.
///
/// Several corner cells may share a row (they share its `t` horizontal lines) or a column.
/// Lines in a row are nested (a line usable at column x is usable further right), so a row's
/// chains fit iff, at each of its corners, the chains at or left of it number at most the lines
/// usable there; a column's likewise from below. The DP state at a corner cell is (chains so
/// far `c`, chains so far in this row `r`, the column's remaining slack `s`); the previous
/// corner is either up-left (row and column fresh), left in the same row, or above in the same
/// column.
fn best_staircase(
    view: &View,
    view_index: usize,
    reach: &Reach,
    n: usize,
    max_len: usize,
) -> Option<Plan> {
    let (rows, cols, t) = (view.rows, view.cols, view.t);
    let side = t + 1;
    let per_c = side * side;
    let per_cell = (n + 1) * per_c;
    let width = n + 1;
    // Predecessor of every reached state; states are `cell * per_cell + c * per_c + r * side + s`.
    let mut pred = vec![0u32; rows * cols * per_cell];
    let mut here = vec![INF; per_cell];
    // Best (cost, state) ...
    // ... over cells up-left of and including (y - 1, x), per c (previous row of the prefix):
    let mut diag_prev = vec![(INF, NONE); cols * width];
    let mut diag_cur = vec![(INF, NONE); cols * width];
    // ... over the cells of this row left of and including x, per (c, r):
    let mut row_prev = vec![(INF, NONE); width * side];
    let mut row_cur = vec![(INF, NONE); width * side];
    // ... over the cells of column x above and including y, per (c, s):
    let mut col_run = vec![(INF, NONE); cols * width * side];
    let avail_v =
        |y: usize, x: usize| (0..t).filter(|&k| reach.v[x * t + k].is_some_and(|d| d >= y)).count();
    let avail_h =
        |y: usize, x: usize| (0..t).filter(|&k| reach.h[y * t + k].is_some_and(|l| l <= x)).count();
    for y in 0..rows {
        row_prev.fill((INF, NONE));
        for x in 0..cols {
            let cell = y * cols + x;
            here.fill(INF);
            let usable = y >= reach.top && x <= reach.right && reach.chain_len(y, x) <= max_len;
            // At most t chains per used row and per used column up to this corner.
            let most = if usable { (t * (y - reach.top + 1).min(x + 1)).min(n) } else { 0 };
            let cap = if usable { cell_capacity(view, reach, y, x).min(n) } else { 0 };
            if cap > 0 {
                let (av, ah) = (avail_v(y, x), avail_h(y, x));
                let len = reach.chain_len(y, x) as u32;
                for c in 1..=most {
                    for k in 1..=cap.min(c) {
                        let add = k as u32 * len;
                        let fresh_s = av - k;
                        let mut relax = |cost: u32, from: u32, r: usize, s: usize| {
                            let at = c * per_c + r * side + s;
                            if cost < here[at] {
                                here[at] = cost;
                                pred[cell * per_cell + at] = from;
                            }
                        };
                        if k == c {
                            relax(add, NONE, k, fresh_s);
                            continue;
                        }
                        if y > 0 && x > 0 {
                            let (cost, from) = diag_prev[(x - 1) * width + c - k];
                            if cost != INF {
                                relax(cost + add, from, k, fresh_s);
                            }
                        }
                        if x > 0 {
                            for r in 0..=ah.saturating_sub(k) {
                                let (cost, from) = row_prev[(c - k) * side + r];
                                if cost != INF {
                                    relax(cost + add, from, r + k, fresh_s);
                                }
                            }
                        }
                        if y > 0 {
                            for s in k..=t {
                                let (cost, from) = col_run[(x * width + c - k) * side + s];
                                if cost != INF {
                                    relax(cost + add, from, k, (s - k).min(fresh_s));
                                }
                            }
                        }
                    }
                }
            }
            // Fold this cell into the running minima.
            for c in 1..=n {
                let mut best_here = (INF, NONE);
                for r in 0..side {
                    for s in 0..side {
                        let at = c * per_c + r * side + s;
                        let cost = here[at];
                        if cost == INF {
                            continue;
                        }
                        let state = (cell * per_cell + at) as u32;
                        if cost < best_here.0 {
                            best_here = (cost, state);
                        }
                        let slot = &mut row_cur[c * side + r];
                        if cost < slot.0 {
                            *slot = (cost, state);
                        }
                        let slot = &mut col_run[(x * width + c) * side + s];
                        if cost < slot.0 {
                            *slot = (cost, state);
                        }
                    }
                }
                let mut d = best_here;
                if diag_prev[x * width + c].0 < d.0 {
                    d = diag_prev[x * width + c];
                }
                if x > 0 && diag_cur[(x - 1) * width + c].0 < d.0 {
                    d = diag_cur[(x - 1) * width + c];
                }
                diag_cur[x * width + c] = d;
            }
            // row_cur now holds the running minimum up to x; keep it for x + 1.
            for i in 0..width * side {
                if row_prev[i].0 < row_cur[i].0 {
                    row_cur[i] = row_prev[i];
                }
            }
            std::mem::swap(&mut row_prev, &mut row_cur);
            row_cur.fill((INF, NONE));
        }
        std::mem::swap(&mut diag_prev, &mut diag_cur);
    }
    let last = (cols - 1) * width;
    let count = (1..=n).rev().find(|&c| diag_prev[last + c].0 != INF)?;
    let (total, mut st) = diag_prev[last + count];
    let mut corners = Vec::new();
    while st != NONE {
        let s = st as usize;
        let (cell, c) = (s / per_cell, (s % per_cell) / per_c);
        let from = pred[s];
        let before = if from == NONE { 0 } else { (from as usize % per_cell) / per_c };
        corners.push((cell / cols, cell % cols, c - before));
        st = from;
    }
    corners.reverse();
    Some(Plan {
        view: view_index,
        top: reach.top,
        right: reach.right,
        cells: corners,
        count,
        total: total as usize,
    })
}

/// A dead coupler between two chosen chains' lines: in cell `(row, col)`, vertical line
/// `V(col, kv)` and horizontal line `H(row, kh)` are both used but cannot meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Clash {
    row: usize,
    col: usize,
    kv: usize,
    kh: usize,
}

/// One chain of a realised plan: its corner and its two lines.
#[derive(Clone, Copy, Debug)]
struct Placed {
    y: usize,
    x: usize,
    kv: usize,
    kh: usize,
}

/// Line assignment for a plan: every chain gets distinct usable lines in its row and column.
struct Assignment<'a> {
    view: &'a View,
    reach: &'a Reach,
    chains: Vec<Placed>,
}

impl Assignment<'_> {
    /// Whether chains `a < b` (staircase order) are joined, and if not the coupler that fails.
    fn pair(&self, a: usize, b: usize) -> Option<Clash> {
        let (p, q) = (self.chains[a], self.chains[b]);
        let view = self.view;
        if (p.y, p.x) == (q.y, q.x) {
            if view.junction(p.y, p.x, p.kv, q.kh) || view.junction(p.y, p.x, q.kv, p.kh) {
                return None;
            }
            return Some(Clash { row: p.y, col: p.x, kv: q.kv, kh: p.kh });
        }
        // p's horizontal line crosses q's vertical line in cell (p.y, q.x).
        if view.junction(p.y, q.x, q.kv, p.kh) {
            None
        } else {
            Some(Clash { row: p.y, col: q.x, kv: q.kv, kh: p.kh })
        }
    }

    fn corner_ok(&self, a: usize) -> bool {
        let p = self.chains[a];
        self.view.junction(p.y, p.x, p.kv, p.kh)
    }

    /// Faults chain `a` takes part in: a dead corner coupler plus unjoined pairs.
    fn faults(&self, a: usize) -> usize {
        let pairs = (0..self.chains.len())
            .filter(|&b| b != a && self.pair(a.min(b), a.max(b)).is_some())
            .count();
        pairs + usize::from(!self.corner_ok(a))
    }

    fn faults_of(&self, a: usize, b: Option<usize>) -> usize {
        match b {
            None => self.faults(a),
            Some(b) => {
                let shared = usize::from(self.pair(a.min(b), a.max(b)).is_some());
                self.faults(a) + self.faults(b) - shared
            }
        }
    }

    /// Candidate moves for chain `a`: swap a line with another chain of its row (column)
    /// or take a free usable line of that row (column).
    fn moves(&self, a: usize) -> Vec<(bool, usize, Option<usize>)> {
        let p = self.chains[a];
        let t = self.view.t;
        let mut out = Vec::new();
        let h_ok = |k: usize, x: usize| self.reach.h[p.y * t + k].is_some_and(|l| l <= x);
        let v_ok = |k: usize, y: usize| self.reach.v[p.x * t + k].is_some_and(|d| d >= y);
        for k in 0..t {
            if k == p.kh || !h_ok(k, p.x) {
                continue;
            }
            match self.chains.iter().position(|q| q.y == p.y && q.kh == k) {
                None => out.push((true, k, None)),
                Some(b) if h_ok(p.kh, self.chains[b].x) => out.push((true, k, Some(b))),
                Some(_) => {}
            }
        }
        for k in 0..t {
            if k == p.kv || !v_ok(k, p.y) {
                continue;
            }
            match self.chains.iter().position(|q| q.x == p.x && q.kv == k) {
                None => out.push((false, k, None)),
                Some(b) if v_ok(p.kv, self.chains[b].y) => out.push((false, k, Some(b))),
                Some(_) => {}
            }
        }
        out
    }

    fn apply(&mut self, a: usize, horizontal: bool, k: usize, other: Option<usize>) {
        if horizontal {
            let old = self.chains[a].kh;
            self.chains[a].kh = k;
            if let Some(b) = other {
                self.chains[b].kh = old;
            }
        } else {
            let old = self.chains[a].kv;
            self.chains[a].kv = k;
            if let Some(b) = other {
                self.chains[b].kv = old;
            }
        }
    }
}

/// Assigns lines to the chains of `plan` (greedy, then local search against dead couplers).
/// Returns the chains (as qubit labels) left after dropping the most-clashing ones, and the
/// crossing clashes found before dropping (empty if every chain was kept).
fn realise(view: &View, reach: &Reach, plan: &Plan) -> (Vec<NativeChain>, Vec<Clash>) {
    let t = view.t;
    let mut chains: Vec<Placed> = plan
        .cells
        .iter()
        .flat_map(|&(y, x, k)| std::iter::repeat_n(Placed { y, x, kv: t, kh: t }, k))
        .collect();
    // Rows: chains left to right take any free line usable at their corner.
    for i in 0..chains.len() {
        let Placed { y, x, .. } = chains[i];
        let line = (0..t).find(|&k| {
            reach.h[y * t + k].is_some_and(|l| l <= x)
                && !chains.iter().any(|q| q.y == y && q.kh == k)
        });
        let Some(k) = line else { return (Vec::new(), Vec::new()) };
        chains[i].kh = k;
    }
    // Columns: chains bottom to top (the deepest need the longest lines).
    let mut by_depth: Vec<usize> = (0..chains.len()).collect();
    by_depth.sort_by_key(|&i| std::cmp::Reverse(chains[i].y));
    for i in by_depth {
        let Placed { y, x, .. } = chains[i];
        let line = (0..t).rev().find(|&k| {
            reach.v[x * t + k].is_some_and(|d| d >= y)
                && !chains.iter().any(|q| q.x == x && q.kv == k)
        });
        let Some(k) = line else { return (Vec::new(), Vec::new()) };
        chains[i].kv = k;
    }
    let mut a = Assignment { view, reach, chains };
    let count = a.chains.len();
    // Local search: move the lines of faulty chains while the number of faults drops.
    let mut stuck = vec![false; count];
    for _ in 0..4 * count {
        let Some(worst) = (0..count)
            .filter(|&i| !stuck[i])
            .map(|i| (a.faults(i), i))
            .filter(|&(f, _)| f > 0)
            .max_by_key(|&(f, i)| (f, std::cmp::Reverse(i)))
            .map(|(_, i)| i)
        else {
            break;
        };
        let mut best: Option<(usize, Move)> = None;
        for mv in a.moves(worst) {
            let saved = (a.chains[worst], mv.2.map(|b| a.chains[b]));
            let before = a.faults_of(worst, mv.2);
            a.apply(worst, mv.0, mv.1, mv.2);
            let after = a.faults_of(worst, mv.2);
            a.chains[worst] = saved.0;
            if let (Some(b), Some(old)) = (mv.2, saved.1) {
                a.chains[b] = old;
            }
            if after < before && best.as_ref().is_none_or(|(gain, _)| before - after > *gain) {
                best = Some((before - after, mv));
            }
        }
        match best {
            Some((_, (horizontal, k, other))) => {
                a.apply(worst, horizontal, k, other);
                stuck.iter_mut().for_each(|s| *s = false);
            }
            None => stuck[worst] = true,
        }
    }
    let mut found = Vec::new();
    let mut conflicts: Vec<Vec<usize>> = vec![Vec::new(); count];
    for i in 0..count {
        for j in i + 1..count {
            if let Some(clash) = a.pair(i, j) {
                found.push(clash);
                conflicts[i].push(j);
                conflicts[j].push(i);
            }
        }
    }
    let mut dropped: Vec<bool> = (0..count).map(|i| !a.corner_ok(i)).collect();
    loop {
        let worst = (0..count)
            .filter(|&i| !dropped[i])
            .map(|i| (conflicts[i].iter().filter(|&&j| !dropped[j]).count(), i))
            .max_by_key(|&(d, i)| (d, std::cmp::Reverse(i)));
        match worst {
            Some((d, i)) if d > 0 => dropped[i] = true,
            _ => break,
        }
    }
    let kept = a
        .chains
        .iter()
        .zip(&dropped)
        .filter(|(_, d)| !**d)
        .map(|(p, _)| native_chain(view, plan, p))
        .collect();
    (kept, found)
}

/// The qubits of one placed chain, and the free qubits extending its two lines by one at
/// either end (used as attachment room when other chains must be re-routed around it).
fn native_chain(view: &View, plan: &Plan, p: &Placed) -> NativeChain {
    let (t, rows, cols) = (view.t, view.rows, view.cols);
    let mut qubits: Vec<u32> = (plan.top..=p.y).map(|r| view.qubit(r, p.x, 0, p.kv)).collect();
    qubits.extend((p.x..=plan.right).map(|c| view.qubit(p.y, c, 1, p.kh)));
    let v_line = (p.x * t + p.kv) * rows;
    let h_line = (p.y * t + p.kh) * cols;
    let mut spare = Vec::new();
    // Below the corner and above the top: V(y + 1) joins V(y) if v_ok[y + 1].
    if p.y + 1 < rows && view.v_ok[v_line + p.y + 1] {
        spare.push(view.qubit(p.y + 1, p.x, 0, p.kv));
    }
    if plan.top > 0 && view.v_qubit_ok[v_line + plan.top - 1] && view.v_ok[v_line + plan.top] {
        spare.push(view.qubit(plan.top - 1, p.x, 0, p.kv));
    }
    // Left of the corner and right of R: H(x - 1) joins H(x) if h_ok[x].
    if p.x > 0 && view.h_qubit_ok[h_line + p.x - 1] && view.h_ok[h_line + p.x] {
        spare.push(view.qubit(p.y, p.x - 1, 1, p.kh));
    }
    if plan.right + 1 < cols && view.h_ok[h_line + plan.right + 1] {
        spare.push(view.qubit(p.y, plan.right + 1, 1, p.kh));
    }
    NativeChain { qubits, spare }
}

/// A chain of a native layout plus spare qubits that may extend it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct NativeChain {
    pub qubits: Vec<u32>,
    pub spare: Vec<u32>,
}

/// A node of the layout search: one view, `(T, R)`, a set of line bans, and its best plan.
struct Node {
    reach: Reach,
    plan: Plan,
    bans: usize,
}

/// What the native search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum NativeLayout {
    /// All `n` chains, pairwise joined.
    Complete(Vec<NativeChain>),
    /// No complete layout: the best partial layouts (fewest missing chains first, at most one
    /// per view of the grid), each clash-free.
    Partial(Vec<Vec<NativeChain>>),
}

/// At most this many partial layouts are returned for repair.
const MAX_PARTIALS: usize = 4;

/// A native clique layout of K_`n` in `graph` seen as `chimera`: `n` chains if one is found
/// without clashes, otherwise the largest clash-free partial layouts found (fewer chains, every
/// pair of them joined), or `None` if nothing could be placed.
///
/// For increasing bounds on the chain length, a best-first search over (view, `T`, `R`, line
/// bans) ordered by (missing chains, total qubits): each node's staircase comes from the DP; a
/// dead crossing coupler between two chosen lines branches into two children, each banning one
/// of the lines from that crossing. The first clash-free complete layout wins, so among the
/// layouts this search can see, the longest chain is minimal and then the total.
pub(super) fn native_clique(
    graph: &WorkingGraph,
    chimera: Chimera,
    n: usize,
) -> Option<NativeLayout> {
    let t = chimera.shore as usize;
    if t == 0 || chimera.rows == 0 || chimera.cols == 0 || n == 0 {
        return None;
    }
    let square = chimera.rows == chimera.cols;
    let views: Vec<View> = (0..8u8)
        .filter(|bits| square || bits & 4 == 0)
        .map(|bits| {
            let orientation = Orientation {
                flip_rows: bits & 1 != 0,
                flip_cols: bits & 2 != 0,
                transpose: bits & 4 != 0,
            };
            View::new(graph, chimera, orientation)
        })
        .collect();
    let lines_needed = n.div_ceil(t);
    let shortest = lines_needed + 1;
    let longest = chimera.rows as usize + chimera.cols as usize;
    // (missing, qubits, view, chains), at most one per view.
    let mut partials: Vec<(usize, usize, usize, Vec<NativeChain>)> = Vec::new();
    let mut first_bound = None;
    for max_len in shortest..=longest {
        if first_bound.is_some_and(|b| max_len > b + EXTRA_LENGTH_BOUNDS) {
            break;
        }
        let mut nodes: Vec<Node> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (vi, view) in views.iter().enumerate() {
            // Corner rows lie in T..rows and corner columns in 0..=R, at most t chains each.
            for top in 0..=view.rows.saturating_sub(lines_needed) {
                let v = view.v_reach(top);
                for right in lines_needed.saturating_sub(1)..view.cols {
                    let reach = Reach { top, right, v: v.clone(), h: view.h_reach(right) };
                    if let Some(plan) = best_staircase(view, vi, &reach, n, max_len) {
                        nodes.push(Node { reach, plan, bans: 0 });
                    }
                }
            }
        }
        if nodes.is_empty() {
            continue;
        }
        first_bound.get_or_insert(max_len);
        let key = |node: &Node| (n - node.plan.count, node.plan.total, node.bans);
        let mut expansions = 0;
        while expansions < MAX_EXPANSIONS && !nodes.is_empty() {
            let best = (0..nodes.len()).min_by_key(|&i| (key(&nodes[i]), i)).unwrap_or(0);
            let node = nodes.swap_remove(best);
            let fewest_missing = partials.iter().map(|p| p.0).min();
            if fewest_missing.is_some_and(|missing| n - node.plan.count > missing) {
                break;
            }
            expansions += 1;
            let view = &views[node.plan.view];
            let (chains, clashes) = realise(view, &node.reach, &node.plan);
            if chains.len() == n {
                return Some(NativeLayout::Complete(chains));
            }
            if !chains.is_empty() {
                let missing = n - chains.len();
                let qubits = chains.iter().map(|c| c.qubits.len()).sum();
                let entry = (missing, qubits, node.plan.view, chains);
                match partials.iter_mut().find(|p| p.2 == node.plan.view) {
                    Some(p) if (entry.0, entry.1) < (p.0, p.1) => *p = entry,
                    Some(_) => {}
                    None => partials.push(entry),
                }
            }
            let Some(&clash) = clashes.first() else { continue };
            if node.bans >= MAX_BANS {
                continue;
            }
            for ban_vertical in [true, false] {
                let mut reach = Reach {
                    top: node.reach.top,
                    right: node.reach.right,
                    v: node.reach.v.clone(),
                    h: node.reach.h.clone(),
                };
                if ban_vertical {
                    let line = &mut reach.v[clash.col * t + clash.kv];
                    *line =
                        line.and_then(|d| (clash.row > reach.top).then(|| d.min(clash.row - 1)));
                } else {
                    let line = &mut reach.h[clash.row * t + clash.kh];
                    *line =
                        line.and_then(|l| (clash.col < reach.right).then(|| l.max(clash.col + 1)));
                }
                if !seen.insert((
                    node.plan.view,
                    reach.top,
                    reach.right,
                    reach.v.clone(),
                    reach.h.clone(),
                )) {
                    continue;
                }
                if let Some(plan) = best_staircase(view, node.plan.view, &reach, n, max_len) {
                    nodes.push(Node { reach, plan, bans: node.bans + 1 });
                }
            }
        }
    }
    partials.sort_by_key(|p| (p.0, p.1, p.2));
    partials.truncate(MAX_PARTIALS);
    (!partials.is_empty())
        .then(|| NativeLayout::Partial(partials.into_iter().map(|p| p.3).collect()))
}
