//! Annealer clients: one trait, two implementations.
//!
//! - [`InProcessAnnealer`] runs the emulator library in this process: no network, the default.
//! - [`RemoteAnnealer`] speaks `qahm.annealer.v1` over gRPC (see `remote.rs`, the only module
//!   here that knows tonic).
//!
//! Both take the domain [`SampleRequest`] and return the domain [`Answer`], and both refuse an
//! invalid request with the same [`AnnealerError::Invalid`]. The training loop is synchronous,
//! so the trait is too; the remote client drives its own small tokio runtime.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use qahm_common::answer::Answer;
use qahm_common::properties::SolverProperties;
use qahm_common::request::SampleRequest;
use qahm_common::validation::{FieldError, validate};
use qahm_emulator::{Device, DeviceConfig};
use thiserror::Error;

pub mod balance;
mod remote;

pub use remote::{RemoteAnnealer, RetryPolicy, SharedConnections};

/// Why a sampling call failed for good.
#[derive(Debug, Error)]
pub enum AnnealerError {
    /// The request has an invalid field (the same error in-process and remote).
    #[error("annealer refused the request: {0}")]
    Invalid(FieldError),
    /// A remote refusal for another reason that asking again would not fix.
    #[error("annealer refused the request ({code}): {message}")]
    Rejected { code: String, message: String },
    #[error("annealer unavailable after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
    #[error("annealer properties are unusable: {0}")]
    Properties(String),
    #[error("bad annealer address {0:?}: {1}")]
    Address(String, String),
    #[error("annealer answer is malformed: {0}")]
    Malformed(String),
    #[error("cannot start the client runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Something that samples Ising problems: a QPU, a proxy to one, or the emulator.
pub trait Annealer {
    /// The solver's properties (working graph, ranges), as `GetProperties` reports them.
    fn properties(&mut self) -> Result<SolverProperties, AnnealerError>;
    /// Runs one sampling job and returns the whole answer.
    fn sample(&mut self, request: &SampleRequest) -> Result<Answer, AnnealerError>;
    /// A short description for logs ("in-process DW_2000Q_5", "http://host:port").
    fn describe(&self) -> String;
}

/// The emulator library, in this process.
pub struct InProcessAnnealer {
    device: Device,
}

impl InProcessAnnealer {
    pub fn new(config: DeviceConfig) -> Result<Self, AnnealerError> {
        let device = Device::new(config).map_err(|e| AnnealerError::Properties(e.to_string()))?;
        Ok(InProcessAnnealer { device })
    }
}

impl Annealer for InProcessAnnealer {
    fn properties(&mut self) -> Result<SolverProperties, AnnealerError> {
        Ok(self.device.properties().clone())
    }

    fn sample(&mut self, request: &SampleRequest) -> Result<Answer, AnnealerError> {
        let started = Instant::now();
        let job = validate(request, self.device.properties()).map_err(AnnealerError::Invalid)?;
        let mut answer = self
            .device
            .sample(&job, &AtomicBool::new(false))
            .map_err(|e| AnnealerError::Malformed(e.to_string()))?;
        answer.timing.server_wall_time = started.elapsed().as_secs_f64() * 1e6;
        Ok(answer)
    }

    fn describe(&self) -> String {
        format!("in-process {}", self.device.properties().name)
    }
}

/// A small valid request for DW_2000Q_5 (tests of both clients).
#[cfg(test)]
fn test_request(id: &str) -> SampleRequest {
    SampleRequest {
        request_id: id.into(),
        h: vec![(0, 0.5)],
        j: vec![(0, 4, -1.0)],
        num_reads: 20,
        annealing_time: Some(5.0),
        auto_scale: Some(false),
        answer_mode: qahm_common::sampleset::AnswerMode::Raw,
        programming_thermalization: None,
        readout_thermalization: None,
        label: String::new(),
        seed: Some(3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_process_annealer_answers_and_validates() {
        let config = DeviceConfig { device_seed: Some(1), ..Default::default() };
        let mut annealer = InProcessAnnealer::new(config).unwrap();
        assert_eq!(annealer.properties().unwrap().graph.qubits().len(), 2030);
        let answer = annealer.sample(&test_request("t")).unwrap();
        assert_eq!(answer.set.num_rows(), 20);
        assert_eq!(answer.num_variables, 2048);
        let mut bad = test_request("t");
        bad.annealing_time = Some(4.0);
        match annealer.sample(&bad) {
            Err(AnnealerError::Invalid(e)) => {
                assert_eq!(e.field, "annealing_time");
                assert!(e.to_string().starts_with("annealing_time: 4 µs is outside"), "{e}");
            }
            other => panic!("expected a field error, got {other:?}"),
        }
    }
}
