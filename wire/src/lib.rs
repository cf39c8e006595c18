//! qahm's wire layer: everything that knows both the generated protobuf types of
//! `qahm.annealer.v1` and the transport-free domain types of `qahm-common`.
//!
//! - [`convert`]: [`ToProto`] / [`FromProto`] for solver properties, requests and timing.
//! - [`answer`]: an answer split into response chunks, and reassembled from them.
//! - [`health`]: the grpc.health.v1 probe behind every binary's `health` subcommand.
//! - [`serving`]: bearer-token auth and reflection, shared by every qahm server.
//! - [`status`]: the one exhaustive map of [`ServiceError`] to a gRPC status, the in-band
//!   `google.rpc.Status` of a failed request, and a field error read back from a status.
//!
//! (The conversions are local traits and functions rather than `From` impls: both sides are
//! foreign to this crate.)
//!
//! [`ServiceError`]: qahm_common::error::ServiceError

pub mod answer;
pub mod convert;
pub mod health;
pub mod serving;
pub mod status;
pub mod streams;
pub mod tls;

pub use answer::{AnswerAssembler, AnswerError, answer_chunks, error_response};
pub use convert::{FromProto, PropertiesError, ToProto};
pub use status::{
    field_error_of, rpc_to_status, status_of, status_to_rpc, unreadable_request_status,
    unreadable_unary_status,
};
