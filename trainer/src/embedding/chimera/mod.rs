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
//!
//! Rooms: `view` (the grid through one symmetry, which lines are usable), `staircase` (the
//! dynamic programme), `lines` (assigning lines to a staircase's chains); the search over views,
//! `(T, R)` and line bans is here.

use qahm_common::topology::{Chimera, WorkingGraph};

mod lines;
mod staircase;
mod view;

use lines::realise;
use staircase::{Plan, best_staircase};
use view::{Orientation, Reach, View};

/// Chain-length bounds tried beyond the first one that yields any layout.
const EXTRA_LENGTH_BOUNDS: usize = 3;
/// Layouts realised per chain-length bound in the best-first search.
const MAX_EXPANSIONS: usize = 64;
/// Line bans along one branch of the search.
const MAX_BANS: usize = 12;

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
