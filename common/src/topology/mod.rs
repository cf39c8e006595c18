//! Hardware graphs: D-Wave's three families (Chimera, Pegasus, Zephyr) with their coordinates
//! and linear indexing, and the generic working graph a solver reports.
//!
//! A [`WorkingGraph`] is what a client may rely on: the nominal qubit count, the active qubits
//! and the active couplers, exactly as `GetProperties` reports them. A [`Family`] knows the
//! geometry behind a reported `topology {type, shape}`: the emulator builds chips from it, and
//! the trainer uses it to find a native clique embedding. Indexing and the full graphs follow
//! dwave-networkx (`chimera_graph`, `pegasus_graph`, `zephyr_graph` and their `*_coordinates`).
//!
//! Rooms: `chimera`, `pegasus`, `zephyr` (one family each), `working` (the working graph).

mod chimera;
mod pegasus;
mod working;
mod zephyr;

use std::collections::HashSet;

pub use chimera::{Chimera, ChimeraCoord, DW_2000Q_5_DEAD_COUPLERS, DW_2000Q_5_INACTIVE_QUBITS};
pub use pegasus::{NiceCoord, Pegasus, PegasusCoord};
pub use working::{GraphError, WorkingGraph};
pub use zephyr::{Zephyr, ZephyrCoord};

/// Sorts couplers (u < v) by (v, u), the order real solvers list them in (2000Q and
/// Advantage2 recordings alike).
pub fn sort_encoding_order(edges: &mut [(u32, u32)]) {
    edges.sort_unstable_by_key(|&(u, v)| (v, u));
}

/// One of D-Wave's hardware families with its shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Chimera(Chimera),
    Pegasus(Pegasus),
    Zephyr(Zephyr),
}

impl From<Chimera> for Family {
    fn from(c: Chimera) -> Self {
        Family::Chimera(c)
    }
}

impl From<Pegasus> for Family {
    fn from(p: Pegasus) -> Self {
        Family::Pegasus(p)
    }
}

impl From<Zephyr> for Family {
    fn from(z: Zephyr) -> Self {
        Family::Zephyr(z)
    }
}

impl Family {
    /// The family a solver reports as `topology {type, shape}`, as SAPI and dwave-system spell
    /// it: `chimera` with `[m, n, t]`, `[m, n]` or `[m]` (t = 4, square), `pegasus` with `[m]`,
    /// `zephyr` with `[m, t]` or `[m]` (t = 4). Case-insensitive; `None` for anything else or a
    /// zero dimension.
    pub fn from_reported(kind: &str, shape: &[u32]) -> Option<Family> {
        let family = match (kind.to_ascii_lowercase().as_str(), shape) {
            ("chimera", &[m]) => Family::Chimera(Chimera::new(m, m, 4)),
            ("chimera", &[m, n]) => Family::Chimera(Chimera::new(m, n, 4)),
            ("chimera", &[m, n, t]) => Family::Chimera(Chimera::new(m, n, t)),
            ("pegasus", &[m]) if m >= 2 => Family::Pegasus(Pegasus::new(m)),
            ("zephyr", &[m]) => Family::Zephyr(Zephyr::new(m, 4)),
            ("zephyr", &[m, t]) => Family::Zephyr(Zephyr::new(m, t)),
            _ => return None,
        };
        shape.iter().all(|&d| d > 0).then_some(family)
    }

