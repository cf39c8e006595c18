//! The working graph: the active part of a solver's hardware graph, whatever its family.

use std::collections::HashMap;

use thiserror::Error;

/// Why a reported graph cannot be used.
#[derive(Debug, Error, PartialEq)]
pub enum GraphError {
    #[error("qubit {qubit} is not below num_qubits {num_qubits}")]
    QubitOutOfRange { qubit: u32, num_qubits: u32 },
    #[error("qubit {0} is listed twice")]
    DuplicateQubit(u32),
    #[error("coupler ({0}, {1}) joins a qubit that is not active")]
    CouplerOnInactiveQubit(u32, u32),
    #[error("coupler ({0}, {1}) is not of the form u < v")]
    CouplerNotOrdered(u32, u32),
    #[error("coupler ({0}, {1}) is listed twice")]
    DuplicateCoupler(u32, u32),
}

/// The active part of a solver's hardware graph, as reported by `GetProperties`.
///
/// Qubit labels are the solver's (e.g. Chimera linear indices below `num_qubits`). Lookups by
/// label are O(1): `index_of` maps a label to its position in `qubits`, and `adjacency` lists
/// each active qubit's neighbours with the position of the shared coupler in `couplers`.
#[derive(Clone, Debug)]
pub struct WorkingGraph {
    num_qubits: u32,
    qubits: Vec<u32>,
    couplers: Vec<(u32, u32)>,
    /// `index_of[label]` = position in `qubits`, or `u32::MAX` if inactive.
    index_of: Vec<u32>,
    /// CSR adjacency over positions in `qubits`: (neighbour label, coupler position).
    adj_offsets: Vec<u32>,
    adj: Vec<(u32, u32)>,
    coupler_index: HashMap<(u32, u32), u32>,
}

impl PartialEq for WorkingGraph {
    fn eq(&self, other: &Self) -> bool {
        self.num_qubits == other.num_qubits
            && self.qubits == other.qubits
            && self.couplers == other.couplers
    }
}

const INACTIVE: u32 = u32::MAX;

impl WorkingGraph {
    /// Builds and checks a graph. `qubits` may come in any order; couplers keep theirs.
    pub fn new(
        num_qubits: u32,
        mut qubits: Vec<u32>,
        couplers: Vec<(u32, u32)>,
    ) -> Result<Self, GraphError> {
        qubits.sort_unstable();
        let mut index_of = vec![INACTIVE; num_qubits as usize];
        for (position, &qubit) in qubits.iter().enumerate() {
            let slot = index_of
                .get_mut(qubit as usize)
                .ok_or(GraphError::QubitOutOfRange { qubit, num_qubits })?;
            if *slot != INACTIVE {
                return Err(GraphError::DuplicateQubit(qubit));
            }
            *slot = position as u32;
        }
        let mut coupler_index = HashMap::with_capacity(couplers.len());
        let mut degree = vec![0u32; qubits.len()];
        for (position, &(u, v)) in couplers.iter().enumerate() {
            if u >= v {
                return Err(GraphError::CouplerNotOrdered(u, v));
            }
            let active = |q: u32| index_of.get(q as usize).is_some_and(|&i| i != INACTIVE);
            if !active(u) || !active(v) {
                return Err(GraphError::CouplerOnInactiveQubit(u, v));
            }
            if coupler_index.insert((u, v), position as u32).is_some() {
                return Err(GraphError::DuplicateCoupler(u, v));
            }
            degree[index_of[u as usize] as usize] += 1;
            degree[index_of[v as usize] as usize] += 1;
        }
        let mut adj_offsets = Vec::with_capacity(qubits.len() + 1);
        adj_offsets.push(0u32);
        for d in &degree {
            adj_offsets.push(adj_offsets.last().copied().unwrap_or(0) + d);
        }
        let mut fill = adj_offsets.clone();
        let mut adj = vec![(0u32, 0u32); couplers.len() * 2];
        for (position, &(u, v)) in couplers.iter().enumerate() {
            for (a, b) in [(u, v), (v, u)] {
                let slot = &mut fill[index_of[a as usize] as usize];
                adj[*slot as usize] = (b, position as u32);
                *slot += 1;
            }
        }
        Ok(WorkingGraph { num_qubits, qubits, couplers, index_of, adj_offsets, adj, coupler_index })
    }

    /// Nominal qubit count, inactive qubits included.
    pub fn num_qubits(&self) -> u32 {
        self.num_qubits
    }

    /// Active qubit labels, ascending.
    pub fn qubits(&self) -> &[u32] {
        &self.qubits
    }

    /// Active couplers (u < v) in the solver's order.
    pub fn couplers(&self) -> &[(u32, u32)] {
        &self.couplers
    }

    pub fn is_active(&self, qubit: u32) -> bool {
        self.index(qubit).is_some()
    }

    /// Position of an active qubit in [`Self::qubits`].
    pub fn index(&self, qubit: u32) -> Option<usize> {
        match self.index_of.get(qubit as usize) {
            Some(&i) if i != INACTIVE => Some(i as usize),
            _ => None,
        }
    }

    /// Position in [`Self::couplers`] of the coupler joining `a` and `b` (either order).
    pub fn coupler(&self, a: u32, b: u32) -> Option<usize> {
        self.coupler_index.get(&(a.min(b), a.max(b))).map(|&i| i as usize)
    }

    pub fn has_coupler(&self, a: u32, b: u32) -> bool {
        self.coupler(a, b).is_some()
    }

    /// Neighbours of an active qubit as (neighbour label, coupler position); empty if inactive.
    pub fn neighbours(&self, qubit: u32) -> &[(u32, u32)] {
        match self.index(qubit) {
            Some(i) => &self.adj[self.adj_offsets[i] as usize..self.adj_offsets[i + 1] as usize],
            None => &[],
        }
    }

    pub fn degree(&self, qubit: u32) -> usize {
        self.neighbours(qubit).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Chimera;

    #[test]
    fn neighbours_are_symmetric_and_name_their_coupler() {
        let g = Chimera::dw_2000q_5();
        for &q in g.qubits() {
            for &(n, c) in g.neighbours(q) {
                let (u, v) = g.couplers()[c as usize];
                assert_eq!((u.min(v), u.max(v)), (q.min(n), q.max(n)));
                assert!(g.neighbours(n).iter().any(|&(m, _)| m == q));
            }
        }
    }

    #[test]
    fn bad_graphs_are_rejected() {
        assert_eq!(
            WorkingGraph::new(4, vec![0, 5], vec![]).unwrap_err(),
            GraphError::QubitOutOfRange { qubit: 5, num_qubits: 4 }
        );
        assert_eq!(
            WorkingGraph::new(4, vec![0, 1], vec![(0, 2)]).unwrap_err(),
            GraphError::CouplerOnInactiveQubit(0, 2)
        );
        assert_eq!(
            WorkingGraph::new(4, vec![0, 1], vec![(1, 0)]).unwrap_err(),
            GraphError::CouplerNotOrdered(1, 0)
        );
    }
}
