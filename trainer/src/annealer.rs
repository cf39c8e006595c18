//! Annealer clients: one trait, two implementations.
//!
//! - [`RemoteAnnealer`] speaks `qahm.annealer.v1` over gRPC: one long-lived `Sample` stream,
//!   per-request deadlines, retries with exponential backoff and jitter on transient errors,
//!   and a fresh connection when the service restarts.
//! - [`InProcessAnnealer`] runs the emulator library in this process: no network, the default.
//!
//! The training loop is synchronous, so the trait is too; the remote client drives its own
//! small tokio runtime.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use qahm_common::convert::{Answer, AnswerAssembler, AnswerError, SampleSpec};
use qahm_common::properties::SolverProperties;
use qahm_common::validation::validate_request;
use qahm_proto::pb::{self, annealer_client::AnnealerClient};
use rand::Rng;
use thiserror::Error;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

/// Why a sampling call failed for good.
#[derive(Debug, Error)]
pub enum AnnealerError {
    #[error("annealer rejected the request: {}", .0.message())]
    Rejected(Status),
    #[error("annealer unavailable after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
    #[error("annealer properties are unusable: {0}")]
    Properties(String),
    #[error("bad annealer address {0:?}: {1}")]
    Address(String, String),
    #[error("annealer answer is malformed: {0}")]
    Malformed(String),
    #[error("cannot start the client runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Something that samples Ising problems: a QPU, a proxy to one, or the emulator.
pub trait Annealer {
    /// The solver's properties (working graph, ranges), as `GetProperties` reports them.
    fn properties(&mut self) -> Result<SolverProperties, AnnealerError>;
    /// Runs one sampling job and returns the whole answer.
    fn sample(&mut self, spec: &SampleSpec) -> Result<Answer, AnnealerError>;
    /// A short description for logs ("in-process DW_2000Q_5", "http://host:port").
    fn describe(&self) -> String;
}

/// The emulator library, in this process.
pub struct InProcessAnnealer {
    device: annealer_svc::Device,
}

impl InProcessAnnealer {
    pub fn new(config: annealer_svc::DeviceConfig) -> Result<Self, AnnealerError> {
        let device = annealer_svc::Device::new(config)
            .map_err(|e| AnnealerError::Properties(e.to_string()))?;
        Ok(InProcessAnnealer { device })
    }
}

impl Annealer for InProcessAnnealer {
    fn properties(&mut self) -> Result<SolverProperties, AnnealerError> {
        Ok(self.device.properties().clone())
    }

    fn sample(&mut self, spec: &SampleSpec) -> Result<Answer, AnnealerError> {
        let started = std::time::Instant::now();
        let request = pb::SampleRequest::from(spec);
        let job = validate_request(&request, self.device.properties())
            .map_err(|e| AnnealerError::Rejected(qahm_common::convert::field_error_status(&e)))?;
        let answer = self
            .device
            .sample(&job, &AtomicBool::new(false))
            .map_err(|e| AnnealerError::Malformed(e.to_string()))?;
        let mut timing = answer.timing;
        timing.server_wall_time = started.elapsed().as_secs_f64() * 1e6;
        Ok(Answer {
            set: answer.set,
            timing,
            num_variables: self.device.properties().graph.num_qubits(),
        })
    }

    fn describe(&self) -> String {
        format!("in-process {}", self.device.properties().name)
    }
}

/// How the remote client retries.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Deadline of one sampling call (connect, send, whole answer).
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            deadline: Duration::from_secs(120),
        }
    }
}

/// Transient failures worth retrying: the service is away, overloaded or restarting.
fn is_transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::ResourceExhausted
            | Code::DeadlineExceeded
            | Code::Aborted
            | Code::Internal
            | Code::Unknown
            | Code::Cancelled
    )
}

struct OpenStream {
    tx: mpsc::Sender<pb::SampleRequest>,
    inbound: tonic::Streaming<pb::SampleResponse>,
}

/// gRPC client of a remote annealer.
pub struct RemoteAnnealer {
    url: String,
    endpoint: Endpoint,
    token: Option<String>,
    retry: RetryPolicy,
    runtime: tokio::runtime::Runtime,
    stream: Option<OpenStream>,
    jitter: rand_xoshiro::Xoshiro256PlusPlus,
}

type Client =
    AnnealerClient<tonic::service::interceptor::InterceptedService<Channel, TokenInterceptor>>;

#[derive(Clone)]
struct TokenInterceptor(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for TokenInterceptor {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(token) = &self.0 {
            request.metadata_mut().insert("authorization", token.clone());
        }
        Ok(request)
    }
}

impl RemoteAnnealer {
    pub fn new(
        url: &str,
        token: Option<String>,
        retry: RetryPolicy,
    ) -> Result<Self, AnnealerError> {
        let endpoint = Endpoint::from_shared(url.to_string())
            .map_err(|e| AnnealerError::Address(url.into(), e.to_string()))?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let jitter = rand::SeedableRng::seed_from_u64(rand::random());
        Ok(RemoteAnnealer {
            url: url.into(),
            endpoint,
            token,
            retry,
            runtime,
            stream: None,
            jitter,
        })
    }

