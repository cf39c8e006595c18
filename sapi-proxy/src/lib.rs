//! sapi-proxy: `qahm.annealer.v1` in front of D-Wave's real Solver API (SAPI), the swap-in
//! for real hardware: a trainer pointed at it with `--annealer` samples a QPU instead of the
//! emulator, through the same contract.
//!
//! - [`client`]: the SAPI calls over HTTPS (reqwest, rustls, system roots): the solver's
//!   record, submit (never retried), long-poll, answer, cancel; reads retried with backoff.
//! - [`service`]: tonic glue: properties from the record (cached as `Cache-Control` allows),
//!   requests validated as the emulator validates them, forwarded as `qp` jobs, answers
//!   chunked as the emulator chunks them; a request whose client left cancels its problem.
//! - [`server`]: health, reflection, auth and drain, shared with annealer-svc through
//!   `qahm_wire::serving`.
//! - [`token`]: the SAPI token, from the environment or a file, never shown.
//!
//! Every body on the wire is read and written by `qahm-sapi`; every proto conversion and
//! refusal goes through `qahm-wire`.

pub mod client;
pub mod server;
pub mod service;
pub mod token;

pub use server::{ProxyConfig, serve};
