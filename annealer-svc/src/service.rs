//! tonic glue for `qahm.annealer.v1.Annealer`: wire → domain request → validate → queue →
//! device → chunked answer. Every refusal is a `ServiceError`, mapped to a status in one
//! place (`qahm_wire::status_of`).
//!
//! Each `Sample` stream is served by one task that reads requests and starts a job task per
//! request; jobs of one stream and of different streams run concurrently, bounded by a
//! server-wide queue (a full queue answers RESOURCE_EXHAUSTED) and a smaller number of jobs
//! sampling at once. CPU work leaves the runtime through `spawn_blocking`; a job whose client
//! went away is cancelled cooperatively.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::Stream;
use qahm_common::error::ServiceError;
use qahm_common::request::SampleRequest;
use qahm_common::validation::{FieldError, SampleJob, validate};
use qahm_emulator::Device;
use qahm_proto::pb;
use qahm_wire::{
    FromProto, ToProto, answer_chunks, error_response, status_of, unreadable_request_status,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_stream::StreamExt;
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

/// The Annealer service over one device.
#[derive(Clone)]
pub struct AnnealerService {
    device: Arc<Device>,
    properties: Arc<pb::SolverProperties>,
    limits: ServiceLimits,
    queue: Arc<Semaphore>,
    running: Arc<Semaphore>,
    draining: CancellationToken,
}

impl AnnealerService {
    /// `draining` is cancelled when the server starts its graceful shutdown: from then on new
    /// requests are refused with UNAVAILABLE and streams close once their jobs are answered.
    pub fn new(device: Arc<Device>, limits: ServiceLimits, draining: CancellationToken) -> Self {
        let properties = Arc::new(device.properties().to_proto());
        AnnealerService {
            queue: Arc::new(Semaphore::new(limits.max_queued.max(1))),
            running: Arc::new(Semaphore::new(limits.max_concurrent.max(1))),
            device,
            properties,
            limits,
            draining,
        }
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
        tokio::spawn(self.clone().serve_stream(inbound, tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

type Outbound = mpsc::Sender<Result<pb::SampleResponse, Status>>;

impl AnnealerService {
    /// Reads one stream's requests until the client half-closes or the server drains, then
    /// waits for that stream's jobs and ends the stream.
    async fn serve_stream(self, mut inbound: Streaming<pb::SampleRequest>, tx: Outbound) {
        let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
        let mut jobs = JoinSet::new();
        // Set when a request could not be read: the call ends with it once the requests read
        // before it are answered, never with OK.
        let mut unreadable = None;
        loop {
            tokio::select! {
                message = inbound.next() => match message {
                    Some(Ok(request)) => self.accept(request, &tx, &in_flight, &mut jobs).await,
                    Some(Err(status)) => {
                        let status = unreadable_request_status(&status);
                        tracing::info!(code = ?status.code(), message = status.message(), "sample stream unreadable");
                        unreadable = Some(status);
                        break;
                    }
                    None => break,
                },
                _ = self.draining.cancelled() => break,
                _ = tx.closed() => break,
            }
        }
        while jobs.join_next().await.is_some() {}
        if let Some(status) = unreadable {
            let _ = tx.send(Err(status)).await;
        } else if self.draining.is_cancelled() {
            // Requests the client sent after the drain began were not read: tell it to retry
            // elsewhere or later.
            let _ = tx.send(Err(status_of(ServiceError::ShuttingDown))).await;
        }
    }

    /// Checks a request and takes its queue slot: a job ready to run, or the refusal.
    fn admit(
        &self,
        request: &pb::SampleRequest,
        in_flight: &Mutex<HashSet<String>>,
    ) -> Result<(SampleJob, OwnedSemaphorePermit), ServiceError> {
        let job = validate(&SampleRequest::from_proto(request)?, self.device.properties())?;
        let id = &job.request_id;
        if !in_flight.lock().expect("in-flight set lock").insert(id.clone()) {
            return Err(ServiceError::Invalid(FieldError::new(
                "request_id",
                format!(
                    "{id:?} is already in flight on this stream; ids must be unique among unanswered requests"
                ),
            )));
        }
        let Ok(queue_permit) = self.queue.clone().try_acquire_owned() else {
            in_flight.lock().expect("in-flight set lock").remove(id);
            return Err(ServiceError::QueueFull { max_queued: self.limits.max_queued });
        };
        Ok((job, queue_permit))
    }

    async fn accept(
        &self,
        request: pb::SampleRequest,
        tx: &Outbound,
        in_flight: &Arc<Mutex<HashSet<String>>>,
        jobs: &mut JoinSet<()>,
    ) {
        let received = Instant::now();
        let (job, queue_permit) = match self.admit(&request, in_flight) {
            Ok(admitted) => admitted,
            Err(refusal) => {
                let id = &request.request_id;
                let status = status_of(refusal);
                tracing::info!(request_id = %id, code = ?status.code(), message = status.message(), "sample request refused");
                let _ = tx.send(Ok(error_response(id, &status))).await;
                return;
            }
        };
        let service = self.clone();
        let tx = tx.clone();
        let in_flight = in_flight.clone();
        jobs.spawn(async move {
            let id = job.request_id.clone();
            service.run_job(job, received, &tx).await;
            in_flight.lock().expect("in-flight set lock").remove(&id);
            drop(queue_permit);
        });
    }

    async fn run_job(&self, job: SampleJob, received: Instant, tx: &Outbound) {
        let Ok(_running) = self.running.acquire().await else { return };
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
