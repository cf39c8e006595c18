//! Native clique embeddings for Zephyr and Pegasus, built from bundles of tracks ("bus
//! cliques", after the construction of minorminer's busclique; our own search).
//!
//! The graph is seen as a square grid crossed by tracks of qubits (`grid`). A layout (`layout`)
//! is a sequence of nested rectangles, each contributing a bundle of L-shaped chains (one
//! vertical and one horizontal track meeting in a corner cell); dynamic programming finds, for
//! each width and bound on the chain length, the layout with exactly `n` chains and the fewest
//! qubits. Tracks are usable only where every qubit is active and every coupler along them
//! works, so the layout routes around inactive qubits and dead external couplers by itself.
//!
//! Dead internal couplers (between a vertical and a horizontal qubit that cross) are handled
//! lazily: the best layout is realised, chains are paired within each bundle so that each
//! chain's corner coupler works, and every pair of chains the graph leaves unjoined names the
//! crossing it needed. One qubit of each such crossing is banned (on the side whose bundle has
//! more spare tracks) and the search repeats on the grid without them, until a layout's chains
//! are all joined. Minorminer instead bans one end of every dead internal coupler up front, in
//! up to 64 random ways; banning only the crossings a layout needs keeps more of the chip.
//!
//! The search: the smallest bound on the longest chain for which some width from ⌈n/s⌉ (s
//! tracks per line) to `extra_widths` more holds `n` chains (wider ones, up to
//! `MAX_EXTRA_WIDTHS`, only if none does), then the width with the fewest qubits at that
//! bound. Later rounds start from the last round's bound: bans only take tracks away, and only
//! the ells on a banned track's line are recomputed. Deterministic: no randomness at all.
//!
//! Rooms: `grid` (tracks, usability and lengths in O(1), bans), `layout` (the ells of one width
//! and the two dynamic programmes); the rounds, pairing and clash detection are here.

mod grid;
mod layout;

use qahm_common::topology::{Family, WorkingGraph};

use grid::Grid;
use layout::{Layouts, Level};

/// Widths tried beyond the narrowest that can hold `n` chains, before any fails: on Zephyr
/// (two cells a qubit) a one wider square can trade a longer chain for a few qubits (on the
/// recorded Advantage2 graph, after bans, width 8 no longer holds 60 chains of at most 6
/// qubits and width 9 does); on Pegasus (six cells a qubit) the narrowest square was best in every case measured,
/// and building a width costs more.
fn extra_widths(family: Family) -> usize {
    match family {
        Family::Zephyr(_) => 1,
        _ => 0,
    }
}
/// Widths tried at most beyond the narrowest when none of the first ones holds `n` chains.
const MAX_EXTRA_WIDTHS: usize = 4;
/// Chain-length bounds one counting pass of the dynamic programme covers.
const BOUNDS_PER_PASS: usize = 4;
/// Rounds of banning before giving up.
const MAX_ROUNDS: usize = 24;

/// A native clique layout of K_`n` in `graph` seen as `family` (Zephyr or Pegasus), every pair
/// of chains joined; `None` if none was found (or for Chimera, which has its own).
pub(super) fn native_clique(
    graph: &WorkingGraph,
    family: Family,
    n: usize,
) -> Option<Vec<Vec<u32>>> {
    let mut grid = Grid::new(graph, family)?;
    if n == 0 {
        return Some(Vec::new());
    }
    let narrowest = n.div_ceil(grid.shore);
    let mut widths: Vec<Layouts> = (narrowest..=(narrowest + extra_widths(family)).min(grid.dim))
        .filter_map(|width| Layouts::new(&grid, width))
        .collect();
    let mut bound = 0;
    for _ in 0..MAX_ROUNDS {
        let (found, levels) = loop {
            if let Some(found) = best_layout(&widths, n, grid.shore, bound) {
                break found;
            }
            // No layout of these widths holds n chains: try one wider.
            let wider = narrowest + widths.len();
            if wider > (narrowest + MAX_EXTRA_WIDTHS).min(grid.dim) {
                return None;
            }
            widths.extend(Layouts::new(&grid, wider));
        };
        bound = found;
        match realise(&grid, &levels, bound) {
            Ok(chains) => return Some(chains.into_iter().map(|c| c.qubits).collect()),
            Err(bans) => {
                let mut lines: Vec<(usize, usize)> = bans.iter().map(|b| (b.u, b.line)).collect();
                lines.sort_unstable();
                lines.dedup();
                for ban in bans {
                    grid.ban(ban.u, ban.line, ban.k, ban.qubit);
                }
                for layouts in &mut widths {
                    layouts.refresh(&grid, &lines);
                }
            }
        }
    }
    None
}

