//! Refusals as gRPC statuses, and statuses carried in-band in a sample response.

use qahm_common::error::ServiceError;
use qahm_common::validation::FieldError;
use qahm_proto::google;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The one map of the annealer contract's refusals to gRPC codes. A field error becomes
/// INVALID_ARGUMENT whose message names the field, with a `BadRequest` field violation in the
/// details (read back by [`field_error_of`]).
pub fn status_of(error: ServiceError) -> Status {
    let message = error.to_string();
    match error {
        ServiceError::Invalid(e) => {
            let mut details = ErrorDetails::new();
            details.add_bad_request_violation(e.field, e.description);
            Status::with_error_details(Code::InvalidArgument, message, details)
        }
        ServiceError::QueueFull { .. } => Status::resource_exhausted(message),
        ServiceError::ShuttingDown => Status::unavailable(message),
        ServiceError::Unauthenticated(_) => Status::unauthenticated(message),
        ServiceError::Internal(_) => Status::internal(message),
        ServiceError::Rejected(_) => Status::invalid_argument(message),
        ServiceError::NotFound(_) => Status::not_found(message),
        ServiceError::Unavailable { retry_after: None, .. } => Status::unavailable(message),
        ServiceError::Unavailable { retry_after: Some(delay), .. } => Status::with_error_details(
            Code::Unavailable,
            message,
            ErrorDetails::with_retry_info(Some(delay)),
        ),
        ServiceError::Cancelled(_) => Status::cancelled(message),
        ServiceError::Aborted(_) => Status::aborted(message),
    }
}

/// The field error of an INVALID_ARGUMENT status with a `BadRequest` field violation, as the
/// service built it: a client sees the same [`FieldError`] in-process and over the network.
pub fn field_error_of(status: &Status) -> Option<FieldError> {
    if status.code() != Code::InvalidArgument {
        return None;
    }
    let details = status.get_error_details();
    let violation = details.bad_request()?.field_violations.first()?;
    Some(FieldError::new(violation.field.clone(), violation.description.clone()))
}

/// A status as the in-band `google.rpc.Status` of a sample response (details preserved).
pub fn status_to_rpc(status: &Status) -> google::rpc::Status {
    let details: Vec<prost_types::Any> = if status.details().is_empty() {
        Vec::new()
    } else {
        <google::rpc::Status as prost::Message>::decode(status.details())
            .map(|s| s.details)
            .unwrap_or_default()
    };
    google::rpc::Status {
        code: status.code() as i32,
        message: status.message().to_string(),
        details,
    }
}

/// The in-band error of a sample response back as a [`Status`].
pub fn rpc_to_status(rpc: &google::rpc::Status) -> Status {
    let details = prost::Message::encode_to_vec(rpc);
    Status::with_details(Code::from_i32(rpc.code), rpc.message.clone(), details.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_become_invalid_argument_and_survive_the_round_trip() {
        let e = FieldError::new("annealing_time", "4.9 µs is outside [5, 2000] µs");
        let status = status_of(ServiceError::Invalid(e.clone()));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "annealing_time: 4.9 µs is outside [5, 2000] µs");
        let back = rpc_to_status(&status_to_rpc(&status));
        assert_eq!(back.code(), Code::InvalidArgument);
        assert_eq!(back.message(), status.message());
        assert_eq!(field_error_of(&back), Some(e));
    }

    #[test]
    fn every_refusal_has_its_code_and_message() {
        let cases = [
            (
                ServiceError::QueueFull { max_queued: 3 },
                Code::ResourceExhausted,
                "queue full: 3 requests are waiting; retry later",
            ),
            (ServiceError::ShuttingDown, Code::Unavailable, "server is shutting down"),
            (
                ServiceError::Unauthenticated("missing bearer token".into()),
                Code::Unauthenticated,
                "authorization: missing bearer token",
            ),
            (ServiceError::Internal("sampling failed".into()), Code::Internal, "sampling failed"),
            (ServiceError::Rejected("bad problem".into()), Code::InvalidArgument, "bad problem"),
            (ServiceError::NotFound("no solver".into()), Code::NotFound, "no solver"),
            (
                ServiceError::Unavailable { message: "busy".into(), retry_after: None },
                Code::Unavailable,
                "busy",
            ),
            (ServiceError::Cancelled("cancelled".into()), Code::Cancelled, "cancelled"),
            (ServiceError::Aborted("failed".into()), Code::Aborted, "failed"),
        ];
        for (error, code, message) in cases {
            let status = status_of(error);
            assert_eq!((status.code(), status.message()), (code, message));
            assert_eq!(field_error_of(&status), None);
        }
        assert_eq!(field_error_of(&Status::invalid_argument("no details")), None);
    }

    #[test]
    fn unavailable_carries_its_retry_delay_in_band_too() {
        let delay = std::time::Duration::from_secs(7);
        let status = status_of(ServiceError::Unavailable {
            message: "busy".into(),
            retry_after: Some(delay),
        });
        assert_eq!(status.code(), Code::Unavailable);
        let back = rpc_to_status(&status_to_rpc(&status));
        let retry = back.get_error_details().retry_info().cloned();
        assert_eq!(retry.and_then(|r| r.retry_delay), Some(delay));
    }
}
