//! Solver properties: what a structured annealing solver reports about itself (SAPI names).

use crate::answer::Timing;
use crate::topology::{Chimera, Family, WorkingGraph};

/// A closed interval [min, max].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range<T> {
    pub min: T,
    pub max: T,
}

impl<T: PartialOrd + Copy> Range<T> {
    pub const fn new(min: T, max: T) -> Self {
        Range { min, max }
    }

    pub fn contains(&self, value: T) -> bool {
        self.min <= value && value <= self.max
    }
}

impl SolverProperties {
    /// The J range a request may use when it is not auto-scaled: `extended_j_range` where the
    /// solver has one, else `j_range`.
    pub fn widest_j_range(&self) -> Range<f64> {
        self.extended_j_range.unwrap_or(self.j_range)
    }
}

impl<T: std::fmt::Display> std::fmt::Display for Range<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}, {}]", self.min, self.max)
    }
}

/// SAPI's `topology` property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    pub kind: String,
    pub shape: Vec<u32>,
}

impl Topology {
    pub fn chimera(c: Chimera) -> Self {
        Family::Chimera(c).into()
    }

    /// The family and shape, if this topology is one qahm knows ([`Family::from_reported`]).
    pub fn family(&self) -> Option<Family> {
        Family::from_reported(&self.kind, &self.shape)
    }
}

impl From<Family> for Topology {
    fn from(family: Family) -> Self {
        Topology { kind: family.kind().into(), shape: family.shape() }
    }
}

/// How long reading one sample out takes, in µs, as a function of the number of qubits of the
/// (embedded) problem.
#[derive(Clone, Debug, PartialEq)]
pub enum ReadoutTimeModel {
    /// The same time for every problem: qahm's DW_2000Q_5 model (DW_2000Q_6's published curve
    /// is flat at 10^2.2975… ≈ 198.4 µs).
    Flat(f64),
    /// SAPI's `readout_time_model` `pwl_log_log` or `pwl_linear`: a piecewise-linear curve
    /// through `qubits[i]` → `micros[i]` (both as log10 values for `pwl_log_log`), held
    /// constant beyond its ends. `readout_time_model_parameters` is `qubits` then `micros`.
    PiecewiseLinear { log_log: bool, qubits: Vec<f64>, micros: Vec<f64> },
}

impl ReadoutTimeModel {
    /// SAPI's model name; `None` for the flat model.
    pub fn sapi_name(&self) -> Option<&'static str> {
        match self {
            ReadoutTimeModel::Flat(_) => None,
            ReadoutTimeModel::PiecewiseLinear { log_log: true, .. } => Some("pwl_log_log"),
            ReadoutTimeModel::PiecewiseLinear { log_log: false, .. } => Some("pwl_linear"),
        }
    }

    /// The model SAPI names, from its `readout_time_model_parameters` (first half the qubit
    /// axis, second half the time axis, the axis ascending).
    pub fn from_sapi(name: &str, parameters: &[f64]) -> Result<Self, String> {
        let log_log = match name {
            "pwl_log_log" => true,
            "pwl_linear" => false,
            other => return Err(format!("unknown readout_time_model {other:?}")),
        };
        let n = parameters.len() / 2;
        if !parameters.len().is_multiple_of(2) || n == 0 {
            return Err(format!(
                "readout_time_model_parameters has {} values; need an even number, at least 2",
                parameters.len()
            ));
        }
        let (qubits, micros) = parameters.split_at(n);
        if parameters.iter().any(|v| !v.is_finite()) || qubits.windows(2).any(|w| w[0] >= w[1]) {
            return Err("readout_time_model_parameters: need finite values and an ascending \
                 qubit axis"
                .into());
        }
        Ok(ReadoutTimeModel::PiecewiseLinear {
            log_log,
            qubits: qubits.to_vec(),
            micros: micros.to_vec(),
        })
    }

    /// SAPI's `readout_time_model_parameters`; empty for the flat model.
    pub fn sapi_parameters(&self) -> Vec<f64> {
        match self {
            ReadoutTimeModel::Flat(_) => Vec::new(),
            ReadoutTimeModel::PiecewiseLinear { qubits, micros, .. } => {
                qubits.iter().chain(micros).copied().collect()
            }
        }
    }

    /// Readout time per sample (µs) of a problem on `num_qubits` qubits, as Ocean estimates it
    /// (dwave-cloud-client's `estimate_qpu_access_time`: `10^interp(log10(m), q, t)` for
    /// `pwl_log_log`, `interp(m, q, t)` for `pwl_linear`, numpy's `interp` holding the ends).
    pub fn readout_time(&self, num_qubits: usize) -> f64 {
        match self {
            ReadoutTimeModel::Flat(t) => *t,
            ReadoutTimeModel::PiecewiseLinear { log_log, qubits, micros } => {
                let m = num_qubits as f64;
                if *log_log {
                    10f64.powf(interpolate(m.log10(), qubits, micros))
                } else {
                    interpolate(m, qubits, micros)
                }
            }
        }
    }
}

