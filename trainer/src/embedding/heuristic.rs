//! General minor embedding after Cai, Macready & Roy (2014), "A practical heuristic for
//! finding graph minors", with the refinements of D-Wave's minorminer.
//!
//! A chain is placed for one variable at a time. Every qubit `g` weighs
//! `w(g) = (1 + h(g))·2^{α·u(g)}`, where `u(g)` counts the chains already on it, `α` shrinks as
//! the worst fill grows (so sharing a qubit costs more than any detour but stays possible), and
//! `h(g)` counts the rounds `g` ended shared (negotiated-congestion history: contested spots
//! get dearer for every chain, which breaks deadlocks). For variable `x`, a node-weighted
//! Dijkstra (radix heap) from each placed neighbour's chain gives `d_y(g)`, `g`'s own weight
//! included; roots may not lie on a neighbour's chain. The cheapest roots by `Σ_y d_y(g)` are
//! tried, each growing a chain by joining the neighbours in order of distance through the
//! shortest path from the nearest qubit already in the chain (a Steiner approximation) and
//! pruning leaves that touch nothing new; the cheapest chain wins. Path tails that serve a
//! single neighbour are then handed to that neighbour ("flip back"), so the work of meeting is
//! shared and no chain balloons.
//!
//! After an initial pass that places every variable (most-placed-neighbours first), rounds
//! tear up and re-route each movable chain in a random order. A re-route may not use qubits
//! whose fill would exceed the worst fill the chain had before ("push-down"), so the maximum
//! overlap never grows; when the chain cannot be placed that way it is placed freely. Once no
//! qubit is shared, further rounds (overlaps forbidden) shorten chains, keeping the best
//! embedding by (longest chain, total qubits); a final pass prunes every leaf qubit no
//! required pair needs. A try ends after `patience` rounds without improvement or
//! `max_rounds` rounds; tries restart with fresh randomness. Fixed chains (repair mode) stay
//! put unless overlaps cannot be resolved without them.
//!
//! Randomness (variable order, ties) comes only from the seed, so results are reproducible.

use std::cmp::Reverse;

use qahm_common::topology::WorkingGraph;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{Embedding, EmbeddingError};

/// Knobs of the heuristic; the defaults suit cliques of tens of variables in graphs of a few
/// thousand qubits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeuristicParams {
    /// Independent restarts (each with its own random stream) until one succeeds.
    pub tries: u32,
    /// Tear-up-and-reroute rounds per try.
    pub max_rounds: u32,
    /// Rounds without improvement (of the overlap while overlapping, of the chain lengths
    /// after) before a try stops.
    pub patience: u32,
}

impl Default for HeuristicParams {
    fn default() -> Self {
        HeuristicParams { tries: 4, max_rounds: 96, patience: 8 }
    }
}

/// Embeds the source graph given by adjacency lists (`source[i]` = neighbours of variable
/// `i`, symmetric) into `graph`, from scratch.
pub fn find_embedding(
    graph: &WorkingGraph,
    source: &[Vec<u32>],
    params: &HeuristicParams,
    seed: u64,
) -> Result<Embedding, EmbeddingError> {
    for (i, neighbours) in source.iter().enumerate() {
        let bad = neighbours.iter().find(|&&j| {
            j as usize >= source.len()
                || j as usize == i
                || !source[j as usize].contains(&(i as u32))
        });
        if let Some(&j) = bad {
            return Err(EmbeddingError::BadSourceEdge(i as u32, j));
        }
    }
    let empty = vec![Vec::new(); source.len()];
    complete(graph, source, &empty, params, seed).ok_or(EmbeddingError::NotFound {
        num_logical: source.len(),
        num_qubits: graph.qubits().len(),
    })
}

