//! Solver names and solver records (`GET solvers/remote/`), both ways.
//!
//! Reading a record into qahm's [`SolverProperties`] is common's job
//! ([`qahm_common::solver_record::SolverRecord`]); this module adds what the REST wire needs
//! around it: the solver's name in its v2 (`id`) or v3 (`identity`) form, `status` and
//! `avg_load`, and the way back, a record written from [`SolverProperties`] that Ocean's
//! clients accept as a structured (QPU) solver and that reads back to the same properties.
//!
//! Two choices make the round trip exact:
//! - `parameters` are the contract's ([`qahm_common::properties::ACCEPTED_PARAMETERS`]),
//!   whatever the record lists, because a solver served under this contract takes those;
//! - a record without `problem_timing_data` (every 2000Q-era record) reads as qahm's 2000Q
//!   timing model, [`ProblemTimingData::dw_2000q_6`], and that model's flat readout curve has
//!   no SAPI form, so a record written from it has no `problem_timing_data` either, as the
//!   real 2000Q's had none.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use thiserror::Error;

use qahm_common::properties::{ProblemTimingData, Range, SolverProperties};
use qahm_common::solver_record::{RecordError, RecordTiming, SolverRecord};
use qahm_common::topology::WorkingGraph;

use crate::media::ApiVersion;

/// A v3 solver identity: the name and, for QPUs, the working graph's version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SolverIdentity {
    pub name: String,
    /// Absent for hybrid solvers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<SolverVersion>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SolverVersion {
    pub graph_id: String,
}

/// How a job or a status names its solver: a string in v2, an identity object in v3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SolverRef {
    Name(String),
    Identity(SolverIdentity),
}

impl SolverRef {
    /// `identity` as the given API version writes it.
    pub fn new(identity: &SolverIdentity, version: ApiVersion) -> Self {
        match version {
            ApiVersion::V2 => SolverRef::Name(identity.name.clone()),
            ApiVersion::V3 => SolverRef::Identity(identity.clone()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            SolverRef::Name(name) => name,
            SolverRef::Identity(identity) => &identity.name,
        }
    }

    /// The API version whose shape this is.
    pub fn api_version(&self) -> ApiVersion {
        match self {
            SolverRef::Name(_) => ApiVersion::V2,
            SolverRef::Identity(_) => ApiVersion::V3,
        }
    }
}

/// A qahm-made `graph_id` for a working graph: 10 hex digits of a 64-bit FNV-1a hash over
/// `num_qubits`, the qubits and the couplers in order. D-Wave does not publish how it makes
/// its ids (Advantage2_system1.5's is `018d6fa6d0`); this one is stable and changes whenever
/// the graph does, which is what a client uses it for.
pub fn graph_id(graph: &WorkingGraph) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let words = std::iter::once(graph.num_qubits())
        .chain([u32::MAX])
        .chain(graph.qubits().iter().copied())
        .chain([u32::MAX])
        .chain(graph.couplers().iter().flat_map(|&(u, v)| [u, v]));
    let hash = words
        .flat_map(u32::to_le_bytes)
        .fold(OFFSET, |h, byte| (h ^ u64::from(byte)).wrapping_mul(PRIME));
    format!("{:010x}", hash >> 24)
}

/// A solver's availability as a record reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SolverStatus {
    Online,
    Offline,
}

/// Why a solver record cannot be read as a QPU's properties.
#[derive(Debug, Error)]
pub enum SolverRecordError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("solver record has neither identity nor id")]
    Unnamed,
    #[error("solver record: {field}: {source}")]
    Field { field: &'static str, source: serde_json::Error },
    #[error("solver {name} is of category {category:?}, not a qpu")]
    NotQpu { name: String, category: String },
}

/// What a record says besides its properties: how it names the solver and, when listed, its
/// availability. It is all of a record fetched with `filter=none,+identity,+status,+avg_load`
/// (the cloud client's cheap, frequent call).
#[derive(Clone, Debug, PartialEq)]
pub struct SolverSummary {
    /// `identity` (v3) or `id` (v2).
    pub solver: SolverRef,
    pub status: Option<SolverStatus>,
    pub avg_load: Option<f64>,
}

/// A solver record as read: its summary and its properties.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedSolver {
    pub summary: SolverSummary,
    pub properties: SolverProperties,
}

fn field<'a, T: Deserialize<'a>>(
    record: &'a Value,
    key: &'static str,
) -> Result<Option<T>, SolverRecordError> {
    record
        .get(key)
        .map(T::deserialize)
        .transpose()
        .map_err(|source| SolverRecordError::Field { field: key, source })
}

