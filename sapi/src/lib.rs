//! SAPI's REST wire format, transport-free: D-Wave's Solver API as JSON bodies, with no HTTP
//! in sight.
//!
//! Both of qahm's SAPI directions speak it: the proxy that forwards `qahm.annealer.v1` to
//! D-Wave's cloud (it writes jobs and reads records, statuses and answers) and the REST front
//! that serves the emulator to Ocean's clients (it reads jobs and writes the rest). Keeping the
//! format in one place, tested against recorded real traffic (`tests/recordings/`: a
//! DW_2000Q_5 in 2020 and an Advantage2_system1.5 in 2025, API v2 and v3), means the two
//! cannot drift apart, and neither carries its own idea of the encoding.
//!
//! Rooms:
//! - [`solver`]: solver names (v2 string, v3 identity) and solver records ↔
//!   [`qahm_common::properties::SolverProperties`];
//! - [`problem`]: the `qp` encoding of h and J, and the submitted job;
//! - [`answer`]: `qp` answers ↔ [`qahm_common::answer::Answer`];
//! - [`status`]: problem statuses, batch replies, error bodies;
//! - [`media`]: the versioned media types and choosing v2 or v3.
//!
//! Not here: HTTP, routing, authentication, polling, compression (the 2025 client deflates its
//! POST bodies; the transport undoes that), and turning SAPI `params` into a validated
//! request.

mod codec;

pub mod answer;
pub mod media;
pub mod problem;
pub mod solver;
pub mod status;

pub use answer::{AnswerError, AnswerTiming, QpAnswer, row_values};
pub use codec::CodecError;
pub use media::{ApiVersion, MediaError, Resource, negotiate, reply_version};
pub use problem::{ProblemJob, ProblemType, QpData, QpError, QpProblem, decode_qp, encode_qp};
pub use solver::{
    DecodedSolver, SolverIdentity, SolverRecordError, SolverRef, SolverStatus, SolverSummary,
    SolverVersion, decode_solver_record, decode_solver_summary, encode_record_properties,
    encode_solver_record, graph_id,
};
pub use status::{BatchItem, ErrorBody, ProblemStatus, ProblemStatusRecord};
