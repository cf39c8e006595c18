//! Embedding the fully connected logical prior into the annealer's working graph.
//!
//! The 60 deepest hidden units form a complete graph K_n; the annealer only offers its working
//! graph (Chimera, Pegasus or Zephyr with a few inactive qubits and dead couplers, or any other
//! graph). An [`Embedding`] maps each
//! logical variable `i` to a *chain* of physical qubits such that every chain is connected,
//! chains are disjoint, and every logical pair is joined by at least one active coupler.
//! [`Embedding::couplers`] lists every coupler inside a chain and between each pair of chains:
//! the J's the prior trains.
//!
//! [`embed_clique`] / [`embed_clique_with`] find one, given the [`Family`] the solver reports
//! (`Topology::family`):
//! 1. for Zephyr and Pegasus, a native "bus" clique (`bus`, after minorminer's busclique):
//!    L-shaped chains of one vertical and one horizontal track of qubits, in bundles laid out
//!    along nested rectangles; dynamic programming picks the layout with the shortest longest
//!    chain and then the fewest qubits among the tracks that inactive qubits and dead couplers
//!    leave usable, and banning the qubits of dead crossings the layout needs repeats it until
//!    every pair of chains is joined. On the recorded Advantage2_system1.5 graph: K60 on 353
//!    qubits, chains of 5–6, in a few tens of ms (minorminer's busclique: 356, 5–7);
//! 2. for Chimera, a native clique layout (`chimera`): every chain is one vertical
//!    and one horizontal line of qubits meeting at a "corner" cell, the corners walking down a
//!    monotone staircase (Boothby, King & Roy 2016). All eight symmetries of the grid, the
//!    bounding rows/columns and the staircase itself are searched by dynamic programming so the
//!    lines avoid inactive qubits and dead couplers. On DW_2000Q_5 this places all of K60
//!    (993 qubits, chains of 16–17, ~0.1 s in release);
//! 3. if too many Chimera lines are broken, the chains the layout cannot place are re-routed by
//!    the general heuristic around the native chains, which stay fixed (a few partial layouts,
//!    two seeds each; the shortest longest chain wins);
//! 4. for any other graph, or if the native layouts fail, the general minor-embedding heuristic of Cai,
//!    Macready & Roy 2014 as refined in minorminer (`heuristic`), seeded and deterministic.
//!
//! The result is always checked by [`Embedding::validate`] before it is returned.

mod bus;
mod chimera;
mod heuristic;
mod ring;

use std::fmt;

use qahm_common::topology::{Family, WorkingGraph};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use heuristic::{HeuristicParams, find_embedding};
pub use ring::{long_ring, ring_couplers};

/// Size of the logical prior in the paper: the 60 units of the deepest hidden layer.
pub const DEFAULT_CLIQUE_SIZE: usize = 60;

/// Why an embedding is not valid, or could not be found.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EmbeddingError {
    #[error("expected {expected} chains, found {found}")]
    WrongNumberOfChains { expected: usize, found: usize },
    #[error("chain {0} is empty")]
    EmptyChain(usize),
    #[error("chain {logical} uses qubit {qubit}, which is not active")]
    InactiveQubit { logical: usize, qubit: u32 },
    #[error("chain {logical} lists qubit {qubit} twice")]
    RepeatedQubit { logical: usize, qubit: u32 },
    #[error("qubit {qubit} is in chains {first} and {second}")]
    Overlap { qubit: u32, first: usize, second: usize },
    #[error("chain {0} is not connected through active couplers")]
    DisconnectedChain(usize),
    #[error("no active coupler joins chains {first} and {second}")]
    MissingCoupling { first: usize, second: usize },
    #[error("{topology} has {expected} qubits but the graph reports {found}")]
    TopologyMismatch { topology: String, expected: u32, found: u32 },
    #[error("source edge ({0}, {1}) names a variable out of range")]
    BadSourceEdge(u32, u32),
    #[error(
        "no embedding of {num_logical} variables found in a graph of {num_qubits} active qubits"
    )]
    NotFound { num_logical: usize, num_qubits: usize },
}

/// A minor embedding: `chains[i]` lists the qubit labels that represent logical variable `i`.
///
/// Saved in checkpoints: the serialised form is just the list of chains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Embedding {
    pub chains: Vec<Vec<u32>>,
}

/// Chain-length statistics of an embedding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChainStats {
    pub num_logical: usize,
    pub num_qubits: usize,
    pub min: usize,
    pub max: usize,
    pub mean: f64,
}