    /// SAPI's name of the family.
    pub fn kind(&self) -> &'static str {
        match self {
            Family::Chimera(_) => "chimera",
            Family::Pegasus(_) => "pegasus",
            Family::Zephyr(_) => "zephyr",
        }
    }

    /// SAPI's `shape` of the family.
    pub fn shape(&self) -> Vec<u32> {
        match *self {
            Family::Chimera(c) => vec![c.rows, c.cols, c.shore],
            Family::Pegasus(p) => vec![p.m],
            Family::Zephyr(z) => vec![z.m, z.t],
        }
    }

    /// Nominal qubit count: labels run below it.
    pub fn num_qubits(&self) -> u32 {
        match self {
            Family::Chimera(c) => c.num_qubits(),
            Family::Pegasus(p) => p.num_qubits(),
            Family::Zephyr(z) => z.num_qubits(),
        }
    }

    /// The qubits of the full chip, ascending (Pegasus: the fabric).
    pub fn qubits(&self) -> Vec<u32> {
        match self {
            Family::Pegasus(p) => p.qubits(),
            _ => (0..self.num_qubits()).collect(),
        }
    }

    /// The couplers of the full chip (u < v), in D-Wave's encoding order.
    pub fn couplers(&self) -> Vec<(u32, u32)> {
        match self {
            Family::Chimera(c) => c.couplers(),
            Family::Pegasus(p) => p.couplers(),
            Family::Zephyr(z) => z.couplers(),
        }
    }

    /// The full-yield working graph.
    pub fn full_graph(&self) -> WorkingGraph {
        self.working_graph(&[], &[])
    }

    /// The working graph left after removing `inactive` qubits and `dead` couplers.
    pub fn working_graph(&self, inactive: &[u32], dead: &[(u32, u32)]) -> WorkingGraph {
        let mut is_active = vec![false; self.num_qubits() as usize];
        let all = self.qubits();
        for &q in &all {
            is_active[q as usize] = true;
        }
        for &q in inactive {
            if let Some(slot) = is_active.get_mut(q as usize) {
                *slot = false;
            }
        }
        let dead: HashSet<(u32, u32)> = dead.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
        let qubits = all.into_iter().filter(|&q| is_active[q as usize]).collect();
        let couplers = self
            .couplers()
            .into_iter()
            .filter(|&(u, v)| is_active[u as usize] && is_active[v as usize])
            .filter(|e| !dead.contains(e))
            .collect();
        WorkingGraph::new(self.num_qubits(), qubits, couplers)
            .expect("a subgraph of a full chip is a valid working graph")
    }

    /// A chip with `dead_qubits` random inactive qubits and `dead_couplers` random dead
    /// couplers between active qubits, all drawn from `seed`: the stand-in for an unknown
    /// device's yield in embedding tests and benchmarks.
    pub fn random_faulty(
        &self,
        seed: u64,
        dead_qubits: usize,
        dead_couplers: usize,
    ) -> WorkingGraph {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let all = self.qubits();
        let inactive: Vec<u32> = rand::seq::index::sample(&mut rng, all.len(), dead_qubits)
            .into_iter()
            .map(|i| all[i])
            .collect();
        let couplers = self.couplers();
        let mut dead = Vec::new();
        while dead.len() < dead_couplers.min(couplers.len()) {
            let e = couplers[rng.random_range(0..couplers.len())];
            if !inactive.contains(&e.0) && !inactive.contains(&e.1) && !dead.contains(&e) {
                dead.push(e);
            }
        }
        self.working_graph(&inactive, &dead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_topologies_name_their_family() {
        let chimera = |m, n, t| Some(Family::Chimera(Chimera::new(m, n, t)));
        assert_eq!(Family::from_reported("chimera", &[16, 16, 4]), chimera(16, 16, 4));
        assert_eq!(Family::from_reported("chimera", &[16]), chimera(16, 16, 4));
        assert_eq!(Family::from_reported("Chimera", &[3, 5]), chimera(3, 5, 4));
        assert_eq!(Family::from_reported("pegasus", &[16]), Some(Family::Pegasus(Pegasus::P16)));
        assert_eq!(Family::from_reported("zephyr", &[12, 4]), Some(Family::Zephyr(Zephyr::Z12)));
        assert_eq!(Family::from_reported("zephyr", &[12]), Some(Family::Zephyr(Zephyr::Z12)));
        assert_eq!(Family::from_reported("chimera", &[16, 16, 4, 1]), None);
        assert_eq!(Family::from_reported("chimera", &[0, 16, 4]), None);
        assert_eq!(Family::from_reported("zephyr", &[12, 0]), None);
        assert_eq!(Family::from_reported("pegasus", &[1]), None);
        assert_eq!(Family::from_reported("hypercube", &[4]), None);
        for family in [Family::Chimera(Chimera::C16), Pegasus::P16.into(), Zephyr::Z12.into()] {
            assert_eq!(Family::from_reported(family.kind(), &family.shape()), Some(family));
        }
    }

    #[test]
    fn full_graphs_have_the_published_sizes() {
        let sizes = |f: Family| {
            let g = f.full_graph();
            (g.num_qubits(), g.qubits().len(), g.couplers().len())
        };
        assert_eq!(sizes(Chimera::C16.into()), (2048, 2048, 6016));
        assert_eq!(sizes(Pegasus::P16.into()), (5760, 5640, 40484));
        assert_eq!(sizes(Zephyr::Z12.into()), (4800, 4800, 45864));
    }

    #[test]
    fn random_faulty_chips_lose_what_they_say_and_repeat_by_seed() {
        let family = Family::Zephyr(Zephyr::Z12);
        let chip = family.random_faulty(3, 48, 10);
        assert_eq!(chip.qubits().len(), 4800 - 48);
        let full = family.full_graph();
        let lost_with_qubits = full
            .couplers()
            .iter()
            .filter(|&&(u, v)| !chip.is_active(u) || !chip.is_active(v))
            .count();
        assert_eq!(chip.couplers().len(), 45864 - lost_with_qubits - 10);
        assert_eq!(chip, family.random_faulty(3, 48, 10));
        assert_ne!(chip, family.random_faulty(4, 48, 10));
        // Pegasus draws its dead qubits from the fabric only.
        let p = Family::Pegasus(Pegasus::P16).random_faulty(1, 56, 0);
        assert_eq!(p.qubits().len(), 5640 - 56);
    }
}
