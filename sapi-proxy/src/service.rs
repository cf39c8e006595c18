//! tonic glue for `qahm.annealer.v1.Annealer` over SAPI: wire → domain request → validate
//! against the solver's record → SAPI job → submit, long-poll, answer → chunked answer. Every
//! refusal is a `ServiceError`, mapped to a status in one place (`qahm_wire::status_of`).
//!
//! Each `Sample` stream is served by one task that reads requests and starts a job task per
//! request, so several problems of one stream are in flight at SAPI at once, bounded by a
//! server-wide queue (a full queue answers RESOURCE_EXHAUSTED). A job whose client went away
//! (it dropped the call or the stream) cancels its SAPI problem with `DELETE problems/{id}/`,
//! and so does a job that gives up on a problem still running (a read failed for good, or the
//! drain timed out): nothing is left running at D-Wave that nobody will read.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::Stream;
use qahm_common::answer::Answer;
use qahm_common::error::ServiceError;
use qahm_common::properties::SolverProperties;
use qahm_common::request::SampleRequest;
use qahm_common::sampleset::AnswerMode;
use qahm_common::validation::{FieldError, validate};
use qahm_proto::pb;
use qahm_sapi::{ProblemJob, ProblemStatus, ProblemType, SolverRef, decode_solver_record};
use qahm_wire::streams::{Outbound, RequestQueue, SampleHandler, serve_sample_stream};
use qahm_wire::{FromProto, ToProto, answer_chunks, error_response, status_of};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status, Streaming};

use crate::client::{SapiClient, SapiError};

/// Limits and pacing of the proxy.
#[derive(Clone, Debug)]
pub struct ProxyLimits {
    /// Requests accepted and not yet answered, across all streams; more get RESOURCE_EXHAUSTED.
    pub max_queued: usize,
    /// Payload bytes per response chunk (well under gRPC's 4 MiB default).
    pub max_chunk_bytes: usize,
    /// SAPI's long-poll `timeout` (whole seconds, 1 to 30).
    pub long_poll: Duration,
    /// Shortest time between two status polls of one problem (a long poll that returns early
    /// without news does not turn into a busy loop).
    pub min_poll_interval: Duration,
}

impl Default for ProxyLimits {
    fn default() -> Self {
        ProxyLimits {
            max_queued: 64,
            max_chunk_bytes: 512 * 1024,
            long_poll: Duration::from_secs(30),
            min_poll_interval: Duration::from_millis(500),
        }
    }
}

/// What the proxy knows of its solver, from its record.
#[derive(Debug)]
struct Solver {
    properties: SolverProperties,
    proto: pb::SolverProperties,
    /// How jobs name the solver: the record's identity (v3) or id (v2).
    reference: SolverRef,
    /// The record lists `x_seed`: SAPI passes `x_` parameters through to the solver, so a
    /// seed can be honoured (a simulated solver); real hardware lists none.
    takes_x_seed: bool,
}

impl Solver {
    fn from_record(record: &Value) -> Result<Self, ServiceError> {
        let decoded = decode_solver_record(record)
            .map_err(|e| ServiceError::Internal(format!("SAPI's solver record: {e}")))?;
        let takes_x_seed = record
            .pointer("/properties/parameters")
            .and_then(Value::as_object)
            .is_some_and(|parameters| parameters.contains_key("x_seed"));
        let mut properties = decoded.properties;
        if !takes_x_seed {
            properties.parameters.retain(|p| p != "seed");
        }
        Ok(Solver {
            proto: properties.to_proto(),
            properties,
            reference: decoded.summary.solver,
            takes_x_seed,
        })
    }
}

/// The record as cached, until `expires` (`None`: refetch on next use).
struct Cached {
    solver: Arc<Solver>,
    expires: Option<Instant>,
}

/// The Annealer service over one SAPI solver.
#[derive(Clone)]
pub struct ProxyService {
    sapi: SapiClient,
    solver_name: Arc<str>,
    cache: Arc<tokio::sync::Mutex<Option<Cached>>>,
    limits: ProxyLimits,
    queue: RequestQueue,
    draining: CancellationToken,
    aborting: CancellationToken,
    tasks: TaskTracker,
}