/// Reads the name, `status` and `avg_load` of a record, whole or filtered.
pub fn decode_solver_summary(record: &Value) -> Result<SolverSummary, SolverRecordError> {
    let solver = match (field(record, "identity")?, field(record, "id")?) {
        (Some(identity), _) => SolverRef::Identity(identity),
        (None, Some(id)) => SolverRef::Name(id),
        (None, None) => return Err(SolverRecordError::Unnamed),
    };
    Ok(SolverSummary {
        solver,
        status: field(record, "status")?,
        avg_load: field(record, "avg_load")?,
    })
}

/// Reads one element of a `solvers/remote/` reply (or a `solvers/remote/{name}/` reply) as a
/// QPU's.
pub fn decode_solver_record(record: &Value) -> Result<DecodedSolver, SolverRecordError> {
    let summary = decode_solver_summary(record)?;
    let category: Option<String> =
        record.get("properties").map(|p| field(p, "category")).transpose()?.flatten();
    if let Some(category) = category.filter(|c| c != "qpu") {
        let name = summary.solver.name().to_string();
        return Err(SolverRecordError::NotQpu { name, category });
    }
    let parsed = SolverRecord::deserialize(record).map_err(RecordError::Json)?;
    let properties = match parsed.properties.problem_timing_data {
        Some(_) => parsed.properties()?,
        None => properties_without_timing_data(parsed)?,
    };
    Ok(DecodedSolver { summary, properties })
}

/// Common's reader needs `problem_timing_data`; a record that has none gets qahm's 2000Q
/// model (see the module notes). The stand-in below only lets the reader run; its values are
/// replaced.
fn properties_without_timing_data(
    mut record: SolverRecord,
) -> Result<SolverProperties, RecordError> {
    record.properties.problem_timing_data = Some(RecordTiming {
        version: "1.0.0".into(),
        typical_programming_time: 0.0,
        readout_time_model: "pwl_linear".into(),
        readout_time_model_parameters: vec![0.0, 0.0],
        qpu_delay_time_per_sample: 0.0,
        reverse_annealing_with_reinit_prog_time_delta: None,
        reverse_annealing_without_reinit_prog_time_delta: None,
        reverse_annealing_with_reinit_delay_time_delta: None,
        reverse_annealing_without_reinit_delay_time_delta: None,
        decorrelation_max_nominal_anneal_time: None,
        decorrelation_time_range: None,
    });
    let mut properties = record.properties()?;
    properties.timing = ProblemTimingData::dw_2000q_6();
    Ok(properties)
}

/// The description a record gives each parameter the contract accepts: Advantage2's wording
/// (recorded 2025) for SAPI's parameters, qahm's for `seed`.
pub fn parameter_description(name: &str) -> &'static str {
    match name {
        "annealing_time" => {
            "Quantum annealing duration, in microseconds, as a positive floating point number."
        }
        "answer_mode" => "Format of returned answers, as 'histogram' or 'raw' samples.",
        "auto_scale" => {
            "Automatic rescaling of h and J values to their available range, as a boolean flag."
        }
        "num_reads" => "Number of states to read (answers to return), as a positive integer.",
        "programming_thermalization" => {
            "Time in microseconds to wait after programming the processor in order for it to \
             cool back to base temperature, as a positive floating point number."
        }
        "readout_thermalization" => {
            "Time in microseconds to wait after each state is read from the processor in order \
             for it to cool back to base temperature, as a positive floating point number."
        }
        "seed" => {
            "Seed of the emulator's random numbers, as a non-negative integer; real hardware \
             ignores it (qahm)."
        }
        _ => "",
    }
}

fn range<T: Serialize>(r: Range<T>) -> Value {
    json!([r.min, r.max])
}

