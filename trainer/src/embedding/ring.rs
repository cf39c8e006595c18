//! A long ring of qubits in any working graph: the 1D ferromagnet of the kink-density
//! experiment (King et al. 2022) that calibrates the emulator's anneal time.
//!
//! Finding the longest cycle is NP-hard; a long one is easy in these lattice-like graphs. The
//! ring starts as one coupler and grows by detours: a stretch a → (at most [`MAX_SKIP`] ring
//! qubits) → b of the ring is replaced by a longer path a → x₁ → … → x_k → b through qubits
//! off it (the skipped ones included), shortest detours first, until no detour of up to
//! [`MAX_DETOUR`] qubits is left anywhere. Every step keeps a simple cycle and adds at least one
//! qubit, so the growth ends and the result is valid by construction (and checked by the
//! tests). Detours alone (no skipping) stall in Chimera's bipartite cells: a third of
//! DW_2000Q_5 where skipping one qubit reaches 97 %.

use std::collections::VecDeque;

use qahm_common::topology::WorkingGraph;

/// The longest detour tried, in new qubits. Longer ones rarely add anything on Chimera,
/// Pegasus or Zephyr once the short ones are exhausted.
const MAX_DETOUR: usize = 6;

/// The most ring qubits a detour may skip (they are offered to the detour again).
const MAX_SKIP: usize = 1;

/// A ring: consecutive qubits (and the last and first) are joined by active couplers.
/// Empty if the graph has no cycle through its best-connected qubit. Deterministic.
pub fn long_ring(graph: &WorkingGraph) -> Vec<u32> {
    let Some(&start) = graph.qubits().iter().max_by_key(|&&q| (graph.degree(q), u32::MAX - q))
    else {
        return Vec::new();
    };
    let Some(&(second, _)) = graph.neighbours(start).first() else { return Vec::new() };
    let mut on_ring = vec![false; graph.num_qubits() as usize];
    on_ring[start as usize] = true;
    on_ring[second as usize] = true;
    // Two qubits and their coupler counted twice: a degenerate ring that the first detour
    // turns into a real one.
    let mut ring = vec![start, second];
    let mut limit = 1;
    while limit <= MAX_DETOUR {
        let mut grown = false;
        let mut k = 0;
        // One pass: every position of the ring, from the last growth round to it again.
        while k < ring.len() {
            match grow_at(graph, &mut on_ring, &ring, k, limit) {
                Some((skip, path)) => {
                    // The ring from position k on, with the detour in place of the skipped.
                    ring.rotate_left(k);
                    ring.splice(1..1 + skip, path);
                    k = 0;
                    grown = true;
                }
                None => k += 1,
            }
        }
        // Short detours first: after a long one, the short ones may be back.
        limit = if grown { 1 } else { limit + 1 };
    }
    if ring.len() < 3 { Vec::new() } else { ring }
}

/// The first detour from ring position `k` that skips 0..=[`MAX_SKIP`] ring qubits and adds
/// more than it skips, with at most `limit` new qubits; marks its qubits on the ring (and the
/// skipped ones off it unless the detour takes them back).
fn grow_at(
    graph: &WorkingGraph,
    on_ring: &mut [bool],
    ring: &[u32],
    k: usize,
    limit: usize,
) -> Option<(usize, Vec<u32>)> {
    let n = ring.len();
    for skip in 0..=MAX_SKIP.min(n.saturating_sub(2)) {
        let (a, b) = (ring[k], ring[(k + 1 + skip) % n]);
        let skipped = (1..=skip).map(|i| ring[(k + i) % n]);
        skipped.clone().for_each(|q| on_ring[q as usize] = false);
        if let Some(path) = detour(graph, on_ring, a, b, skip + 1, limit) {
            path.iter().for_each(|&q| on_ring[q as usize] = true);
            return Some((skip, path));
        }
        skipped.for_each(|q| on_ring[q as usize] = true);
    }
    None
}

/// The shortest path a → x₁ … x_k → b with `min` ≤ k ≤ `limit` through qubits off the ring
/// (breadth first, so a shorter way to an x_k blocks a longer one).
fn detour(
    graph: &WorkingGraph,
    on_ring: &[bool],
    a: u32,
    b: u32,
    min: usize,
    limit: usize,
) -> Option<Vec<u32>> {
    let mut parent: std::collections::HashMap<u32, (u32, usize)> = Default::default();
    let mut queue = VecDeque::new();
    for &(x, _) in graph.neighbours(a) {
        if !on_ring[x as usize] && !parent.contains_key(&x) {
            parent.insert(x, (a, 1));
            queue.push_back(x);
        }
    }
    while let Some(x) = queue.pop_front() {
        let depth = parent[&x].1;
        if depth >= min && graph.has_coupler(x, b) {
            let mut path = vec![x];
            let mut at = x;
            while let Some(&(p, _)) = parent.get(&at) {
                if p == a {
                    break;
                }
                path.push(p);
                at = p;
            }
            path.reverse();
            return Some(path);
        }
        if depth == limit {
            continue;
        }
        for &(y, _) in graph.neighbours(x) {
            if !on_ring[y as usize] && !parent.contains_key(&y) {
                parent.insert(y, (x, depth + 1));
                queue.push_back(y);
            }
        }
    }
    None
}

/// The ring's couplers in ring order, the closing one last.
pub fn ring_couplers(ring: &[u32]) -> Vec<(u32, u32)> {
    (0..ring.len()).map(|k| (ring[k], ring[(k + 1) % ring.len()])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use qahm_common::solver_record::SolverRecord;
    use qahm_common::topology::Chimera;

    fn assert_is_ring(graph: &WorkingGraph, ring: &[u32]) {
        let mut seen = std::collections::HashSet::new();
        for &q in ring {
            assert!(graph.is_active(q), "qubit {q} inactive");
            assert!(seen.insert(q), "qubit {q} twice");
        }
        for (a, b) in ring_couplers(ring) {
            assert!(graph.has_coupler(a, b), "no coupler {a}-{b}");
        }
    }

    #[test]
    fn finds_a_valid_ring_through_most_of_dw_2000q_5() {
        let graph = Chimera::dw_2000q_5();
        let ring = long_ring(&graph);
        assert_is_ring(&graph, &ring);
        // 2030 active qubits; a ring needs no more than the dead qubits' neighbourhoods left
        // out (this one takes 1960).
        assert!(ring.len() > 1900, "ring of {} qubits", ring.len());
        assert_eq!(ring, long_ring(&graph), "deterministic");
    }

    #[test]
    fn finds_a_valid_ring_through_most_of_advantage2() {
        let record = SolverRecord::shipped("Advantage2_system1.5").unwrap();
        let graph = record.working_graph().unwrap();
        let ring = long_ring(&graph);
        assert_is_ring(&graph, &ring);
        // 4594 active qubits; this one takes 4544.
        assert!(ring.len() > 4400, "ring of {} qubits", ring.len());
    }

    #[test]
    fn a_tree_has_no_ring() {
        let graph = WorkingGraph::new(3, vec![0, 1, 2], vec![(0, 1), (1, 2)]).unwrap();
        assert!(long_ring(&graph).is_empty());
    }
}
