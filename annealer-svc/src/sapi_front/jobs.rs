//! A SAPI job → a validated qahm [`SampleJob`], and the device's answer → a `qp` answer.
//!
//! SAPI's `params` map onto [`SampleRequest`] one to one (`x_seed` is the emulator's seed;
//! SAPI passes `x_`-prefixed parameters through to the solver). A parameter the emulator does
//! not implement is refused by name rather than ignored. QUBOs are sampled as the equivalent
//! Ising problem (x = (s + 1)/2): the rows' bits are the same, and the energies are the QUBO's,
//! computed from Q.

use std::collections::HashMap;

use qahm_common::answer::Answer;
use qahm_common::properties::{ACCEPTED_PARAMETERS, SolverProperties};
use qahm_common::request::SampleRequest;
use qahm_common::sampleset::AnswerMode;
use qahm_common::validation::{FieldError, SampleJob, validate};
use qahm_sapi::{ProblemJob, ProblemType, QpProblem, decode_qp};
use serde_json::Value;

/// The parameters the front takes, as its solver records list them: the contract's, with the
/// emulator's seed under SAPI's prefix for solver-specific parameters (`x_seed`).
pub fn parameters() -> [&'static str; ACCEPTED_PARAMETERS.len()] {
    ACCEPTED_PARAMETERS.map(|name| if name == "seed" { "x_seed" } else { name })
}

/// A job that cannot be run: the field (`data.lin`, `params.num_reads`, …) and why.
#[derive(Debug, PartialEq)]
pub struct JobError {
    pub field: String,
    pub description: String,
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

fn bad(field: impl Into<String>, description: impl Into<String>) -> JobError {
    JobError { field: field.into(), description: description.into() }
}

/// A validated job, with what is needed to write its answer back in the submitted type.
#[derive(Debug)]
pub struct Prepared {
    pub job: SampleJob,
    /// The problem as submitted (h and J, or Q's diagonal and off-diagonal).
    pub submitted: QpProblem,
    pub problem_type: ProblemType,
}

fn number(params: &serde_json::Map<String, Value>, key: &str) -> Result<Option<f64>, JobError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(bad(format!("params.{key}"), format!("{other} is not a number"))),
    }
}

fn integer(params: &serde_json::Map<String, Value>, key: &str) -> Result<Option<u64>, JobError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
            bad(format!("params.{key}"), format!("{n} is not a non-negative integer"))
        }),
        Some(other) => Err(bad(format!("params.{key}"), format!("{other} is not an integer"))),
    }
}

fn thermalization(
    params: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<i64>, JobError> {
    number(params, key)?
        .map(|v| {
            if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
                Ok(v as i64)
            } else {
                Err(bad(format!("params.{key}"), format!("{v} is not a whole number of µs")))
            }
        })
        .transpose()
}

/// The Ising problem a QUBO stands for: h_i = Q_ii/2 + Σ_j Q_ij/4, J_ij = Q_ij/4.
/// h over qubits and J over couplers.
type IsingTerms = (Vec<(u32, f64)>, Vec<(u32, u32, f64)>);

fn ising_of_qubo(q: &QpProblem) -> IsingTerms {
    let mut h: Vec<(u32, f64)> = q.linear.iter().map(|&(i, qii)| (i, qii / 2.0)).collect();
    let position: HashMap<u32, usize> = h.iter().enumerate().map(|(k, &(i, _))| (i, k)).collect();
    for &(u, v, quv) in &q.quadratic {
        for end in [u, v] {
            // decode_qp only keeps couplers between used qubits, which all have an h entry.
            if let Some(&k) = position.get(&end) {
                h[k].1 += quv / 4.0;
            }
        }
    }
    let j = q.quadratic.iter().map(|&(u, v, quv)| (u, v, quv / 4.0)).collect();
    (h, j)
}

/// Names a validation error in the job's own terms.
fn sapi_field(error: FieldError, request: &SampleRequest) -> JobError {
    let FieldError { field, description } = error;
    let index = |prefix: &str| {
        field.strip_prefix(prefix).and_then(|rest| rest.split(']').next()?.parse::<usize>().ok())
    };
    let field = if let Some(i) = index("h[") {
        match request.h.get(i) {
            Some((qubit, _)) => format!("data.lin (qubit {qubit})"),
            None => "data.lin".into(),
        }
    } else if let Some(i) = index("j[") {
        match request.j.get(i) {
            Some((u, v, _)) => format!("data.quad (coupler {u}, {v})"),
            None => "data.quad".into(),
        }
    } else if field == "label" {
        field
    } else {
        format!("params.{field}")
    };
    bad(field, description)
}