/// numpy's `interp`: linear between the points, the end values beyond them (and at −∞).
fn interpolate(x: f64, xs: &[f64], ys: &[f64]) -> f64 {
    let last = xs.len() - 1;
    if x.is_nan() || x <= xs[0] {
        return ys[0];
    }
    if x >= xs[last] {
        return ys[last];
    }
    let i = xs.partition_point(|&v| v <= x) - 1;
    ys[i] + (x - xs[i]) * (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
}

/// SAPI's timing extras for features the contract does not offer (reverse annealing,
/// `reduce_intersample_correlation`): reported as recorded, never used by the emulator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UnusedTimingData {
    pub reverse_annealing_with_reinit_prog_time_delta: f64,
    pub reverse_annealing_without_reinit_prog_time_delta: f64,
    pub reverse_annealing_with_reinit_delay_time_delta: f64,
    pub reverse_annealing_without_reinit_delay_time_delta: f64,
    pub decorrelation_max_nominal_anneal_time: f64,
    pub decorrelation_time_range: Range<f64>,
}

impl UnusedTimingData {
    /// The extras from their parts, in field order, as a record or a message carries them:
    /// all or nothing (SAPI reports them together), so `None` when any part is missing.
    pub fn from_parts(
        prog_time_deltas: [Option<f64>; 2],
        delay_time_deltas: [Option<f64>; 2],
        decorrelation_max_nominal_anneal_time: Option<f64>,
        decorrelation_time_range: Option<Range<f64>>,
    ) -> Option<Self> {
        Some(UnusedTimingData {
            reverse_annealing_with_reinit_prog_time_delta: prog_time_deltas[0]?,
            reverse_annealing_without_reinit_prog_time_delta: prog_time_deltas[1]?,
            reverse_annealing_with_reinit_delay_time_delta: delay_time_deltas[0]?,
            reverse_annealing_without_reinit_delay_time_delta: delay_time_deltas[1]?,
            decorrelation_max_nominal_anneal_time: decorrelation_max_nominal_anneal_time?,
            decorrelation_time_range: decorrelation_time_range?,
        })
    }
}

/// SAPI's `problem_timing_data`, µs: what a client needs to estimate QPU access time. (Its
/// default thermalizations and anneal time are the solver's own, in [`SolverProperties`].)
#[derive(Clone, Debug, PartialEq)]
pub struct ProblemTimingData {
    /// The timing model's version ("1.0.0"); empty for qahm's DW_2000Q_5 model.
    pub version: String,
    pub typical_programming_time: f64,
    pub readout: ReadoutTimeModel,
    pub qpu_delay_time_per_sample: f64,
    /// Present where the solver reports it (the Advantage profiles).
    pub unused: Option<UnusedTimingData>,
}

impl ProblemTimingData {
    /// DW_2000Q_6's published timing data (Aug 2022), its flat readout curve as 198.4 µs.
    pub fn dw_2000q_6() -> ProblemTimingData {
        ProblemTimingData {
            version: String::new(),
            typical_programming_time: 10_536.81,
            readout: ReadoutTimeModel::Flat(198.4),
            qpu_delay_time_per_sample: 20.54,
            unused: None,
        }
    }

    /// The readout time per read that the problem-run-duration limit counts: qahm's DW_2000Q_5
    /// model counts its flat readout time; SAPI's documented formula (the solvers with a
    /// readout curve) counts none.
    pub fn readout_in_run_duration(&self) -> f64 {
        match self.readout {
            ReadoutTimeModel::Flat(t) => t,
            ReadoutTimeModel::PiecewiseLinear { .. } => 0.0,
        }
    }