impl ProxyService {
    /// `draining` is cancelled when the server starts its graceful shutdown: from then on new
    /// requests are refused with UNAVAILABLE and streams close once their jobs are answered.
    /// `aborting` is cancelled when the drain times out: jobs still waiting cancel their SAPI
    /// problems and answer UNAVAILABLE. `tasks` tracks every task the service starts.
    pub fn new(
        sapi: SapiClient,
        solver_name: &str,
        limits: ProxyLimits,
        draining: CancellationToken,
        aborting: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        ProxyService {
            queue: RequestQueue::new(limits.max_queued),
            sapi,
            solver_name: solver_name.into(),
            cache: Arc::default(),
            limits,
            draining,
            aborting,
            tasks,
        }
    }

    /// The solver's record, fetched when the cached one has expired.
    async fn solver(&self) -> Result<Arc<Solver>, ServiceError> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref()
            && cached.expires.is_some_and(|expires| Instant::now() < expires)
        {
            return Ok(cached.solver.clone());
        }
        let (record, max_age) =
            self.sapi.solver_record(&self.solver_name).await.map_err(|e| match e {
                SapiError::NotFound(message) => ServiceError::NotFound(format!(
                    "SAPI has no solver {:?} for this token: {message}",
                    &*self.solver_name
                )),
                other => service_error(other),
            })?;
        let solver = Arc::new(Solver::from_record(&record)?);
        tracing::info!(
            solver = %solver.properties.name,
            qubits = solver.properties.graph.qubits().len(),
            couplers = solver.properties.graph.couplers().len(),
            x_seed = solver.takes_x_seed,
            ?max_age,
            "solver record fetched"
        );
        let expires = max_age.map(|age| Instant::now() + age);
        *cache = Some(Cached { solver: solver.clone(), expires });
        Ok(solver)
    }
}

/// A SAPI failure as the contract's refusal.
fn service_error(error: SapiError) -> ServiceError {
    let message = error.to_string();
    match error {
        SapiError::Unauthorized(_) => ServiceError::Unauthenticated(message),
        SapiError::NotFound(_) => ServiceError::NotFound(message),
        SapiError::Unavailable { retry_after, .. } => {
            ServiceError::Unavailable { message, retry_after }
        }
        SapiError::Transport(_) => ServiceError::Unavailable { message, retry_after: None },
        SapiError::Refused { status: 400 | 403, .. } => ServiceError::Rejected(message),
        SapiError::Refused { .. } | SapiError::Malformed(_) => ServiceError::Internal(message),
    }
}

/// Why a FAILED problem failed, as the contract's refusal: a problem SAPI found wrong is
/// INVALID_ARGUMENT, an offline solver UNAVAILABLE, anything else ABORTED.
fn failure(id: &str, message: Option<String>) -> ServiceError {
    let message = message.unwrap_or_else(|| "no reason given".into());
    let lower = message.to_ascii_lowercase();
    let text = format!("SAPI problem {id} failed: {message}");
    if lower.contains("solver is offline") {
        return ServiceError::Unavailable { message: text, retry_after: None };
    }
    let about_the_problem =
        ["parameter", "problem data", "range", "invalid", "exceed", "not supported", "must be"];
    if about_the_problem.iter().any(|word| lower.contains(word)) {
        ServiceError::Rejected(text)
    } else {
        ServiceError::Aborted(text)
    }
}

/// A validated request and the SAPI job it becomes.
pub struct ProxyJob {
    request_id: String,
    label: String,
    sapi: ProblemJob,
}