impl fmt::Display for ChainStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} chains on {} qubits, chain length min {} max {} mean {:.2}",
            self.num_logical, self.num_qubits, self.min, self.max, self.mean
        )
    }
}

/// The couplers of the working graph an embedding uses, i.e. every J the prior may train.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EmbeddedCouplers {
    /// `intra[i]`: every active coupler (u < v) with both ends in chain `i`, in graph order.
    pub intra: Vec<Vec<(u32, u32)>>,
    /// For each logical pair joined by at least one coupler, ascending by pair.
    pub inter: Vec<PairCouplers>,
}

/// The active couplers (u < v) joining chains `pair.0 < pair.1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairCouplers {
    pub pair: (u32, u32),
    pub couplers: Vec<(u32, u32)>,
}

impl EmbeddedCouplers {
    pub fn num_intra(&self) -> usize {
        self.intra.iter().map(Vec::len).sum()
    }

    pub fn num_inter(&self) -> usize {
        self.inter.iter().map(|p| p.couplers.len()).sum()
    }
}

/// How [`embed_clique_with`] found its embedding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmbeddingMethod {
    /// Every chain from the family's native clique layout.
    Native,
    /// The native layout with this many chains re-routed by the heuristic.
    NativeRepaired { rerouted: usize },
    /// The general minor-embedding heuristic alone.
    Heuristic,
}

/// Options for [`embed_clique_with`]; `Default` is what [`embed_clique`] uses.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CliqueOptions {
    pub seed: u64,
    /// Skip the native layouts even when a topology is given.
    pub heuristic_only: bool,
    pub heuristic: HeuristicParams,
}

/// A clique embedding and how it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct CliqueEmbedding {
    pub embedding: Embedding,
    pub method: EmbeddingMethod,
}

impl Embedding {
    pub fn num_logical(&self) -> usize {
        self.chains.len()
    }

    /// Total number of physical qubits over all chains.
    pub fn num_qubits_used(&self) -> usize {
        self.chains.iter().map(Vec::len).sum()
    }

    pub fn chain_lengths(&self) -> Vec<usize> {
        self.chains.iter().map(Vec::len).collect()
    }

    pub fn stats(&self) -> ChainStats {
        let lengths = self.chain_lengths();
        let num_qubits = lengths.iter().sum();
        ChainStats {
            num_logical: lengths.len(),
            num_qubits,
            min: lengths.iter().copied().min().unwrap_or(0),
            max: lengths.iter().copied().max().unwrap_or(0),
            mean: if lengths.is_empty() { 0.0 } else { num_qubits as f64 / lengths.len() as f64 },
        }
    }

    /// `owner[label]` = the logical variable whose chain holds qubit `label`, for labels below
    /// `num_qubits` (later chains win if chains overlap; a valid embedding has no overlaps).
    pub fn owner_map(&self, num_qubits: u32) -> Vec<Option<u32>> {
        let mut owner = vec![None; num_qubits as usize];
        for (i, chain) in self.chains.iter().enumerate() {
            for &q in chain {
                if let Some(slot) = owner.get_mut(q as usize) {
                    *slot = Some(i as u32);
                }
            }
        }
        owner
    }

    /// Every active coupler the embedding touches: all couplers inside each chain (not only a
    /// spanning tree: each gets its own trainable J) and, per logical pair, all couplers
    /// between the two chains. One pass over the graph's couplers; assumes disjoint chains.
    pub fn couplers(&self, graph: &WorkingGraph) -> EmbeddedCouplers {
        let owner = self.owner_map(graph.num_qubits());
        let mut intra = vec![Vec::new(); self.chains.len()];
        let mut inter: std::collections::BTreeMap<(u32, u32), Vec<(u32, u32)>> =
            std::collections::BTreeMap::new();
        for &(u, v) in graph.couplers() {
            let (Some(a), Some(b)) = (owner[u as usize], owner[v as usize]) else { continue };
            if a == b {
                intra[a as usize].push((u, v));
            } else {
                inter.entry((a.min(b), a.max(b))).or_default().push((u, v));
            }
        }
        EmbeddedCouplers {
            intra,
            inter: inter
                .into_iter()
                .map(|(pair, couplers)| PairCouplers { pair, couplers })
                .collect(),
        }
    }

    /// Checks that this is a valid embedding of K_`num_logical`: chains non-empty, on active
    /// qubits, pairwise disjoint, each connected through active couplers, and every pair
    /// `i < j` joined by at least one active coupler.
    pub fn validate(&self, graph: &WorkingGraph, num_logical: usize) -> Result<(), EmbeddingError> {
        self.check(graph, num_logical, |_, _| true)
    }

