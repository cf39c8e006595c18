//! Conversions between the domain types and the generated protobuf types.

use std::convert::Infallible;

use qahm_common::answer::Timing;
use qahm_common::properties::{
    ProblemTimingData, Range, ReadoutTimeModel, SolverProperties, Topology, UnusedTimingData,
};
use qahm_common::request::SampleRequest;
use qahm_common::sampleset::AnswerMode;
use qahm_common::topology::{GraphError, WorkingGraph};
use qahm_common::validation::FieldError;
use qahm_proto::pb;
use thiserror::Error;

/// A domain value as its protobuf message (the role of `From<&Domain> for Proto`).
pub trait ToProto {
    type Proto;
    fn to_proto(&self) -> Self::Proto;
}

/// A domain value from its protobuf message (the role of `TryFrom<Proto> for Domain`).
pub trait FromProto<P>: Sized {
    type Error;
    fn from_proto(proto: P) -> Result<Self, Self::Error>;
}

impl ToProto for Timing {
    type Proto = pb::Timing;

    fn to_proto(&self) -> pb::Timing {
        pb::Timing {
            qpu_programming_time: self.qpu_programming_time,
            qpu_anneal_time_per_sample: self.qpu_anneal_time_per_sample,
            qpu_readout_time_per_sample: self.qpu_readout_time_per_sample,
            qpu_delay_time_per_sample: self.qpu_delay_time_per_sample,
            qpu_sampling_time: self.qpu_sampling_time,
            qpu_access_time: self.qpu_access_time,
            server_wall_time: self.server_wall_time,
        }
    }
}

impl FromProto<pb::Timing> for Timing {
    type Error = Infallible;

    fn from_proto(t: pb::Timing) -> Result<Self, Infallible> {
        Ok(Timing {
            qpu_programming_time: t.qpu_programming_time,
            qpu_anneal_time_per_sample: t.qpu_anneal_time_per_sample,
            qpu_readout_time_per_sample: t.qpu_readout_time_per_sample,
            qpu_delay_time_per_sample: t.qpu_delay_time_per_sample,
            qpu_sampling_time: t.qpu_sampling_time,
            qpu_access_time: t.qpu_access_time,
            server_wall_time: t.server_wall_time,
        })
    }
}

fn range_pb(r: Range<f64>) -> Option<pb::Range> {
    Some(pb::Range { min: r.min, max: r.max })
}

fn int_range_pb<T: Into<i64>>(r: Range<T>) -> Option<pb::IntRange> {
    Some(pb::IntRange { min: r.min.into(), max: r.max.into() })
}

impl ToProto for SolverProperties {
    type Proto = pb::SolverProperties;

    fn to_proto(&self) -> pb::SolverProperties {
        let p = self;
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
            problem_timing_data: Some(timing_pb(p)),
            extended_j_range: p.extended_j_range.and_then(range_pb),
            per_qubit_coupling_range: p.per_qubit_coupling_range.and_then(range_pb),
            per_group_coupling_range: p.per_group_coupling_range.and_then(range_pb),
        }
    }
}

/// SAPI's `problem_timing_data` of a solver, its defaults repeated as SAPI repeats them.
fn timing_pb(p: &SolverProperties) -> pb::ProblemTimingData {
    let t = &p.timing;
    let unused = t.unused;
    pb::ProblemTimingData {
        typical_programming_time: t.typical_programming_time,
        readout_time_per_sample: match t.readout {
            ReadoutTimeModel::Flat(readout) => readout,
            ReadoutTimeModel::PiecewiseLinear { .. } => 0.0,
        },
        qpu_delay_time_per_sample: t.qpu_delay_time_per_sample,
        version: t.version.clone(),
        readout_time_model: t.readout.sapi_name().unwrap_or_default().into(),
        readout_time_model_parameters: t.readout.sapi_parameters(),
        default_programming_thermalization: p.default_programming_thermalization.into(),
        default_annealing_time: p.default_annealing_time,
        default_readout_thermalization: p.default_readout_thermalization.into(),
        reverse_annealing_with_reinit_prog_time_delta: unused
            .map(|u| u.reverse_annealing_with_reinit_prog_time_delta),
        reverse_annealing_without_reinit_prog_time_delta: unused
            .map(|u| u.reverse_annealing_without_reinit_prog_time_delta),
        reverse_annealing_with_reinit_delay_time_delta: unused
            .map(|u| u.reverse_annealing_with_reinit_delay_time_delta),
        reverse_annealing_without_reinit_delay_time_delta: unused
            .map(|u| u.reverse_annealing_without_reinit_delay_time_delta),
        decorrelation_max_nominal_anneal_time: unused
            .map(|u| u.decorrelation_max_nominal_anneal_time),
        decorrelation_time_range: unused.and_then(|u| range_pb(u.decorrelation_time_range)),
    }
}

/// The domain's timing data from the wire's (its repeated defaults are the solver's own).
fn timing_of(t: pb::ProblemTimingData) -> Result<ProblemTimingData, PropertiesError> {
    let readout = if t.readout_time_model.is_empty() {
        ReadoutTimeModel::Flat(t.readout_time_per_sample)
    } else {
        ReadoutTimeModel::from_sapi(&t.readout_time_model, &t.readout_time_model_parameters)
            .map_err(PropertiesError::Timing)?
    };
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
        t.decorrelation_time_range.map(|f| Range::new(f.min, f.max)),
    );
    Ok(ProblemTimingData {
        version: t.version,
        typical_programming_time: t.typical_programming_time,
        readout,
        qpu_delay_time_per_sample: t.qpu_delay_time_per_sample,
        unused,
    })
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
    #[error("solver problem_timing_data: {0}")]
    Timing(String),
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

