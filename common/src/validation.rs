//! Request validation: a [`SampleRequest`] checked against a solver's properties becomes a
//! [`SampleJob`], or a [`FieldError`] naming the offending field and the allowed range.
//!
//! Everything a client can get wrong is caught here, before any work is queued, so that no
//! input from the network reaches the device unchecked.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use thiserror::Error;

use crate::problem::IsingProblem;
use crate::properties::SolverProperties;
use crate::request::SampleRequest;
use crate::sampleset::AnswerMode;
use crate::topology::Family;

/// Longest request id or label accepted, in bytes.
pub const MAX_ID_LEN: usize = 256;

/// A request that failed validation: which field, and why (with the allowed range).
#[derive(Clone, Debug, Error, PartialEq)]
#[error("{field}: {description}")]
pub struct FieldError {
    /// Path of the field, e.g. `annealing_time` or `h[3].value`.
    pub field: String,
    pub description: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        FieldError { field: field.into(), description: description.into() }
    }
}

/// A validated sampling job: every value in range, every qubit and coupler active.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleJob {
    pub request_id: String,
    /// The problem as submitted (before auto-scaling and noise).
    pub problem: IsingProblem,
    pub num_reads: u32,
    /// µs.
    pub annealing_time: f64,
    pub auto_scale: bool,
    pub answer_mode: AnswerMode,
    /// µs.
    pub programming_thermalization: u32,
    /// µs.
    pub readout_thermalization: u32,
    pub label: String,
    pub seed: Option<u64>,
}

fn describe(value: f64) -> String {
    if value.is_nan() { "NaN".into() } else { format!("{value}") }
}

/// Checks a finite value against a range; `scaled` relaxes the range check (auto_scale).
fn check_bias(
    field: impl Fn() -> String,
    value: f64,
    range: crate::properties::Range<f64>,
    what: &str,
    auto_scale: bool,
) -> Result<(), FieldError> {
    if !value.is_finite() {
        return Err(FieldError::new(
            field(),
            format!("{} is not a finite number; {what} must lie in {range}", describe(value)),
        ));
    }
    if !auto_scale && !range.contains(value) {
        return Err(FieldError::new(
            field(),
            format!("{value} is outside the allowed {what} range {range} (auto_scale is off)"),
        ));
    }
    Ok(())
}

fn check_range<T>(
    field: &str,
    value: T,
    range: crate::properties::Range<T>,
    unit: &str,
) -> Result<(), FieldError>
where
    T: PartialOrd + Copy + fmt::Display,
{
    if range.contains(value) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("{value}{unit} is outside the allowed range {range}{unit}"),
        ))
    }
}

fn check_text(field: &str, text: &str, required: bool) -> Result<(), FieldError> {
    if required && text.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if text.len() > MAX_ID_LEN {
        return Err(FieldError::new(
            field,
            format!("is {} bytes long; at most {MAX_ID_LEN} are allowed", text.len()),
        ));
    }
    Ok(())
}