    /// SAPI's timing of a job (µs), the way Ocean estimates QPU access time: programming =
    /// typical programming time + programming thermalization; per read: anneal + readout (for
    /// `num_qubits`, the problem's active qubits) + delay (+ readout thermalization).
    /// `server_wall_time` is left at 0.
    pub fn job_timing(
        &self,
        num_qubits: usize,
        num_reads: u32,
        annealing_time: f64,
        programming_thermalization: u32,
        readout_thermalization: u32,
    ) -> Timing {
        let programming = self.typical_programming_time + f64::from(programming_thermalization);
        let readout = self.readout.readout_time(num_qubits);
        let delay = self.qpu_delay_time_per_sample + f64::from(readout_thermalization);
        let sampling = f64::from(num_reads) * (annealing_time + readout + delay);
        Timing {
            qpu_programming_time: programming,
            qpu_anneal_time_per_sample: annealing_time,
            qpu_readout_time_per_sample: readout,
            qpu_delay_time_per_sample: delay,
            qpu_sampling_time: sampling,
            qpu_access_time: programming + sampling,
            server_wall_time: 0.0,
        }
    }
}

/// Everything a client may know about a solver. Never its temperature or noise.
#[derive(Clone, Debug, PartialEq)]
pub struct SolverProperties {
    pub name: String,
    pub description: String,
    pub topology: Topology,
    pub graph: WorkingGraph,
    pub h_range: Range<f64>,
    pub j_range: Range<f64>,
    /// The wider J range a solver accepts (strong ferromagnetic couplings for chains), as long
    /// as the coupling sums below stay inside theirs. Absent on a 2000Q.
    pub extended_j_range: Option<Range<f64>>,
    /// Limit on the sum of the J values on each qubit's couplers (Advantage).
    pub per_qubit_coupling_range: Option<Range<f64>>,
    /// Limit on the sum of the J values in each of a qubit's two coupling groups (Advantage2,
    /// Zephyr: see [`crate::topology::Zephyr::coupling_group`]).
    pub per_group_coupling_range: Option<Range<f64>>,
    /// µs.
    pub annealing_time_range: Range<f64>,
    pub default_annealing_time: f64,
    pub num_reads_range: Range<u32>,
    /// µs.
    pub problem_run_duration_range: Range<u64>,
    pub programming_thermalization_range: Range<u32>,
    pub default_programming_thermalization: u32,
    pub readout_thermalization_range: Range<u32>,
    pub default_readout_thermalization: u32,
    pub timing: ProblemTimingData,
    pub parameters: Vec<String>,
}

/// The parameter names the contract lets a client set.
pub const ACCEPTED_PARAMETERS: [&str; 7] = [
    "annealing_time",
    "answer_mode",
    "auto_scale",
    "num_reads",
    "programming_thermalization",
    "readout_thermalization",
    "seed",
];

impl SolverProperties {
    /// A D-Wave 2000Q as qahm models it: the given working graph with the real chip's ranges,
    /// except the anneal-time floor of 5 µs (the real chip allowed 1 µs).
    pub fn dw_2000q(name: &str, graph: WorkingGraph) -> Self {
        SolverProperties {
            name: name.to_string(),
            description: "D-Wave 2000Q lower-noise system (qahm emulator)".into(),
            topology: Topology::chimera(Chimera::C16),
            graph,
            h_range: Range::new(-2.0, 2.0),
            j_range: Range::new(-1.0, 1.0),
            extended_j_range: None,
            per_qubit_coupling_range: None,
            per_group_coupling_range: None,
            annealing_time_range: Range::new(5.0, 2000.0),
            default_annealing_time: 20.0,
            num_reads_range: Range::new(1, 10_000),
            problem_run_duration_range: Range::new(0, 1_000_000),
            programming_thermalization_range: Range::new(0, 10_000),
            default_programming_thermalization: 1000,
            readout_thermalization_range: Range::new(0, 10_000),
            default_readout_thermalization: 0,
            timing: ProblemTimingData::dw_2000q_6(),
            parameters: ACCEPTED_PARAMETERS.iter().map(|s| s.to_string()).collect(),
        }
    }
}