/// The layout with the shortest longest chain, then the fewest qubits, over the widths
/// given. `from` is a bound known not to be beaten (an earlier round's: bans only take tracks
/// away).
fn best_layout(
    widths: &[Layouts],
    n: usize,
    shore: usize,
    from: usize,
) -> Option<(usize, Vec<Level>)> {
    let shortest = widths.iter().map(Layouts::shortest_chain).min()?;
    let longest = widths.iter().map(Layouts::longest_chain).max()?;
    let mut start = shortest.max(from);
    while start <= longest {
        let most: Vec<Vec<usize>> =
            widths.iter().map(|layouts| layouts.most_chains(start, BOUNDS_PER_PASS)).collect();
        for b in 0..BOUNDS_PER_PASS {
            let found = widths
                .iter()
                .zip(&most)
                .filter(|(_, most)| most[b] >= n)
                .filter_map(|(layouts, _)| layouts.cheapest(n, shore, start + b))
                .min_by_key(|(qubits, _)| *qubits);
            if let Some((_, levels)) = found {
                return Some((start + b, levels));
            }
        }
        start += BOUNDS_PER_PASS;
    }
    None
}

/// One realised chain: its level, its two tracks and its qubits.
struct Chain {
    level: usize,
    kv: usize,
    kh: usize,
    qubits: Vec<u32>,
}

/// A qubit to take out: it covers a cell of track (`u`, `line`, `k`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ban {
    u: usize,
    line: usize,
    k: usize,
    qubit: u32,
}

/// Usable tracks of one side of a level, shortest first (ties by slot).
fn tracks(grid: &Grid, u: usize, line: usize, (a, b): (usize, usize)) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = (0..grid.shore)
        .filter(|&k| grid.usable(u, line, k, a, b))
        .map(|k| (grid.length(u, line, k, a, b), k))
        .collect();
    out.sort_unstable();
    out
}

/// Chains for every level (the shortest tracks, paired so that each chain's corner coupler
/// works and fits `bound`), or the qubits to ban because some chains cannot be joined.
fn realise(grid: &Grid, levels: &[Level], bound: usize) -> Result<Vec<Chain>, Vec<Ban>> {
    let mut chains = Vec::new();
    let mut bans = Vec::new();
    for (index, level) in levels.iter().enumerate() {
        let v = tracks(grid, 0, level.col, level.rows);
        let h = tracks(grid, 1, level.row, level.cols);
        let (v, h) = (&v[..level.chains], &h[..level.chains]);
        match pair(grid, level, v, h, bound) {
            Ok(pairs) => chains.extend(pairs.into_iter().map(|(kv, kh)| {
                let mut qubits = grid.line(0, level.col, kv, level.rows.0, level.rows.1);
                qubits.extend(grid.line(1, level.row, kh, level.cols.0, level.cols.1));
                Chain { level: index, kv, kh, qubits }
            })),
            Err(kv) => bans.push(Ban {
                u: 0,
                line: level.col,
                k: kv,
                qubit: grid.qubit(0, level.col, kv, level.row),
            }),
        }
    }
    if !bans.is_empty() {
        return Err(bans);
    }
    let unjoined = unjoined_pairs(grid.graph(), &chains);
    for (a, b) in unjoined {
        let (first, second) = (&chains[a], &chains[b]);
        let (la, lb) = (&levels[first.level], &levels[second.level]);
        // Chain `first`'s row crosses chain `second`'s column (same level: in the corner).
        let v = Ban {
            u: 0,
            line: lb.col,
            k: second.kv,
            qubit: grid.qubit(0, lb.col, second.kv, la.row),
        };
        let h =
            Ban { u: 1, line: la.row, k: first.kh, qubit: grid.qubit(1, la.row, first.kh, lb.col) };
        let spare_v = tracks(grid, 0, lb.col, lb.rows).len() - lb.chains;
        let spare_h = tracks(grid, 1, la.row, la.cols).len() - la.chains;
        let ban = if spare_v >= spare_h { v } else { h };
        if !bans.contains(&ban) {
            bans.push(ban);
        }
    }
    if bans.is_empty() { Ok(chains) } else { Err(bans) }
}