/// Decodes, maps and validates one job against its solver.
pub fn prepare(id: &str, job: &ProblemJob, props: &SolverProperties) -> Result<Prepared, JobError> {
    let submitted = decode_qp(&job.data, &props.graph).map_err(|e| {
        let text = e.to_string();
        let field = ["lin", "quad", "format"]
            .into_iter()
            .find(|f| text.starts_with(f) || text.contains(&format!(" {f} ")))
            .unwrap_or("data");
        bad(format!("data.{field}").replace("data.data", "data"), text)
    })?;
    let params = &job.params;
    if let Some(unknown) =
        params.keys().find(|k| !parameters().contains(&k.as_str()) && *k != "label")
    {
        return Err(bad(
            format!("params.{unknown}"),
            format!("is not a parameter of this solver (it takes {})", parameters().join(", ")),
        ));
    }
    let num_reads = match integer(params, "num_reads")? {
        None => 1,
        Some(n) => u32::try_from(n).map_err(|_| {
            bad(
                "params.num_reads",
                format!("{n} is outside the allowed range {}", props.num_reads_range),
            )
        })?,
    };
    let answer_mode = match params.get("answer_mode") {
        None | Some(Value::Null) => AnswerMode::Histogram,
        Some(Value::String(mode)) if mode == "histogram" => AnswerMode::Histogram,
        Some(Value::String(mode)) if mode == "raw" => AnswerMode::Raw,
        Some(other) => {
            return Err(bad(
                "params.answer_mode",
                format!("{other} is neither \"raw\" nor \"histogram\""),
            ));
        }
    };
    let auto_scale = match params.get("auto_scale") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => return Err(bad("params.auto_scale", format!("{other} is not a boolean"))),
    };
    let label = match (&job.label, params.get("label")) {
        (Some(label), _) => label.clone(),
        (None, None | Some(Value::Null)) => String::new(),
        (None, Some(Value::String(label))) => label.clone(),
        (None, Some(other)) => return Err(bad("label", format!("{other} is not a string"))),
    };
    let (h, j) = match job.problem_type {
        ProblemType::Ising => (submitted.linear.clone(), submitted.quadratic.clone()),
        ProblemType::Qubo => ising_of_qubo(&submitted),
    };
    let request = SampleRequest {
        request_id: id.to_string(),
        h,
        j,
        num_reads,
        annealing_time: number(params, "annealing_time")?,
        auto_scale,
        answer_mode,
        programming_thermalization: thermalization(params, "programming_thermalization")?,
        readout_thermalization: thermalization(params, "readout_thermalization")?,
        label,
        seed: integer(params, "x_seed")?,
    };
    let job_checked = validate(&request, props).map_err(|e| sapi_field(e, &request))?;
    Ok(Prepared { job: job_checked, submitted, problem_type: job.problem_type })
}

/// The device's answer in the submitted problem's type: for a QUBO, each row's energy is
/// recomputed from Q (the bits are the same).
pub fn in_submitted_type(mut answer: Answer, prepared: &Prepared) -> Answer {
    if prepared.problem_type == ProblemType::Qubo {
        let set = &answer.set;
        let column: HashMap<u32, usize> =
            set.active_variables.iter().enumerate().map(|(k, &q)| (q, k)).collect();
        let q = &prepared.submitted;
        let energies = (0..set.num_rows())
            .map(|row| {
                let bits: Vec<f64> =
                    set.row(row).into_iter().map(|s| if s > 0 { 1.0 } else { 0.0 }).collect();
                let x = |qubit: u32| column.get(&qubit).map_or(0.0, |&k| bits[k]);
                q.linear.iter().map(|&(i, v)| v * x(i)).sum::<f64>()
                    + q.quadratic.iter().map(|&(u, v, w)| w * x(u) * x(v)).sum::<f64>()
            })
            .collect();
        answer.set.energies = energies;
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use qahm_common::problem::IsingProblem;

    #[test]
    fn a_qubo_and_its_ising_differ_by_a_constant_on_every_assignment() {
        let q = QpProblem {
            linear: vec![(0, 1.5), (4, -2.0), (5, 0.0)],
            quadratic: vec![(0, 4, 3.0), (0, 5, -1.0), (4, 5, 0.5)],
        };
        let (h, j) = ising_of_qubo(&q);
        let ising = IsingProblem::from_labels(&h, &j);
        let mut offset = None;
        for bits in 0..8u32 {
            let x: HashMap<u32, f64> = [0, 4, 5]
                .iter()
                .enumerate()
                .map(|(k, &l)| (l, f64::from((bits >> k) & 1)))
                .collect();
            let e_q = q.linear.iter().map(|&(i, v)| v * x[&i]).sum::<f64>()
                + q.quadratic.iter().map(|&(u, v, w)| w * x[&u] * x[&v]).sum::<f64>();
            let spins: Vec<i8> =
                ising.active.iter().map(|l| if x[l] > 0.0 { 1 } else { -1 }).collect();
            let diff = e_q - ising.energy(&spins);
            let first = *offset.get_or_insert(diff);
            assert!((diff - first).abs() < 1e-12, "assignment {bits:03b}");
        }
    }
}
