//! annealer-svc: an emulated D-Wave 2000Q QPU behind the `qahm.annealer.v1` gRPC contract.
//!
//! - [`device`]: the emulated QPU (working graph, hidden β, ICE noise, anneal time → Monte
//!   Carlo work, timing model). Usable in-process, with no network.
//! - [`sampler`]: the hot kernels, pure functions over a compiled sparse problem.
//! - [`service`]: tonic glue only. [`server`]: health, reflection, auth, graceful drain.

pub mod device;
pub mod sampler;
pub mod server;
pub mod service;

pub use device::{Device, DeviceConfig};
pub use server::{ServerConfig, serve, serve_device};