/// `problem_timing_data` in SAPI's form, or `None` for qahm's flat 2000Q model.
fn timing_data(props: &SolverProperties) -> Option<Value> {
    let t = &props.timing;
    let model = t.readout.sapi_name()?;
    let mut data = Map::new();
    data.insert("version".into(), json!(t.version));
    data.insert("typical_programming_time".into(), json!(t.typical_programming_time));
    data.insert(
        "default_programming_thermalization".into(),
        json!(props.default_programming_thermalization),
    );
    data.insert("default_annealing_time".into(), json!(props.default_annealing_time));
    data.insert("readout_time_model".into(), json!(model));
    data.insert("readout_time_model_parameters".into(), json!(t.readout.sapi_parameters()));
    data.insert("qpu_delay_time_per_sample".into(), json!(t.qpu_delay_time_per_sample));
    data.insert(
        "default_readout_thermalization".into(),
        json!(props.default_readout_thermalization),
    );
    if let Some(u) = &t.unused {
        for (key, value) in [
            (
                "reverse_annealing_with_reinit_prog_time_delta",
                u.reverse_annealing_with_reinit_prog_time_delta,
            ),
            (
                "reverse_annealing_without_reinit_prog_time_delta",
                u.reverse_annealing_without_reinit_prog_time_delta,
            ),
            (
                "reverse_annealing_with_reinit_delay_time_delta",
                u.reverse_annealing_with_reinit_delay_time_delta,
            ),
            (
                "reverse_annealing_without_reinit_delay_time_delta",
                u.reverse_annealing_without_reinit_delay_time_delta,
            ),
            ("decorrelation_max_nominal_anneal_time", u.decorrelation_max_nominal_anneal_time),
        ] {
            data.insert(key.into(), json!(value));
        }
        data.insert("decorrelation_time_range".into(), range(u.decorrelation_time_range));
    }
    Some(Value::Object(data))
}

/// The `properties` object of a record for `props`: everything SAPI's QPU records carry that
/// qahm knows (not `anneal_offset_ranges`, `chip_id`, `tags`, `vfyc`, schedule limits and
/// the like, which qahm has no value for).
pub fn encode_record_properties(props: &SolverProperties) -> Map<String, Value> {
    let graph = &props.graph;
    let mut p = Map::new();
    p.insert("num_qubits".into(), json!(graph.num_qubits()));
    p.insert("qubits".into(), json!(graph.qubits()));
    p.insert("couplers".into(), json!(graph.couplers()));
    p.insert(
        "topology".into(),
        json!({"type": props.topology.kind, "shape": props.topology.shape}),
    );
    p.insert("category".into(), json!("qpu"));
    p.insert("supported_problem_types".into(), json!(["ising", "qubo"]));
    let parameters: Map<String, Value> = props
        .parameters
        .iter()
        .map(|name| (name.clone(), json!(parameter_description(name))))
        .collect();
    p.insert("parameters".into(), Value::Object(parameters));
    p.insert("h_range".into(), range(props.h_range));
    p.insert("j_range".into(), range(props.j_range));
    for (key, value) in [
        ("extended_j_range", props.extended_j_range),
        ("per_qubit_coupling_range", props.per_qubit_coupling_range),
        ("per_group_coupling_range", props.per_group_coupling_range),
    ] {
        if let Some(value) = value {
            p.insert(key.into(), range(value));
        }
    }
    p.insert("annealing_time_range".into(), range(props.annealing_time_range));
    p.insert("default_annealing_time".into(), json!(props.default_annealing_time));
    p.insert("num_reads_range".into(), range(props.num_reads_range));
    p.insert("problem_run_duration_range".into(), range(props.problem_run_duration_range));
    p.insert(
        "programming_thermalization_range".into(),
        range(props.programming_thermalization_range),
    );
    p.insert(
        "default_programming_thermalization".into(),
        json!(props.default_programming_thermalization),
    );
    p.insert("readout_thermalization_range".into(), range(props.readout_thermalization_range));
    p.insert("default_readout_thermalization".into(), json!(props.default_readout_thermalization));
    if let Some(timing) = timing_data(props) {
        p.insert("problem_timing_data".into(), timing);
    }
    p
}

