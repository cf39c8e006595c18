//! The quantum-assisted Helmholtz machine trainer.
//!
//! Rooms: [`config`] (every setting, layered and validated once), [`data`], [`model`] (the
//! networks, their gradients and inference), [`embedding`], [`prior`] (the annealer-backed
//! prior and classical baselines, with explicit training draws), [`annealer`] (clients),
//! [`seed`] (every random stream, named), [`run`] (a run directory's life and Algorithm 1's
//! update), [`eval`], [`cli`].

pub mod annealer;
pub mod cli;
pub mod config;
pub mod data;
pub mod embedding;
pub mod eval;
pub mod model;
pub mod prior;
pub mod run;
pub mod seed;
pub mod service;
