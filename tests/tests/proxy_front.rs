//! sapi-proxy in front of annealer-svc's own SAPI front: gRPC → sapi-proxy → HTTP →
//! `annealer-svc --sapi-listen` → the emulator, every server real and in-process on ephemeral
//! loopback ports. Between the proxy and the front sits a small fault-injecting relay (axum
//! in, hyper out) that counts every request by method and path and, when told, answers in the
//! front's place or rewrites the front's reply. Where the front can produce a state itself (a
//! refused token, an unknown solver, a problem cancelled at the server, a problem that waits)
//! it does; the relay injects only what it cannot (429 with Retry-After, 500, FAILED).

// The relay's handler returns early with a finished `Response` (axum's idiom).
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use annealer_svc::sapi_front::SapiOptions;
use annealer_svc::service::ServiceLimits;
use annealer_svc::{Device, DeviceConfig, ServerConfig, Solver};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use qahm_common::answer::Answer;
use qahm_common::properties::SolverProperties;
use qahm_common::topology::WorkingGraph;
use qahm_proto::pb::{self, annealer_client::AnnealerClient};
use qahm_sapi::{
    ApiVersion, BatchItem, ProblemJob, ProblemStatus, ProblemStatusRecord, ProblemType, Resource,
    SolverRef, encode_qp,
};
use qahm_wire::{AnswerAssembler, AnswerError, FromProto};
use sapi_proxy::ProxyConfig;
use sapi_proxy::client::RetryPolicy;
use sapi_proxy::service::ProxyLimits;
use sapi_proxy::token::ApiToken;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;
use trainer::config::{Preset, PriorKind, RunConfig};
use trainer::run::{self, Connection, Trainer, TrainingState, UpdateMetrics};

/// The front's SAPI token.
const TOKEN: &str = "front-token";
/// The proxy's read retries: quick backoff so that only a `Retry-After` makes them slow.
const RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    initial_backoff: Duration::from_millis(5),
    max_backoff: Duration::from_secs(5),
};
/// Bound on every wait of a test.
const PATIENCE: Duration = Duration::from_secs(20);

// ---- the fault-injecting relay ------------------------------------------------------------

/// What the relay does to a request that matches a [`Fault`].
#[derive(Clone, Debug)]
enum Injection {
    /// Answer in the front's place (the front never sees the request) with this HTTP status,
    /// SAPI's error body and, when set, `Retry-After` (seconds).
    Reply { status: u16, retry_after: Option<u64> },
    /// Forward, then rewrite every status record of the front's reply to FAILED with this
    /// `error_message` (the front cannot fail a problem on demand).
    Fail { message: String },
}

#[derive(Clone, Debug)]
struct Fault {
    method: Method,
    /// Prefix of the path and query, e.g. `/sapi/v2/problems/?id=`.
    prefix: String,
    injection: Injection,
    /// How many more requests it applies to.
    times: usize,
}

/// One request the relay saw: method, path with query, the reply's status.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    status: u16,
}

struct Relay {
    upstream: String,
    http: Client<HttpConnector, Full<Bytes>>,
    faults: Mutex<Vec<Fault>>,
    log: Mutex<Vec<Seen>>,
    /// Ids of the problems the front accepted from a `POST problems/` the relay forwarded.
    submitted: Mutex<Vec<String>>,
    /// Bodies of every `POST problems/`, as JSON.
    submit_bodies: Mutex<Vec<Value>>,
}

impl Relay {
    fn inject(&self, method: Method, prefix: &str, injection: Injection, times: usize) {
        let prefix = prefix.to_string();
        self.faults.lock().unwrap().push(Fault { method, prefix, injection, times });
    }

    /// Requests seen with this method whose path and query start with `prefix`.
    fn count(&self, method: &Method, prefix: &str) -> usize {
        let log = self.log.lock().unwrap();
        log.iter().filter(|s| s.method == method && s.path.starts_with(prefix)).count()
    }

    /// The reply statuses of those requests, in order.
    fn statuses(&self, method: &Method, prefix: &str) -> Vec<u16> {
        let log = self.log.lock().unwrap();
        let seen = log.iter().filter(|s| s.method == method && s.path.starts_with(prefix));
        seen.map(|s| s.status).collect()
    }

    fn submits(&self) -> usize {
        self.count(&Method::POST, "/sapi/v2/problems/")
    }

    fn solver_reads(&self) -> usize {
        self.count(&Method::GET, "/sapi/v2/solvers/remote/")
    }

    fn polls_of(&self, id: &str) -> usize {
        self.count(&Method::GET, &format!("/sapi/v2/problems/?id={id}"))
    }

