//! The staircase of corner cells with the most chains and the fewest qubits, by dynamic
//! programming over the cells of one view for one `(T, R)` and a bound on the chain length.

use super::view::{Reach, View};

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
pub(super) struct Plan {
    pub(super) view: usize,
    pub(super) top: usize,
    pub(super) right: usize,
    pub(super) cells: Vec<(usize, usize, usize)>,
    pub(super) count: usize,
    pub(super) total: usize,
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
pub(super) fn best_staircase(
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
