//! The gRPC client of a remote annealer: one long-lived `Sample` stream (one stream per call
//! to a pool, so that calls spread over its replicas), per-call deadlines, retries with
//! exponential backoff and jitter on transient codes only, and a fresh connection when the
//! service restarts. With `balance.rs`, the only modules of the trainer that know tonic.

use std::time::Duration;

use qahm_common::answer::Answer;
use qahm_common::properties::SolverProperties;
use qahm_common::request::SampleRequest;
use qahm_proto::pb::{self, annealer_client::AnnealerClient};
use qahm_wire::tls::ClientTls;
use qahm_wire::{AnswerAssembler, AnswerError, FromProto, ToProto, field_error_of};
use rand::Rng;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tonic::transport::{Channel, Endpoint};

use tonic::{Code, Status};

use super::balance::{self, Resolve};
use super::{Annealer, AnnealerError};

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

/// Whether a code is worth another attempt: only when the service is away, overloaded,
/// restarting or slow. Every code is listed, so a new one is a compile error, not a guess.
fn is_transient(code: Code) -> bool {
    match code {
        Code::Unavailable | Code::ResourceExhausted | Code::DeadlineExceeded | Code::Aborted => {
            true
        }
        Code::Ok
        | Code::Cancelled
        | Code::Unknown
        | Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::Unimplemented
        | Code::Internal
        | Code::DataLoss
        | Code::Unauthenticated => false,
    }
}

/// Whether a failed call is worth another attempt: a transient code, or any failure of the
/// connection itself. tonic makes a status from a transport error with that error as its
/// source (a status the service sent has none), and a connection reset mid-stream — the
/// annealer killed and restarting — arrives as UNKNOWN "h2 protocol error: …".
fn is_retryable(status: &Status) -> bool {
    is_transient(status.code()) || std::error::Error::source(status).is_some()
}

/// One failed attempt: a status (from the service or the transport), or an answer that cannot
/// be reassembled (never retried: asking again would not mend the server).
#[derive(Debug)]
enum Failure {
    Status(Status),
    Malformed(String),
}

impl From<Status> for Failure {
    fn from(status: Status) -> Self {
        Failure::Status(status)
    }
}

/// A refusal for good: a field error exactly as the in-process client reports it, anything
/// else by its code name and message.
fn refusal(status: &Status) -> AnnealerError {
    match field_error_of(status) {
        Some(e) => AnnealerError::Invalid(e),
        None => AnnealerError::Rejected {
            code: format!("{:?}", status.code()),
            message: status.message().to_string(),
        },
    }
}

struct OpenStream {
    tx: mpsc::Sender<pb::SampleRequest>,
    inbound: tonic::Streaming<pb::SampleResponse>,
}

/// Where a client's connections come from: a fresh one for each stream it opens, one
/// shared HTTP/2 connection (which reconnects by itself) for every client of an address, or
/// a pool of replicas balanced per call.
#[derive(Clone)]
enum Link {
    Own(Box<Endpoint>),
    Shared(Channel),
    Pool(Channel),
}

impl Link {
    async fn channel(&self) -> Result<Channel, Status> {
        match self {
            Link::Own(endpoint) => endpoint
                .connect()
                .await
                .map_err(|e| Status::unavailable(format!("cannot connect: {e}"))),
            Link::Shared(channel) | Link::Pool(channel) => Ok(channel.clone()),
        }
    }

    /// The link of `url`: a pool for `dns:///host:port`, else a connection of its own.
    /// Called within the client's runtime (a pool's balancer runs on it).
    fn own(url: &str, tls: &ClientTls) -> Result<Link, AnnealerError> {
        if balance::is_pool(url) {
            Ok(Link::Pool(balance::pool_channel(balance::dns(url)?, balance::REFRESH)))
        } else {
            Ok(Link::Own(Box::new(endpoint(url, tls)?)))
        }
    }
}