/// Pairs vertical and horizontal tracks one to one so that every pair's corner coupler works
/// and its length fits `bound`, preferring longest with shortest. Fails with a vertical slot
/// that could not be paired.
fn pair(
    grid: &Grid,
    level: &Level,
    v: &[(usize, usize)],
    h: &[(usize, usize)],
    bound: usize,
) -> Result<Vec<(usize, usize)>, usize> {
    let t = v.len();
    let allowed = |i: usize, j: usize| {
        v[i].0 + h[j].0 <= bound && grid.joined(level.row, level.col, v[i].1, h[j].1)
    };
    // match_of_h[j] = the vertical track paired with horizontal track j.
    let mut match_of_h: Vec<Option<usize>> = vec![None; t];
    for (i, &(_, kv)) in v.iter().enumerate() {
        // The anti-sorted partner first, then the others from the longest down.
        let order: Vec<usize> = std::iter::once(t - 1 - i).chain((0..t).rev()).collect();
        let mut seen = vec![false; t];
        if !augment(i, &order, &allowed, &mut match_of_h, &mut seen) {
            return Err(kv);
        }
    }
    let mut pairs = vec![(0, 0); t];
    for (j, i) in match_of_h.iter().enumerate() {
        if let Some(i) = *i {
            pairs[i] = (v[i].1, h[j].1);
        }
    }
    Ok(pairs)
}

fn augment(
    i: usize,
    order: &[usize],
    allowed: &dyn Fn(usize, usize) -> bool,
    match_of_h: &mut [Option<usize>],
    seen: &mut [bool],
) -> bool {
    for &j in order {
        if seen[j] || !allowed(i, j) {
            continue;
        }
        seen[j] = true;
        let free = match match_of_h[j] {
            None => true,
            Some(other) => {
                let order: Vec<usize> = (0..match_of_h.len()).rev().collect();
                augment(other, &order, allowed, match_of_h, seen)
            }
        };
        if free {
            match_of_h[j] = Some(i);
            return true;
        }
    }
    false
}

/// Pairs of chains (a < b) that no active coupler joins.
fn unjoined_pairs(graph: &WorkingGraph, chains: &[Chain]) -> Vec<(usize, usize)> {
    let n = chains.len();
    let mut owner = vec![u32::MAX; graph.num_qubits() as usize];
    for (i, chain) in chains.iter().enumerate() {
        for &q in &chain.qubits {
            owner[q as usize] = i as u32;
        }
    }
    let mut joined = vec![false; n * n];
    for (i, chain) in chains.iter().enumerate() {
        for &q in &chain.qubits {
            for &(other, _) in graph.neighbours(q) {
                let o = owner[other as usize];
                if o != u32::MAX && o as usize != i {
                    joined[i * n + o as usize] = true;
                }
            }
        }
    }
    (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .filter(|&(a, b)| !joined[a * n + b])
        .collect()
}

#[cfg(test)]
mod tests;
