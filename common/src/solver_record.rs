//! A SAPI solver record (one element of `GET /sapi/solvers/remote/`), read as far as the
//! hardware graph goes: `properties.num_qubits`, `qubits`, `couplers` and `topology`.
//!
//! The repository ships real records under `data/solvers/` (see its README);
//! [`SolverRecord::shipped`] reads one of them, for tests and benchmarks.

use serde::Deserialize;
use thiserror::Error;

use crate::properties::Topology;
use crate::topology::{GraphError, WorkingGraph};

/// The graph part of a solver record.
#[derive(Clone, Debug, Deserialize)]
pub struct SolverRecord {
    pub properties: RecordProperties,
}

/// `properties` of a solver record, the fields qahm reads.
#[derive(Clone, Debug, Deserialize)]
pub struct RecordProperties {
    pub num_qubits: u32,
    pub qubits: Vec<u32>,
    pub couplers: Vec<(u32, u32)>,
    pub topology: RecordTopology,
}

/// SAPI's `topology` object as recorded.
#[derive(Clone, Debug, Deserialize)]
pub struct RecordTopology {
    #[serde(rename = "type")]
    pub kind: String,
    pub shape: Vec<u32>,
}

/// Why a solver record cannot be read.
#[derive(Debug, Error)]
pub enum RecordError {
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("solver record: {0}")]
    Json(#[from] serde_json::Error),
    #[error("solver record: {0}")]
    Graph(#[from] GraphError),
}

impl SolverRecord {
    pub fn from_json(text: &str) -> Result<Self, RecordError> {
        Ok(serde_json::from_str(text)?)
    }

    /// A record shipped in this source tree's `data/solvers/` (e.g. `"Advantage2_system1.5"`).
    /// The path is resolved at compile time, so this is for tests, examples and benches.
    pub fn shipped(name: &str) -> Result<Self, RecordError> {
        let path = format!("{}/../data/solvers/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let text =
            std::fs::read_to_string(&path).map_err(|source| RecordError::Io { path, source })?;
        Self::from_json(&text)
    }

    pub fn topology(&self) -> Topology {
        let t = &self.properties.topology;
        Topology { kind: t.kind.clone(), shape: t.shape.clone() }
    }

    /// The working graph the record reports, checked.
    pub fn working_graph(&self) -> Result<WorkingGraph, GraphError> {
        let p = &self.properties;
        WorkingGraph::new(p.num_qubits, p.qubits.clone(), p.couplers.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Family, Zephyr};

    #[test]
    fn advantage2_record_gives_its_published_working_graph() {
        let record = SolverRecord::shipped("Advantage2_system1.5").unwrap();
        let topology = record.topology();
        assert_eq!((topology.kind.as_str(), topology.shape.as_slice()), ("zephyr", &[12, 4][..]));
        assert_eq!(topology.family(), Some(Family::Zephyr(Zephyr::Z12)));
        let graph = record.working_graph().unwrap();
        assert_eq!(graph.num_qubits(), 4800);
        assert_eq!(graph.qubits().len(), 4594);
        assert_eq!(graph.couplers().len(), 41813);
        // Every working coupler is one of the full Z12's.
        let full = Family::Zephyr(Zephyr::Z12).full_graph();
        assert!(graph.couplers().iter().all(|&(u, v)| full.has_coupler(u, v)));
        // Listed as real solvers list them: by (v, u).
        assert!(graph.couplers().windows(2).all(|w| (w[0].1, w[0].0) < (w[1].1, w[1].0)));
    }

    #[test]
    fn malformed_records_are_refused() {
        assert!(matches!(SolverRecord::from_json("{}"), Err(RecordError::Json(_))));
        let reversed = r#"{"properties": {"num_qubits": 4, "qubits": [0, 1],
            "couplers": [[1, 0]], "topology": {"type": "chimera", "shape": [1, 1, 2]}}}"#;
        let record = SolverRecord::from_json(reversed).unwrap();
        assert_eq!(record.working_graph().unwrap_err(), GraphError::CouplerNotOrdered(1, 0));
        assert!(matches!(SolverRecord::shipped("no-such-solver"), Err(RecordError::Io { .. })));
    }
}
