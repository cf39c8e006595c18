//! annealer
