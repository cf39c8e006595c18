//! A long ring of qubits in any working graph: the 1D ferromagnet of the kink-density
//! experiment (King et al. 2022) that calibrates the emulator's anneal time.
//!
//! Finding the longest cycle is NP-hard; a long one is easy in these lattice-like graphs. The
//! ring starts as one coupler and grows by detours: a coupler (a, b) of the ring is replaced
//! by a path a → x₁ → … → x_k → b through qubits not yet on it, shortest detours first, until
//! no detour of up to [`MAX_DETOUR`] qubits is left anywhere. Every step keeps a simple cycle,
//! so the result is valid by construction (and checked by the tests).

use std::collections::VecDeque;

use qahm_common::topology::WorkingGraph;

/// The longest detour tried, in new qubits. Longer ones rarely add anything on Chimera,
/// Pegasus or Zephyr once the short ones are exhausted.
const MAX_DETOUR: usize = 6;

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
        while k < ring.len() {
            let (a, b) = (ring[k], ring[(k + 1) % ring.len()]);
            match detour(graph, &on_ring, a, b, limit) {
                Some(path) => {
                    for &q in &path {
                        on_ring[q as usize] = true;
                    }
                    ring.splice(k + 1..k + 1, path);
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

/// The shortest path a → x₁ … x_k → b with 1 ≤ k ≤ `limit` through qubits off the ring.
fn detour(
    graph: &WorkingGraph,
    on_ring: &[bool],
    a: u32,
    b: u32,
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
        if graph.has_coupler(x, b) {
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
    fn finds_a_valid_ring_through_a_third_of_dw_2000q_5() {
        let graph = Chimera::dw_2000q_5();
        let ring = long_ring(&graph);
        assert_is_ring(&graph, &ring);
        // The experiment measures kinks per coupler, so the ring only has to be far longer
        // than a domain at the shortest anneal (≈ 100 couplers at 5 µs). The detour search
        // finds 674 of the 2030 qubits; a third of the chip is plenty.
        assert!(ring.len() >= 600, "ring of {} qubits", ring.len());
        assert_eq!(ring, long_ring(&graph), "deterministic");
    }

    #[test]
    fn a_tree_has_no_ring() {
        let graph = WorkingGraph::new(3, vec![0, 1, 2], vec![(0, 1), (1, 2)]).unwrap();
        assert!(long_ring(&graph).is_empty());
    }
}
