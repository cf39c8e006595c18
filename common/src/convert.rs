//! Conversions between the domain types and the generated protobuf types of
//! `qahm.annealer.v1`, and of validation errors into gRPC statuses.

use qahm_proto::{google, pb};
use thiserror::Error;
use tonic_types::{ErrorDetails, StatusExt};

use crate::problem::IsingProblem;
use crate::properties::{ProblemTimingData, Range, SolverProperties, Topology};
use crate::sampleset::{AnswerMode, SampleSet};
use crate::topology::{GraphError, WorkingGraph};
use crate::validation::FieldError;

/// SAPI's timing block, in µs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    pub qpu_programming_time: f64,
    pub qpu_anneal_time_per_sample: f64,
    pub qpu_readout_time_per_sample: f64,
    pub qpu_delay_time_per_sample: f64,
    pub qpu_sampling_time: f64,
    pub qpu_access_time: f64,
    pub server_wall_time: f64,
}

impl From<Timing> for pb::Timing {
    fn from(t: Timing) -> Self {
        pb::Timing {
            qpu_programming_time: t.qpu_programming_time,
            qpu_anneal_time_per_sample: t.qpu_anneal_time_per_sample,
            qpu_readout_time_per_sample: t.qpu_readout_time_per_sample,
            qpu_delay_time_per_sample: t.qpu_delay_time_per_sample,
            qpu_sampling_time: t.qpu_sampling_time,
            qpu_access_time: t.qpu_access_time,
            server_wall_time: t.server_wall_time,
        }
    }
}

impl From<pb::Timing> for Timing {
    fn from(t: pb::Timing) -> Self {
        Timing {
            qpu_programming_time: t.qpu_programming_time,
            qpu_anneal_time_per_sample: t.qpu_anneal_time_per_sample,
            qpu_readout_time_per_sample: t.qpu_readout_time_per_sample,
            qpu_delay_time_per_sample: t.qpu_delay_time_per_sample,
            qpu_sampling_time: t.qpu_sampling_time,
            qpu_access_time: t.qpu_access_time,
            server_wall_time: t.server_wall_time,
        }
    }
}

fn range_pb(r: Range<f64>) -> Option<pb::Range> {
    Some(pb::Range { min: r.min, max: r.max })
}

fn int_range_pb<T: Into<i64>>(r: Range<T>) -> Option<pb::IntRange> {
    Some(pb::IntRange { min: r.min.into(), max: r.max.into() })
}

impl From<&SolverProperties> for pb::SolverProperties {
    fn from(p: &SolverProperties) -> Self {
        pb::SolverProperties {
            name: p.name.clone(),
            category: "qpu".into(),
            description: p.description.clone(),
            topology: Some(pb::Topology {
                r#type: p.topology.kind.clone(),
                shape: p.topology.shape.clone(),
            }),
            num_qubits: p.graph.num_qubits(),
            qubits: p.graph.qubits().to_vec(),
            couplers: p.graph.couplers().iter().map(|&(u, v)| pb::Coupler { u, v }).collect(),
            h_range: range_pb(p.h_range),
            j_range: range_pb(p.j_range),
            annealing_time_range: range_pb(p.annealing_time_range),
            default_annealing_time: p.default_annealing_time,
            num_reads_range: int_range_pb(p.num_reads_range),
            problem_run_duration_range: Some(pb::IntRange {
                min: p.problem_run_duration_range.min as i64,
                max: p.problem_run_duration_range.max as i64,
            }),
            programming_thermalization_range: int_range_pb(p.programming_thermalization_range),
            default_programming_thermalization: p.default_programming_thermalization.into(),
            readout_thermalization_range: int_range_pb(p.readout_thermalization_range),
            default_readout_thermalization: p.default_readout_thermalization.into(),
            parameters: p.parameters.clone(),
            supported_problem_types: vec!["ising".into()],
            problem_timing_data: Some(pb::ProblemTimingData {
                typical_programming_time: p.timing.typical_programming_time,
                readout_time_per_sample: p.timing.readout_time_per_sample,
                qpu_delay_time_per_sample: p.timing.qpu_delay_time_per_sample,
            }),
        }
    }
}

