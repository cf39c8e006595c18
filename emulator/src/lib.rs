//! qahm-emulator: an emulated D-Wave 2000Q QPU as a library, with no network, runtime or
//! files.
//!
//! - [`device`]: the emulated QPU (working graph, hidden β, ICE noise, timing model). Served over gRPC by `annealer-svc`, or run in-process.
//! - [`anneal_time`]: anneal time → Monte Carlo work, calibrated per solver profile.
//! - [`sampler`]: the hot kernels, pure functions over a compiled sparse problem.

pub mod anneal_time;
pub mod device;
pub mod sampler;

pub use anneal_time::AnnealModel;
pub use device::{ConfigError, Device, DeviceConfig};
