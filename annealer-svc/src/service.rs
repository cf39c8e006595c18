//! tonic glue for `qahm.annealer.v1.Annealer`: wire → domain request → validate → queue →
//! device → chunked answer. Every refusal is a `ServiceError`, mapped to a status in one
//! place (`qahm_wire::status_of`).
//!
//! Each `Sample` stream is served by `wire::streams` (one task reading requests, a job task per
//! request; jobs of one stream and of different streams run concurrently, bounded by a
//! server-wide queue: a full queue answers RESOURCE_EXHAUSTED), and a smaller number of jobs
//! sample at once. CPU work leaves the runtime through `spawn_blocking`; a job whose client
//! went away is cancelled cooperatively.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::Stream;
use qahm_common::error::ServiceError;
use qahm_common::request::SampleRequest;
use qahm_common::validation::{SampleJob, validate};
use qahm_emulator::Device;
use qahm_proto::pb;
use qahm_wire::streams::{Outbound, RequestQueue, SampleHandler, serve_sample_stream};
use qahm_wire::{FromProto, ToProto, answer_chunks, error_response, status_of};
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

/// Limits and behaviour of the service (not of the device).
#[derive(Clone, Debug)]
pub struct ServiceLimits {
    /// Requests accepted and not yet answered, across all streams; more get RESOURCE_EXHAUSTED.
    pub max_queued: usize,
    /// Jobs sampling at the same time (each one already uses every core).
    pub max_concurrent: usize,
    /// Payload bytes per response chunk (well under gRPC's 4 MiB default).
    pub max_chunk_bytes: usize,
    /// Hold each answer until the modelled QPU access time has passed since receipt.
    pub pacing: bool,
}

impl Default for ServiceLimits {
    fn default() -> Self {
        ServiceLimits {
            max_queued: 64,
            max_concurrent: 2,
            max_chunk_bytes: 512 * 1024,
            pacing: false,
        }
    }
}

/// The machine's one queue and its sampling slots, shared by every front of a server (gRPC
/// and SAPI), as a QPU has one queue whoever submits: `max_queued` problems accepted and
/// unanswered in all, `max_concurrent` of them sampling. Clones share them.
#[derive(Clone, Debug)]
pub struct Capacity {
    pub queue: RequestQueue,
    pub running: Arc<Semaphore>,
}

impl Capacity {
    pub fn new(limits: &ServiceLimits) -> Self {
        Capacity {
            queue: RequestQueue::new(limits.max_queued),
            running: Arc::new(Semaphore::new(limits.max_concurrent.max(1))),
        }
    }
}

/// The Annealer service over one device.
#[derive(Clone)]
pub struct AnnealerService {
    device: Arc<Device>,
    properties: Arc<pb::SolverProperties>,
    limits: ServiceLimits,
    capacity: Capacity,
    draining: CancellationToken,
}

impl AnnealerService {
    /// `draining` is cancelled when the server starts its graceful shutdown: from then on new
    /// requests are refused with UNAVAILABLE and streams close once their jobs are answered.
    /// `capacity` is the server's, shared with its SAPI front.
    pub fn new(
        device: Arc<Device>,
        limits: ServiceLimits,
        capacity: Capacity,
        draining: CancellationToken,
    ) -> Self {
        let properties = Arc::new(device.properties().to_proto());
        AnnealerService { capacity, device, properties, limits, draining }
    }
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<pb::SampleResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::annealer_server::Annealer for AnnealerService {
    async fn get_properties(
        &self,
        _request: Request<pb::GetPropertiesRequest>,
    ) -> Result<Response<pb::SolverProperties>, Status> {
        Ok(Response::new((*self.properties).clone()))
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
        let (queue, draining) = (self.capacity.queue.clone(), self.draining.clone());
        tokio::spawn(serve_sample_stream(self.clone(), inbound, tx, queue, draining));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

impl SampleHandler for AnnealerService {
    type Job = SampleJob;

    async fn check(&self, request: &pb::SampleRequest) -> Result<SampleJob, ServiceError> {
        Ok(validate(&SampleRequest::from_proto(request)?, self.device.properties())?)
    }

    async fn run(self, job: SampleJob, _request_id: String, received: Instant, tx: Outbound) {
        self.run_job(job, received, &tx).await;
    }
}

impl AnnealerService {
    async fn run_job(&self, job: SampleJob, received: Instant, tx: &Outbound) {
        let Ok(_running) = self.capacity.running.acquire().await else { return };
        let cancel = Arc::new(AtomicBool::new(false));
        let device = self.device.clone();
        let (job_for_device, cancel_for_device) = (job.clone(), cancel.clone());
        let mut work =
            tokio::task::spawn_blocking(move || device.sample(&job_for_device, &cancel_for_device));
        let outcome = tokio::select! {
            outcome = &mut work => outcome,
            _ = tx.closed() => {
                cancel.store(true, Ordering::Relaxed);
                let _ = work.await;
                tracing::info!(request_id = %job.request_id, "client went away; sampling cancelled");
                return;
            }
        };
        let mut answer = match outcome {
            Ok(Ok(answer)) => answer,
            Ok(Err(_cancelled)) => return,
            Err(join_error) => {
                tracing::error!(request_id = %job.request_id, %join_error, "sampling task failed");
                let status = status_of(ServiceError::Internal("sampling failed".into()));
                let _ = tx.send(Ok(error_response(&job.request_id, &status))).await;
                return;
            }
        };
        if self.limits.pacing {
            let access = Duration::from_secs_f64(answer.timing.qpu_access_time * 1e-6);
            tokio::time::sleep_until((received + access).into()).await;
        }
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
            qubits = job.problem.num_variables(),
            couplers = job.problem.quadratic.len(),
            num_reads = job.num_reads,
            annealing_time_us = job.annealing_time,
            rows = answer.set.num_rows(),
            chunks = num_chunks,
            wall_ms = answer.timing.server_wall_time / 1e3,
            qpu_access_us = answer.timing.qpu_access_time,
            "sampled"
        );
    }
}
