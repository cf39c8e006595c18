//! Assigning lines to the chains of a staircase: greedily, then by local search against dead
//! couplers; chains that still clash are dropped and their clashes reported.

use super::NativeChain;
use super::staircase::Plan;
use super::view::{Reach, View};

/// A candidate line change for one chain: (horizontal line?, new line index, chain that
/// currently holds that line and takes the old one in exchange).
type Move = (bool, usize, Option<usize>);

/// A dead coupler between two chosen chains' lines: in cell `(row, col)`, vertical line
/// `V(col, kv)` and horizontal line `H(row, kh)` are both used but cannot meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Clash {
    pub(super) row: usize,
    pub(super) col: usize,
    pub(super) kv: usize,
    pub(super) kh: usize,
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
    /// or take a free usable line of that row (column); row moves first.
    fn moves(&self, a: usize) -> Vec<Move> {
        let p = self.chains[a];
        let t = self.view.t;
        // Whether line `k` of p's row (horizontal) or column can serve the corner of `q`.
        let usable = |horizontal: bool, k: usize, q: &Placed| {
            if horizontal {
                self.reach.h[p.y * t + k].is_some_and(|l| l <= q.x)
            } else {
                self.reach.v[p.x * t + k].is_some_and(|d| d >= q.y)
            }
        };
        let mut out = Vec::new();
        for horizontal in [true, false] {
            let line = |q: &Placed| if horizontal { q.kh } else { q.kv };
            let shares = |q: &Placed| if horizontal { q.y == p.y } else { q.x == p.x };
            for k in 0..t {
                if k == line(&p) || !usable(horizontal, k, &p) {
                    continue;
                }
                match self.chains.iter().position(|q| shares(q) && line(q) == k) {
                    None => out.push((horizontal, k, None)),
                    Some(b) if usable(horizontal, line(&p), &self.chains[b]) => {
                        out.push((horizontal, k, Some(b)))
                    }
                    Some(_) => {}
                }
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
pub(super) fn realise(view: &View, reach: &Reach, plan: &Plan) -> (Vec<NativeChain>, Vec<Clash>) {
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