/// A whole solver record for `props`, named as `summary.solver` says (`id` for a v2 name,
/// `identity` for a v3 identity), with `status` and `avg_load` when given (a `filter` may
/// leave them out).
pub fn encode_solver_record(props: &SolverProperties, summary: &SolverSummary) -> Value {
    let SolverSummary { solver, status, avg_load } = summary;
    let mut record = Map::new();
    match solver {
        SolverRef::Name(name) => record.insert("id".into(), json!(name)),
        SolverRef::Identity(identity) => record.insert("identity".into(), json!(identity)),
    };
    if let Some(status) = status {
        record.insert("status".into(), json!(status));
    }
    record.insert("description".into(), json!(props.description));
    record.insert("properties".into(), Value::Object(encode_record_properties(props)));
    if let Some(avg_load) = avg_load {
        record.insert("avg_load".into(), json!(avg_load));
    }
    Value::Object(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qahm_common::properties::ReadoutTimeModel;
    use qahm_common::topology::{Chimera, Family, Pegasus, Zephyr};

    fn summary(solver: &SolverRef) -> SolverSummary {
        SolverSummary {
            solver: solver.clone(),
            status: Some(SolverStatus::Online),
            avg_load: Some(0.5),
        }
    }

    fn round_trip(props: &SolverProperties, solver: &SolverRef) -> DecodedSolver {
        let record = encode_solver_record(props, &summary(solver));
        // Through text, as a client gets it.
        let text = serde_json::to_string(&record).unwrap();
        decode_solver_record(&serde_json::from_str(&text).unwrap()).unwrap()
    }

    #[test]
    fn records_of_every_family_read_back_to_the_same_properties() {
        let timed = SolverRecord::shipped("Advantage2_system1.5").unwrap().properties().unwrap();
        for family in [
            Family::Chimera(Chimera::C16),
            Family::Pegasus(Pegasus::P16),
            Family::Zephyr(Zephyr::Z12),
        ] {
            let mut props = timed.clone();
            props.name = format!("test-{}", family.kind());
            props.topology = family.into();
            props.graph = family.random_faulty(7, 20, 5);
            let identity = SolverIdentity {
                name: props.name.clone(),
                version: Some(SolverVersion { graph_id: graph_id(&props.graph) }),
            };
            for version in [ApiVersion::V2, ApiVersion::V3] {
                let solver = SolverRef::new(&identity, version);
                let decoded = round_trip(&props, &solver);
                assert_eq!(decoded.properties, props, "{} {version:?}", family.kind());
                assert_eq!(decoded.summary, summary(&solver));
            }
        }
    }

    #[test]
    fn the_flat_2000q_model_is_written_without_timing_data_and_read_back() {
        let props = SolverProperties::dw_2000q("DW_2000Q_5", Chimera::dw_2000q_5());
        assert!(matches!(props.timing.readout, ReadoutTimeModel::Flat(_)));
        let solver = SolverRef::Name(props.name.clone());
        let bare = SolverSummary { solver: solver.clone(), status: None, avg_load: None };
        let record = encode_solver_record(&props, &bare);
        assert!(record["properties"].get("problem_timing_data").is_none());
        assert!(record.get("status").is_none() && record.get("avg_load").is_none());
        assert_eq!(round_trip(&props, &solver).properties, props);
    }

    #[test]
    fn records_that_are_not_qpus_or_unnamed_are_refused() {
        let hybrid = json!({"id": "hybrid_v1", "properties": {"category": "hybrid"}});
        assert!(matches!(
            decode_solver_record(&hybrid),
            Err(SolverRecordError::NotQpu { name, category }) if name == "hybrid_v1" && category == "hybrid"
        ));
        let unnamed = json!({"properties": {"category": "qpu"}});
        assert!(matches!(decode_solver_record(&unnamed), Err(SolverRecordError::Unnamed)));
        let bad_status = json!({"id": "x", "status": "SLEEPING", "properties": {}});
        assert!(matches!(
            decode_solver_record(&bad_status),
            Err(SolverRecordError::Field { field: "status", .. })
        ));
        let no_graph = json!({"id": "x", "properties": {"category": "qpu"}});
        assert!(matches!(decode_solver_record(&no_graph), Err(SolverRecordError::Record(_))));
    }

    #[test]
    fn graph_ids_follow_the_graph() {
        let full = Family::Zephyr(Zephyr::Z12).full_graph();
        let id = graph_id(&full);
        assert_eq!(id.len(), 10);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(id, graph_id(&Family::Zephyr(Zephyr::Z12).full_graph()));
        assert_ne!(id, graph_id(&Family::Zephyr(Zephyr::Z12).random_faulty(1, 1, 0)));
        assert_ne!(id, graph_id(&Family::Zephyr(Zephyr::Z12).random_faulty(1, 0, 1)));
    }

    #[test]
    fn solver_refs_take_the_shape_of_their_api_version() {
        let identity = SolverIdentity {
            name: "Advantage2_system1.5".into(),
            version: Some(SolverVersion { graph_id: "018d6fa6d0".into() }),
        };
        let v2 = SolverRef::new(&identity, ApiVersion::V2);
        let v3 = SolverRef::new(&identity, ApiVersion::V3);
        assert_eq!(serde_json::to_value(&v2).unwrap(), json!("Advantage2_system1.5"));
        assert_eq!(
            serde_json::to_value(&v3).unwrap(),
            json!({"name": "Advantage2_system1.5", "version": {"graph_id": "018d6fa6d0"}})
        );
        assert_eq!((v2.name(), v2.api_version()), ("Advantage2_system1.5", ApiVersion::V2));
        assert_eq!((v3.name(), v3.api_version()), ("Advantage2_system1.5", ApiVersion::V3));
    }
}
