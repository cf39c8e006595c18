//! The trainer service (`qahm.trainer.v1`): training runs as resources.
//!
//! - [`manager`]: the runs — start, schedule, train, cancel, resume, delete, watch, stop — with
//!   no transport code;
//! - [`record`]: a run's state, timestamps and progress, saved beside its files;
//! - [`look`]: Generate, Classify and Reconstruct on a run's checkpoint (viewing only: a run's
//!   result never depends on being looked at), and the images they take;
//! - [`grpc`]: the tonic adapters and the one map of [`ServiceError`] to gRPC codes;
//! - [`server`]: health, reflection, auth, graceful drain.

use thiserror::Error;

pub mod grpc;
pub mod look;
pub mod manager;
pub mod record;
pub mod server;

pub use manager::{Manager, ManagerConfig, StartRequest};
pub use record::{Progress, RunRecord, RunState, RunView};
pub use server::{ServeConfig, serve};

/// Why the service refuses or fails a call.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum ServiceError {
    /// A field of the request is invalid; `field` is its dotted name
    /// (`config.schedule.lr_start`) (INVALID_ARGUMENT).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// No run has this id (NOT_FOUND).
    #[error("run {0:?} not found")]
    NotFound(String),
    /// A run with this id exists (ALREADY_EXISTS).
    #[error("run {0:?} already exists")]
    AlreadyExists(String),
    /// The run's state does not allow the call (FAILED_PRECONDITION).
    #[error("{0}")]
    FailedPrecondition(String),
    /// Too many runs wait (RESOURCE_EXHAUSTED).
    #[error("{0}")]
    ResourceExhausted(String),
    /// The service is stopping, or the annealer cannot be reached (UNAVAILABLE).
    #[error("{0}")]
    Unavailable(String),
    /// The service failed on a valid request (INTERNAL).
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError::Invalid { field: field.into(), message: message.into() }
    }

    pub(crate) fn shutting_down() -> Self {
        ServiceError::Unavailable("the trainer service is shutting down".into())
    }
}