/// An endpoint for `url`: TLS (trusting `tls`) for `https://`, plaintext for `http://`.
fn endpoint(url: &str, tls: &ClientTls) -> Result<Endpoint, AnnealerError> {
    Ok(qahm_wire::tls::endpoint(url, tls)
        .map_err(|e| AnnealerError::Address(url.into(), e.to_string()))?
        .connect_timeout(Duration::from_secs(5))
        // An annealer that went away without closing the connection (a container moved to
        // another address, a cut network) is noticed in seconds, not at the call deadline.
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(5))
        .keep_alive_while_idle(true)
        .tcp_nodelay(true))
}

/// One connection per annealer address, shared by every client made through it: the trainer
/// service's runs multiplex their `Sample` streams over it. Connections are opened lazily on
/// the runtime given at creation, which must outlive the clients.
pub struct SharedConnections {
    runtime: tokio::runtime::Handle,
    channels: std::sync::Mutex<std::collections::HashMap<String, Channel>>,
}

impl SharedConnections {
    pub fn new(runtime: tokio::runtime::Handle) -> Self {
        SharedConnections { runtime, channels: Default::default() }
    }

    /// A client of `url` over the shared connection to it (opened trusting `tls` when the
    /// address is `https://`).
    pub fn client(
        &self,
        url: &str,
        token: Option<String>,
        tls: &ClientTls,
        retry: RetryPolicy,
    ) -> Result<RemoteAnnealer, AnnealerError> {
        let channel = {
            let mut channels = self.channels.lock().expect("connection map lock");
            match channels.get(url) {
                Some(channel) => channel.clone(),
                None => {
                    let _entered = self.runtime.enter();
                    let channel = if balance::is_pool(url) {
                        balance::pool_channel(balance::dns(url)?, balance::REFRESH)
                    } else {
                        endpoint(url, tls)?.connect_lazy()
                    };
                    channels.insert(url.to_string(), channel.clone());
                    channel
                }
            }
        };
        let link = if balance::is_pool(url) { Link::Pool(channel) } else { Link::Shared(channel) };
        RemoteAnnealer::with_link(url, |_| Ok(link), token, retry)
    }

    /// Addresses with an open (or opening) connection.
    pub fn len(&self) -> usize {
        self.channels.lock().expect("connection map lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for SharedConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedConnections").field("addresses", &self.len()).finish()
    }
}

/// gRPC client of a remote annealer.
pub struct RemoteAnnealer {
    url: String,
    link: Link,
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
    /// A client with a connection of its own (TLS trusting the system's roots for an
    /// `https://` address).
    pub fn new(
        url: &str,
        token: Option<String>,
        retry: RetryPolicy,
    ) -> Result<Self, AnnealerError> {
        Self::with_tls(url, token, &ClientTls::default(), retry)
    }

    /// A client with a connection of its own, trusting `tls` for an `https://` address.
    pub fn with_tls(
        url: &str,
        token: Option<String>,
        tls: &ClientTls,
        retry: RetryPolicy,
    ) -> Result<Self, AnnealerError> {
        Self::with_link(url, |url| Link::own(url, tls), token, retry)
    }

    /// A client of the pool whose addresses `resolve` gives (looked up again every
    /// `refresh`), one call per replica chosen by power of two choices: what `dns:///host:port`
    /// does with the system's resolver.
    pub fn pool(
        name: &str,
        resolve: Resolve,
        refresh: Duration,
        token: Option<String>,
        retry: RetryPolicy,
    ) -> Result<Self, AnnealerError> {
        let link = |_: &str| Ok(Link::Pool(balance::pool_channel(resolve, refresh)));
        Self::with_link(name, link, token, retry)
    }