impl FromProto<pb::SolverProperties> for SolverProperties {
    type Error = PropertiesError;

    fn from_proto(p: pb::SolverProperties) -> Result<Self, PropertiesError> {
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
            extended_j_range: p.extended_j_range.map(|r| Range::new(r.min, r.max)),
            per_qubit_coupling_range: p.per_qubit_coupling_range.map(|r| Range::new(r.min, r.max)),
            per_group_coupling_range: p.per_group_coupling_range.map(|r| Range::new(r.min, r.max)),
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
            timing: timing_of(timing)?,
            parameters: p.parameters,
        })
    }
}

impl ToProto for SampleRequest {
    type Proto = pb::SampleRequest;

    fn to_proto(&self) -> pb::SampleRequest {
        pb::SampleRequest {
            request_id: self.request_id.clone(),
            h: self.h.iter().map(|&(qubit, value)| pb::LinearBias { qubit, value }).collect(),
            j: self.j.iter().map(|&(u, v, value)| pb::QuadraticBias { u, v, value }).collect(),
            num_reads: self.num_reads,
            annealing_time: self.annealing_time,
            auto_scale: self.auto_scale,
            answer_mode: match self.answer_mode {
                AnswerMode::Raw => pb::AnswerMode::Raw,
                AnswerMode::Histogram => pb::AnswerMode::Histogram,
            } as i32,
            programming_thermalization: self.programming_thermalization,
            readout_thermalization: self.readout_thermalization,
            label: self.label.clone(),
            seed: self.seed,
        }
    }
}

fn answer_mode(raw: i32) -> Result<AnswerMode, FieldError> {
    match pb::AnswerMode::try_from(raw) {
        Ok(pb::AnswerMode::Unspecified | pb::AnswerMode::Histogram) => Ok(AnswerMode::Histogram),
        Ok(pb::AnswerMode::Raw) => Ok(AnswerMode::Raw),
        Err(_) => Err(FieldError::new(
            "answer_mode",
            format!(
                "unknown answer mode {raw}; allowed are 0 (unspecified = histogram), 1 (raw), 2 (histogram)"
            ),
        )),
    }
}

/// The request as sent; only an unknown answer mode is refused here (everything else is
/// [`qahm_common::validation::validate`]'s job).
impl FromProto<&pb::SampleRequest> for SampleRequest {
    type Error = FieldError;

    fn from_proto(r: &pb::SampleRequest) -> Result<Self, FieldError> {
        Ok(SampleRequest {
            request_id: r.request_id.clone(),
            h: r.h.iter().map(|b| (b.qubit, b.value)).collect(),
            j: r.j.iter().map(|b| (b.u, b.v, b.value)).collect(),
            num_reads: r.num_reads,
            annealing_time: r.annealing_time,
            auto_scale: r.auto_scale,
            answer_mode: answer_mode(r.answer_mode)?,
            programming_thermalization: r.programming_thermalization,
            readout_thermalization: r.readout_thermalization,
            label: r.label.clone(),
            seed: r.seed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qahm_common::topology::Chimera;

    #[test]
    fn properties_round_trip_through_the_wire_type() {
        let props = SolverProperties::dw_2000q("DW_2000Q_5", Chimera::dw_2000q_5());
        let wire = props.to_proto();
        assert_eq!(wire.qubits.len(), 2030);
        assert_eq!(SolverProperties::from_proto(wire).unwrap(), props);
    }

    #[test]
    fn advantage2_properties_round_trip_with_sapi_timing_data() {
        let record = qahm_common::solver_record::SolverRecord::shipped("Advantage2_system1.5");
        let props = record.unwrap().properties().unwrap();
        let wire = props.to_proto();
        assert_eq!(wire.extended_j_range, Some(pb::Range { min: -2.0, max: 1.0 }));
        assert_eq!(wire.per_qubit_coupling_range, None);
        assert_eq!(wire.per_group_coupling_range, Some(pb::Range { min: -13.0, max: 10.0 }));
        let timing = wire.problem_timing_data.as_ref().unwrap();
        assert_eq!(timing.readout_time_model, "pwl_log_log");
        assert_eq!(timing.readout_time_model_parameters.len(), 10);
        assert_eq!(timing.default_programming_thermalization, 1000.0);
        assert_eq!(timing.decorrelation_time_range, Some(pb::Range { min: 500.0, max: 10_000.0 }));
        assert_eq!(SolverProperties::from_proto(wire).unwrap(), props);
    }

    #[test]
    fn requests_round_trip_and_unknown_answer_modes_are_refused() {
        let request = SampleRequest {
            request_id: "r".into(),
            h: vec![(0, 0.5)],
            j: vec![(4, 0, -1.0)],
            num_reads: 7,
            annealing_time: Some(5.0),
            auto_scale: Some(false),
            answer_mode: AnswerMode::Raw,
            programming_thermalization: Some(500),
            readout_thermalization: None,
            label: "l".into(),
            seed: Some(3),
        };
        let mut wire = request.to_proto();
        assert_eq!(SampleRequest::from_proto(&wire), Ok(request));
        wire.answer_mode = pb::AnswerMode::Unspecified as i32;
        assert_eq!(SampleRequest::from_proto(&wire).unwrap().answer_mode, AnswerMode::Histogram);
        wire.answer_mode = 7;
        let e = SampleRequest::from_proto(&wire).unwrap_err();
        assert_eq!(e.field, "answer_mode");
        assert!(e.description.starts_with("unknown answer mode 7;"), "{e}");
    }
}
