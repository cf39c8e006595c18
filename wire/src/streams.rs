//! One `Sample` stream's life, the same for every `qahm.annealer.v1` server (the emulator's
//! annealer-svc and sapi-proxy): requests are read until the client half-closes, the server
//! starts draining or the client leaves; each is checked and admitted (a unique id among the
//! stream's unanswered requests, a slot in the server-wide queue) or refused in-band; admitted
//! ones run concurrently; the stream ends after its jobs with a status that says why.
//!
//! One home for this loop because its details are the contract's: a request that cannot be
//! read ends the call with a status (never OK, see [`unreadable_request_status`]), a full
//! queue is RESOURCE_EXHAUSTED for that request only, a drain ends the stream with UNAVAILABLE.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use qahm_common::error::ServiceError;
use qahm_common::validation::FieldError;
use qahm_proto::pb;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;
use tonic::{Status, Streaming};

use crate::{error_response, status_of, unreadable_request_status};

/// The sending half of a `Sample` response stream.
pub type Outbound = mpsc::Sender<Result<pb::SampleResponse, Status>>;

/// What a server does with the requests of its streams.
pub trait SampleHandler: Clone + Send + Sync + 'static {
    /// A request checked against the solver, ready to run.
    type Job: Send + 'static;

    /// Checks a request (its fields, the solver's ranges): the job, or the refusal the client
    /// gets in-band.
    fn check(
        &self,
        request: &pb::SampleRequest,
    ) -> impl Future<Output = Result<Self::Job, ServiceError>> + Send;

    /// Runs an admitted job, received at `received`, and sends its answer or in-band error
    /// for `request_id` on `tx` (nothing when the client has gone).
    fn run(
        self,
        job: Self::Job,
        request_id: String,
        received: Instant,
        tx: Outbound,
    ) -> impl Future<Output = ()> + Send;
}

/// The server-wide queue of accepted, unanswered requests (clones share it).
#[derive(Clone, Debug)]
pub struct RequestQueue {
    slots: Arc<Semaphore>,
    max_queued: usize,
}

impl RequestQueue {
    pub fn new(max_queued: usize) -> Self {
        RequestQueue { slots: Arc::new(Semaphore::new(max_queued.max(1))), max_queued }
    }

    /// The most requests it holds.
    pub fn capacity(&self) -> usize {
        self.max_queued.max(1)
    }

    /// Requests it holds now.
    pub fn in_use(&self) -> usize {
        self.capacity() - self.slots.available_permits().min(self.capacity())
    }

    /// A slot, held until the permit is dropped; QueueFull when none is left.
    pub fn take(&self) -> Result<OwnedSemaphorePermit, ServiceError> {
        self.slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| ServiceError::QueueFull { max_queued: self.max_queued })
    }
}

/// Serves one `Sample` stream with `handler` until it ends (see the module docs). `draining`
/// is cancelled when the server starts its graceful shutdown.
pub async fn serve_sample_stream<H: SampleHandler>(
    handler: H,
    mut inbound: Streaming<pb::SampleRequest>,
    tx: Outbound,
    queue: RequestQueue,
    draining: CancellationToken,
) {
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut jobs = JoinSet::new();
    // Set when a request could not be read: the call ends with it once the requests read
    // before it are answered, never with OK.
    let mut unreadable = None;
    loop {
        tokio::select! {
            message = inbound.next() => match message {
                Some(Ok(request)) => {
                    let received = Instant::now();
                    match admit(&handler, &request, &in_flight, &queue).await {
                        Ok((job, slot)) => {
                            let (handler, tx, in_flight) =
                                (handler.clone(), tx.clone(), in_flight.clone());
                            let id = request.request_id;
                            jobs.spawn(async move {
                                handler.run(job, id.clone(), received, tx).await;
                                in_flight.lock().expect("in-flight set lock").remove(&id);
                                drop(slot);
                            });
                        }
                        Err(refusal) => {
                            let id = &request.request_id;
                            let status = status_of(refusal);
                            tracing::info!(request_id = %id, code = ?status.code(), message = status.message(), "sample request refused");
                            let _ = tx.send(Ok(error_response(id, &status))).await;
                        }
                    }
                }
                Some(Err(status)) => {
                    let status = unreadable_request_status(&status);
                    tracing::info!(code = ?status.code(), message = status.message(), "sample stream unreadable");
                    unreadable = Some(status);
                    break;
                }
                None => break,
            },
            _ = draining.cancelled() => break,
            _ = tx.closed() => break,
        }
    }
    while jobs.join_next().await.is_some() {}
    if let Some(status) = unreadable {
        let _ = tx.send(Err(status)).await;
    } else if draining.is_cancelled() {
        // Requests the client sent after the drain began were not read: tell it to retry
        // elsewhere or later.
        let _ = tx.send(Err(status_of(ServiceError::ShuttingDown))).await;
    }
}

/// Checks a request, then claims its id on the stream and a queue slot.
async fn admit<H: SampleHandler>(
    handler: &H,
    request: &pb::SampleRequest,
    in_flight: &Mutex<HashSet<String>>,
    queue: &RequestQueue,
) -> Result<(H::Job, OwnedSemaphorePermit), ServiceError> {
    let job = handler.check(request).await?;
    let id = &request.request_id;
    if !in_flight.lock().expect("in-flight set lock").insert(id.clone()) {
        return Err(ServiceError::Invalid(FieldError::new(
            "request_id",
            format!(
                "{id:?} is already in flight on this stream; ids must be unique among unanswered requests"
            ),
        )));
    }
    match queue.take() {
        Ok(slot) => Ok((job, slot)),
        Err(full) => {
            in_flight.lock().expect("in-flight set lock").remove(id);
            Err(full)
        }
    }
}