/// Completes a partial embedding: variables with an empty chain in `partial` are placed; the
/// given chains are held fixed unless overlaps cannot be resolved without moving them, in which
/// case the fixed chains that are in the way become movable too.
pub(super) fn complete(
    graph: &WorkingGraph,
    source: &[Vec<u32>],
    partial: &[Vec<u32>],
    params: &HeuristicParams,
    seed: u64,
) -> Option<Embedding> {
    let target = Target::new(graph);
    if target.len() == 0 || source.is_empty() {
        return None;
    }
    let initial: Vec<Vec<u32>> = partial
        .iter()
        .map(|chain| chain.iter().filter_map(|&q| graph.index(q).map(|p| p as u32)).collect())
        .collect();
    for attempt in 0..params.tries.max(1) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(
            seed ^ (u64::from(attempt)).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let mut search = Search::new(&target, source, initial.clone());
        if let Some(mut chains) = search.run(params, &mut rng) {
            prune_leaves(&target, source, &mut chains);
            let chains = chains
                .into_iter()
                .map(|chain| {
                    let mut labels: Vec<u32> =
                        chain.into_iter().map(|p| target.labels[p as usize]).collect();
                    labels.sort_unstable();
                    labels
                })
                .collect();
            return Some(Embedding { chains });
        }
    }
    None
}

/// Removes, chain by chain, leaf qubits (at most one neighbour in their own chain) whose
/// couplers to other chains are not the last ones joining a required pair. Chains stay
/// connected and every required pair stays joined. `chains` are over target positions and
/// disjoint.
fn prune_leaves(target: &Target, source: &[Vec<u32>], chains: &mut [Vec<u32>]) {
    const FREE: u32 = u32::MAX;
    let mut owner = vec![FREE; target.len()];
    for (i, chain) in chains.iter().enumerate() {
        for &p in chain {
            owner[p as usize] = i as u32;
        }
    }
    let n = chains.len();
    let mut links = vec![0u32; n];
    for i in 0..n {
        // links[j]: couplers between chain i and chain j.
        links.fill(0);
        for &p in &chains[i] {
            for &q in target.neighbours(p) {
                let o = owner[q as usize];
                if o != FREE && o as usize != i {
                    links[o as usize] += 1;
                }
            }
        }
        let required: Vec<bool> = {
            let mut r = vec![false; n];
            for &j in &source[i] {
                r[j as usize] = true;
            }
            r
        };
        loop {
            let mut removed = false;
            let mut k = 0;
            while k < chains[i].len() && chains[i].len() > 1 {
                let p = chains[i][k];
                let around = target.neighbours(p);
                let inside = around.iter().filter(|&&q| owner[q as usize] == i as u32).count();
                // Needed if it holds all the couplers left to some required chain.
                let needed = inside > 1
                    || around.iter().any(|&q| {
                        let o = owner[q as usize];
                        o != FREE
                            && o as usize != i
                            && required[o as usize]
                            && links[o as usize] as usize
                                == around.iter().filter(|&&r| owner[r as usize] == o).count()
                    });
                if needed {
                    k += 1;
                    continue;
                }
                for &q in target.neighbours(p) {
                    let o = owner[q as usize];
                    if o != FREE && o as usize != i {
                        links[o as usize] -= 1;
                    }
                }
                owner[p as usize] = FREE;
                chains[i].swap_remove(k);
                removed = true;
            }
            if !removed {
                break;
            }
        }
    }
}

/// The working graph over dense positions `0..len`, CSR adjacency.
struct Target {
    labels: Vec<u32>,
    offsets: Vec<u32>,
    adj: Vec<u32>,
}

impl Target {
    fn new(graph: &WorkingGraph) -> Target {
        let labels = graph.qubits().to_vec();
        let mut offsets = Vec::with_capacity(labels.len() + 1);
        let mut adj = Vec::with_capacity(graph.couplers().len() * 2);
        offsets.push(0);
        for &q in &labels {
            adj.extend(
                graph.neighbours(q).iter().filter_map(|&(n, _)| graph.index(n)).map(|p| p as u32),
            );
            offsets.push(adj.len() as u32);
        }
        Target { labels, offsets, adj }
    }

    fn len(&self) -> usize {
        self.labels.len()
    }

    fn neighbours(&self, p: u32) -> &[u32] {
        &self.adj[self.offsets[p as usize] as usize..self.offsets[p as usize + 1] as usize]
    }
}

