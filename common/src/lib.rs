//! qahm's shared vocabulary, free of transport code: hardware topology (Chimera, Pegasus and
//! Zephyr indexing, working graphs) and recorded solver records, Ising problems and their
//! energy, bit-packed sample sets, solver properties, sampling requests, their validation and
//! answers, and the errors of the annealer contract.

pub mod answer;
pub mod error;
pub mod problem;
pub mod properties;
pub mod request;
pub mod sampleset;
pub mod solver_record;
pub mod topology;
pub mod validation;
