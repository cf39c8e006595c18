//! annealer-svc: the emulated QPU of `qahm-emulator` behind the `qahm.annealer.v1` gRPC
//! contract.
//!
//! - [`service`]: tonic glue only: wire conversion, validation, queueing, chunked answers;
//!   every refusal goes through `ServiceError` and `qahm_wire::status_of`.
//! - [`server`]: health, reflection, auth, graceful drain.
//! - [`sapi_front`]: the same emulator over SAPI's REST API, for Ocean's clients.

pub mod sapi_front;
pub mod server;
pub mod service;

pub use qahm_emulator::{Device, DeviceConfig, Solver};
pub use server::{ServerConfig, serve, serve_all, serve_device, serve_with_sapi};
