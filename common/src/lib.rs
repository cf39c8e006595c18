//! qahm's shared vocabulary, free of transport code: hardware topology, Ising problems and
//! their energy, bit-packed sample sets, solver properties and request validation, and the
//! conversions between these and the generated protobuf types.

pub mod convert;
pub mod problem;
pub mod properties;
pub mod sampleset;
pub mod topology;
pub mod validation;
