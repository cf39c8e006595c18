//! shared vocabulary
