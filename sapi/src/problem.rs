//! Submitted problems: the `qp` encoding of h and J, and the job SAPI's `POST problems/` body
//! lists.
//!
//! `qp` is positional over the solver's own lists, checked against the recordings of both a
//! DW_2000Q_5 and an Advantage2_system1.5:
//! - `lin`: one little-endian `f64` per element of the record's `qubits` (the *working*
//!   qubits in list order, 2030 on DW_2000Q_5, not `num_qubits` = 2048): the qubit's h, 0.0 for
//!   a qubit the problem uses without a bias, NaN (`00 00 00 00 00 00 f8 7f`) for a qubit it
//!   does not use;
//! - `quad`: one `f64` per element of the record's `couplers` whose two qubits the problem
//!   uses, in list order (which is not sorted by (u, v)): the coupling, 0.0 where the problem
//!   has none. Couplers with an unused end are left out, not written as NaN.
//!
//! Both are standard base64 with padding; an empty array is `""`. The layout is the same for
//! `ising` (h, J) and `qubo` (the diagonal of Q, and Q_uv + Q_vu). So a problem's "used"
//! qubits are part of its meaning: they are exactly what the answer reports as
//! `active_variables`. Decoding therefore keeps an entry for every used qubit, bias or not,
//! and drops couplings of exactly +0.0, which `quad` cannot tell from absent ones.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use qahm_common::topology::WorkingGraph;

use crate::codec::{CodecError, decode_f64s, encode_f64s};
use crate::solver::SolverRef;

/// The two problem types a QPU takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemType {
    /// Spins ±1; h and J.
    Ising,
    /// Bits 0/1; Q's diagonal and off-diagonal.
    Qubo,
}

impl ProblemType {
    /// The value a sample bit stands for: ±1 for Ising, 0/1 for QUBO.
    pub fn value_of_bit(self, bit: bool) -> i8 {
        match (self, bit) {
            (_, true) => 1,
            (ProblemType::Ising, false) => -1,
            (ProblemType::Qubo, false) => 0,
        }
    }
}

/// A job's `data` in `qp` format, as on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QpData {
    /// Always `"qp"` for QPU problems.
    pub format: String,
    pub lin: String,
    pub quad: String,
    /// Sent by clients since 2025 (always 0 in the recordings); SAPI does not add it to the
    /// energies, the client does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<f64>,
}

/// A problem over a working graph, as `qp` carries it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QpProblem {
    /// `(qubit, h)` for every qubit the problem uses, in the order of the solver's `qubits`.
    pub linear: Vec<(u32, f64)>,
    /// `(u, v, J)` with u < v for every nonzero coupling, in the order of the solver's
    /// `couplers`.
    pub quadratic: Vec<(u32, u32, f64)>,
}