    /// A client whose link `link` makes (within the client's runtime) for `url`.
    fn with_link(
        url: &str,
        link: impl FnOnce(&str) -> Result<Link, AnnealerError>,
        token: Option<String>,
        retry: RetryPolicy,
    ) -> Result<Self, AnnealerError> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let link = {
            let _entered = runtime.enter();
            link(url)?
        };
        let jitter = rand::SeedableRng::seed_from_u64(rand::random());
        Ok(RemoteAnnealer { url: url.into(), link, token, retry, runtime, stream: None, jitter })
    }

    async fn connect(link: &Link, token: &Option<String>) -> Result<Client, Status> {
        let channel = link.channel().await?;
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

    /// Runs `op` with retries on transient codes; a broken stream is reopened.
    fn with_retries<T>(
        &mut self,
        mut op: impl FnMut(&mut Self) -> Result<T, Failure>,
    ) -> Result<T, AnnealerError> {
        let mut last = String::new();
        for attempt in 0..self.retry.max_attempts {
            let status = match op(self) {
                Ok(value) => return Ok(value),
                Err(Failure::Malformed(m)) => return Err(AnnealerError::Malformed(m)),
                Err(Failure::Status(status)) if is_retryable(&status) => status,
                Err(Failure::Status(status)) => return Err(refusal(&status)),
            };
            self.stream = None;
            last = format!("{:?}: {}", status.code(), status.message());
            tracing::warn!(attempt, error = %last, url = %self.url, "annealer call failed; retrying");
            let pause = self.backoff(attempt);
            std::thread::sleep(pause);
        }
        Err(AnnealerError::Unavailable { attempts: self.retry.max_attempts, last })
    }

    fn sample_once(&mut self, request: &pb::SampleRequest) -> Result<Answer, Failure> {
        let link = self.link.clone();
        let token = self.token.clone();
        let deadline = self.retry.deadline;
        let mut stream = self.stream.take();
        let result = self.runtime.block_on(async {
            tokio::time::timeout(deadline, async {
                if stream.is_none() {
                    let mut client = Self::connect(&link, &token).await?;
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
                        return answer.map_err(|e| match e {
                            AnswerError::Failed(status) => Failure::Status(status),
                            AnswerError::Malformed(m) => Failure::Malformed(m),
                        });
                    }
                }
            })
            .await
            .unwrap_or_else(|_| Err(Status::deadline_exceeded("sampling call timed out").into()))
        });
        // A pool's calls each open a stream of their own: the balancer picks a replica per
        // stream, so one kept open would keep every call on one replica.
        if result.is_ok() && !matches!(self.link, Link::Pool(_)) {
            self.stream = stream;
        }
        result
    }
}

impl Annealer for RemoteAnnealer {
    fn properties(&mut self) -> Result<SolverProperties, AnnealerError> {
        let link = self.link.clone();
        let token = self.token.clone();
        let deadline = self.retry.deadline;
        let wire = self.with_retries(|me| {
            me.runtime.block_on(async {
                let mut client = Self::connect(&link, &token).await?;
                let mut request = tonic::Request::new(pb::GetPropertiesRequest {});
                request.set_timeout(deadline);
                Ok(client.get_properties(request).await?.into_inner())
            })
        })?;
        SolverProperties::from_proto(wire).map_err(|e| AnnealerError::Properties(e.to_string()))
    }

    fn sample(&mut self, request: &SampleRequest) -> Result<Answer, AnnealerError> {
        let request = request.to_proto();
        self.with_retries(|me| me.sample_once(&request))
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use qahm_common::error::ServiceError;
    use qahm_common::validation::FieldError;
    use qahm_wire::{error_response, status_of};

    use super::*;
    use crate::annealer::test_request;

    #[test]
    fn only_unavailable_overload_deadline_and_abort_are_transient() {
        let decisions = [
            (Code::Ok, false),
            (Code::Cancelled, false),
            (Code::Unknown, false),
            (Code::InvalidArgument, false),
            (Code::DeadlineExceeded, true),
            (Code::NotFound, false),
            (Code::AlreadyExists, false),
            (Code::PermissionDenied, false),
            (Code::ResourceExhausted, true),
            (Code::FailedPrecondition, false),
            (Code::Aborted, true),
            (Code::OutOfRange, false),
            (Code::Unimplemented, false),
            (Code::Internal, false),
            (Code::Unavailable, true),
            (Code::DataLoss, false),
            (Code::Unauthenticated, false),
        ];
        for (number, &(code, transient)) in decisions.iter().enumerate() {
            assert_eq!(code as usize, number, "the table lists the codes in order");
            assert_eq!(is_transient(code), transient, "{code:?}");
        }
    }

    #[test]
    fn a_broken_connection_is_retried_whatever_its_code_and_a_refusal_is_not() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let broken = Status::from_error(Box::new(reset));
        assert_eq!(broken.code(), Code::Unknown);
        assert!(is_retryable(&broken), "a transport failure");
        assert!(!is_retryable(&Status::unknown("the service said so")));
        assert!(!is_retryable(&Status::invalid_argument("h: out of range")));
        assert!(is_retryable(&Status::unavailable("draining")));
    }

