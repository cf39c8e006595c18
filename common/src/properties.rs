//! Solver properties: what a structured annealing solver reports about itself (SAPI names).

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

/// SAPI's `problem_timing_data` (a flat readout model, as the 2000Q6 reports it), in µs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProblemTimingData {
    pub typical_programming_time: f64,
    pub readout_time_per_sample: f64,
    pub qpu_delay_time_per_sample: f64,
}

impl ProblemTimingData {
    /// DW_2000Q_6's published timing data (Aug 2022).
    pub const DW_2000Q_6: ProblemTimingData = ProblemTimingData {
        typical_programming_time: 10_536.81,
        readout_time_per_sample: 198.4,
        qpu_delay_time_per_sample: 20.54,
    };
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
            annealing_time_range: Range::new(5.0, 2000.0),
            default_annealing_time: 20.0,
            num_reads_range: Range::new(1, 10_000),
            problem_run_duration_range: Range::new(0, 1_000_000),
            programming_thermalization_range: Range::new(0, 10_000),
            default_programming_thermalization: 1000,
            readout_thermalization_range: Range::new(0, 10_000),
            default_readout_thermalization: 0,
            timing: ProblemTimingData::DW_2000Q_6,
            parameters: ACCEPTED_PARAMETERS.iter().map(|s| s.to_string()).collect(),
        }
    }
}
