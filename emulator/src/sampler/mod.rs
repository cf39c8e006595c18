//! The emulator's hot kernels: pure functions over a compiled sparse Ising problem.
//!
//! Energy convention (D-Wave): `E(s) = Σ_i h_i s_i + Σ_{i<j} J_ij s_i s_j` with `s ∈ {−1, +1}`;
//! samplers target the Boltzmann distribution `p(s) ∝ exp(−β E(s))`.
//!
//! Nothing here knows about tonic, tokio, files or the wire format: a problem is compiled once
//! into a flat CSR graph ([`CompiledProblem`]) over local variables `0..n`, and the kernels are
//! plain functions of that graph, a schedule and a seed.
//!
//! - [`simulated_annealing`]: Metropolis simulated annealing, parallel over reads, SIMD over
//!   lanes of reads within a block (see `anneal.rs` for the design).
//! - [`exact_energies`] / [`exact_boltzmann`]: brute-force enumeration for small problems, the
//!   reference the sampler's statistics are tested against.
//! - [`geometric_betas`]: the geometric β schedule of dwave-samplers.

mod anneal;
mod compiled;
mod exact;
mod schedule;

pub use anneal::{Cancelled, READS_PER_BLOCK, simulated_annealing};
pub use compiled::CompiledProblem;
pub use exact::{MAX_EXACT_VARS, exact_boltzmann, exact_energies};
pub use schedule::geometric_betas;
