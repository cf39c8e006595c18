//! qahm-emulator: emulated D-Wave QPUs as a library, with no network, runtime or files.
//!
//! - [`profile`]: the solvers it can be (DW_2000Q_5, Advantage2_system1.5, an emulated
//!   Pegasus Advantage): what each reports and how each behaves.
//! - [`device`]: the emulated QPU (working graph, hidden β, ICE noise, timing model). Served
//!   over gRPC by `annealer-svc`, or run in-process.
//! - [`anneal_time`]: anneal time → Monte Carlo work, calibrated per solver profile.
//! - [`sampler`]: the hot kernels, pure functions over a compiled sparse problem.

pub mod anneal_time;
pub mod device;
pub mod profile;
pub mod sampler;

pub use anneal_time::AnnealModel;
pub use device::{ConfigError, Device, DeviceConfig};
pub use profile::{Physics, Solver, UnknownSolver};
