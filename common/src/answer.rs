//! A whole answer to a sampling request: the sample set, SAPI's timing block and the size of
//! the solver's qubit index space.

use crate::problem::IsingProblem;
use crate::sampleset::SampleSet;

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

/// An answer: rows over the request's active qubits, and how long the QPU took.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub set: SampleSet,
    pub timing: Timing,
    /// Qubit labels range over `0..num_variables` (the solver's `num_qubits`).
    pub num_variables: u32,
}

/// The energy of one row under `problem`, matching spins by qubit label; `None` when the row
/// lacks one of the problem's qubits.
pub fn problem_energy_of_row(problem: &IsingProblem, set: &SampleSet, row: usize) -> Option<f64> {
    let spins = set.row(row);
    let by_label: std::collections::HashMap<u32, i8> =
        set.active_variables.iter().copied().zip(spins).collect();
    let local: Option<Vec<i8>> = problem.active.iter().map(|q| by_label.get(q).copied()).collect();
    local.map(|s| problem.energy(&s))
}
