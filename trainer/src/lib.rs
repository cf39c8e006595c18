//! The quantum-assisted Helmholtz machine trainer.

pub mod data;
pub mod embedding;
pub mod model;
pub mod annealer;
pub mod prior;
pub mod report;
pub mod train;
pub mod cli;