/// Why a solver's reported properties cannot be used by a client.
#[derive(Debug, Error)]
pub enum PropertiesError {
    #[error("solver properties lack {0}")]
    Missing(&'static str),
    #[error("solver property {field} = {value} is out of range")]
    Invalid { field: &'static str, value: i64 },
    #[error("solver working graph: {0}")]
    Graph(#[from] GraphError),
}

fn req<T>(value: Option<T>, field: &'static str) -> Result<T, PropertiesError> {
    value.ok_or(PropertiesError::Missing(field))
}

fn u32_of(field: &'static str, value: i64) -> Result<u32, PropertiesError> {
    u32::try_from(value).map_err(|_| PropertiesError::Invalid { field, value })
}

fn u32_range(field: &'static str, r: Option<pb::IntRange>) -> Result<Range<u32>, PropertiesError> {
    let r = req(r, field)?;
    Ok(Range::new(u32_of(field, r.min)?, u32_of(field, r.max)?))
}

impl TryFrom<pb::SolverProperties> for SolverProperties {
    type Error = PropertiesError;

    fn try_from(p: pb::SolverProperties) -> Result<Self, Self::Error> {
        let f = |r: Option<pb::Range>, field| req(r, field).map(|r| Range::new(r.min, r.max));
        let topology = req(p.topology, "topology")?;
        let duration = req(p.problem_run_duration_range, "problem_run_duration_range")?;
        let timing = req(p.problem_timing_data, "problem_timing_data")?;
        Ok(SolverProperties {
            name: p.name,
            description: p.description,
            topology: Topology { kind: topology.r#type, shape: topology.shape },
            graph: WorkingGraph::new(
                p.num_qubits,
                p.qubits,
                p.couplers.into_iter().map(|c| (c.u, c.v)).collect(),
            )?,
            h_range: f(p.h_range, "h_range")?,
            j_range: f(p.j_range, "j_range")?,
            annealing_time_range: f(p.annealing_time_range, "annealing_time_range")?,
            default_annealing_time: p.default_annealing_time,
            num_reads_range: u32_range("num_reads_range", p.num_reads_range)?,
            problem_run_duration_range: Range::new(
                duration.min.max(0) as u64,
                duration.max.max(0) as u64,
            ),
            programming_thermalization_range: u32_range(
                "programming_thermalization_range",
                p.programming_thermalization_range,
            )?,
            default_programming_thermalization: u32_of(
                "default_programming_thermalization",
                p.default_programming_thermalization,
            )?,
            readout_thermalization_range: u32_range(
                "readout_thermalization_range",
                p.readout_thermalization_range,
            )?,
            default_readout_thermalization: u32_of(
                "default_readout_thermalization",
                p.default_readout_thermalization,
            )?,
            timing: ProblemTimingData {
                typical_programming_time: timing.typical_programming_time,
                readout_time_per_sample: timing.readout_time_per_sample,
                qpu_delay_time_per_sample: timing.qpu_delay_time_per_sample,
            },
            parameters: p.parameters,
        })
    }
}

/// A validation failure as a gRPC status: `INVALID_ARGUMENT`, the message naming the field,
/// and a `BadRequest` field violation in the details.
pub fn field_error_status(e: &FieldError) -> tonic::Status {
    let mut details = ErrorDetails::new();
    details.add_bad_request_violation(e.field.clone(), e.description.clone());
    tonic::Status::with_error_details(tonic::Code::InvalidArgument, e.to_string(), details)
}

/// A status as the in-band `google.rpc.Status` of a sample response (details preserved).
pub fn status_to_rpc(status: &tonic::Status) -> google::rpc::Status {
    let details: Vec<prost_types::Any> = if status.details().is_empty() {
        Vec::new()
    } else {
        <google::rpc::Status as prost::Message>::decode(status.details())
            .map(|s| s.details)
            .unwrap_or_default()
    };
    google::rpc::Status {
        code: status.code() as i32,
        message: status.message().to_string(),
        details,
    }
}

/// The in-band error of a sample response back as a `tonic::Status`.
pub fn rpc_to_status(rpc: &google::rpc::Status) -> tonic::Status {
    let details = prost::Message::encode_to_vec(rpc);
    tonic::Status::with_details(
        tonic::Code::from_i32(rpc.code),
        rpc.message.clone(),
        details.into(),
    )
}

/// A client's description of a sampling job, to be sent as a `pb::SampleRequest`.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleSpec {
    pub request_id: String,
    pub h: Vec<(u32, f64)>,
    pub j: Vec<(u32, u32, f64)>,
    pub num_reads: u32,
    pub annealing_time: Option<f64>,
    pub auto_scale: Option<bool>,
    pub answer_mode: AnswerMode,
    pub seed: Option<u64>,
    pub label: String,
}

impl From<&SampleSpec> for pb::SampleRequest {
    fn from(s: &SampleSpec) -> Self {
        pb::SampleRequest {
            request_id: s.request_id.clone(),
            h: s.h.iter().map(|&(qubit, value)| pb::LinearBias { qubit, value }).collect(),
            j: s.j.iter().map(|&(u, v, value)| pb::QuadraticBias { u, v, value }).collect(),
            num_reads: s.num_reads,
            annealing_time: s.annealing_time,
            auto_scale: s.auto_scale,
            answer_mode: match s.answer_mode {
                AnswerMode::Raw => pb::AnswerMode::Raw,
                AnswerMode::Histogram => pb::AnswerMode::Histogram,
            } as i32,
            programming_thermalization: None,
            readout_thermalization: None,
            label: s.label.clone(),
            seed: s.seed,
        }
    }
}

/// An answer split into response chunks below `max_bytes` of payload each.
pub fn answer_chunks(
    request_id: &str,
    label: &str,
    num_variables: u32,
    set: &SampleSet,
    timing: Timing,
    max_bytes: usize,
) -> Vec<pb::SampleResponse> {
    let ranges = set.chunk_rows(max_bytes);
    let last = ranges.len() - 1;
    let width = set.bytes_per_row();
    ranges
        .into_iter()
        .enumerate()
        .map(|(index, rows)| pb::SampleResponse {
            request_id: request_id.to_string(),
            chunk_index: index as u32,
            last_chunk: index == last,
            error: None,
            num_variables,
            active_variables: set.active_variables.clone(),
            solutions: set.solutions[rows.start * width..rows.end * width].to_vec(),
            energies: set.energies[rows.clone()].to_vec(),
            num_occurrences: set
                .num_occurrences
                .as_ref()
                .map(|c| c[rows.clone()].to_vec())
                .unwrap_or_default(),
            timing: (index == last).then(|| timing.into()),
            total_rows: set.num_rows() as u32,
            label: label.to_string(),
        })
        .collect()
}

/// The error response that ends a failed request.
pub fn error_response(request_id: &str, status: &tonic::Status) -> pb::SampleResponse {
    pb::SampleResponse {
        request_id: request_id.to_string(),
        last_chunk: true,
        error: Some(status_to_rpc(status)),
        ..Default::default()
    }
}

/// Reassembles an answer from its chunks, in any order of arrival but all present.
#[derive(Debug, Default)]
pub struct AnswerAssembler {
    chunks: Vec<pb::SampleResponse>,
}

/// A reassembled answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub set: SampleSet,
    pub timing: Timing,
    pub num_variables: u32,
}

/// Why an answer could not be reassembled.
#[derive(Debug, Error)]
pub enum AnswerError {
    #[error("request failed: {0}")]
    Failed(tonic::Status),
    #[error("answer is malformed: {0}")]
    Malformed(String),
}

impl AnswerAssembler {
    /// Adds a chunk; returns the whole answer once the last chunk and all before it are in.
    pub fn push(&mut self, chunk: pb::SampleResponse) -> Option<Result<Answer, AnswerError>> {
        if let Some(error) = &chunk.error {
            return Some(Err(AnswerError::Failed(rpc_to_status(error))));
        }
        self.chunks.push(chunk);
        let last = self.chunks.iter().find(|c| c.last_chunk)?.chunk_index as usize;
        if self.chunks.len() < last + 1 {
            return None;
        }
        Some(self.assemble())
    }

    fn assemble(&mut self) -> Result<Answer, AnswerError> {
        let mut chunks = std::mem::take(&mut self.chunks);
        chunks.sort_by_key(|c| c.chunk_index);
        if chunks.iter().enumerate().any(|(i, c)| c.chunk_index as usize != i) {
            return Err(AnswerError::Malformed("chunk indices are not 0..n".into()));
        }
        let first = &chunks[0];
        let num_variables = first.num_variables;
        let histogram = !first.num_occurrences.is_empty();
        let mut set = SampleSet {
            active_variables: first.active_variables.clone(),
            solutions: Vec::new(),
            energies: Vec::new(),
            num_occurrences: histogram.then(Vec::new),
        };
        let mut timing = None;
        for c in chunks {
            set.solutions.extend_from_slice(&c.solutions);
            set.energies.extend_from_slice(&c.energies);
            if let Some(counts) = set.num_occurrences.as_mut() {
                counts.extend_from_slice(&c.num_occurrences);
            }
            if c.timing.is_some() {
                timing = c.timing;
            }
        }
        set.check().map_err(|e| AnswerError::Malformed(e.to_string()))?;
        let timing = timing.ok_or_else(|| AnswerError::Malformed("no timing block".into()))?;
        Ok(Answer { set, timing: timing.into(), num_variables })
    }
}

/// Spins of one row keyed by qubit label, for checking energies against a problem.
pub fn problem_energy_of_row(problem: &IsingProblem, set: &SampleSet, row: usize) -> Option<f64> {
    let spins = set.row(row);
    let by_label: std::collections::HashMap<u32, i8> =
        set.active_variables.iter().copied().zip(spins).collect();
    let local: Option<Vec<i8>> = problem.active.iter().map(|q| by_label.get(q).copied()).collect();
    local.map(|s| problem.energy(&s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Chimera;

    #[test]
    fn properties_round_trip_through_the_wire_type() {
        let props = SolverProperties::dw_2000q("DW_2000Q_5", Chimera::dw_2000q_5());
        let wire = pb::SolverProperties::from(&props);
        assert_eq!(wire.qubits.len(), 2030);
        assert_eq!(SolverProperties::try_from(wire).unwrap(), props);
    }

    #[test]
    fn field_errors_become_invalid_argument_with_details() {
        let e = FieldError::new("annealing_time", "4.9 µs is outside [5, 2000] µs");
        let status = field_error_status(&e);
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().starts_with("annealing_time: "));
        let back = rpc_to_status(&status_to_rpc(&status));
        assert_eq!(back.code(), tonic::Code::InvalidArgument);
        let details = back.get_error_details();
        let violations = details.bad_request().unwrap();
        assert_eq!(violations.field_violations[0].field, "annealing_time");
    }

    #[test]
    fn chunked_answers_reassemble_in_any_order() {
        let n = 300usize;
        let spins: Vec<i8> = (0..500 * n).map(|i| if i % 3 == 0 { 1 } else { -1 }).collect();
        let set =
            SampleSet::raw((0..n as u32).collect(), &spins, (0..500).map(f64::from).collect());
        let mut chunks = answer_chunks("a", "", 2048, &set, Timing::default(), 4096);
        assert!(chunks.len() > 5);
        chunks.reverse();
        let mut assembler = AnswerAssembler::default();
        let mut answer = None;
        for c in chunks {
            if let Some(a) = assembler.push(c) {
                answer = Some(a.unwrap());
            }
        }
        assert_eq!(answer.unwrap().set, set);
    }
}
