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
//!
//! Rooms: `search` (a try: the initial pass and the rounds), `route` (placing one chain: weights,
//! Dijkstra, growing, flip back), `radix_heap` (Dijkstra's queue), `prune` (the final pass);
//! the entry points and the target graph are here.

use qahm_common::topology::WorkingGraph;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{Embedding, EmbeddingError};

mod prune;
mod radix_heap;
mod route;
mod search;

use prune::prune_leaves;
use search::Search;

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