/// Why a problem cannot be encoded or a `qp` body decoded; `field` names the JSON key (`lin`,
/// `quad`, `format`) or, when encoding, the argument (`h`, `J`).
#[derive(Debug, Error, PartialEq)]
pub enum QpError {
    #[error("format is {0:?}; only \"qp\" is supported")]
    Format(String),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("{field} holds {got} values; this solver needs {expected}")]
    Length { field: &'static str, expected: usize, got: usize },
    #[error("{field}[{index}] is {value}; values must be finite")]
    NotFinite { field: &'static str, index: usize, value: f64 },
    #[error("{field} names qubit {qubit}, which is not an active qubit of this solver")]
    InactiveQubit { field: &'static str, qubit: u32 },
    #[error("{field} names ({u}, {v}), which is not an active coupler of this solver")]
    InactiveCoupler { field: &'static str, u: u32, v: u32 },
}

fn finite(field: &'static str, index: usize, value: f64) -> Result<f64, QpError> {
    if value.is_finite() { Ok(value) } else { Err(QpError::NotFinite { field, index, value }) }
}

/// Encodes h and J (or Q's diagonal and off-diagonal) over `graph` as the cloud client does:
/// a qubit is used if it has a bias or a coupling; couplings given in both orientations add.
/// `offset` is left out.
pub fn encode_qp(
    h: &[(u32, f64)],
    j: &[(u32, u32, f64)],
    graph: &WorkingGraph,
) -> Result<QpData, QpError> {
    let mut lin = vec![f64::NAN; graph.qubits().len()];
    for (index, &(qubit, value)) in h.iter().enumerate() {
        let position = graph.index(qubit).ok_or(QpError::InactiveQubit { field: "h", qubit })?;
        let value = finite("h", index, value)?;
        lin[position] = if lin[position].is_nan() { value } else { lin[position] + value };
    }
    let mut quad = vec![0.0; graph.couplers().len()];
    for (index, &(u, v, value)) in j.iter().enumerate() {
        let coupler = graph.coupler(u, v).ok_or(QpError::InactiveCoupler { field: "J", u, v })?;
        quad[coupler] += finite("J", index, value)?;
        for qubit in [u, v] {
            let position = graph.index(qubit).expect("a coupler's qubits are active");
            if lin[position].is_nan() {
                lin[position] = 0.0;
            }
        }
    }
    let used = |q: u32| graph.index(q).is_some_and(|p| !lin[p].is_nan());
    let quad = graph
        .couplers()
        .iter()
        .zip(quad)
        .filter(|&(&(u, v), _)| used(u) && used(v))
        .map(|(_, value)| value);
    Ok(QpData {
        format: "qp".into(),
        quad: encode_f64s(quad),
        lin: encode_f64s(lin.iter().copied()),
        offset: None,
    })
}

/// Decodes a `qp` body against the solver's working graph (see the module notes for what is
/// kept).
pub fn decode_qp(data: &QpData, graph: &WorkingGraph) -> Result<QpProblem, QpError> {
    if data.format != "qp" {
        return Err(QpError::Format(data.format.clone()));
    }
    let lin = decode_f64s(&data.lin, "lin")?;
    let qubits = graph.qubits();
    if lin.len() != qubits.len() {
        return Err(QpError::Length { field: "lin", expected: qubits.len(), got: lin.len() });
    }
    let mut used = vec![false; qubits.len()];
    let mut linear = Vec::new();
    for (index, (&qubit, &value)) in qubits.iter().zip(&lin).enumerate() {
        if !value.is_nan() {
            finite("lin", index, value)?;
            used[index] = true;
            linear.push((qubit, value));
        }
    }
    let is_used = |q: u32| graph.index(q).is_some_and(|p| used[p]);
    let couplers: Vec<(u32, u32)> =
        graph.couplers().iter().copied().filter(|&(u, v)| is_used(u) && is_used(v)).collect();
    let quad = decode_f64s(&data.quad, "quad")?;
    if quad.len() != couplers.len() {
        return Err(QpError::Length { field: "quad", expected: couplers.len(), got: quad.len() });
    }
    let mut quadratic = Vec::new();
    for (index, (&(u, v), &value)) in couplers.iter().zip(&quad).enumerate() {
        if finite("quad", index, value)?.to_bits() != 0 {
            quadratic.push((u, v, value));
        }
    }
    Ok(QpProblem { linear, quadratic })
}

/// One job of a `POST problems/` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProblemJob {
    pub solver: SolverRef,
    pub data: QpData,
    #[serde(rename = "type")]
    pub problem_type: ProblemType,
    /// SAPI's parameters as sent (`num_reads`, `annealing_time`, `answer_mode`, …); the
    /// solver record's `parameters` say which it takes.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// Absent, not null, when unset (dwave-cloud-client omits it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use qahm_common::topology::{Chimera, Family};

    /// One Chimera cell listed in the real solvers' (v, u) order: the reference's toy solver.
    fn one_cell() -> WorkingGraph {
        Family::Chimera(Chimera::new(1, 1, 4)).full_graph()
    }

    #[test]
    fn worked_example_a_encodes_as_the_reference_gives_it() {
        // SAPI reference §2.3, worked example A.
        let graph = one_cell();
        assert_eq!(graph.couplers()[..6], [(0, 4), (1, 4), (2, 4), (3, 4), (0, 5), (1, 5)]);
        let data = encode_qp(&[(0, 1.0), (4, -0.5)], &[(0, 5, -1.0), (1, 4, 0.5)], &graph).unwrap();
        assert_eq!(
            data.lin,
            "AAAAAAAA8D8AAAAAAAAAAAAAAAAAAPh/AAAAAAAA+H8AAAAAAADgvwAAAAAAAAAAAAAAAAAA+H8AAAAAAAD4fw=="
        );
        assert_eq!(data.quad, "AAAAAAAAAAAAAAAAAADgPwAAAAAAAPC/AAAAAAAAAAA=");
        let problem = decode_qp(&data, &graph).unwrap();
        assert_eq!(problem.linear, vec![(0, 1.0), (1, 0.0), (4, -0.5), (5, 0.0)]);
        assert_eq!(problem.quadratic, vec![(1, 4, 0.5), (0, 5, -1.0)]);
    }

    #[test]
    fn both_orientations_of_a_coupling_add_up() {
        let graph = one_cell();
        let once = encode_qp(&[], &[(0, 4, 0.75)], &graph).unwrap();
        let split = encode_qp(&[], &[(0, 4, 0.5), (4, 0, 0.25)], &graph).unwrap();
        assert_eq!(once, split);
    }

    #[test]
    fn encoding_refuses_what_the_solver_lacks_naming_the_argument() {
        let graph = Family::Chimera(Chimera::new(1, 1, 4)).working_graph(&[3], &[(0, 4)]);
        assert_eq!(
            encode_qp(&[(3, 1.0)], &[], &graph),
            Err(QpError::InactiveQubit { field: "h", qubit: 3 })
        );
        assert_eq!(
            encode_qp(&[(99, 1.0)], &[], &graph),
            Err(QpError::InactiveQubit { field: "h", qubit: 99 })
        );
        assert_eq!(
            encode_qp(&[], &[(4, 0, 1.0)], &graph),
            Err(QpError::InactiveCoupler { field: "J", u: 4, v: 0 })
        );
        assert_eq!(
            encode_qp(&[], &[(0, 1, 1.0)], &graph),
            Err(QpError::InactiveCoupler { field: "J", u: 0, v: 1 })
        );
        assert!(matches!(
            encode_qp(&[(0, 0.0), (1, f64::NAN)], &[], &graph),
            Err(QpError::NotFinite { field: "h", index: 1, .. })
        ));
        assert!(matches!(
            encode_qp(&[], &[(0, 5, f64::INFINITY)], &graph),
            Err(QpError::NotFinite { field: "J", index: 0, .. })
        ));
    }

    #[test]
    fn decoding_refuses_malformed_bodies_naming_the_field() {
        let graph = one_cell();
        let good = encode_qp(&[(0, 1.0)], &[(0, 4, -1.0)], &graph).unwrap();
        let with = |f: &dyn Fn(&mut QpData)| {
            let mut data = good.clone();
            f(&mut data);
            decode_qp(&data, &graph)
        };
        assert_eq!(with(&|d| d.format = "ref".into()), Err(QpError::Format("ref".into())));
        assert!(matches!(
            with(&|d| d.lin = "not base64!".into()),
            Err(QpError::Codec(CodecError::Base64 { field: "lin", .. }))
        ));
        assert!(matches!(
            with(&|d| d.quad.insert(0, '%')),
            Err(QpError::Codec(CodecError::Base64 { field: "quad", .. }))
        ));
        // A lin per nominal qubit where the solver lacks some: the wrong length.
        let short = Family::Chimera(Chimera::new(1, 1, 4)).working_graph(&[7], &[]);
        assert_eq!(
            decode_qp(&good, &short),
            Err(QpError::Length { field: "lin", expected: 7, got: 8 })
        );
        // Qubits 0 and 4 used: one coupler; two values is one too many.
        assert_eq!(
            with(&|d| d.quad = encode_f64s([1.0, 2.0])),
            Err(QpError::Length { field: "quad", expected: 1, got: 2 })
        );
        let mut lin = vec![f64::NAN; 8];
        lin[2] = f64::NEG_INFINITY;
        assert!(matches!(
            with(&|d| d.lin = encode_f64s(lin.clone())),
            Err(QpError::NotFinite { field: "lin", index: 2, .. })
        ));
        assert!(matches!(
            with(&|d| d.quad = encode_f64s([f64::NAN])),
            Err(QpError::NotFinite { field: "quad", index: 0, .. })
        ));
    }

    #[test]
    fn an_empty_problem_has_all_nan_lin_and_empty_quad() {
        let graph = one_cell();
        let data = encode_qp(&[], &[], &graph).unwrap();
        assert_eq!(data.quad, "");
        assert_eq!(decode_qp(&data, &graph).unwrap(), QpProblem::default());
    }

    #[test]
    fn jobs_serialize_in_both_api_shapes() {
        let data = QpData { format: "qp".into(), lin: "".into(), quad: "".into(), offset: None };
        let job = ProblemJob {
            solver: SolverRef::Name("DW_2000Q_5".into()),
            data,
            problem_type: ProblemType::Qubo,
            params: serde_json::from_str(r#"{"num_reads": 100}"#).unwrap(),
            label: None,
        };
        let value = serde_json::to_value(&job).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"solver": "DW_2000Q_5", "type": "qubo",
                "data": {"format": "qp", "lin": "", "quad": ""}, "params": {"num_reads": 100}})
        );
        assert_eq!(serde_json::from_value::<ProblemJob>(value).unwrap(), job);
    }
}