/// Validates a request against the solver. Checks, in order: ids, num_reads, annealing_time,
/// thermalizations, run duration, then every h and J entry. (An answer mode the domain type
/// cannot hold is refused earlier, where the wire format is converted.)
pub fn validate(
    request: &SampleRequest,
    props: &SolverProperties,
) -> Result<SampleJob, FieldError> {
    check_text("request_id", &request.request_id, true)?;
    check_text("label", &request.label, false)?;
    check_range("num_reads", request.num_reads, props.num_reads_range, "")?;

    let annealing_time = request.annealing_time.unwrap_or(props.default_annealing_time);
    if !annealing_time.is_finite() {
        return Err(FieldError::new(
            "annealing_time",
            format!(
                "{} is not a finite number; allowed range {} µs",
                describe(annealing_time),
                props.annealing_time_range
            ),
        ));
    }
    check_range("annealing_time", annealing_time, props.annealing_time_range, " µs")?;

    let programming_thermalization = thermalization(
        "programming_thermalization",
        request.programming_thermalization,
        props.default_programming_thermalization,
        props.programming_thermalization_range,
    )?;
    let readout_thermalization = thermalization(
        "readout_thermalization",
        request.readout_thermalization,
        props.default_readout_thermalization,
        props.readout_thermalization_range,
    )?;

    let duration = run_duration(
        props,
        annealing_time,
        request.num_reads,
        programming_thermalization,
        readout_thermalization,
    );
    let max_duration = props.problem_run_duration_range.max as f64;
    if duration > max_duration {
        let per_read = if props.timing.readout_in_run_duration() > 0.0 {
            "annealing_time + readout_thermalization + readout"
        } else {
            "annealing_time + readout_thermalization"
        };
        return Err(FieldError::new(
            "num_reads",
            format!(
                "problem run duration ({per_read}) × num_reads + programming_thermalization = \
                 {duration:.0} µs exceeds the allowed maximum {max_duration:.0} µs; lower \
                 num_reads or annealing_time"
            ),
        ));
    }

    let auto_scale = request.auto_scale.unwrap_or(true);
    let graph = &props.graph;
    let mut seen = HashSet::with_capacity(request.h.len());
    let mut h = Vec::with_capacity(request.h.len());
    for (i, &(qubit, value)) in request.h.iter().enumerate() {
        if !graph.is_active(qubit) {
            return Err(FieldError::new(
                format!("h[{i}].qubit"),
                format!(
                    "qubit {qubit} is not an active qubit of this solver (labels 0..{}, see GetProperties.qubits)",
                    graph.num_qubits()
                ),
            ));
        }
        if !seen.insert(qubit) {
            return Err(FieldError::new(
                format!("h[{i}].qubit"),
                format!("qubit {qubit} appears more than once in h"),
            ));
        }
        check_bias(|| format!("h[{i}].value"), value, props.h_range, "h", auto_scale)?;
        h.push((qubit, value));
    }

    let mut seen = HashSet::with_capacity(request.j.len());
    let mut j = Vec::with_capacity(request.j.len());
    for (i, &(a, b, value)) in request.j.iter().enumerate() {
        let (u, v) = (a.min(b), a.max(b));
        if !graph.has_coupler(u, v) {
            let why = if !graph.is_active(u) || !graph.is_active(v) {
                "joins a qubit that is not active"
            } else {
                "is not an active coupler"
            };
            return Err(FieldError::new(
                format!("j[{i}]"),
                format!("coupler ({a}, {b}) {why} of this solver (see GetProperties.couplers)"),
            ));
        }
        if !seen.insert((u, v)) {
            return Err(FieldError::new(
                format!("j[{i}]"),
                format!("coupler ({a}, {b}) appears more than once in j"),
            ));
        }
        check_bias(|| format!("j[{i}].value"), value, props.widest_j_range(), "J", auto_scale)?;
        j.push((u, v, value));
    }
    if !auto_scale {
        check_coupling_sums(props, &j)?;
    }

    Ok(SampleJob {
        request_id: request.request_id.clone(),
        problem: IsingProblem::from_labels(&h, &j),
        num_reads: request.num_reads,
        annealing_time,
        auto_scale,
        answer_mode: request.answer_mode,
        programming_thermalization,
        readout_thermalization,
        label: request.label.clone(),
        seed: request.seed,
    })
}

/// The sum of J over one qubit's couplers, or over one of its coupling groups.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CouplingSum {
    pub qubit: u32,
    /// `None`: all of the qubit's couplers (`per_qubit_coupling_range`); `Some(g)`: its
    /// coupling group g (`per_group_coupling_range`).
    pub group: Option<usize>,
    pub sum: f64,
}

/// The coupling sums a solver limits, over couplers `(u, v, J)` of its working graph, ordered
/// by qubit then group: per qubit where it has a `per_qubit_coupling_range`, per coupling group
/// where it has a `per_group_coupling_range` and a Zephyr topology (the groups are Zephyr's).
pub fn coupling_sums(props: &SolverProperties, j: &[(u32, u32, f64)]) -> Vec<CouplingSum> {
    let mut sums: BTreeMap<(u32, Option<usize>), f64> = BTreeMap::new();
    if props.per_qubit_coupling_range.is_some() {
        for &(u, v, value) in j {
            *sums.entry((u, None)).or_default() += value;
            *sums.entry((v, None)).or_default() += value;
        }
    }
    if let (Some(_), Some(Family::Zephyr(zephyr))) =
        (props.per_group_coupling_range, props.topology.family())
    {
        for &(u, v, value) in j {
            *sums.entry((u, Some(zephyr.coupling_group(u, v)))).or_default() += value;
            *sums.entry((v, Some(zephyr.coupling_group(v, u)))).or_default() += value;
        }
    }
    sums.into_iter().map(|((qubit, group), sum)| CouplingSum { qubit, group, sum }).collect()
}

