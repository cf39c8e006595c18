//! The quantum-assisted Helmholtz machine trainer.

pub mod annealer;
pub mod cli;
pub mod data;
pub mod embedding;
pub mod model;
pub mod prior;
pub mod report;
pub mod train;