    async fn connect(endpoint: &Endpoint, token: &Option<String>) -> Result<Client, Status> {
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| Status::unavailable(format!("cannot connect: {e}")))?;
        let token = match token {
            Some(t) => Some(
                format!("Bearer {t}")
                    .parse()
                    .map_err(|_| Status::invalid_argument("token is not valid header text"))?,
            ),
            None => None,
        };
        Ok(AnnealerClient::with_interceptor(channel, TokenInterceptor(token)))
    }

    fn backoff(&mut self, attempt: u32) -> Duration {
        let base = self.retry.initial_backoff.as_secs_f64() * 2f64.powi(attempt as i32);
        let capped = base.min(self.retry.max_backoff.as_secs_f64());
        // Full jitter: uniform in [capped/2, capped], so restarted clients do not stampede.
        Duration::from_secs_f64(capped * self.jitter.random_range(0.5..=1.0))
    }

    /// Runs `op` with retries on transient errors; a broken stream is reopened.
    fn with_retries<T>(
        &mut self,
        mut op: impl FnMut(&mut Self) -> Result<T, Status>,
    ) -> Result<T, AnnealerError> {
        let mut last = String::new();
        for attempt in 0..self.retry.max_attempts {
            match op(self) {
                Ok(value) => return Ok(value),
                Err(status) if is_transient(status.code()) => {
                    self.stream = None;
                    last = format!("{:?}: {}", status.code(), status.message());
                    tracing::warn!(attempt, error = %last, url = %self.url, "annealer call failed; retrying");
                    let pause = self.backoff(attempt);
                    std::thread::sleep(pause);
                }
                Err(status) => return Err(AnnealerError::Rejected(status)),
            }
        }
        Err(AnnealerError::Unavailable { attempts: self.retry.max_attempts, last })
    }

    fn sample_once(&mut self, request: &pb::SampleRequest) -> Result<Answer, Status> {
        let endpoint = self.endpoint.clone();
        let token = self.token.clone();
        let deadline = self.retry.deadline;
        let mut stream = self.stream.take();
        let result = self.runtime.block_on(async {
            tokio::time::timeout(deadline, async {
                if stream.is_none() {
                    let mut client = Self::connect(&endpoint, &token).await?;
                    let (tx, rx) = mpsc::channel(16);
                    let inbound = client
                        .sample(tokio_stream::wrappers::ReceiverStream::new(rx))
                        .await?
                        .into_inner();
                    stream = Some(OpenStream { tx, inbound });
                }
                let open = stream.as_mut().expect("opened above");
                open.tx
                    .send(request.clone())
                    .await
                    .map_err(|_| Status::unavailable("sample stream closed"))?;
                let mut assembler = AnswerAssembler::default();
                loop {
                    let chunk = open
                        .inbound
                        .next()
                        .await
                        .unwrap_or_else(|| Err(Status::unavailable("sample stream ended")))?;
                    if chunk.request_id != request.request_id {
                        continue; // an answer to an earlier, abandoned attempt
                    }
                    if let Some(answer) = assembler.push(chunk) {
                        return match answer {
                            Ok(a) => Ok(a),
                            Err(AnswerError::Failed(status)) => Err(status),
                            Err(AnswerError::Malformed(m)) => Err(Status::internal(m)),
                        };
                    }
                }
            })
            .await
            .unwrap_or_else(|_| Err(Status::deadline_exceeded("sampling call timed out")))
        });
        if result.is_ok() {
            self.stream = stream;
        }
        result
    }
}

impl Annealer for RemoteAnnealer {
    fn properties(&mut self) -> Result<SolverProperties, AnnealerError> {
        let endpoint = self.endpoint.clone();
        let token = self.token.clone();
        let deadline = self.retry.deadline;
        let wire = self.with_retries(|me| {
            me.runtime.block_on(async {
                let mut client = Self::connect(&endpoint, &token).await?;
                let mut request = tonic::Request::new(pb::GetPropertiesRequest {});
                request.set_timeout(deadline);
                Ok(client.get_properties(request).await?.into_inner())
            })
        })?;
        SolverProperties::try_from(wire).map_err(|e| AnnealerError::Properties(e.to_string()))
    }

    fn sample(&mut self, spec: &SampleSpec) -> Result<Answer, AnnealerError> {
        let request = pb::SampleRequest::from(spec);
        self.with_retries(|me| me.sample_once(&request))
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qahm_common::sampleset::AnswerMode;

    fn spec() -> SampleSpec {
        SampleSpec {
            request_id: "t".into(),
            h: vec![(0, 0.5)],
            j: vec![(0, 4, -1.0)],
            num_reads: 20,
            annealing_time: Some(5.0),
            auto_scale: Some(false),
            answer_mode: AnswerMode::Raw,
            seed: Some(3),
            label: String::new(),
        }
    }

    #[test]
    fn in_process_annealer_answers_and_validates() {
        let mut annealer = InProcessAnnealer::new(annealer_svc::DeviceConfig {
            device_seed: Some(1),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(annealer.properties().unwrap().graph.qubits().len(), 2030);
        let answer = annealer.sample(&spec()).unwrap();
        assert_eq!(answer.set.num_rows(), 20);
        let mut bad = spec();
        bad.annealing_time = Some(4.0);
        match annealer.sample(&bad) {
            Err(AnnealerError::Rejected(status)) => {
                assert_eq!(status.code(), Code::InvalidArgument);
                assert!(status.message().starts_with("annealing_time"));
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn unreachable_remote_fails_after_bounded_retries() {
        let retry = RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            deadline: Duration::from_secs(2),
        };
        // Port 9 on loopback (discard) is closed on a test machine: connection refused.
        let mut remote = RemoteAnnealer::new("http://127.0.0.1:9", None, retry).unwrap();
        match remote.sample(&spec()) {
            Err(AnnealerError::Unavailable { attempts: 3, .. }) => {}
            other => panic!("expected Unavailable after 3 attempts, got {other:?}"),
        }
    }
}