/// SAPI's limits on coupling sums, for a problem that is not auto-scaled.
fn check_coupling_sums(props: &SolverProperties, j: &[(u32, u32, f64)]) -> Result<(), FieldError> {
    for c in coupling_sums(props, j) {
        let (range, what, name) = match c.group {
            None => (props.per_qubit_coupling_range, "couplers", "per_qubit_coupling_range"),
            Some(_) => {
                (props.per_group_coupling_range, "coupling group", "per_group_coupling_range")
            }
        };
        let Some(range) = range else { continue };
        if !range.contains(c.sum) {
            let whose = match c.group {
                None => format!("the {what} of qubit {}", c.qubit),
                Some(g) => format!("{what} {g} of qubit {}", c.qubit),
            };
            return Err(FieldError::new(
                "j",
                format!(
                    "J over {whose} sums to {}, outside the solver's {name} {range} (auto_scale is off)",
                    c.sum
                ),
            ));
        }
    }
    Ok(())
}

/// The problem run duration SAPI limits (`problem_run_duration_range`), µs.
fn run_duration(
    props: &SolverProperties,
    annealing_time: f64,
    num_reads: u32,
    programming_thermalization: u32,
    readout_thermalization: u32,
) -> f64 {
    (annealing_time + f64::from(readout_thermalization) + props.timing.readout_in_run_duration())
        * f64::from(num_reads)
        + f64::from(programming_thermalization)
}

/// The most reads one request may ask for at this anneal time with the default
/// thermalizations: the smaller of `num_reads_range.max` and what fits in the maximum problem
/// run duration. At least 1 (a request of 1 read at an allowed anneal time always fits).
pub fn max_num_reads(props: &SolverProperties, annealing_time: f64) -> u32 {
    max_num_reads_with(props, annealing_time, None, None)
}

/// [`max_num_reads`] with the thermalizations a request sets (`None`: the solver's default).
pub fn max_num_reads_with(
    props: &SolverProperties,
    annealing_time: f64,
    programming_thermalization: Option<u32>,
    readout_thermalization: Option<u32>,
) -> u32 {
    let readout = readout_thermalization.unwrap_or(props.default_readout_thermalization);
    let programming =
        programming_thermalization.unwrap_or(props.default_programming_thermalization);
    let per_read = annealing_time + f64::from(readout) + props.timing.readout_in_run_duration();
    let budget = props.problem_run_duration_range.max as f64 - f64::from(programming);
    let fitting = if per_read > 0.0 { (budget / per_read).floor() } else { f64::INFINITY };
    (fitting.min(f64::from(props.num_reads_range.max)) as u32).max(1)
}

