//! The SAPI REST front: the emulator's solvers served over the subset of D-Wave's Solver API
//! that dwave-cloud-client uses for QPU solvers, so that Ocean (`Client`, `DWaveSampler`)
//! reaches the emulator by changing only its endpoint and token.
//!
//! - [`http`]: routes and handlers (axum), auth, media types, errors; every body is
//!   `qahm-sapi`'s;
//! - [`jobs`]: SAPI `params` and `qp` data → a validated [`SampleJob`](qahm_common::validation::SampleJob),
//!   and answers back in the submitted type;
//! - [`store`]: accepted problems, their statuses, long polls, bounded history.
//!
//! Every profile of [`Solver::ALL`] is a solver here, each its own [`Device`] built from the
//! gRPC device's config (same device seed and noise); the gRPC device itself serves its
//! profile. Jobs run on the blocking pool, bounded by the service's queue and concurrency
//! limits; a full queue answers 429, a draining server 503.

pub mod http;
pub mod jobs;
pub mod store;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use qahm_emulator::{ConfigError, Device, DeviceConfig, Solver};
use qahm_sapi::{
    ApiVersion, ProblemJob, QpAnswer, SolverIdentity, SolverRef, SolverStatus, SolverSummary,
    SolverVersion, encode_solver_record, graph_id,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use crate::service::{Capacity, ServiceLimits};
use jobs::{JobError, Prepared};
use store::{Outcome, Problem, Store};

/// Settings of the front (its devices and limits come from the server's).
#[derive(Clone, Debug)]
pub struct SapiOptions {
    /// When set, every request must carry `X-Auth-Token: <token>`.
    pub token: Option<String>,
    /// Terminal problems kept for status and answer requests.
    pub max_history: usize,
}

impl Default for SapiOptions {
    fn default() -> Self {
        SapiOptions { token: None, max_history: 1000 }
    }
}

/// One solver: its device and its records in both API versions, built once.
pub struct SapiSolver {
    pub device: Arc<Device>,
    pub identity: SolverIdentity,
    records: [Value; 2],
}

impl SapiSolver {
    fn new(device: Arc<Device>) -> Self {
        let props = device.properties();
        let identity = SolverIdentity {
            name: props.name.clone(),
            version: Some(SolverVersion { graph_id: graph_id(&props.graph) }),
        };
        let record = |version| {
            let summary = SolverSummary {
                solver: SolverRef::new(&identity, version),
                status: Some(SolverStatus::Online),
                avg_load: Some(0.0),
            };
            let mut record = encode_solver_record(props, &summary);
            // The record lists what this front takes: SAPI's parameters, and the emulator's
            // seed under SAPI's prefix for solver-specific ones.
            record["properties"]["parameters"] = jobs::parameters()
                .iter()
                .map(|&name| {
                    let key = if name == "x_seed" { "seed" } else { name };
                    (name.to_string(), json!(qahm_sapi::solver::parameter_description(key)))
                })
                .collect::<serde_json::Map<_, _>>()
                .into();
            record
        };
        SapiSolver { records: [record(ApiVersion::V2), record(ApiVersion::V3)], device, identity }
    }

    fn record(&self, version: ApiVersion) -> &Value {
        match version {
            ApiVersion::V2 => &self.records[0],
            ApiVersion::V3 => &self.records[1],
        }
    }
}

/// The front's shared state.
pub struct Front {
    pub solvers: Vec<SapiSolver>,
    pub store: Store,
    pub options: SapiOptions,
    limits: ServiceLimits,
    /// The server's queue and sampling slots, shared with its gRPC service.
    capacity: Capacity,
    pub draining: CancellationToken,
}

impl Front {
    /// `grpc_device` serves its own profile; every other profile gets a device built from
    /// the same config. `capacity` is the server's, shared with the gRPC service: one queue
    /// for the machine, whichever API a problem came through.
    pub fn new(
        grpc_device: Arc<Device>,
        limits: ServiceLimits,
        capacity: Capacity,
        options: SapiOptions,
        draining: CancellationToken,
    ) -> Result<Self, ConfigError> {
        let base = grpc_device.config().clone();
        let mut solvers = Vec::with_capacity(Solver::ALL.len());
        for solver in Solver::ALL {
            let device = if solver == base.solver {
                grpc_device.clone()
            } else {
                Arc::new(Device::new(DeviceConfig { solver, name: None, ..base.clone() })?)
            };
            solvers.push(SapiSolver::new(device));
        }
        Ok(Front {
            solvers,
            store: Store::new(options.max_history),
            options,
            capacity,
            limits,
            draining,
        })
    }

    pub fn solver(&self, name: &str) -> Option<&SapiSolver> {
        self.solvers.iter().find(|s| s.identity.name == name)
    }

    /// Share of the queue in use, by either API: what `avg_load` reports.
    fn load(&self) -> f64 {
        let queue = &self.capacity.queue;
        queue.in_use() as f64 / queue.capacity() as f64
    }
}

/// Why a job was not accepted: an HTTP status and SAPI's message.
#[derive(Debug)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

impl From<JobError> for Refusal {
    fn from(e: JobError) -> Self {
        Refusal { status: 400, message: e.to_string() }
    }
}

/// A new problem id, shaped like SAPI's (a random UUID).
fn new_id() -> String {
    let v: u128 =
        (rand::random::<u128>() & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let h = format!("{v:032x}");
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Now, as SAPI writes times: RFC 3339, UTC, microseconds (`2025-08-28T02:38:12.937558Z`).
pub fn now_rfc3339() -> String {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    rfc3339(since)
}

fn rfc3339(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since_epoch.subsec_micros()
    )
}

impl Front {
    /// Accepts one job: checks it, takes a queue slot, records it PENDING and starts it.
    pub fn submit(self: &Arc<Self>, job: ProblemJob) -> Result<Problem, Refusal> {
        if self.draining.is_cancelled() {
            return Err(Refusal { status: 503, message: "server is shutting down".into() });
        }
        let name = job.solver.name();
        let Some(index) = self.solvers.iter().position(|s| s.identity.name == name) else {
            return Err(Refusal {
                status: 404,
                message: format!(
                    "solver: {name:?} does not exist or apitoken does not have access; solvers \
                     are {}",
                    self.solvers
                        .iter()
                        .map(|s| s.identity.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        };
        let solver = &self.solvers[index];
        let id = new_id();
        let prepared = jobs::prepare(&id, &job, solver.device.properties())?;
        let Ok(queue_permit) = self.capacity.queue.take() else {
            return Err(Refusal {
                status: 429,
                message: format!(
                    "queue full: {} problems are waiting; retry later",
                    self.capacity.queue.capacity()
                ),
            });
        };
        let problem = Problem {
            id: id.clone(),
            solver: solver.identity.clone(),
            problem_type: job.problem_type,
            label: job.label,
            data: job.data,
            params: job.params,
            submitted_on: now_rfc3339(),
            solved_on: None,
            status: qahm_sapi::ProblemStatus::Pending,
            error_message: None,
            answer: None,
            cancel: Arc::new(AtomicBool::new(false)),
        };
        self.store.insert(problem.clone());
        tokio::spawn(self.clone().run(index, prepared, problem.cancel.clone(), queue_permit));
        Ok(problem)
    }

    async fn run(
        self: Arc<Self>,
        solver: usize,
        prepared: Prepared,
        cancel: Arc<AtomicBool>,
        _queue_permit: OwnedSemaphorePermit,
    ) {
        let id = prepared.job.request_id.clone();
        // A problem cancelled while it waits gives its queue slot back at once.
        let this = [id.clone()];
        let forever = tokio::time::Instant::now() + Duration::from_secs(86_400 * 365);
        let _running = tokio::select! {
            permit = self.capacity.running.acquire() => match permit {
                Ok(permit) => permit,
                Err(_closed) => {
                    let message = "server is shutting down".to_string();
                    self.store.finish(&id, Outcome::Failed(message), now_rfc3339());
                    return;
                }
            },
            _ = self.store.wait_any_terminal(&this, forever) => return,
        };
        if !self.store.start(&id) {
            return; // cancelled while pending
        }
        let device = self.solvers[solver].device.clone();
        let started = std::time::Instant::now();
        let work = tokio::task::spawn_blocking(move || {
            let outcome = device.sample(&prepared.job, &cancel);
            (outcome, prepared)
        });
        let outcome = match work.await {
            Ok((Ok(answer), prepared)) => {
                if self.limits.pacing {
                    let access = Duration::from_secs_f64(answer.timing.qpu_access_time * 1e-6);
                    tokio::time::sleep(access.saturating_sub(started.elapsed())).await;
                }
                let rows = answer.set.num_rows();
                let answer = jobs::in_submitted_type(answer, &prepared);
                tracing::info!(
                    problem_id = %id,
                    solver = %self.solvers[solver].identity.name,
                    num_reads = prepared.job.num_reads,
                    rows,
                    wall_ms = started.elapsed().as_secs_f64() * 1e3,
                    "sapi problem completed"
                );
                Outcome::Completed(Box::new(QpAnswer::encode(&answer)))
            }
            Ok((Err(_cancelled), _)) => Outcome::Cancelled,
            Err(join_error) => {
                tracing::error!(problem_id = %id, %join_error, "sampling task failed");
                Outcome::Failed("internal error: sampling failed".into())
            }
        };
        self.store.finish(&id, outcome, now_rfc3339());
    }
}

/// Serves the front on `listener` until `draining` is cancelled and every accepted problem
/// has ended (plus `grace`, for clients to fetch the last answers), or `drain_timeout` has
/// passed since the drain began; then stops whatever still samples.
pub async fn serve(
    listener: TcpListener,
    front: Arc<Front>,
    grace: Duration,
    drain_timeout: Duration,
) -> std::io::Result<()> {
    let draining = front.draining.clone();
    let idle_front = front.clone();
    let stop = async move {
        draining.cancelled().await;
        let idle = async {
            idle_front.store.wait_idle().await;
            tokio::time::sleep(grace).await;
        };
        if tokio::time::timeout(drain_timeout, idle).await.is_err() {
            tracing::warn!(
                unfinished = idle_front.store.active(),
                "sapi drain timed out; stopping problems in flight"
            );
        }
    };
    tracing::info!(addr = ?listener.local_addr().ok(), solvers = front.solvers.len(), auth = front.options.token.is_some(), "sapi front listening");
    let result = serve_until(listener, front.clone(), stop).await;
    front.store.stop_all();
    result
}

async fn serve_until(
    listener: TcpListener,
    front: Arc<Front>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, http::router(front)).with_graceful_shutdown(stop).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_with_microseconds() {
        assert_eq!(rfc3339(Duration::from_micros(0)), "1970-01-01T00:00:00.000000Z");
        // 2025-08-28T02:38:12.937558Z, the recorded submit time.
        assert_eq!(
            rfc3339(Duration::from_micros(1_756_348_692_937_558)),
            "2025-08-28T02:38:12.937558Z"
        );
        assert_eq!(rfc3339(Duration::from_secs(951_782_400)), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn ids_are_version_4_uuids() {
        let id = new_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!("89ab".contains(&id[19..20]), "{id}");
        assert_ne!(id, new_id());
    }
}