    /// Checks that this is a valid embedding of the source graph with `num_logical` vertices and
    /// the given edges: as [`Self::validate`] but only the listed pairs must be joined.
    pub fn validate_minor(
        &self,
        graph: &WorkingGraph,
        num_logical: usize,
        edges: &[(u32, u32)],
    ) -> Result<(), EmbeddingError> {
        let mut required = vec![false; num_logical * num_logical];
        for &(a, b) in edges {
            let (a, b) = (a as usize, b as usize);
            if a >= num_logical || b >= num_logical {
                return Err(EmbeddingError::BadSourceEdge(a as u32, b as u32));
            }
            required[a * num_logical + b] = true;
            required[b * num_logical + a] = true;
        }
        self.check(graph, num_logical, |i, j| required[i * num_logical + j])
    }

    fn check(
        &self,
        graph: &WorkingGraph,
        num_logical: usize,
        required: impl Fn(usize, usize) -> bool,
    ) -> Result<(), EmbeddingError> {
        if self.chains.len() != num_logical {
            return Err(EmbeddingError::WrongNumberOfChains {
                expected: num_logical,
                found: self.chains.len(),
            });
        }
        const FREE: u32 = u32::MAX;
        let mut owner = vec![FREE; graph.num_qubits() as usize];
        for (i, chain) in self.chains.iter().enumerate() {
            if chain.is_empty() {
                return Err(EmbeddingError::EmptyChain(i));
            }
            for &q in chain {
                if !graph.is_active(q) {
                    return Err(EmbeddingError::InactiveQubit { logical: i, qubit: q });
                }
                match owner[q as usize] {
                    FREE => owner[q as usize] = i as u32,
                    o if o as usize == i => {
                        return Err(EmbeddingError::RepeatedQubit { logical: i, qubit: q });
                    }
                    o => {
                        return Err(EmbeddingError::Overlap {
                            qubit: q,
                            first: o as usize,
                            second: i,
                        });
                    }
                }
            }
        }
        let mut seen = vec![false; graph.num_qubits() as usize];
        let mut stack = Vec::new();
        for (i, chain) in self.chains.iter().enumerate() {
            stack.push(chain[0]);
            seen[chain[0] as usize] = true;
            let mut reached = 0;
            while let Some(q) = stack.pop() {
                reached += 1;
                for &(n, _) in graph.neighbours(q) {
                    if owner[n as usize] == i as u32 && !seen[n as usize] {
                        seen[n as usize] = true;
                        stack.push(n);
                    }
                }
            }
            if reached != chain.len() {
                return Err(EmbeddingError::DisconnectedChain(i));
            }
        }
        let mut joined = vec![false; num_logical * num_logical];
        for &(u, v) in graph.couplers() {
            let (a, b) = (owner[u as usize], owner[v as usize]);
            if a != FREE && b != FREE && a != b {
                joined[a as usize * num_logical + b as usize] = true;
                joined[b as usize * num_logical + a as usize] = true;
            }
        }
        for i in 0..num_logical {
            for j in i + 1..num_logical {
                if required(i, j) && !joined[i * num_logical + j] {
                    return Err(EmbeddingError::MissingCoupling { first: i, second: j });
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Embedding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.stats().fmt(f)
    }
}

/// Embeds K_`n` into `graph` with default options and the given seed; see [`embed_clique_with`].
pub fn embed_clique(
    graph: &WorkingGraph,
    n: usize,
    topology: Option<Family>,
    seed: u64,
) -> Result<Embedding, EmbeddingError> {
    let options = CliqueOptions { seed, ..CliqueOptions::default() };
    embed_clique_with(graph, n, topology, &options).map(|found| found.embedding)
}

/// Embeds K_`n` into `graph`. With a `topology` family, tries its native clique layout first
/// (Zephyr and Pegasus: bus cliques; Chimera: the staircase layout, repairing chains it cannot
/// place with the heuristic); otherwise, or if that fails, runs the general heuristic.
/// Deterministic given `options.seed`. The result is validated.
pub fn embed_clique_with(
    graph: &WorkingGraph,
    n: usize,
    topology: Option<Family>,
    options: &CliqueOptions,
) -> Result<CliqueEmbedding, EmbeddingError> {
    if let Some(family) = topology
        && family.num_qubits() != graph.num_qubits()
    {
        return Err(EmbeddingError::TopologyMismatch {
            topology: format!("{} {:?}", family.kind(), family.shape()),
            expected: family.num_qubits(),
            found: graph.num_qubits(),
        });
    }
    let not_found = EmbeddingError::NotFound { num_logical: n, num_qubits: graph.qubits().len() };
    if n == 0 {
        return Ok(CliqueEmbedding {
            embedding: Embedding { chains: Vec::new() },
            method: EmbeddingMethod::Native,
        });
    }
    let source = clique_adjacency(n);
    if let (Some(family @ (Family::Pegasus(_) | Family::Zephyr(_))), false) =
        (topology, options.heuristic_only)
        && let Some(chains) = bus::native_clique(graph, family, n)
    {
        let embedding = Embedding { chains };
        if embedding.validate(graph, n).is_ok() {
            return Ok(CliqueEmbedding { embedding, method: EmbeddingMethod::Native });
        }
    }
    if let (Some(Family::Chimera(c)), false) = (topology, options.heuristic_only) {
        match chimera::native_clique(graph, c, n) {
            Some(chimera::NativeLayout::Complete(chains)) => {
                let embedding =
                    Embedding { chains: chains.into_iter().map(|c| c.qubits).collect() };
                if embedding.validate(graph, n).is_ok() {
                    return Ok(CliqueEmbedding { embedding, method: EmbeddingMethod::Native });
                }
            }
            Some(chimera::NativeLayout::Partial(layouts)) => {
                if let Some((embedding, rerouted)) = repair(graph, &source, layouts, options) {
                    let method = EmbeddingMethod::NativeRepaired { rerouted };
                    return Ok(CliqueEmbedding { embedding, method });
                }
            }
            None => {}
        }
    }
    let embedding = find_embedding(graph, &source, &options.heuristic, options.seed)
        .map_err(|_| not_found.clone())?;
    embedding.validate(graph, n)?;
    Ok(CliqueEmbedding { embedding, method: EmbeddingMethod::Heuristic })
}

/// Completes partial native layouts: native chains stay fixed, each with its spare end qubits
/// as attachment room; the missing variables are routed around them by the heuristic and
/// unused spares pruned. Each layout is tried with `REPAIR_ATTEMPTS` seeds derived from
/// `options.seed`; the valid result with the shortest longest chain (then the fewest qubits)
/// wins, and the search stops early once the longest chain is no longer than the native ones.
/// Returns the embedding and the number of re-routed chains.
fn repair(
    graph: &WorkingGraph,
    source: &[Vec<u32>],
    layouts: Vec<Vec<chimera::NativeChain>>,
    options: &CliqueOptions,
) -> Option<(Embedding, usize)> {
    let n = source.len();
    // Each attempt is one short try: a repair that does not converge quickly rarely will.
    let params = HeuristicParams {
        tries: 1,
        max_rounds: options.heuristic.max_rounds.min(REPAIR_ROUNDS),
        patience: options.heuristic.patience,
    };
    let mut best: Option<((usize, usize), Embedding, usize)> = None;
    for layout in layouts {
        let rerouted = n - layout.len();
        let longest_native = layout.iter().map(|c| c.qubits.len()).max().unwrap_or(0);
        let mut partial: Vec<Vec<u32>> = layout
            .into_iter()
            .map(|chain| chain.qubits.into_iter().chain(chain.spare).collect())
            .collect();
        partial.resize(n, Vec::new());
        for attempt in 0..REPAIR_ATTEMPTS {
            let seed = options.seed.wrapping_add(attempt.wrapping_mul(0xD1B5_4A32_D192_ED03));
            let Some(found) = heuristic::complete(graph, source, &partial, &params, seed) else {
                continue;
            };
            if found.validate(graph, n).is_err() {
                continue;
            }
            let stats = found.stats();
            let key = (stats.max, stats.num_qubits);
            if best.as_ref().is_none_or(|(k, _, _)| key < *k) {
                best = Some((key, found, rerouted));
            }
            if key.0 <= longest_native {
                return best.map(|(_, e, r)| (e, r));
            }
        }
    }
    best.map(|(_, e, r)| (e, r))
}

/// Seeds tried per partial layout.
const REPAIR_ATTEMPTS: u64 = 2;
/// Round budget of one repair attempt.
const REPAIR_ROUNDS: u32 = 40;

/// Adjacency lists of K_n.
fn clique_adjacency(n: usize) -> Vec<Vec<u32>> {
    (0..n).map(|i| (0..n as u32).filter(|&j| j as usize != i).collect()).collect()
}

#[cfg(test)]
mod tests;
