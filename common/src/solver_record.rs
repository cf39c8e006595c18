//! A SAPI solver record (one element of `GET /sapi/solvers/remote/`), read into qahm's
//! [`SolverProperties`]: the hardware graph (`num_qubits`, `qubits`, `couplers`, `topology`),
//! the ranges, the defaults and `problem_timing_data`.
//!
//! The repository ships real records under `data/solvers/` (see its README);
//! [`SolverRecord::shipped`] reads one of them, for tests and benchmarks (the emulator embeds
//! the one its Advantage2 profile is built from).

use serde::Deserialize;
use thiserror::Error;

use crate::properties::{
    ACCEPTED_PARAMETERS, ProblemTimingData, Range, ReadoutTimeModel, SolverProperties, Topology,
    UnusedTimingData,
};
use crate::topology::{GraphError, WorkingGraph};

/// A solver record, the parts qahm reads.
#[derive(Clone, Debug, Deserialize)]
pub struct SolverRecord {
    /// SAPI v3's `identity {name, version}`.
    #[serde(default)]
    pub identity: Option<RecordIdentity>,
    /// SAPI v2's solver id.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub description: String,
    pub properties: RecordProperties,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RecordIdentity {
    pub name: String,
}

/// `properties` of a solver record, the fields qahm reads. The graph is required; the rest is
/// needed only to build [`SolverProperties`] ([`SolverRecord::properties`]).
#[derive(Clone, Debug, Deserialize)]
pub struct RecordProperties {
    pub num_qubits: u32,
    pub qubits: Vec<u32>,
    pub couplers: Vec<(u32, u32)>,
    pub topology: RecordTopology,
    pub h_range: Option<[f64; 2]>,
    pub j_range: Option<[f64; 2]>,
    pub extended_j_range: Option<[f64; 2]>,
    pub per_qubit_coupling_range: Option<[f64; 2]>,
    pub per_group_coupling_range: Option<[f64; 2]>,
    pub annealing_time_range: Option<[f64; 2]>,
    pub default_annealing_time: Option<f64>,
    pub num_reads_range: Option<[f64; 2]>,
    pub problem_run_duration_range: Option<[f64; 2]>,
    pub programming_thermalization_range: Option<[f64; 2]>,
    pub default_programming_thermalization: Option<f64>,
    pub readout_thermalization_range: Option<[f64; 2]>,
    pub default_readout_thermalization: Option<f64>,
    pub problem_timing_data: Option<RecordTiming>,
}

/// SAPI's `topology` object as recorded.
#[derive(Clone, Debug, Deserialize)]
pub struct RecordTopology {
    #[serde(rename = "type")]
    pub kind: String,
    pub shape: Vec<u32>,
}

/// SAPI's `problem_timing_data` as recorded (version 1.0.x).
#[derive(Clone, Debug, Deserialize)]
pub struct RecordTiming {
    pub version: String,
    pub typical_programming_time: f64,
    pub readout_time_model: String,
    pub readout_time_model_parameters: Vec<f64>,
    pub qpu_delay_time_per_sample: f64,
    pub reverse_annealing_with_reinit_prog_time_delta: Option<f64>,
    pub reverse_annealing_without_reinit_prog_time_delta: Option<f64>,
    pub reverse_annealing_with_reinit_delay_time_delta: Option<f64>,
    pub reverse_annealing_without_reinit_delay_time_delta: Option<f64>,
    pub decorrelation_max_nominal_anneal_time: Option<f64>,
    pub decorrelation_time_range: Option<[f64; 2]>,
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
    #[error("solver record lacks {0}")]
    Missing(&'static str),
    #[error("solver record: {field} {message}")]
    Invalid { field: &'static str, message: String },
}

fn required<T>(value: Option<T>, field: &'static str) -> Result<T, RecordError> {
    value.ok_or(RecordError::Missing(field))
}

fn real_range(value: Option<[f64; 2]>, field: &'static str) -> Result<Range<f64>, RecordError> {
    let [min, max] = required(value, field)?;
    if !(min.is_finite() && max.is_finite() && min <= max) {
        let message = format!("[{min}, {max}] is not a range");
        return Err(RecordError::Invalid { field, message });
    }
    Ok(Range::new(min, max))
}

fn optional_range(
    value: Option<[f64; 2]>,
    field: &'static str,
) -> Result<Option<Range<f64>>, RecordError> {
    value.map(|v| real_range(Some(v), field)).transpose()
}

/// A recorded whole number (SAPI writes some as `1000.0`) that fits `T`.
fn whole<T: TryFrom<u64>>(value: f64, field: &'static str) -> Result<T, RecordError> {
    let invalid = || RecordError::Invalid { field, message: format!("{value} is not a count") };
    if !(value >= 0.0 && value.fract() == 0.0 && value <= u64::MAX as f64) {
        return Err(invalid());
    }
    T::try_from(value as u64).map_err(|_| invalid())
}

fn whole_range<T: TryFrom<u64> + PartialOrd + Copy>(
    value: Option<[f64; 2]>,
    field: &'static str,
) -> Result<Range<T>, RecordError> {
    let r = real_range(value, field)?;
    Ok(Range::new(whole(r.min, field)?, whole(r.max, field)?))
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

    /// The solver's name: `identity.name` (SAPI v3) or `id` (v2).
    pub fn name(&self) -> Option<&str> {
        self.identity.as_ref().map(|i| i.name.as_str()).or(self.id.as_deref())
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

    /// Everything the record says that [`SolverProperties`] holds, as recorded. `parameters`
    /// are the contract's ([`ACCEPTED_PARAMETERS`]), not the record's: a solver served under
    /// this contract takes those.
    pub fn properties(&self) -> Result<SolverProperties, RecordError> {
        let p = &self.properties;
        let t = required(p.problem_timing_data.as_ref(), "problem_timing_data")?;
        if !t.version.starts_with("1.0.") {
            let message = format!("version {:?} is not 1.0.x", t.version);
            return Err(RecordError::Invalid { field: "problem_timing_data", message });
        }
        let readout =
            ReadoutTimeModel::from_sapi(&t.readout_time_model, &t.readout_time_model_parameters)
                .map_err(|message| RecordError::Invalid {
                    field: "problem_timing_data",
                    message,
                })?;
        let decorrelation_time_range = t
            .decorrelation_time_range
            .map(|f| real_range(Some(f), "decorrelation_time_range"))
            .transpose()?;
        let unused = UnusedTimingData::from_parts(
            [
                t.reverse_annealing_with_reinit_prog_time_delta,
                t.reverse_annealing_without_reinit_prog_time_delta,
            ],
            [
                t.reverse_annealing_with_reinit_delay_time_delta,
                t.reverse_annealing_without_reinit_delay_time_delta,
            ],
            t.decorrelation_max_nominal_anneal_time,
            decorrelation_time_range,
        );
        Ok(SolverProperties {
            name: required(self.name(), "identity.name")?.to_string(),
            description: self.description.clone(),
            topology: self.topology(),
            graph: self.working_graph()?,
            h_range: real_range(p.h_range, "h_range")?,
            j_range: real_range(p.j_range, "j_range")?,
            extended_j_range: optional_range(p.extended_j_range, "extended_j_range")?,
            per_qubit_coupling_range: optional_range(
                p.per_qubit_coupling_range,
                "per_qubit_coupling_range",
            )?,
            per_group_coupling_range: optional_range(
                p.per_group_coupling_range,
                "per_group_coupling_range",
            )?,
            annealing_time_range: real_range(p.annealing_time_range, "annealing_time_range")?,
            default_annealing_time: required(p.default_annealing_time, "default_annealing_time")?,
            num_reads_range: whole_range(p.num_reads_range, "num_reads_range")?,
            problem_run_duration_range: whole_range(
                p.problem_run_duration_range,
                "problem_run_duration_range",
            )?,
            programming_thermalization_range: whole_range(
                p.programming_thermalization_range,
                "programming_thermalization_range",
            )?,
            default_programming_thermalization: whole(
                required(
                    p.default_programming_thermalization,
                    "default_programming_thermalization",
                )?,
                "default_programming_thermalization",
            )?,
            readout_thermalization_range: whole_range(
                p.readout_thermalization_range,
                "readout_thermalization_range",
            )?,
            default_readout_thermalization: whole(
                required(p.default_readout_thermalization, "default_readout_thermalization")?,
                "default_readout_thermalization",
            )?,
            timing: ProblemTimingData {
                version: t.version.clone(),
                typical_programming_time: t.typical_programming_time,
                readout,
                qpu_delay_time_per_sample: t.qpu_delay_time_per_sample,
                unused,
            },
            parameters: ACCEPTED_PARAMETERS.iter().map(|s| s.to_string()).collect(),
        })
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
        // A graph alone is a record, but not a solver's properties.
        let graph_only = r#"{"properties": {"num_qubits": 4, "qubits": [0, 1],
            "couplers": [[0, 1]], "topology": {"type": "chimera", "shape": [1, 1, 2]}}}"#;
        let record = SolverRecord::from_json(graph_only).unwrap();
        assert!(record.working_graph().is_ok());
        assert!(matches!(record.properties(), Err(RecordError::Missing("problem_timing_data"))));
    }

    #[test]
    fn advantage2_record_gives_its_properties() {
        let props = SolverRecord::shipped("Advantage2_system1.5").unwrap().properties().unwrap();
        assert_eq!(props.name, "Advantage2_system1.5");
        assert_eq!(props.h_range, Range::new(-6.0, 6.0));
        assert_eq!(props.j_range, Range::new(-1.0, 1.0));
        assert_eq!(props.extended_j_range, Some(Range::new(-2.0, 1.0)));
        assert_eq!(props.per_qubit_coupling_range, None);
        assert_eq!(props.per_group_coupling_range, Some(Range::new(-13.0, 10.0)));
        assert_eq!(props.annealing_time_range, Range::new(0.5, 2000.0));
        assert_eq!(props.default_annealing_time, 20.0);
        assert_eq!(props.num_reads_range, Range::new(1, 10_000));
        assert_eq!(props.problem_run_duration_range, Range::new(0, 1_000_000));
        assert_eq!(props.programming_thermalization_range, Range::new(0, 10_000));
        assert_eq!(props.default_programming_thermalization, 1000);
        assert_eq!(props.readout_thermalization_range, Range::new(0, 10_000));
        assert_eq!(props.default_readout_thermalization, 0);
        let t = &props.timing;
        assert_eq!(t.version, "1.0.0");
        assert_eq!(t.typical_programming_time, 33_636.7);
        assert_eq!(t.qpu_delay_time_per_sample, 60.57);
        assert_eq!(t.readout.sapi_name(), Some("pwl_log_log"));
        assert_eq!(t.readout.sapi_parameters().len(), 10);
        let unused = t.unused.unwrap();
        assert_eq!(unused.decorrelation_time_range, Range::new(500.0, 10_000.0));
        assert_eq!(unused.reverse_annealing_without_reinit_prog_time_delta, 28.18);
    }

    #[test]
    fn advantage2_readout_follows_ocean_estimate() {
        // dwave-cloud-client's estimate_qpu_access_time (numpy interp on log10 axes) for this
        // record, computed with Python's math module: 10 ** interp(log10(m), q, t).
        let timing = SolverRecord::shipped("Advantage2_system1.5").unwrap().properties().unwrap();
        let readout = |m| timing.timing.readout.readout_time(m);
        for (m, expected) in [
            (0, 23.28430441097946),
            (1, 23.28430441097946),
            (10, 47.263274591129786),
            (100, 73.99888981708318),
            (1000, 97.84857653742901),
            (4800, 97.84999999999997),
            (10_000, 97.84999999999997),
        ] {
            assert!((readout(m) - expected).abs() < 1e-9, "{m} qubits: {}", readout(m));
        }
        // 1000 reads of 960 qubits at 5 µs, default thermalizations.
        let t = timing.timing.job_timing(960, 1000, 5.0, 1000, 0);
        assert!((t.qpu_programming_time - 34_636.7).abs() < 1e-9);
        let per_read = 5.0 + 97.8485384383817 + 60.57;
        assert!((t.qpu_access_time - (34_636.7 + 1000.0 * per_read)).abs() < 1e-6);
    }
}
