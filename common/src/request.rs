//! A sampling request as a client states it, before validation: the domain twin of
//! `qahm.annealer.v1.SampleRequest`, with SAPI's optional parameters left optional.

use crate::sampleset::AnswerMode;

/// One sampling job as submitted. [`crate::validation::validate`] checks it against a solver's
/// properties and fills in the solver's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRequest {
    /// Unique among the unanswered requests of one stream; echoed in the answer.
    pub request_id: String,
    /// Linear biases `(qubit, h)` over active qubits.
    pub h: Vec<(u32, f64)>,
    /// Couplings `(u, v, J)` over active couplers, either orientation.
    pub j: Vec<(u32, u32, f64)>,
    pub num_reads: u32,
    /// µs; the solver's default when absent.
    pub annealing_time: Option<f64>,
    /// SAPI's auto-scale; on when absent.
    pub auto_scale: Option<bool>,
    pub answer_mode: AnswerMode,
    /// µs; the solver's default when absent.
    pub programming_thermalization: Option<i64>,
    /// µs; the solver's default when absent.
    pub readout_thermalization: Option<i64>,
    /// Free text echoed in the answer.
    pub label: String,
    /// Makes the emulator reproducible; real hardware may ignore it.
    pub seed: Option<u64>,
}