/// A chain grown from a root, with the path tails `flip_back` may hand to neighbours.
struct Grown {
    chain: Vec<u32>,
    /// (neighbour slot, path qubits from the chain side to the neighbour side).
    segments: Vec<(usize, Vec<u32>)>,
    /// Qubits other paths hang from.
    anchors: Vec<u32>,
}

const UNREACHED: u64 = u64::MAX;
const SOURCE: u32 = u32::MAX;
/// Qubit weights stay below 2^WEIGHT_BITS, so sums over thousands of qubits and hundreds of
/// neighbours fit in a u64.
const WEIGHT_BITS: u32 = 36;
/// History factors saturate here (weights stay below 2^(WEIGHT_BITS + 7)).
const MAX_HISTORY: u16 = 127;
/// Roots tried per placement (the cheapest by summed distance).
const ROOT_CANDIDATES: usize = 6;

struct Search<'a> {
    target: &'a Target,
    source: &'a [Vec<u32>],
    chains: Vec<Vec<u32>>,
    usage: Vec<u16>,
    movable: Vec<bool>,
    /// Negotiated-congestion history: how many rounds each qubit ended shared. Scales its
    /// weight while overlaps remain, so contested spots get dearer for every chain, including
    /// chains that sit next to them without overlapping.
    history: Vec<u16>,
    use_history: bool,
    /// Tails are flipped back to neighbours shorter than this (0: no limit).
    flip_target: usize,
    // Per placement: qubit weights and qubits the new chain may not use.
    weight: Vec<u64>,
    blocked: Vec<bool>,
    // Scratch, reused across placements.
    dist: Vec<Vec<u64>>,
    parent: Vec<Vec<u32>>,
    total: Vec<u64>,
    heap: RadixHeap,
    stamp: Vec<u32>,
    epoch: u32,
}

