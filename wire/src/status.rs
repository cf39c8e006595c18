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

/// What to tell a client whose request could not be read off its stream. tonic reports a
/// message over the server's size limit as OUT_OF_RANGE and one that is not a valid protobuf
/// message as INTERNAL, in the decoder's words; neither is the server's fault, and neither may
/// end the call as if all were well: the request, and any sent after it on the same stream
/// (the stream cannot be read past it), got no answer. Other codes (a client that reset its
/// stream) pass through.
pub fn unreadable_request_status(status: &Status) -> Status {
    restate(status, "requests after it on this stream were not read")
        .unwrap_or_else(|| status.clone())
}

/// The same for a unary call, whose request tonic decodes before any handler runs and answers
/// itself: `Some` only for the decoder's own two statuses (told apart from a handler's
/// INTERNAL or OUT_OF_RANGE by the decoder's words), restated as INVALID_ARGUMENT or
/// RESOURCE_EXHAUSTED naming the limit; `None` for every other status.
pub fn unreadable_unary_status(status: &Status) -> Option<Status> {
    let from_decoder = match status.code() {
        Code::OutOfRange => status.message().starts_with(TONIC_TOO_LARGE),
        Code::Internal => status.message().starts_with(PROST_UNDECODABLE),
        _ => false,
    };
    if from_decoder { restate(status, "nothing was done") } else { None }
}

/// How tonic's decoder begins the status of a message over the size limit.
const TONIC_TOO_LARGE: &str = "Error, decoded message length too large";
/// How prost's `DecodeError` (which tonic-prost passes on as INTERNAL) begins.
const PROST_UNDECODABLE: &str = "failed to decode Protobuf message";

fn restate(status: &Status, consequence: &str) -> Option<Status> {
    match status.code() {
        Code::OutOfRange => Some(Status::resource_exhausted(format!(
            "a request is larger than the server accepts ({}); {consequence}",
            status.message()
        ))),
        Code::Internal => Some(Status::invalid_argument(format!(
            "a request could not be decoded as a protobuf message of the expected type ({}); \
             {consequence}",
            status.message()
        ))),
        _ => None,
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
    fn an_oversized_request_is_resource_exhausted_naming_the_limit() {
        let tonic_says = Status::out_of_range(
            "Error, decoded message length too large: found 5000000 bytes, the limit is: 4194304 bytes",
        );
        let status = unreadable_request_status(&tonic_says);
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(status.message().contains("the limit is: 4194304 bytes"), "{status:?}");
    }

    #[test]
    fn an_undecodable_request_is_invalid_argument() {
        let tonic_says = Status::internal("failed to decode Protobuf message: invalid wire type");
        let status = unreadable_request_status(&tonic_says);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("invalid wire type"), "{status:?}");
    }

    #[test]
    fn only_the_decoders_own_unary_statuses_are_restated() {
        let too_large = Status::out_of_range(
            "Error, decoded message length too large: found 5000000 bytes, the limit is: 4194304 bytes",
        );
        let restated = unreadable_unary_status(&too_large).unwrap();
        assert_eq!(restated.code(), Code::ResourceExhausted);
        assert!(restated.message().contains("4194304 bytes"), "{restated:?}");
        let garbage = Status::internal("failed to decode Protobuf message: invalid wire type");
        assert_eq!(unreadable_unary_status(&garbage).unwrap().code(), Code::InvalidArgument);
        // A handler's own INTERNAL or OUT_OF_RANGE is the server's word and stays as it is.
        assert!(unreadable_unary_status(&Status::internal("checkpoint write failed")).is_none());
        assert!(unreadable_unary_status(&Status::out_of_range("update 9 > 5")).is_none());
        assert!(unreadable_unary_status(&Status::not_found("no run")).is_none());
    }

    #[test]
    fn a_client_reset_passes_through() {
        let status = unreadable_request_status(&Status::cancelled("reset"));
        assert_eq!(status.code(), Code::Cancelled);
    }

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