/// The SAPI job for a validated request: `qp` data over the solver's lists, type `ising`,
/// the parameters the client set (SAPI fills in the rest), the seed as `x_seed`.
fn sapi_job(request: &SampleRequest, solver: &Solver) -> Result<ProblemJob, ServiceError> {
    let data = qahm_sapi::encode_qp(&request.h, &request.j, &solver.properties.graph)
        .map_err(|e| ServiceError::Internal(format!("qp encoding: {e}")))?;
    let mut params = Map::new();
    params.insert("num_reads".into(), json!(request.num_reads));
    let answer_mode = match request.answer_mode {
        AnswerMode::Raw => "raw",
        AnswerMode::Histogram => "histogram",
    };
    params.insert("answer_mode".into(), json!(answer_mode));
    if let Some(t) = request.annealing_time {
        params.insert("annealing_time".into(), json!(t));
    }
    if let Some(a) = request.auto_scale {
        params.insert("auto_scale".into(), json!(a));
    }
    if let Some(t) = request.programming_thermalization {
        params.insert("programming_thermalization".into(), json!(t));
    }
    if let Some(t) = request.readout_thermalization {
        params.insert("readout_thermalization".into(), json!(t));
    }
    if let Some(seed) = request.seed {
        params.insert("x_seed".into(), json!(seed));
    }
    Ok(ProblemJob {
        solver: solver.reference.clone(),
        data,
        problem_type: ProblemType::Ising,
        params,
        label: (!request.label.is_empty()).then(|| request.label.clone()),
    })
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<pb::SampleResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::annealer_server::Annealer for ProxyService {
    async fn get_properties(
        &self,
        _request: Request<pb::GetPropertiesRequest>,
    ) -> Result<Response<pb::SolverProperties>, Status> {
        let solver = self.solver().await.map_err(status_of)?;
        Ok(Response::new(solver.proto.clone()))
    }

    type SampleStream = ResponseStream;

    async fn sample(
        &self,
        request: Request<Streaming<pb::SampleRequest>>,
    ) -> Result<Response<Self::SampleStream>, Status> {
        if self.draining.is_cancelled() {
            return Err(status_of(ServiceError::ShuttingDown));
        }
        let inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(64);
        let (queue, draining) = (self.queue.clone(), self.draining.clone());
        self.tasks.spawn(serve_sample_stream(self.clone(), inbound, tx, queue, draining));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

impl SampleHandler for ProxyService {
    type Job = ProxyJob;

    /// Checks a request against the solver's record (fetched or cached) and builds its SAPI job.
    async fn check(&self, request: &pb::SampleRequest) -> Result<ProxyJob, ServiceError> {
        let request = SampleRequest::from_proto(request)?;
        let solver = self.solver().await?;
        validate(&request, &solver.properties)?;
        if request.seed.is_some() && !solver.takes_x_seed {
            return Err(ServiceError::Invalid(FieldError::new(
                "seed",
                format!(
                    "solver {} is real hardware: its record lists no x_seed parameter, so it \
                     cannot honour a seed; leave seed unset",
                    solver.properties.name
                ),
            )));
        }
        Ok(ProxyJob {
            request_id: request.request_id.clone(),
            label: request.label.clone(),
            sapi: sapi_job(&request, &solver)?,
        })
    }

    async fn run(self, job: ProxyJob, _request_id: String, received: Instant, tx: Outbound) {
        self.run_job(job, received, &tx).await;
    }
}

impl ProxyService {
    async fn run_job(&self, job: ProxyJob, received: Instant, tx: &Outbound) {
        // The SAPI id of the problem while it runs there: what to cancel if we stop waiting.
        let running: Mutex<Option<String>> = Mutex::new(None);
        let outcome = tokio::select! {
            outcome = self.forward(&job, &running) => outcome,
            _ = tx.closed() => {
                tracing::info!(request_id = %job.request_id, "client went away");
                self.cancel_running(&running);
                return;
            }
            _ = self.aborting.cancelled() => {
                self.cancel_running(&running);
                Err(ServiceError::ShuttingDown)
            }
        };
        self.cancel_running(&running);
        let mut answer = match outcome {
            Ok(answer) => answer,
            Err(refusal) => {
                let status = status_of(refusal);
                tracing::info!(request_id = %job.request_id, code = ?status.code(), message = status.message(), "sample request failed");
                let _ = tx.send(Ok(error_response(&job.request_id, &status))).await;
                return;
            }
        };
        answer.timing.server_wall_time = received.elapsed().as_secs_f64() * 1e6;
        let chunks =
            answer_chunks(&job.request_id, &job.label, &answer, self.limits.max_chunk_bytes);
        let num_chunks = chunks.len();
        for chunk in chunks {
            if tx.send(Ok(chunk)).await.is_err() {
                return;
            }
        }
        tracing::info!(
            request_id = %job.request_id,
            label = %job.label,
            rows = answer.set.num_rows(),
            chunks = num_chunks,
            wall_ms = answer.timing.server_wall_time / 1e3,
            qpu_access_us = answer.timing.qpu_access_time,
            "sampled"
        );
    }

    /// Submits once, polls until the problem is done, fetches its answer. `running` holds
    /// the problem's id from its submit until it is known to be done.
    async fn forward(
        &self,
        job: &ProxyJob,
        running: &Mutex<Option<String>>,
    ) -> Result<Answer, ServiceError> {
        let mut status = self.sapi.submit(&job.sapi).await.map_err(|e| match e {
            SapiError::Unavailable { .. } | SapiError::Transport(_) => ServiceError::Unavailable {
                retry_after: match &e {
                    SapiError::Unavailable { retry_after, .. } => *retry_after,
                    _ => None,
                },
                message: format!(
                    "{e}; the submit was not retried, since a second submit could run and \
                         be billed twice"
                ),
            },
            other => service_error(other),
        })?;
        let id = status.id.clone();
        *running.lock().expect("running lock") = Some(id.clone());
        tracing::debug!(request_id = %job.request_id, problem = %id, "submitted to SAPI");
        // The interval spaces polls; the first (a long poll) goes out at once after the submit.
        let mut last_poll: Option<Instant> = None;
        while !status.status.is_terminal() {
            if let Some(last) = last_poll {
                tokio::time::sleep_until((last + self.limits.min_poll_interval).into()).await;
            }
            last_poll = Some(Instant::now());
            status = self.sapi.status(&id, self.limits.long_poll).await.map_err(service_error)?;
        }
        running.lock().expect("running lock").take();
        match status.status {
            ProblemStatus::Completed => {}
            ProblemStatus::Failed => return Err(failure(&id, status.error_message)),
            ProblemStatus::Cancelled => {
                return Err(ServiceError::Cancelled(format!("SAPI problem {id} was cancelled")));
            }
            ProblemStatus::Pending | ProblemStatus::InProgress => {
                unreachable!("the loop above ends only on a terminal status")
            }
        }
        let answer = match status.answer {
            Some(answer) => answer,
            None => self.sapi.answer(&id).await.map_err(service_error)?,
        };
        answer.decode().map_err(|e| {
            ServiceError::Internal(format!("SAPI problem {id}: the answer cannot be read: {e}"))
        })
    }

    /// Cancels the problem in `running`, if any, in the background (tracked, so a drain waits
    /// for it).
    fn cancel_running(&self, running: &Mutex<Option<String>>) {
        let Some(id) = running.lock().expect("running lock").take() else { return };
        let sapi = self.sapi.clone();
        self.tasks.spawn(async move {
            match sapi.cancel(&id).await {
                Ok(()) => tracing::info!(problem = %id, "SAPI problem cancelled"),
                Err(e) => {
                    tracing::warn!(problem = %id, error = %e, "cancelling the SAPI problem failed")
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_problems_map_by_their_message() {
        let code = |m: &str| status_of(failure("p", Some(m.into()))).code();
        assert_eq!(
            code("Upper limit on user-specified timing related parameters exceeded"),
            tonic::Code::InvalidArgument
        );
        assert_eq!(code("h value out of range"), tonic::Code::InvalidArgument);
        assert_eq!(code("Solver is offline"), tonic::Code::Unavailable);
        assert_eq!(code("internal failure in the QPU controller"), tonic::Code::Aborted);
        let message = status_of(failure("p", None)).message().to_string();
        assert_eq!(message, "SAPI problem p failed: no reason given");
    }

    #[test]
    fn sapi_errors_map_to_the_contracts_codes() {
        use tonic::Code;
        let code = |e: SapiError| status_of(service_error(e)).code();
        assert_eq!(code(SapiError::Unauthorized("x".into())), Code::Unauthenticated);
        assert_eq!(code(SapiError::NotFound("x".into())), Code::NotFound);
        let busy = SapiError::Unavailable { status: 429, message: "x".into(), retry_after: None };
        assert_eq!(code(busy), Code::Unavailable);
        assert_eq!(code(SapiError::Transport("x".into())), Code::Unavailable);
        assert_eq!(
            code(SapiError::Refused { status: 400, message: "x".into() }),
            Code::InvalidArgument
        );
        assert_eq!(code(SapiError::Refused { status: 409, message: "x".into() }), Code::Internal);
        assert_eq!(code(SapiError::Malformed("x".into())), Code::Internal);
    }
}