fn thermalization(
    field: &str,
    value: Option<i64>,
    default: u32,
    range: crate::properties::Range<u32>,
) -> Result<u32, FieldError> {
    let Some(value) = value else { return Ok(default) };
    let wide = crate::properties::Range::new(i64::from(range.min), i64::from(range.max));
    check_range(field, value, wide, " µs")?;
    Ok(value as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Chimera;

    fn props() -> SolverProperties {
        SolverProperties::dw_2000q("DW_2000Q_5", Chimera::dw_2000q_5())
    }

    fn request() -> SampleRequest {
        SampleRequest {
            request_id: "r1".into(),
            h: vec![(0, 0.5)],
            j: vec![(0, 4, -1.0)],
            num_reads: 10,
            annealing_time: Some(5.0),
            auto_scale: None,
            answer_mode: AnswerMode::Histogram,
            programming_thermalization: None,
            readout_thermalization: None,
            label: String::new(),
            seed: None,
        }
    }

    fn error_of(r: SampleRequest) -> FieldError {
        validate(&r, &props()).unwrap_err()
    }

    #[test]
    fn a_good_request_becomes_a_job_with_sapi_defaults() {
        let mut r = request();
        r.annealing_time = None;
        let job = validate(&r, &props()).unwrap();
        assert_eq!(job.annealing_time, 20.0);
        assert!(job.auto_scale);
        assert_eq!(job.answer_mode, AnswerMode::Histogram);
        assert_eq!(job.programming_thermalization, 1000);
        assert_eq!(job.readout_thermalization, 0);
        assert_eq!(job.problem.active, vec![0, 4]);
    }

    #[test]
    fn max_num_reads_is_the_largest_request_that_validates() {
        let props = props();
        for anneal in [5.0, 20.0, 100.0, 1000.0, 2000.0] {
            let max = max_num_reads(&props, anneal);
            let mut r = request();
            r.annealing_time = Some(anneal);
            r.num_reads = max;
            assert!(validate(&r, &props).is_ok(), "{max} reads at {anneal} µs");
            if max < props.num_reads_range.max {
                r.num_reads = max + 1;
                assert_eq!(validate(&r, &props).unwrap_err().field, "num_reads");
            }
        }
        // 2000Q: 1 s minus 1000 µs of programming thermalization, over (anneal + 0 + 198.4) µs
        // per read: 833 reads at 1000 µs, 4911 at 5 µs.
        assert_eq!(max_num_reads(&props, 1000.0), 833);
        assert_eq!(max_num_reads(&props, 5.0), 4911);
        // At the thermalizations' minimum (the paper's setting) the programming budget is free.
        assert_eq!(max_num_reads_with(&props, 1000.0, Some(0), Some(0)), 834);
        assert_eq!(max_num_reads_with(&props, 5.0, None, Some(800)), 995);
    }

    #[test]
    fn reversed_coupler_orientation_is_accepted() {
        let mut r = request();
        r.j[0] = (4, 0, 0.3);
        assert_eq!(validate(&r, &props()).unwrap().problem.quadratic, vec![(0, 1, 0.3)]);
    }

    #[test]
    fn out_of_range_values_pass_under_auto_scale_but_not_without() {
        let mut r = request();
        r.h[0].1 = 3.0;
        assert!(validate(&r, &props()).is_ok());
        r.auto_scale = Some(false);
        let e = error_of(r);
        assert_eq!(e.field, "h[0].value");
        assert!(e.description.contains("[-2, 2]"), "{e}");
    }

    #[test]
    fn run_duration_is_checked_with_readout_time() {
        // (2000 + 0 + 198.4) × 455 + 1000 = 1,001,272 µs > 1,000,000 µs.
        let mut r = request();
        r.annealing_time = Some(2000.0);
        r.num_reads = 455;
        let e = error_of(r.clone());
        assert!(e.description.contains("exceeds"), "{e}");
        r.num_reads = 454;
        assert!(validate(&r, &props()).is_ok());
    }

    #[test]
    fn thermalizations_default_or_are_checked_against_their_ranges() {
        let mut r = request();
        r.readout_thermalization = Some(10_001);
        let e = error_of(r.clone());
        assert_eq!(e.field, "readout_thermalization");
        assert!(e.description.contains("[0, 10000] µs"), "{e}");
        r.readout_thermalization = None;
        r.programming_thermalization = Some(-1);
        assert_eq!(error_of(r.clone()).field, "programming_thermalization");
        r.programming_thermalization = Some(500);
        assert_eq!(validate(&r, &props()).unwrap().programming_thermalization, 500);
    }

    fn advantage2() -> SolverProperties {
        crate::solver_record::SolverRecord::shipped("Advantage2_system1.5")
            .unwrap()
            .properties()
            .unwrap()
    }

    /// A request of J on the given couplers, not auto-scaled.
    fn couplings(j: Vec<(u32, u32, f64)>) -> SampleRequest {
        SampleRequest { h: Vec::new(), j, auto_scale: Some(false), ..request() }
    }

    #[test]
    fn j_may_use_the_extended_range_where_the_solver_has_one() {
        // DW_2000Q_5 has none: J = −1.4 is outside j_range.
        let e = error_of(couplings(vec![(0, 4, -1.4)]));
        assert_eq!(e.field, "j[0].value");
        assert!(e.description.contains("J range [-1, 1]"), "{e}");
        // Advantage2: extended_j_range [-2, 1].
        let props = advantage2();
        let (u, v) = props.graph.couplers()[0];
        for ok in [-2.0, -1.4, 1.0] {
            assert!(validate(&couplings(vec![(u, v, ok)]), &props).is_ok(), "J = {ok}");
        }
        for bad in [-2.01, 1.01] {
            let e = validate(&couplings(vec![(u, v, bad)]), &props).unwrap_err();
            assert_eq!(e.field, "j[0].value");
            assert!(e.description.contains("J range [-2, 1]"), "{e}");
        }
        // Under auto_scale any finite J is accepted.
        let scaled = SampleRequest { auto_scale: None, ..couplings(vec![(u, v, -7.0)]) };
        assert!(validate(&scaled, &props).is_ok());
    }

    #[test]
    fn coupling_group_sums_are_limited_as_the_solver_says() {
        // Advantage2's per_group_coupling_range is [-13, 10]: 6 couplers of one group at J = −2
        // sum to −12, 7 to −14.
        let props = advantage2();
        let Some(Family::Zephyr(zephyr)) = props.topology.family() else { panic!("zephyr") };
        let q = props.graph.qubits().iter().copied().find(|&q| props.graph.degree(q) == 20);
        let q = q.expect("a qubit with all its couplers");
        let group0: Vec<u32> = props
            .graph
            .neighbours(q)
            .iter()
            .map(|&(p, _)| p)
            .filter(|&p| zephyr.coupling_group(q, p) == 0)
            .collect();
        assert_eq!(group0.len(), 10);
        let j = |n: usize| couplings(group0[..n].iter().map(|&p| (q, p, -2.0)).collect());
        assert!(validate(&j(6), &props).is_ok());
        let e = validate(&j(7), &props).unwrap_err();
        assert_eq!(e.field, "j");
        assert_eq!(
            e.description,
            format!(
                "J over coupling group 0 of qubit {q} sums to -14, outside the solver's \
                 per_group_coupling_range [-13, 10] (auto_scale is off)"
            )
        );
        let scaled = SampleRequest { auto_scale: Some(true), ..j(7) };
        assert!(validate(&scaled, &props).is_ok(), "auto_scale fits the sums");
    }

    #[test]
    fn coupling_sums_per_qubit_are_limited_as_the_solver_says() {
        let mut props = props();
        props.extended_j_range = Some(crate::properties::Range::new(-2.0, 1.0));
        props.per_qubit_coupling_range = Some(crate::properties::Range::new(-3.0, 15.0));
        assert!(validate(&couplings(vec![(0, 4, -2.0), (0, 5, -1.0)]), &props).is_ok());
        let e = validate(&couplings(vec![(0, 4, -2.0), (0, 5, -1.5)]), &props).unwrap_err();
        assert_eq!(e.field, "j");
        assert!(e.description.starts_with("J over the couplers of qubit 0 sums to -3.5"), "{e}");
        assert!(e.description.contains("per_qubit_coupling_range [-3, 15]"), "{e}");
    }

    #[test]
    fn advantage2_run_duration_counts_no_readout_as_sapi_documents() {
        // (annealing_time + readout_thermalization) × num_reads + programming_thermalization.
        let props = advantage2();
        assert_eq!(max_num_reads(&props, 2000.0), 499);
        assert_eq!(max_num_reads(&props, 0.5), 10_000);
        let mut r = couplings(vec![]);
        r.annealing_time = Some(0.4);
        let e = validate(&r, &props).unwrap_err();
        assert_eq!(e.field, "annealing_time");
        assert!(e.description.contains("[0.5, 2000] µs"), "{e}");
    }

    #[test]
    fn empty_request_id_is_rejected() {
        let mut r = request();
        r.request_id.clear();
        assert_eq!(error_of(r).field, "request_id");
    }
}
