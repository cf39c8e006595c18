//! qahm-emulator: an emulated D-Wave 2000Q QPU as a library, with no network, runtime or
//! files.
//!
//! - [`device`]: the emulated QPU (working graph, hidden β, ICE noise, anneal time → Monte
//!   Carlo work, timing model). Served over gRPC by `annealer-svc`, or run in-process.
//! - [`sampler`]: the hot kernels, pure functions over a compiled sparse problem.

pub mod device;
pub mod sampler;

pub use device::{ConfigError, Device, DeviceConfig};
