//! The quantum-assisted Helmholtz machine trainer.

pub mod data;
pub mod embedding;
pub mod model;