impl<'a> Search<'a> {
    fn new(target: &'a Target, source: &'a [Vec<u32>], chains: Vec<Vec<u32>>) -> Search<'a> {
        let nq = target.len();
        let mut usage = vec![0u16; nq];
        for chain in &chains {
            for &p in chain {
                usage[p as usize] += 1;
            }
        }
        let movable = chains.iter().map(Vec::is_empty).collect();
        Search {
            target,
            source,
            chains,
            usage,
            movable,
            history: vec![0; nq],
            use_history: true,
            flip_target: 0,
            weight: vec![1; nq],
            blocked: vec![false; nq],
            dist: Vec::new(),
            parent: Vec::new(),
            total: vec![0; nq],
            heap: RadixHeap::new(),
            stamp: vec![0; nq],
            epoch: 0,
        }
    }

    /// Shared qubits (counted once per extra chain), plus one per unplaced variable.
    fn overlaps(&self) -> usize {
        let shared: usize = self.usage.iter().map(|&u| (u as usize).saturating_sub(1)).sum();
        shared + self.chains.iter().filter(|c| c.is_empty()).count()
    }

    /// (worst fill, qubits at worst fill, total overlap): lower is better.
    fn fill_stats(&self) -> (u16, usize, usize) {
        let worst = self.usage.iter().copied().max().unwrap_or(0);
        let at_worst = self.usage.iter().filter(|&&u| u == worst).count();
        (worst, at_worst, self.overlaps())
    }

    fn score(&self) -> (usize, usize) {
        let max = self.chains.iter().map(Vec::len).max().unwrap_or(0);
        (max, self.chains.iter().map(Vec::len).sum())
    }

    fn movable_order(&self, rng: &mut Xoshiro256PlusPlus) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.chains.len()).filter(|&x| self.movable[x]).collect();
        order.shuffle(rng);
        order
    }

    fn run(
        &mut self,
        params: &HeuristicParams,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Option<Vec<Vec<u32>>> {
        self.initialise(rng);
        let mut rounds = 0;
        let mut stale = 0;
        let mut best_fill = self.fill_stats();
        let mut best_overlaps = self.overlaps();
        while self.overlaps() > 0 {
            if rounds >= params.max_rounds {
                return None;
            }
            if stale >= params.patience {
                if !self.release_overlapping() {
                    return None;
                }
                stale = 0;
            }
            for x in self.movable_order(rng) {
                self.push_down(x, rng);
            }
            rounds += 1;
            for (h, &u) in self.history.iter_mut().zip(&self.usage) {
                if u > 1 {
                    *h = (*h + 1).min(MAX_HISTORY);
                }
            }
            let fill = self.fill_stats();
            if fill < best_fill || fill.2 < best_overlaps {
                best_fill = best_fill.min(fill);
                best_overlaps = best_overlaps.min(fill.2);
                stale = 0;
            } else {
                stale += 1;
            }
        }
        let mut best = (self.score(), self.chains.clone());
        self.use_history = false;
        self.flip_target = best.0.0;
        stale = 0;
        while stale < params.patience && rounds < params.max_rounds {
            for x in self.movable_order(rng) {
                self.push_down(x, rng);
            }
            rounds += 1;
            let score = self.score();
            if self.overlaps() == 0 && score < best.0 {
                best = (score, self.chains.clone());
                self.flip_target = score.0;
                stale = 0;
            } else {
                stale += 1;
            }
        }
        Some(best.1)
    }

    /// Places every unplaced variable, those with the most placed neighbours first.
    fn initialise(&mut self, rng: &mut Xoshiro256PlusPlus) {
        let n = self.chains.len();
        let mut placed_neighbours: Vec<usize> = (0..n)
            .map(|x| {
                self.source[x].iter().filter(|&&y| !self.chains[y as usize].is_empty()).count()
            })
            .collect();
        let mut pending: Vec<usize> = (0..n).filter(|&x| self.chains[x].is_empty()).collect();
        pending.shuffle(rng);
        while !pending.is_empty() {
            let (at, _) = pending
                .iter()
                .enumerate()
                .max_by_key(|&(i, &x)| (placed_neighbours[x], Reverse(i)))
                .expect("pending is not empty");
            let x = pending.swap_remove(at);
            self.place_anyhow(x, rng);
            for &y in &self.source[x] {
                placed_neighbours[y as usize] += 1;
            }
        }
    }

    /// Fixed chains sharing a qubit with another chain become movable. Returns whether any did.
    fn release_overlapping(&mut self) -> bool {
        let mut released = false;
        for x in 0..self.chains.len() {
            if !self.movable[x] && self.chains[x].iter().any(|&p| self.usage[p as usize] > 1) {
                self.movable[x] = true;
                released = true;
            }
        }
        released
    }

    /// Places `x` without a bound, on a shared root if nothing else is left.
    fn place_anyhow(&mut self, x: usize, rng: &mut Xoshiro256PlusPlus) {
        if !self.place(x, None, false, rng) {
            self.place(x, None, true, rng);
        }
    }

    /// Re-routes `x` without raising the worst fill its chain had; freely if that fails.
    fn push_down(&mut self, x: usize, rng: &mut Xoshiro256PlusPlus) {
        let worst = self.chains[x].iter().map(|&p| self.usage[p as usize]).max().unwrap_or(1);
        if !self.place(x, Some(worst), false, rng) {
            self.place_anyhow(x, rng);
        }
    }

    /// Tears up the chain of `x` and re-routes it through the current weights. With a `bound`,
    /// qubits already used by `bound` or more other chains are off limits; unless
    /// `shared_root`, so are roots on a neighbour's chain. Returns false (and leaves `x`
    /// unplaced) if no chain exists under these limits.
    fn place(
        &mut self,
        x: usize,
        bound: Option<u16>,
        shared_root: bool,
        rng: &mut Xoshiro256PlusPlus,
    ) -> bool {
        for &p in &self.chains[x] {
            self.usage[p as usize] -= 1;
        }
        self.chains[x].clear();
        let nq = self.target.len();
        // w = 2^(α·fill) with α shrinking as the worst fill grows, so that every fill level up
        // to the worst stays exponentially apart while sums cannot overflow.
        let mut widest = self.usage.iter().copied().max().unwrap_or(0).max(1);
        if let Some(b) = bound {
            widest = widest.min(b.max(1));
        }
        let alpha = if widest > 1 { WEIGHT_BITS / u32::from(widest) } else { WEIGHT_BITS - 1 };
        for p in 0..nq {
            let u = self.usage[p];
            let history = if self.use_history { u64::from(self.history[p]) } else { 0 };
            self.weight[p] = (1 + history) << (alpha * u32::from(u.min(widest)));
            self.blocked[p] = bound.is_some_and(|b| u >= b);
        }
        let placed: Vec<usize> = self.source[x]
            .iter()
            .map(|&y| y as usize)
            .filter(|&y| !self.chains[y].is_empty())
            .collect();
        let chain = if placed.is_empty() {
            let candidates: Vec<u32> =
                (0..nq as u32).filter(|&p| !self.blocked[p as usize]).collect();
            let least = candidates.iter().map(|&p| self.usage[p as usize]).min();
            let candidates: Vec<u32> =
                candidates.into_iter().filter(|&p| Some(self.usage[p as usize]) == least).collect();
            if candidates.is_empty() {
                return false;
            }
            vec![candidates[rng.random_range(0..candidates.len())]]
        } else {
            while self.dist.len() < placed.len() {
                self.dist.push(vec![UNREACHED; nq]);
                self.parent.push(vec![SOURCE; nq]);
            }
            for (slot, &y) in placed.iter().enumerate() {
                self.dijkstra(slot, y);
            }
            let slots = placed.len();
            // total[g] = Σ_y d_y(g), where d_y(g) counts g's own weight. The root may not lie on
            // a neighbour's chain unless `shared_root` (then it pays its weight there too).
            for p in 0..nq {
                self.total[p] = if self.blocked[p] { UNREACHED } else { 0 };
            }
            for slot in 0..slots {
                let (dist, parent) = (&self.dist[slot], &self.parent[slot]);
                for p in 0..nq {
                    let t = &mut self.total[p];
                    if *t == UNREACHED {
                        continue;
                    }
                    let d = dist[p];
                    if d == UNREACHED || (parent[p] == SOURCE && !shared_root) {
                        *t = UNREACHED;
                    } else if parent[p] == SOURCE {
                        *t += self.weight[p];
                    } else {
                        *t += d;
                    }
                }
            }
            let mut scored: Vec<(u64, u32, u32)> = (0..nq as u32)
                .filter(|&p| self.total[p as usize] != UNREACHED)
                .map(|p| (self.total[p as usize], rng.random::<u32>(), p))
                .collect();
            if scored.is_empty() {
                return false;
            }
            let k = ROOT_CANDIDATES.min(scored.len());
            scored.select_nth_unstable(k - 1);
            scored.truncate(k);
            scored.sort_unstable();
            let mut best: Option<((u64, usize), Grown)> = None;
            for &(_, _, root) in &scored {
                let grown = self.grow(root, slots);
                let key = (self.chain_cost(&grown.chain, slots), grown.chain.len());
                if best.as_ref().is_none_or(|(b, _)| key < *b) {
                    best = Some((key, grown));
                }
            }
            let (_, grown) = best.expect("at least one root was scored");
            for &p in &grown.chain {
                self.usage[p as usize] += 1;
            }
            self.chains[x] = grown.chain.clone();
            self.flip_back(x, &grown, &placed, self.flip_target);
            return true;
        };
        for &p in &chain {
            self.usage[p as usize] += 1;
        }
        self.chains[x] = chain;
        true
    }

    /// Cost of a candidate chain: its qubits' weights plus, per neighbour, the distance from its
    /// best attachment point (a shared qubit thus counts once more for every neighbour it
    /// serves, as the root does in `Σ_y d_y(g)`).
    fn chain_cost(&self, chain: &[u32], slots: usize) -> u64 {
        let own: u64 = chain.iter().map(|&q| self.weight[q as usize]).sum();
        let attach: u64 = (0..slots)
            .map(|slot| {
                chain
                    .iter()
                    .map(|&q| {
                        if self.parent[slot][q as usize] == SOURCE {
                            self.weight[q as usize]
                        } else {
                            self.dist[slot][q as usize]
                        }
                    })
                    .min()
                    .unwrap_or(UNREACHED)
            })
            .fold(0u64, u64::saturating_add);
        own.saturating_add(attach)
    }

    /// Extra weight to connect chain qubit `q` to neighbour `slot`'s chain: 0 if `q` already
    /// touches it (or lies on it).
    fn extra(&self, slot: usize, q: u32) -> u64 {
        if self.parent[slot][q as usize] == SOURCE {
            0
        } else {
            self.dist[slot][q as usize] - self.weight[q as usize]
        }
    }

    /// Grows a chain from `root`: neighbours in order of distance, each joined by the shortest
    /// path from the nearest qubit already in the chain (a Steiner-tree approximation), then
    /// leaves that touch no neighbour alone are pruned. Also returns, per neighbour slot, the
    /// tail of its path that nothing else hangs from (see [`Self::flip_back`]).
    fn grow(&mut self, root: u32, slots: usize) -> Grown {
        self.epoch += 1;
        let epoch = self.epoch;
        self.stamp[root as usize] = epoch;
        let mut chain = vec![root];
        let mut anchors = vec![root];
        let mut segments = Vec::new();
        let mut order: Vec<usize> = (0..slots).collect();
        order.sort_by_key(|&slot| (self.dist[slot][root as usize], slot));
        for slot in order {
            let (extra, q) = chain
                .iter()
                .map(|&q| (self.extra(slot, q), q))
                .min()
                .expect("a chain is never empty");
            if extra == 0 {
                continue;
            }
            anchors.push(q);
            let mut tail = Vec::new();
            let mut p = self.parent[slot][q as usize];
            while self.parent[slot][p as usize] != SOURCE {
                if self.stamp[p as usize] == epoch {
                    // The path runs through the chain again: only what follows is a tail.
                    anchors.push(p);
                    tail.clear();
                } else {
                    self.stamp[p as usize] = epoch;
                    chain.push(p);
                    tail.push(p);
                }
                p = self.parent[slot][p as usize];
            }
            segments.push((slot, tail));
        }
        // Prune leaves whose every neighbour chain is touched elsewhere too.
        let mut touches = vec![0u32; slots];
        for &q in &chain {
            for (slot, count) in touches.iter_mut().enumerate() {
                if self.extra(slot, q) == 0 {
                    *count += 1;
                }
            }
        }
        loop {
            let mut removed = false;
            let mut i = 0;
            while i < chain.len() && chain.len() > 1 {
                let q = chain[i];
                let degree = self
                    .target
                    .neighbours(q)
                    .iter()
                    .filter(|&&v| self.stamp[v as usize] == epoch)
                    .count();
                let needed = (0..slots).any(|slot| touches[slot] == 1 && self.extra(slot, q) == 0);
                if degree <= 1 && !needed {
                    for (slot, count) in touches.iter_mut().enumerate() {
                        if self.extra(slot, q) == 0 {
                            *count -= 1;
                        }
                    }
                    self.stamp[q as usize] = 0;
                    chain.swap_remove(i);
                    removed = true;
                } else {
                    i += 1;
                }
            }
            if !removed {
                break;
            }
        }
        // A tail whose end was pruned no longer reaches its neighbour: drop it.
        let members = &self.stamp;
        segments.retain(|(_, tail)| tail.last().is_some_and(|&p| members[p as usize] == epoch));
        Grown { chain, segments, anchors }
    }

    /// Hands path tails of the new chain of `x` to the neighbours they lead to (minorminer's
    /// "flip back"): walking back from the neighbour's end, each tail qubit moves into that
    /// neighbour's chain until a qubit other paths hang from, a qubit that alone lets `x`
    /// touch another neighbour, or a neighbour already `target` long (0: no limit). Chains stay
    /// connected and adjacent; connection work is shared instead of piling onto `x`.
    fn flip_back(&mut self, x: usize, grown: &Grown, placed: &[usize], target: usize) {
        self.epoch += 1;
        let epoch = self.epoch;
        for &p in &self.chains[x] {
            self.stamp[p as usize] = epoch;
        }
        let slots = placed.len();
        let mut touches = vec![0u32; slots];
        for &q in &self.chains[x] {
            for (slot, count) in touches.iter_mut().enumerate() {
                if self.extra(slot, q) == 0 {
                    *count += 1;
                }
            }
        }
        for (slot, tail) in grown.segments.iter().rev() {
            let y = placed[*slot];
            if !self.movable[y] {
                continue;
            }
            for &p in tail.iter().rev() {
                if self.stamp[p as usize] != epoch
                    || grown.anchors.contains(&p)
                    || (target > 0 && self.chains[y].len() >= target)
                    || (0..slots).any(|z| z != *slot && touches[z] == 1 && self.extra(z, p) == 0)
                {
                    break;
                }
                for (z, count) in touches.iter_mut().enumerate() {
                    if self.extra(z, p) == 0 {
                        *count -= 1;
                    }
                }
                self.stamp[p as usize] = 0;
                let at = self.chains[x].iter().position(|&q| q == p).expect("p is in the chain");
                self.chains[x].swap_remove(at);
                self.chains[y].push(p);
            }
        }
    }

    /// Node-weighted multi-source Dijkstra from the chain of `y` into scratch `slot`:
    /// `dist[g]` = least total weight of the qubits on a path from the chain to `g`, `g`
    /// included and the chain excluded; `parent[g]` = previous qubit, `SOURCE` on the chain.
    /// Blocked qubits are never entered.
    fn dijkstra(&mut self, slot: usize, y: usize) {
        let mut dist = std::mem::take(&mut self.dist[slot]);
        let mut parent = std::mem::take(&mut self.parent[slot]);
        dist.fill(UNREACHED);
        parent.fill(SOURCE);
        self.heap.clear();
        for &p in &self.chains[y] {
            dist[p as usize] = 0;
            self.heap.push(0, p);
        }
        while let Some((d, u)) = self.heap.pop() {
            if d > dist[u as usize] {
                continue;
            }
            for &v in self.target.neighbours(u) {
                if self.blocked[v as usize] {
                    continue;
                }
                let nd = d + self.weight[v as usize];
                if nd < dist[v as usize] {
                    dist[v as usize] = nd;
                    parent[v as usize] = u;
                    self.heap.push(nd, v);
                }
            }
        }
        self.dist[slot] = dist;
        self.parent[slot] = parent;
    }
}