    fn quick_retries(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            deadline: Duration::from_secs(5),
        }
    }

    #[test]
    fn unreachable_remote_fails_after_bounded_retries() {
        // Port 9 on loopback (discard) is closed on a test machine: connection refused.
        let mut remote = RemoteAnnealer::new("http://127.0.0.1:9", None, quick_retries(3)).unwrap();
        match remote.sample(&test_request("t")) {
            Err(AnnealerError::Unavailable { attempts: 3, .. }) => {}
            other => panic!("expected Unavailable after 3 attempts, got {other:?}"),
        }
    }

    /// A fake annealer that answers each request by its id and counts the requests it gets.
    #[derive(Clone, Default)]
    struct Scripted {
        requests: Arc<AtomicUsize>,
    }

    fn reply_to(id: &str) -> pb::SampleResponse {
        let refuse = |e: ServiceError| error_response(id, &status_of(e));
        match id {
            // One last chunk with no timing block: cannot be reassembled.
            "garbage" => {
                pb::SampleResponse { request_id: id.into(), last_chunk: true, ..Default::default() }
            }
            "invalid" => refuse(ServiceError::Invalid(FieldError::new("num_reads", "too many"))),
            "busy" => refuse(ServiceError::QueueFull { max_queued: 1 }),
            _ => refuse(ServiceError::Internal("sampling failed".into())),
        }
    }

    type Replies =
        Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::SampleResponse, Status>> + Send>>;

    #[tonic::async_trait]
    impl pb::annealer_server::Annealer for Scripted {
        async fn get_properties(
            &self,
            _request: tonic::Request<pb::GetPropertiesRequest>,
        ) -> Result<tonic::Response<pb::SolverProperties>, Status> {
            Err(Status::unimplemented("not scripted"))
        }

        type SampleStream = Replies;

        async fn sample(
            &self,
            request: tonic::Request<tonic::Streaming<pb::SampleRequest>>,
        ) -> Result<tonic::Response<Replies>, Status> {
            let requests = self.requests.clone();
            let replies = request.into_inner().map(move |r| {
                requests.fetch_add(1, Ordering::SeqCst);
                Ok(reply_to(&r?.request_id))
            });
            Ok(tonic::Response::new(Box::pin(replies)))
        }
    }

    #[test]
    fn only_transient_refusals_are_retried_and_malformed_answers_never() {
        let server = tokio::runtime::Runtime::new().unwrap();
        let listener = server.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let scripted = Scripted::default();
        let requests = scripted.requests.clone();
        server.spawn(
            tonic::transport::Server::builder()
                .add_service(pb::annealer_server::AnnealerServer::new(scripted))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        let mut remote = RemoteAnnealer::new(&url, None, quick_retries(3)).unwrap();
        let mut ask = |id: &str| {
            let before = requests.load(Ordering::SeqCst);
            let result = remote.sample(&test_request(id));
            (result, requests.load(Ordering::SeqCst) - before)
        };
        match ask("garbage") {
            (Err(AnnealerError::Malformed(m)), 1) => assert_eq!(m, "no timing block"),
            other => panic!("expected one malformed answer, got {other:?}"),
        }
        match ask("invalid") {
            (Err(AnnealerError::Invalid(e)), 1) => {
                assert_eq!(e, FieldError::new("num_reads", "too many"))
            }
            other => panic!("expected one field error, got {other:?}"),
        }
        match ask("internal") {
            (Err(AnnealerError::Rejected { code, message }), 1) => {
                assert_eq!((code.as_str(), message.as_str()), ("Internal", "sampling failed"))
            }
            other => panic!("expected one INTERNAL refusal, got {other:?}"),
        }
        match ask("busy") {
            (Err(AnnealerError::Unavailable { attempts: 3, last }), 3) => {
                assert!(last.starts_with("ResourceExhausted: queue full"), "{last}")
            }
            other => panic!("expected three attempts, got {other:?}"),
        }
    }
}
