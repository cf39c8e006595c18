//! Why an annealer service refuses or fails a call, independent of the transport. The wire
//! layer maps each variant to one gRPC code (`qahm-wire`, `From<ServiceError> for Status`).

use thiserror::Error;

use crate::validation::FieldError;

/// Every refusal of the annealer contract.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum ServiceError {
    /// A field is invalid: out of range, not active, duplicated, or a request id already in
    /// flight (INVALID_ARGUMENT).
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// Too many requests are waiting (RESOURCE_EXHAUSTED).
    #[error("queue full: {max_queued} requests are waiting; retry later")]
    QueueFull { max_queued: usize },
    /// The server is draining for shutdown (UNAVAILABLE).
    #[error("server is shutting down")]
    ShuttingDown,
    /// A token is required and was missing or wrong (UNAUTHENTICATED).
    #[error("authorization: {0}")]
    Unauthenticated(String),
    /// The service failed on a valid request (INTERNAL).
    #[error("{0}")]
    Internal(String),
}