/// A monotone priority queue for Dijkstra over u64 keys (radix heap): entries live in the
/// bucket of the highest bit in which their key differs from the last key popped, so each entry
/// moves down at most 64 times.
struct RadixHeap {
    last: u64,
    len: usize,
    buckets: Vec<Vec<(u64, u32)>>,
}

impl RadixHeap {
    fn new() -> RadixHeap {
        RadixHeap { last: 0, len: 0, buckets: (0..65).map(|_| Vec::new()).collect() }
    }

    fn bucket(&self, key: u64) -> usize {
        (64 - (key ^ self.last).leading_zeros()) as usize
    }

    fn clear(&mut self) {
        self.buckets.iter_mut().for_each(Vec::clear);
        self.last = 0;
        self.len = 0;
    }

    /// Keys must not be below the last key popped.
    fn push(&mut self, key: u64, value: u32) {
        debug_assert!(key >= self.last);
        let b = self.bucket(key);
        self.buckets[b].push((key, value));
        self.len += 1;
    }

    fn pop(&mut self) -> Option<(u64, u32)> {
        if self.len == 0 {
            return None;
        }
        if self.buckets[0].is_empty() {
            let i = (1..65).find(|&i| !self.buckets[i].is_empty()).expect("len > 0");
            let moving = std::mem::take(&mut self.buckets[i]);
            self.last = moving.iter().map(|&(k, _)| k).min().expect("bucket is not empty");
            for &(k, v) in &moving {
                let b = self.bucket(k);
                self.buckets[b].push((k, v));
            }
            // Keep the allocation of the emptied bucket.
            let mut moving = moving;
            moving.clear();
            if self.buckets[i].is_empty() {
                self.buckets[i] = moving;
            }
        }
        self.len -= 1;
        self.buckets[0].pop()
    }
}