    fn take_fault(&self, method: &Method, path: &str) -> Option<Injection> {
        let mut faults = self.faults.lock().unwrap();
        let fault = faults
            .iter_mut()
            .find(|f| f.times > 0 && f.method == method && path.starts_with(&f.prefix))?;
        fault.times -= 1;
        Some(fault.injection.clone())
    }

    /// Waits (bounded) until the relay has forwarded the `n`th accepted submit; its id.
    async fn nth_submitted(&self, n: usize) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(id) = self.submitted.lock().unwrap().get(n) {
                return id.clone();
            }
            assert!(Instant::now() < deadline, "no submit number {n} reached the front");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn sapi_error(status: u16, message: &str, retry_after: Option<u64>) -> Response {
    let body = serde_json::to_vec(&json!({"error_code": status, "error_msg": message})).unwrap();
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    if let Some(seconds) = retry_after {
        response.headers_mut().insert("retry-after", seconds.into());
    }
    response
}

async fn relay(State(relay): State<Arc<Relay>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    if parts.method == Method::POST {
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        relay.submit_bodies.lock().unwrap().push(json);
    }
    let fault = relay.take_fault(&parts.method, &path);
    let response = match fault {
        Some(Injection::Reply { status, retry_after }) => {
            sapi_error(status, "injected by the test's relay", retry_after)
        }
        _ => {
            let mut forward = http::Request::builder()
                .method(parts.method.clone())
                .uri(format!("{}{path}", relay.upstream));
            for (name, value) in &parts.headers {
                if name != http::header::HOST {
                    forward = forward.header(name, value);
                }
            }
            let forwarded = relay.http.request(forward.body(Full::new(body)).unwrap()).await;
            let (mut head, body) = forwarded.expect("the front answers").into_parts();
            let mut body = body.collect().await.unwrap().to_bytes();
            if parts.method == Method::POST && head.status == StatusCode::OK {
                let items: Vec<BatchItem> = serde_json::from_slice(&body).unwrap();
                for item in items {
                    if let BatchItem::Status(status) = item {
                        relay.submitted.lock().unwrap().push(status.id);
                    }
                }
            }
            if let Some(Injection::Fail { message }) = fault {
                let mut records: Vec<Value> = serde_json::from_slice(&body).unwrap();
                for record in &mut records {
                    record["status"] = json!("FAILED");
                    record["error_message"] = json!(message);
                }
                body = serde_json::to_vec(&records).unwrap().into();
                head.headers.remove(http::header::CONTENT_LENGTH);
            }
            Response::from_parts(head, Body::from(body))
        }
    };
    let status = response.status().as_u16();
    relay.log.lock().unwrap().push(Seen { method: parts.method, path, status });
    response
}

async fn start_relay(upstream: SocketAddr) -> (Arc<Relay>, SocketAddr) {
    let relay_state = Arc::new(Relay {
        upstream: format!("http://{upstream}"),
        http: Client::builder(TokioExecutor::new()).build_http(),
        faults: Mutex::default(),
        log: Mutex::default(),
        submitted: Mutex::default(),
        submit_bodies: Mutex::default(),
    });
    let app = axum::Router::new().fallback(relay).with_state(relay_state.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (relay_state, addr)
}

// ---- the stack: annealer-svc (gRPC + SAPI front), relay, sapi-proxy -----------------------

/// What a stack is built with.
struct Options {
    /// The profile annealer-svc's gRPC device emulates (the front serves every profile).
    solver: Solver,
    limits: ServiceLimits,
    /// The SAPI token the proxy sends.
    proxy_token: &'static str,
    /// The solver the proxy forwards to.
    proxy_solver: String,
    /// The proxy's shortest time between two status polls of one problem.
    min_poll_interval: Duration,
    /// No ICE noise (σ_h = σ_J = 0): the device's answer no longer depends on the order of J
    /// or on couplings of exactly 0.
    noise_free: bool,
}

impl Options {
    fn of(solver: Solver) -> Self {
        Options {
            solver,
            limits: ServiceLimits::default(),
            proxy_token: TOKEN,
            proxy_solver: solver.name().to_string(),
            min_poll_interval: Duration::from_millis(10),
            noise_free: false,
        }
    }
}

struct Stack {
    annealer: SocketAddr,
    front: SocketAddr,
    proxy: SocketAddr,
    relay: Arc<Relay>,
    http: Client<HttpConnector, Full<Bytes>>,
    stops: Vec<oneshot::Sender<()>>,
}

impl Stack {
    async fn start(options: Options) -> Stack {
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sapi = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (annealer, front) = (grpc.local_addr().unwrap(), sapi.local_addr().unwrap());
        let config = ServerConfig {
            device: DeviceConfig {
                solver: options.solver,
                device_seed: Some(21),
                sigma_h: options.noise_free.then_some(0.0),
                sigma_j: options.noise_free.then_some(0.0),
                ..DeviceConfig::default()
            },
            limits: options.limits,
            drain_timeout: Duration::from_secs(5),
            sapi: SapiOptions { token: Some(TOKEN.into()), ..SapiOptions::default() },
            ..ServerConfig::default()
        };
        let device = Arc::new(Device::new(config.device.clone()).unwrap());
        let (stop_annealer, stopped) = oneshot::channel::<()>();
        tokio::spawn(annealer_svc::serve_all(grpc, Some(sapi), device, config, async {
            let _ = stopped.await;
        }));

        let (relay, relay_addr) = start_relay(front).await;

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = listener.local_addr().unwrap();
        let config = ProxyConfig {
            sapi_url: format!("http://{relay_addr}/sapi/v2").parse().unwrap(),
            sapi_token: ApiToken::new(options.proxy_token).unwrap(),
            solver: options.proxy_solver,
            retry: RETRY,
            limits: ProxyLimits {
                long_poll: Duration::from_secs(1),
                min_poll_interval: options.min_poll_interval,
                ..ProxyLimits::default()
            },
            token: None,
            tls: None,
            drain_timeout: Duration::from_secs(5),
        };
        let (stop_proxy, stopped) = oneshot::channel::<()>();
        tokio::spawn(sapi_proxy::serve(listener, config, async {
            let _ = stopped.await;
        }));
        let http = Client::builder(TokioExecutor::new()).build_http();
        Stack { annealer, front, proxy, relay, http, stops: vec![stop_proxy, stop_annealer] }
    }

    async fn direct(&self) -> AnnealerClient<Channel> {
        AnnealerClient::connect(format!("http://{}", self.annealer)).await.unwrap()
    }

    async fn proxied(&self) -> AnnealerClient<Channel> {
        AnnealerClient::connect(format!("http://{}", self.proxy)).await.unwrap()
    }

    /// A request straight to the front (not through the relay), as the cloud client makes it.
    async fn front_call(
        &self,
        method: Method,
        path: &str,
        resource: Resource,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("http://{}/sapi/v2/{path}", self.front))
            .header("X-Auth-Token", TOKEN)
            .header("Accept", resource.accept(ApiVersion::V3))
            .header("Content-Type", "application/json");
        let body = body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default();
        let response = self.http.request(request.body(Full::new(body.into())).unwrap()).await;
        let (head, body) = response.unwrap().into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (head.status, serde_json::from_slice(&body).unwrap())
    }

    async fn problem(&self, id: &str) -> ProblemStatusRecord {
        let (status, body) =
            self.front_call(Method::GET, &format!("problems/{id}/"), Resource::Problem, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).unwrap()
    }

    /// Submits `job` straight to the front and waits (bounded) until it is sampling; its id.
    async fn submit_running(&self, job: &ProblemJob) -> String {
        let jobs = Some(json!([job]));
        let (status, body) =
            self.front_call(Method::POST, "problems/", Resource::Problems, jobs).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let id = body[0]["id"].as_str().unwrap().to_string();
        let deadline = Instant::now() + PATIENCE;
        while self.problem(&id).await.status != ProblemStatus::InProgress {
            assert!(Instant::now() < deadline, "the blocking problem never started");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        id
    }

    fn stop(self) {
        for stop in self.stops {
            let _ = stop.send(());
        }
    }
}

// ---- requests and answers -----------------------------------------------------------------

/// A small seeded problem on `graph`: the qubits of its first 12 couplers, every coupler among
/// them in the solver's own coupler order (the order `qp` carries them in), no coupling 0.
fn seeded_request(
    graph: &WorkingGraph,
    id: &str,
    mode: pb::AnswerMode,
    seed: u64,
) -> pb::SampleRequest {
    let mut qubits: Vec<u32> = graph.couplers()[..12].iter().flat_map(|&(u, v)| [u, v]).collect();
    qubits.sort_unstable();
    qubits.dedup();
    let h = qubits
        .iter()
        .enumerate()
        .map(|(k, &qubit)| pb::LinearBias { qubit, value: ((k * 37 % 11) as f64 - 5.0) / 10.0 })
        .collect();
    let j = graph
        .couplers()
        .iter()
        .filter(|(u, v)| qubits.contains(u) && qubits.contains(v))
        .enumerate()
        .map(|(k, &(u, v))| {
            let sign = if k % 3 == 0 { 1.0 } else { -1.0 };
            pb::QuadraticBias { u, v, value: sign * (k % 7 + 1) as f64 / 8.0 }
        })
        .collect();
    pb::SampleRequest {
        request_id: id.into(),
        h,
        j,
        num_reads: 100,
        annealing_time: Some(20.0),
        answer_mode: mode as i32,
        label: format!("proxy-front-{id}"),
        seed: Some(seed),
        ..Default::default()
    }
}

/// Three qubits of the 2000Q's first unit cell: (0, 4), (0, 5), (1, 4).
fn tiny_request(id: &str, num_reads: u32, annealing_time: f64) -> pb::SampleRequest {
    pb::SampleRequest {
        request_id: id.into(),
        h: vec![pb::LinearBias { qubit: 0, value: 0.5 }, pb::LinearBias { qubit: 4, value: -0.25 }],
        j: vec![
            pb::QuadraticBias { u: 0, v: 4, value: -1.0 },
            pb::QuadraticBias { u: 0, v: 5, value: 0.5 },
        ],
        num_reads,
        annealing_time: Some(annealing_time),
        seed: Some(3),
        ..Default::default()
    }
}

/// Sends `requests` on one stream and reads every answer (or its status) by request id.
async fn sample(
    client: &mut AnnealerClient<Channel>,
    requests: Vec<pb::SampleRequest>,
) -> HashMap<String, Result<Answer, tonic::Status>> {
    let (tx, rx) = mpsc::channel(requests.len().max(1));
    let expected = requests.len();
    for r in requests {
        tx.send(r).await.unwrap();
    }
    let mut responses = client.sample(ReceiverStream::new(rx)).await.unwrap().into_inner();
    let mut assemblers: HashMap<String, AnswerAssembler> = HashMap::new();
    let mut done = HashMap::new();
    while done.len() < expected {
        let chunk = tokio::time::timeout(PATIENCE, responses.message())
            .await
            .expect("an answer within the test's patience")
            .unwrap()
            .expect("the stream ends after its answers");
        let id = chunk.request_id.clone();
        if let Some(result) = assemblers.entry(id.clone()).or_default().push(chunk) {
            let result = result.map_err(|e| match e {
                AnswerError::Failed(status) => status,
                AnswerError::Malformed(m) => panic!("malformed answer: {m}"),
            });
            done.insert(id, result);
        }
    }
    drop(tx);
    done
}

async fn sample_one(
    client: &mut AnnealerClient<Channel>,
    request: pb::SampleRequest,
) -> Result<Answer, tonic::Status> {
    let id = request.request_id.clone();
    sample(client, vec![request]).await.remove(&id).unwrap()
}

/// The answer without the one field that is the server's own wall clock.
fn without_wall_time(mut answer: Answer) -> Answer {
    answer.timing.server_wall_time = 0.0;
    answer
}

// ---- 1. properties ------------------------------------------------------------------------

/// Asserts each named field equal, so that a difference names its field.
macro_rules! same_fields {
    ($via:expr, $direct:expr, $solver:expr; $($field:ident),+ $(,)?) => {
        $(assert_eq!($via.$field, $direct.$field, "{}: field {}", $solver, stringify!($field));)+
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_properties_through_proxy_and_front_equal_annealer_svcs_own_field_by_field() {
    for solver in [Solver::Dw2000q5, Solver::Advantage2System1_5] {
        let stack = Stack::start(Options::of(solver)).await;
        let direct = stack.direct().await.get_properties(pb::GetPropertiesRequest {}).await;
        let via = stack.proxied().await.get_properties(pb::GetPropertiesRequest {}).await;
        let (direct, via) = (direct.unwrap().into_inner(), via.unwrap().into_inner());
        assert_eq!(via.name, solver.name());
        // The front lists the emulator's seed as SAPI's `x_seed`; the proxy takes a record
        // that lists it as a solver that honours `seed`, so the contract's list comes back.
        assert!(via.parameters.iter().any(|p| p == "seed"), "{:?}", via.parameters);
        same_fields!(via, direct, solver.name();
            name, category, topology, num_qubits, qubits, couplers, h_range, j_range,
            annealing_time_range, default_annealing_time, num_reads_range,
            problem_run_duration_range, programming_thermalization_range,
            default_programming_thermalization, readout_thermalization_range,
            default_readout_thermalization, parameters, supported_problem_types, description,
            problem_timing_data, extended_j_range, per_qubit_coupling_range,
            per_group_coupling_range,
        );
        // Every field, including any added to the proto after this list was written.
        assert_eq!(via, direct, "{}", solver.name());
        stack.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_reads_the_fronts_solver_record_once_as_its_cache_control_allows() {
    let stack = Stack::start(Options::of(Solver::Dw2000q5)).await;
    let mut proxied = stack.proxied().await;
    proxied.get_properties(pb::GetPropertiesRequest {}).await.unwrap();
    proxied.get_properties(pb::GetPropertiesRequest {}).await.unwrap();
    sample_one(&mut proxied, tiny_request("cached", 10, 20.0)).await.unwrap();
    // Real SAPI sends `Cache-Control: private, max-age=3600` with solver records (see the
    // recordings); a front without it would make the proxy fetch the whole record (2030
    // qubits, 5974 couplers) again before every request.
    assert_eq!(stack.relay.solver_reads(), 1, "{:?}", stack.relay.log.lock().unwrap());
    stack.stop();
}

// ---- 2. samples ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_request_through_proxy_and_front_answers_as_annealer_svcs_grpc_does() {
    for solver in [Solver::Dw2000q5, Solver::Advantage2System1_5] {
        let stack = Stack::start(Options::of(solver)).await;
        let (mut direct, mut proxied) = (stack.direct().await, stack.proxied().await);
        let props = direct.get_properties(pb::GetPropertiesRequest {}).await.unwrap().into_inner();
        let graph = SolverProperties::from_proto(props).unwrap().graph;
        for mode in [pb::AnswerMode::Raw, pb::AnswerMode::Histogram] {
            let request = seeded_request(&graph, &format!("{mode:?}"), mode, 17);
            let near = sample_one(&mut direct, request.clone()).await.unwrap();
            let far = sample_one(&mut proxied, request).await.unwrap();
            assert!(far.timing.server_wall_time > 0.0, "the proxy reports its own wall time");
            let (near, far) = (without_wall_time(near), without_wall_time(far));
            let what = format!("{} {mode:?}", solver.name());
            assert_eq!(far.set.active_variables, near.set.active_variables, "{what}");
            assert_eq!(far.set.energies, near.set.energies, "{what}");
            assert_eq!(far.set.num_occurrences, near.set.num_occurrences, "{what}");
            assert_eq!(far.set, near.set, "{what}: samples");
            assert_eq!(far.timing, near.timing, "{what}: SAPI's timing block");
            assert_eq!(far, near, "{what}");
        }
        // Not a tautology: another seed gives other samples along the same path.
        let graph_request = |seed| seeded_request(&graph, "other", pb::AnswerMode::Raw, seed);
        let a = sample_one(&mut proxied, graph_request(17)).await.unwrap();
        let b = sample_one(&mut proxied, graph_request(18)).await.unwrap();
        assert_ne!(a.set, b.set, "{}: seeds 17 and 18", solver.name());

        // The seed went as `x_seed` (the front's record lists it), once per request.
        assert_eq!(stack.relay.submits(), 4);
        let bodies = stack.relay.submit_bodies.lock().unwrap().clone();
        let params = &bodies[0][0]["params"];
        assert_eq!(params["x_seed"], json!(17), "{params}");
        assert!(params.get("seed").is_none(), "{params}");
        stack.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_long_poll_follows_the_submit_without_waiting_out_the_poll_interval() {
    // The interval spaces polls of one problem; a submit is not a poll. Were the first poll
    // held back by it, every answer would take at least 5 s here (0.5 s with the defaults).
    let options =
        Options { min_poll_interval: Duration::from_secs(5), ..Options::of(Solver::Dw2000q5) };
    let stack = Stack::start(options).await;
    let mut proxied = stack.proxied().await;
    proxied.get_properties(pb::GetPropertiesRequest {}).await.unwrap();
    let started = Instant::now();
    sample_one(&mut proxied, tiny_request("quick", 10, 20.0)).await.unwrap();
    let waited = started.elapsed();
    let id = stack.relay.nth_submitted(0).await;
    assert_eq!(stack.relay.polls_of(&id), 1, "one long poll sees the answer");
    assert!(waited < Duration::from_millis(2500), "answered after {waited:?}");
    stack.stop();
}

// ---- 3. training --------------------------------------------------------------------------

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/mnist-10k")
}

/// A small quantum-prior run: 4 updates of 100-image batches, 100 reads per update.
fn small_run() -> RunConfig {
    let mut c = RunConfig::preset(Preset::Default);
    c.data.dir = data_dir();
    (c.data.train_size, c.data.test_size) = (400, 100);
    c.schedule.iterations = Some(4);
    c.prior.kind = PriorKind::Quantum;
    c.prior.warmup_epochs = 0.0;
    (c.annealing.num_reads, c.annealing.annealing_time) = (100, 20.0);
    c.evaluation.every = 1000;
    c
}

/// Trains `small_run` against the annealer at `url`: each update's metrics and the final
/// training state, wall-clock fields zeroed.
fn train(url: String) -> (Vec<UpdateMetrics>, TrainingState) {
    let config = small_run();
    let (train_set, test_set) = run::load_data(&config.data).unwrap();
    let connection = Connection::to(Some(url), None);
    let prior = run::open_prior(&config, None, &connection, &mut |_| {}).unwrap();
    let mut trainer = Trainer::start(config, None, train_set, test_set, prior).unwrap();
    let mut metrics = Vec::new();
    while !trainer.done() {
        let mut m = trainer.step().unwrap();
        (m.annealer_wall_ms, m.t_wake_ms, m.t_annealer_ms, m.t_sleep_ms) = (0.0, 0.0, 0.0, 0.0);
        (m.t_update_ms, m.t_step_ms) = (0.0, 0.0);
        metrics.push(m);
    }
    // The wall time spent is the one part of the state that is not the model's.
    let state = TrainingState { wall_seconds: 0.0, ..trainer.state() };
    (metrics, state)
}

fn assert_finite(metrics: &[UpdateMetrics]) {
    for m in metrics {
        let values = [
            f64::from(m.wake_objective),
            f64::from(m.sleep_objective),
            f64::from(m.batch_pixel_mse),
            m.prior_gap_linear,
            m.prior_gap_quadratic,
            m.chain_breaks,
        ];
        assert!(values.iter().all(|v| v.is_finite()), "{m:?}");
        assert!(m.qpu_access_ms > 0.0, "the timing block came back: {m:?}");
    }
}

/// On the emulator as configured (ICE noise on), 4 updates through the proxy complete with
/// finite metrics and are reproducible bit for bit, but they are not bit-identical to the same
/// updates over annealer-svc's gRPC: the trainer sends J chain by chain with the inter-chain
/// couplings at 0 at first, `qp` carries J in the solver's coupler order without its zeros,
/// and the emulator's fresh ICE noise is drawn per listed coupling in the order listed (see
/// `a_seeded_answer_over_grpc_depends_on_j_order_and_zero_couplings_which_qp_cannot_carry`).
#[test]
fn training_through_proxy_and_front_completes_and_is_reproducible_bit_for_bit() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stack = runtime.block_on(Stack::start(Options::of(Solver::Dw2000q5)));
    let proxy = format!("http://{}", stack.proxy);
    let (via, via_state) = train(proxy.clone());
    assert_eq!(via.len(), 4);
    assert_finite(&via);
    // Every draw was one seeded problem at the front, submitted once.
    assert_eq!(stack.relay.submits(), 4);
    let (again, again_state) = train(proxy);
    assert_eq!(via, again);
    assert!(via_state == again_state, "the training states differ");
    stack.stop();
}

/// Without ICE noise the order of J and couplings of 0 no longer matter, and 4 updates through
/// trainer → gRPC → sapi-proxy → HTTP → front → emulator are bit-identical to the same updates
/// over annealer-svc's gRPC.
#[test]
fn training_through_proxy_and_front_matches_training_over_grpc_bit_for_bit_without_ice_noise() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let options = Options { noise_free: true, ..Options::of(Solver::Dw2000q5) };
    let stack = runtime.block_on(Stack::start(options));
    let (via, via_state) = train(format!("http://{}", stack.proxy));
    assert_eq!(via.len(), 4);
    assert_finite(&via);
    assert_eq!(stack.relay.submits(), 4);
    let (direct, direct_state) = train(format!("http://{}", stack.annealer));
    assert_eq!(via, direct);
    assert!(via_state == direct_state, "the training states differ");
    stack.stop();
}

/// Why the noisy device trains differently through the proxy. `qp` is positional over the
/// solver's lists: it carries J in the solver's coupler order and cannot tell a coupling of
/// exactly 0 from none. The emulator over gRPC takes J as listed and draws its fresh ICE noise
/// per listed coupling in that order (and adds noise to a listed 0), so two requests that
/// are the same problem to SAPI get different samples over gRPC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_answer_over_grpc_depends_on_j_order_and_zero_couplings_which_qp_cannot_carry() {
    let stack = Stack::start(Options::of(Solver::Dw2000q5)).await;
    let (mut direct, mut proxied) = (stack.direct().await, stack.proxied().await);
    let props = direct.get_properties(pb::GetPropertiesRequest {}).await.unwrap().into_inner();
    let graph = SolverProperties::from_proto(props).unwrap().graph;
    let canonical = seeded_request(&graph, "canonical", pb::AnswerMode::Raw, 17);
    let mut reordered = canonical.clone();
    reordered.j.reverse();
    let mut without = canonical.clone();
    let dropped = without.j.remove(3);
    let mut zero = canonical.clone();
    zero.j[3].value = 0.0;
    assert_eq!(zero.j[3].u, dropped.u);

    let mut answers = HashMap::new();
    for (name, request) in [
        ("canonical", &canonical),
        ("reordered", &reordered),
        ("without", &without),
        ("zero", &zero),
    ] {
        let near = sample_one(&mut direct, request.clone()).await.unwrap();
        let far = sample_one(&mut proxied, request.clone()).await.unwrap();
        answers.insert(name, (without_wall_time(near).set, without_wall_time(far).set));
    }
    // Through SAPI: the same problem, the same samples.
    assert_eq!(answers["reordered"].1, answers["canonical"].1);
    assert_eq!(answers["zero"].1, answers["without"].1);
    // In the solver's order and without zeros, both paths agree.
    assert_eq!(answers["canonical"].0, answers["canonical"].1);
    assert_eq!(answers["without"].0, answers["without"].1);
    // Over gRPC the listing changes the noise, hence the samples.
    assert_ne!(answers["reordered"].0, answers["canonical"].0);
    assert_ne!(answers["zero"].0, answers["without"].0);
    stack.stop();
}

// ---- 4. faults ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_front_refuses_is_unauthenticated_and_nothing_is_submitted() {
    let stack =
        Stack::start(Options { proxy_token: "not-the-token", ..Options::of(Solver::Dw2000q5) })
            .await;
    let mut proxied = stack.proxied().await;
    let status = proxied.get_properties(pb::GetPropertiesRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    // The front's own words: the token was given and is wrong.
    assert!(status.message().contains("invalid API token"), "{}", status.message());
    let status = sample_one(&mut proxied, tiny_request("t", 10, 20.0)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    // A 401 is not retried: one read per call, and no submit.
    assert_eq!(stack.relay.solver_reads(), 2);
    assert_eq!(stack.relay.submits(), 0);
    stack.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_solver_is_not_found_and_nothing_is_submitted() {
    let options =
        Options { proxy_solver: "Advantage_system4.1".into(), ..Options::of(Solver::Dw2000q5) };
    let stack = Stack::start(options).await;
    let mut proxied = stack.proxied().await;
    let status = proxied.get_properties(pb::GetPropertiesRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().contains("Advantage_system4.1"), "{}", status.message());
    let status = sample_one(&mut proxied, tiny_request("n", 10, 20.0)).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(stack.relay.count(&Method::GET, "/sapi/v2/solvers/remote/Advantage_system4.1"), 2);
    assert_eq!(stack.relay.submits(), 0);
    stack.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_reads_are_retried_after_retry_after_then_unavailable() {
    let stack = Stack::start(Options::of(Solver::Dw2000q5)).await;
    let limited = Injection::Reply { status: 429, retry_after: Some(1) };
    stack.relay.inject(Method::GET, "/sapi/v2/solvers/remote/", limited, usize::MAX);
    let started = Instant::now();
    let status = stack.proxied().await.get_properties(pb::GetPropertiesRequest {}).await;
    let status = status.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(
        status.get_error_details().retry_info().and_then(|r| r.retry_delay),
        Some(Duration::from_secs(1)),
        "SAPI's Retry-After is passed on"
    );
    // Tried max_attempts (3) times, waiting Retry-After (1 s) rather than the 5 ms backoff.
    assert_eq!(stack.relay.statuses(&Method::GET, "/sapi/v2/solvers/remote/"), [429; 3]);
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}");
    stack.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_status_poll_is_retried_after_retry_after_and_the_answer_arrives() {
    let stack = Stack::start(Options::of(Solver::Dw2000q5)).await;
    let limited = Injection::Reply { status: 429, retry_after: Some(1) };
    stack.relay.inject(Method::GET, "/sapi/v2/problems/?id=", limited, 1);
    let started = Instant::now();
    let answer = sample_one(&mut stack.proxied().await, tiny_request("r", 50, 20.0)).await;
    let waited = started.elapsed();
    let answer = answer.unwrap();
    assert_eq!(answer.set.num_occurrences.unwrap().iter().sum::<u32>(), 50);
    let id = stack.relay.nth_submitted(0).await;
    let polls = stack.relay.statuses(&Method::GET, &format!("/sapi/v2/problems/?id={id}"));
    assert_eq!(polls, [429, 200], "one refused, one answered");
    assert!(waited >= Duration::from_secs(1), "answered after {waited:?}");
    assert_eq!(stack.relay.submits(), 1);
    stack.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_refused_with_500_or_429_is_unavailable_and_sent_exactly_once() {
    let stack = Stack::start(Options::of(Solver::Dw2000q5)).await;
    let mut proxied = stack.proxied().await;
    for (i, status) in [500, 429].into_iter().enumerate() {
        let refusal = Injection::Reply { status, retry_after: Some(0) };
        stack.relay.inject(Method::POST, "/sapi/v2/problems/", refusal, 1);
        let request = tiny_request(&format!("s{status}"), 10, 20.0);
        let refused = sample_one(&mut proxied, request).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unavailable, "{status}: {refused:?}");
        assert!(refused.message().contains("not retried"), "{}", refused.message());
        assert!(refused.message().contains(&format!("HTTP {status}")), "{}", refused.message());
        assert_eq!(stack.relay.submits(), i + 1, "after the {status}");
    }
    // Nothing reached the front, and the next request goes through.
    assert!(stack.relay.submitted.lock().unwrap().is_empty());
    sample_one(&mut proxied, tiny_request("after", 10, 20.0)).await.unwrap();
    assert_eq!(stack.relay.submits(), 3);
    stack.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_problems_message_surfaces_with_a_fitting_code() {
    let stack = Stack::start(Options::of(Solver::Dw2000q5)).await;
    let mut proxied = stack.proxied().await;
    let cases = [
        ("Upper limit on user-specified timing related parameters exceeded", Code::InvalidArgument),
        ("QPU controller fault", Code::Aborted),
        ("Solver is offline", Code::Unavailable),
    ];
    for (i, (message, code)) in cases.into_iter().enumerate() {
        let fail = Injection::Fail { message: message.into() };
        stack.relay.inject(Method::GET, "/sapi/v2/problems/?id=", fail, 1);
        let status = sample_one(&mut proxied, tiny_request(&format!("f{i}"), 10, 20.0)).await;
        let status = status.unwrap_err();
        let id = stack.relay.nth_submitted(i).await;
        assert_eq!(status.code(), code, "{message}: {status:?}");
        assert!(status.message().contains(message), "{}", status.message());
        assert!(status.message().contains(&id), "names the problem: {}", status.message());
    }
    assert_eq!(stack.relay.submits(), 3);
    // A problem the proxy saw finish is not cancelled.
    assert_eq!(stack.relay.count(&Method::DELETE, "/sapi/v2/problems/"), 0);
    stack.stop();
}

/// A problem that holds the front's one sampling slot for ≈ 0.9 s of paced QPU time: 400
/// reads of 2000 µs (plus readout) on three qubits, cheap to compute.
fn blocker(solver: &str) -> ProblemJob {
    let graph = Solver::Dw2000q5.properties(false).graph;
    let data = encode_qp(&[(0, 0.5), (4, -0.25)], &[(0, 4, -1.0), (0, 5, 0.5)], &graph).unwrap();
    let params = json!({"num_reads": 400, "annealing_time": 2000, "x_seed": 9});
    ProblemJob {
        solver: SolverRef::Name(solver.into()),
        data,
        problem_type: ProblemType::Ising,
        params: params.as_object().unwrap().clone(),
        label: Some("blocker".into()),
    }
}

/// One problem samples at a time, for as long as the modelled QPU would take.
fn paced() -> Options {
    let limits = ServiceLimits { max_concurrent: 1, pacing: true, ..ServiceLimits::default() };
    Options { limits, ..Options::of(Solver::Dw2000q5) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_problem_cancelled_at_the_front_ends_the_call_cancelled() {
    let stack = Stack::start(paced()).await;
    stack.submit_running(&blocker("DW_2000Q_5")).await;
    let mut proxied = stack.proxied().await;
    let call =
        tokio::spawn(async move { sample_one(&mut proxied, tiny_request("c", 10, 20.0)).await });
    // The proxy's problem waits behind the blocker; cancel it at the front, as a user of the
    // same SAPI account (or D-Wave) would.
    let id = stack.relay.nth_submitted(0).await;
    assert_eq!(stack.problem(&id).await.status, ProblemStatus::Pending);
    let path = format!("problems/{id}/");
    let (code, body) = stack.front_call(Method::DELETE, &path, Resource::Problem, None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "CANCELLED");

    let status = tokio::time::timeout(PATIENCE, call).await.unwrap().unwrap().unwrap_err();
    assert_eq!(status.code(), Code::Cancelled, "{status:?}");
    assert!(status.message().contains(&id), "{}", status.message());
    assert_eq!(stack.relay.submits(), 1);
    assert_eq!(stack.relay.count(&Method::DELETE, "/sapi/v2/problems/"), 0);
    stack.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_slower_than_the_long_poll_is_polled_for_until_it_arrives() {
    let stack = Stack::start(paced()).await;
    let started = Instant::now();
    stack.submit_running(&blocker("DW_2000Q_5")).await;
    // Behind the blocker (≈ 0.9 s) and paced itself (≈ 0.9 s): longer than the 1 s long poll.
    let answer = sample_one(&mut stack.proxied().await, tiny_request("slow", 400, 2000.0)).await;
    let waited = started.elapsed();
    let answer = answer.unwrap();
    assert_eq!(answer.set.num_occurrences.unwrap().iter().sum::<u32>(), 400);
    assert!(answer.timing.qpu_access_time > 800_000.0, "{:?}", answer.timing);
    let id = stack.relay.nth_submitted(0).await;
    let polls = stack.relay.polls_of(&id);
    assert!(polls >= 2, "a long poll expired and the proxy polled again: {polls} polls");
    assert!(waited >= Duration::from_millis(1500), "answered after {waited:?}");
    // Every poll was a long poll the front held, not a busy loop.
    assert!(polls <= 4, "{polls} polls in {waited:?}");
    assert_eq!(stack.relay.submits(), 1);
    stack.stop();
}
