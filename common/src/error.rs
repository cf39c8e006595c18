//! Why an annealer service refuses or fails a call, independent of the transport. The wire
//! layer maps each variant to one gRPC code (`qahm-wire`, `From<ServiceError> for Status`).

use std::time::Duration;

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
    /// The solver behind a proxy refused the problem as a whole, not one field of it
    /// (INVALID_ARGUMENT without a field violation).
    #[error("{0}")]
    Rejected(String),
    /// The solver or another resource behind a proxy does not exist (NOT_FOUND).
    #[error("{0}")]
    NotFound(String),
    /// The service behind a proxy is overloaded or failing; retry after `retry_after` when
    /// it says (UNAVAILABLE, with a `RetryInfo` detail).
    #[error("{message}")]
    Unavailable { message: String, retry_after: Option<Duration> },
    /// The job was cancelled where it ran, not by this client (CANCELLED).
    #[error("{0}")]
    Cancelled(String),
    /// The job failed where it ran for a reason other than its data (ABORTED).
    #[error("{0}")]
    Aborted(String),
}
