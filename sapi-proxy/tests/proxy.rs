//! sapi-proxy over real gRPC on loopback, in front of a fake SAPI (axum, in-process) that
//! serves the recorded Advantage2_system1.5 record and answers problems with the exact
//! ground state, every body built by qahm-sapi. No internet.

// The fake's handlers return early with a finished `Response` (axum's idiom).
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use qahm_common::answer::{Answer, Timing};
use qahm_common::problem::IsingProblem;
use qahm_common::sampleset::SampleSet;
use qahm_common::topology::WorkingGraph;
use qahm_proto::pb::{self, annealer_client::AnnealerClient};
use qahm_sapi::{ProblemJob, ProblemStatus, QpAnswer, Resource, SolverRef, decode_qp};
use qahm_wire::{AnswerAssembler, AnswerError, ToProto, field_error_of};
use sapi_proxy::client::RetryPolicy;
use sapi_proxy::service::ProxyLimits;
use sapi_proxy::token::ApiToken;
use sapi_proxy::{ProxyConfig, serve};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic_types::StatusExt;

const TOKEN: &str = "DEV-test-token";
const SOLVER: &str = "Advantage2_system1.5";
const RECORDING: &str =
    "../sapi/tests/recordings/advantage2-1.5-v3-triangle-ising/01-GET-solvers-filter-all.json";

/// The recorded Advantage2_system1.5 record (2025, SAPI v3).
fn recorded_record() -> Value {
    let text = std::fs::read_to_string(RECORDING).expect("the recorded solver list");
    let exchange: Value = serde_json::from_str(&text).expect("recording is JSON");
    exchange["response"]["body"][0].clone()
}

/// How the fake misbehaves.
#[derive(Default)]
struct Script {
    /// Reply to `GET solvers/remote/{name}/` with this status (and `Retry-After`).
    solver_error: Option<(u16, Option<u64>)>,
    /// Reply to `POST problems/` with this status.
    submit_error: Option<u16>,
    /// Statuses to reply to the next status polls with, before answering.
    poll_errors: Vec<u16>,
    /// Problems end in this status with this message instead of COMPLETED.
    outcome: Option<(ProblemStatus, String)>,
    /// Problems stay PENDING.
    hold: bool,
}

/// The QPU times every fake answer reports, µs.
fn fake_timing(num_reads: u32) -> Timing {
    let per_read = 20.0 + 30.0 + 20.0;
    let sampling = f64::from(num_reads) * per_read;
    Timing {
        qpu_programming_time: 15_000.0,
        qpu_anneal_time_per_sample: 20.0,
        qpu_readout_time_per_sample: 30.0,
        qpu_delay_time_per_sample: 20.0,
        qpu_sampling_time: sampling,
        qpu_access_time: 15_000.0 + sampling,
        server_wall_time: 0.0,
    }
}

struct Problem {
    job: ProblemJob,
    answer: Answer,
}

struct Fake {
    record: Value,
    graph: WorkingGraph,
    script: Mutex<Script>,
    /// Every request: method and path with query.
    log: Mutex<Vec<(Method, String)>>,
    problems: Mutex<HashMap<String, Problem>>,
    next_id: AtomicU64,
}

impl Fake {
    fn new(record: Value) -> Arc<Self> {
        let graph = qahm_sapi::decode_solver_record(&record).unwrap().properties.graph;
        Arc::new(Fake {
            record,
            graph,
            script: Mutex::default(),
            log: Mutex::default(),
            problems: Mutex::default(),
            next_id: AtomicU64::new(1),
        })
    }

    fn count(&self, method: Method, prefix: &str) -> usize {
        let log = self.log.lock().unwrap();
        log.iter().filter(|(m, p)| *m == method && p.starts_with(prefix)).count()
    }

    fn jobs(&self) -> Vec<ProblemJob> {
        let problems = self.problems.lock().unwrap();
        let mut ids: Vec<&String> = problems.keys().collect();
        ids.sort();
        ids.into_iter().map(|id| problems[id].job.clone()).collect()
    }
}

fn error(status: u16, message: &str, retry_after: Option<u64>) -> Response {
    let code = StatusCode::from_u16(status).unwrap();
    let body = Json(json!({"error_code": status, "error_msg": message}));
    match retry_after {
        Some(s) => (code, [("retry-after", s.to_string())], body).into_response(),
        None => (code, body).into_response(),
    }
}

fn reply(resource: Resource, body: Value) -> Response {
    let content_type =
        format!("{}; charset=utf-8", resource.content_type(qahm_sapi::ApiVersion::V3));
    ([("content-type", content_type)], Json(body)).into_response()
}

/// The exact ground state of a small problem (ties: the first in counting order).
fn ground_state(problem: &IsingProblem) -> (Vec<i8>, f64) {
    let n = problem.active.len();
    assert!(n <= 16, "the fake solves small problems only");
    (0..1u32 << n)
        .map(|bits| {
            let spins: Vec<i8> = (0..n).map(|i| if bits >> i & 1 == 1 { 1 } else { -1 }).collect();
            let energy = problem.energy(&spins);
            (spins, energy)
        })
        .fold(None, |best: Option<(Vec<i8>, f64)>, (s, e)| match best {
            Some((_, b)) if b <= e => best,
            _ => Some((s, e)),
        })
        .unwrap()
}

fn solve(job: &ProblemJob, graph: &WorkingGraph) -> Answer {
    let qp = decode_qp(&job.data, graph).unwrap();
    let problem = IsingProblem::from_labels(&qp.linear, &qp.quadratic);
    let (spins, energy) = ground_state(&problem);
    let reads = job.params["num_reads"].as_u64().unwrap() as usize;
    let all: Vec<i8> = spins.iter().copied().cycle().take(reads * spins.len()).collect();
    let set = match job.params["answer_mode"].as_str() {
        Some("raw") => SampleSet::raw(problem.active.clone(), &all, vec![energy; reads]),
        _ => SampleSet::histogram(problem.active.clone(), &all, &vec![energy; reads]),
    };
    Answer { set, timing: fake_timing(reads as u32), num_variables: graph.num_qubits() }
}

fn status_body(id: &str, job: &ProblemJob, status: ProblemStatus, message: Option<&str>) -> Value {
    let mut body = json!({"status": status, "id": id, "solver": job.solver, "type": "ising",
        "submitted_on": "2026-12-02T00:00:00.000000Z", "label": job.label});
    if status.is_terminal() {
        body["solved_on"] = json!("2026-12-02T00:00:01.000000Z");
    }
    if let Some(message) = message {
        body["error_message"] = json!(message);
    }
    body
}

type Shared = State<Arc<Fake>>;

fn authorized(
    fake: &Fake,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), Response> {
    let path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    fake.log.lock().unwrap().push((method.clone(), path));
    match headers.get("x-auth-token").and_then(|v| v.to_str().ok()) {
        Some(TOKEN) => Ok(()),
        _ => Err(error(401, "Invalid token or access denied", None)),
    }
}

async fn solver(
    State(fake): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(refusal) = authorized(&fake, &method, &uri, &headers) {
        return refusal;
    }
    if let Some((status, retry_after)) = fake.script.lock().unwrap().solver_error {
        return error(status, "SAPI is having a bad day", retry_after);
    }
    if name != SOLVER {
        return error(404, "Solver does not exist or apitoken does not have access", None);
    }
    let mut response = reply(Resource::SolverDefinition, fake.record.clone());
    response.headers_mut().insert("cache-control", "private, max-age=3600".parse().unwrap());
    response
}

async fn submit(
    State(fake): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Json(jobs): Json<Vec<ProblemJob>>,
) -> Response {
    if let Err(refusal) = authorized(&fake, &method, &uri, &headers) {
        return refusal;
    }
    if let Some(status) = fake.script.lock().unwrap().submit_error {
        return error(status, "internal server error", None);
    }
    let statuses: Vec<Value> = jobs
        .into_iter()
        .map(|job| {
            let id = format!("p{:04}", fake.next_id.fetch_add(1, Ordering::Relaxed));
            let body = status_body(&id, &job, ProblemStatus::Pending, None);
            let answer = solve(&job, &fake.graph);
            fake.problems.lock().unwrap().insert(id, Problem { job, answer });
            body
        })
        .collect();
    reply(Resource::Problems, json!(statuses))
}

async fn statuses(
    State(fake): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(refusal) = authorized(&fake, &method, &uri, &headers) {
        return refusal;
    }
    let mut script = fake.script.lock().unwrap();
    if !script.poll_errors.is_empty() {
        let status = script.poll_errors.remove(0);
        return error(status, "try again", Some(0));
    }
    let id = &query["id"];
    let problems = fake.problems.lock().unwrap();
    let job = &problems[id].job;
    let body = match (&script.outcome, script.hold) {
        (_, true) => status_body(id, job, ProblemStatus::Pending, None),
        (Some((status, message)), _) => status_body(id, job, *status, Some(message)),
        (None, _) => status_body(id, job, ProblemStatus::Completed, None),
    };
    reply(Resource::Problems, json!([body]))
}

async fn answer(
    State(fake): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(refusal) = authorized(&fake, &method, &uri, &headers) {
        return refusal;
    }
    let problems = fake.problems.lock().unwrap();
    let Some(problem) = problems.get(&id) else {
        return error(404, "Problem does not exist or apitoken does not have access", None);
    };
    reply(Resource::ProblemAnswer, json!({"answer": QpAnswer::encode(&problem.answer)}))
}

async fn cancel(
    State(fake): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(refusal) = authorized(&fake, &method, &uri, &headers) {
        return refusal;
    }
    let problems = fake.problems.lock().unwrap();
    let job = &problems[&id].job;
    reply(Resource::Problem, status_body(&id, job, ProblemStatus::Cancelled, None))
}

async fn start_fake(fake: Arc<Fake>) -> anyhow::Result<SocketAddr> {
    let app = axum::Router::new()
        .route("/sapi/v2/solvers/remote/{name}/", get(solver))
        .route("/sapi/v2/problems/", get(statuses).post(submit))
        .route("/sapi/v2/problems/{id}/answer/", get(answer))
        .route("/sapi/v2/problems/{id}/", axum::routing::delete(cancel))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

struct Setup {
    fake: Arc<Fake>,
    client: AnnealerClient<tonic::transport::Channel>,
}

/// A fake SAPI and a proxy in front of it for `solver`, with `token`.
async fn start_with(record: Value, solver: &str, token: &str) -> anyhow::Result<Setup> {
    let fake = Fake::new(record);
    let sapi = start_fake(fake.clone()).await?;
    let config = ProxyConfig {
        sapi_url: format!("http://{sapi}/sapi/v2").parse()?,
        sapi_token: ApiToken::new(token).context("token")?,
        solver: solver.into(),
        retry: RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(50),
        },
        limits: ProxyLimits {
            long_poll: Duration::from_secs(1),
            min_poll_interval: Duration::from_millis(10),
            ..ProxyLimits::default()
        },
        token: None,
        tls: None,
        drain_timeout: Duration::from_secs(5),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve(listener, config, std::future::pending()));
    let client = AnnealerClient::connect(format!("http://{addr}")).await?;
    Ok(Setup { fake, client })
}

async fn start() -> anyhow::Result<Setup> {
    start_with(recorded_record(), SOLVER, TOKEN).await
}

/// A triangle on qubits 0, 1, 12 of the recorded Advantage2 (couplers (0,1), (1,12),
/// (0,12)): frustrated antiferromagnet with fields, ground state unique.
fn triangle(id: &str) -> pb::SampleRequest {
    let bias = |qubit, value| pb::LinearBias { qubit, value };
    let coupling = |u, v, value| pb::QuadraticBias { u, v, value };
    pb::SampleRequest {
        request_id: id.into(),
        h: vec![bias(0, 0.5), bias(1, -0.25), bias(12, 0.0)],
        j: vec![coupling(0, 1, 1.0), coupling(1, 12, 1.0), coupling(12, 0, -0.5)],
        num_reads: 100,
        annealing_time: Some(20.0),
        auto_scale: Some(false),
        answer_mode: pb::AnswerMode::Histogram as i32,
        programming_thermalization: Some(1000),
        readout_thermalization: Some(0),
        label: format!("label-{id}"),
        seed: None,
    }
}

/// Sends `requests` on one stream and reads every answer (or error) by request id.
async fn sample(
    client: &mut AnnealerClient<tonic::transport::Channel>,
    requests: Vec<pb::SampleRequest>,
) -> anyhow::Result<HashMap<String, Result<Answer, tonic::Status>>> {
    let (tx, rx) = mpsc::channel(16);
    let expected = requests.len();
    for r in requests {
        tx.send(r).await?;
    }
    drop(tx);
    let mut responses = client.sample(ReceiverStream::new(rx)).await?.into_inner();
    let mut assemblers: HashMap<String, AnswerAssembler> = HashMap::new();
    let mut done = HashMap::new();
    while done.len() < expected {
        let chunk = tokio::time::timeout(Duration::from_secs(20), responses.message())
            .await
            .context("answer timed out")??
            .context("stream ended early")?;
        let id = chunk.request_id.clone();
        if let Some(result) = assemblers.entry(id.clone()).or_default().push(chunk) {
            let result = result.map_err(|e| match e {
                AnswerError::Failed(status) => status,
                AnswerError::Malformed(m) => panic!("malformed answer: {m}"),
            });
            done.insert(id, result);
        }
    }
    Ok(done)
}

async fn sample_one(
    setup: &mut Setup,
    request: pb::SampleRequest,
) -> Result<Answer, tonic::Status> {
    let id = request.request_id.clone();
    sample(&mut setup.client, vec![request]).await.unwrap().remove(&id).unwrap()
}

#[tokio::test]
async fn get_properties_equals_the_records_properties_without_seed_on_hardware() {
    let mut setup = start().await.unwrap();
    let got = setup.client.get_properties(pb::GetPropertiesRequest {}).await.unwrap().into_inner();
    let mut expected = qahm_sapi::decode_solver_record(&recorded_record()).unwrap().properties;
    expected.parameters.retain(|p| p != "seed");
    assert_eq!(got, expected.to_proto());
    assert_eq!(got.name, SOLVER);
    assert!(!got.parameters.contains(&"seed".to_string()));
    // Cached as Cache-Control allows (max-age=3600): one fetch for two calls.
    setup.client.get_properties(pb::GetPropertiesRequest {}).await.unwrap();
    assert_eq!(setup.fake.count(Method::GET, "/sapi/v2/solvers/remote/"), 1);
}

#[tokio::test]
async fn a_sample_round_trip_returns_the_ground_state_with_sapis_timing() {
    let mut setup = start().await.unwrap();
    let mut raw = triangle("b");
    raw.answer_mode = pb::AnswerMode::Raw as i32;
    raw.num_reads = 7;
    let answers = sample(&mut setup.client, vec![triangle("a"), raw]).await.unwrap();

    // E(s) = 0.5 s0 − 0.25 s1 + s0 s1 + s1 s12 − 0.5 s0 s12; the minimum is −0.5 − 0.25 − 1 − 1 − 0.5 = −3.25 at
    // (s0, s1, s12) = (−1, +1, −1).
    let histogram = answers["a"].as_ref().unwrap();
    assert_eq!(histogram.set.active_variables, vec![0, 1, 12]);
    assert_eq!(histogram.set.row(0), vec![-1, 1, -1]);
    assert_eq!(histogram.set.energies, vec![-3.25]);
    assert_eq!(histogram.set.num_occurrences, Some(vec![100]));
    assert_eq!(histogram.num_variables, 4800);
    let timing = Timing { server_wall_time: histogram.timing.server_wall_time, ..fake_timing(100) };
    assert_eq!(histogram.timing, timing);
    assert!(histogram.timing.server_wall_time > 0.0);

    let raw = answers["b"].as_ref().unwrap();
    assert_eq!(raw.set.num_rows(), 7);
    assert_eq!(raw.set.num_occurrences, None);
    assert_eq!(raw.timing.qpu_sampling_time, fake_timing(7).qpu_sampling_time);

    // What SAPI was sent: the record's identity, qp over its lists, the parameters as set.
    let jobs = setup.fake.jobs();
    assert_eq!(jobs.len(), 2);
    let job = jobs.iter().find(|j| j.params["num_reads"] == json!(100)).unwrap();
    let identity = qahm_sapi::decode_solver_summary(&recorded_record()).unwrap().solver;
    assert!(matches!(&job.solver, SolverRef::Identity(_)));
    assert_eq!(job.solver, identity);
    assert_eq!(job.problem_type, qahm_sapi::ProblemType::Ising);
    assert_eq!(job.label.as_deref(), Some("label-a"));
    assert_eq!(
        Value::Object(job.params.clone()),
        json!({"num_reads": 100, "annealing_time": 20.0, "answer_mode": "histogram",
               "auto_scale": false, "programming_thermalization": 1000,
               "readout_thermalization": 0})
    );
}

#[tokio::test]
async fn seed_goes_as_x_seed_to_a_solver_whose_record_lists_it() {
    let mut record = recorded_record();
    record["properties"]["parameters"]["x_seed"] = json!("Seed of the simulated solver.");
    let mut setup = start_with(record, SOLVER, TOKEN).await.unwrap();
    let props =
        setup.client.get_properties(pb::GetPropertiesRequest {}).await.unwrap().into_inner();
    assert!(props.parameters.contains(&"seed".to_string()));
    let mut request = triangle("s");
    request.seed = Some(7);
    sample_one(&mut setup, request).await.unwrap();
    let params = &setup.fake.jobs()[0].params;
    assert_eq!(params.get("x_seed"), Some(&json!(7)));
    assert_eq!(params.get("seed"), None);
}

#[tokio::test]
async fn seed_is_refused_naming_seed_for_real_hardware_and_nothing_is_submitted() {
    let mut setup = start().await.unwrap();
    let mut request = triangle("s");
    request.seed = Some(7);
    let status = sample_one(&mut setup, request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let field = field_error_of(&status).unwrap();
    assert_eq!(field.field, "seed");
    assert!(field.description.contains("x_seed"), "{}", field.description);
    assert_eq!(setup.fake.count(Method::POST, "/sapi/v2/problems/"), 0);
}

#[tokio::test]
async fn invalid_requests_get_the_emulators_field_errors_before_any_submit() {
    let mut setup = start().await.unwrap();
    let mut request = triangle("v");
    request.annealing_time = Some(2500.0);
    let status = sample_one(&mut setup, request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(field_error_of(&status).unwrap().field, "annealing_time");
    let mut request = triangle("w");
    request.h.push(pb::LinearBias { qubit: 21, value: 0.1 }); // not in the recorded qubits
    let status = sample_one(&mut setup, request).await.unwrap_err();
    assert_eq!(field_error_of(&status).unwrap().field, "h[3].qubit");
    assert_eq!(setup.fake.count(Method::POST, "/sapi/v2/problems/"), 0);
}

#[tokio::test]
async fn a_refused_token_is_unauthenticated() {
    let mut setup = start_with(recorded_record(), SOLVER, "DEV-wrong").await.unwrap();
    let status = setup.client.get_properties(pb::GetPropertiesRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("Invalid token"), "{}", status.message());
    let status = sample_one(&mut setup, triangle("t")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn an_unknown_solver_is_not_found() {
    let mut setup = start_with(recorded_record(), "Advantage_system9.9", TOKEN).await.unwrap();
    let status = setup.client.get_properties(pb::GetPropertiesRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("Advantage_system9.9"), "{}", status.message());
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_unavailable_with_retry_after_after_retrying() {
    let mut setup = start().await.unwrap();
    setup.fake.script.lock().unwrap().solver_error = Some((429, Some(9)));
    let status = setup.client.get_properties(pb::GetPropertiesRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let retry = status.get_error_details().retry_info().cloned();
    assert_eq!(retry.and_then(|r| r.retry_delay), Some(Duration::from_secs(9)));
    // A read: tried max_attempts (4) times.
    assert_eq!(setup.fake.count(Method::GET, "/sapi/v2/solvers/remote/"), 4);

    setup.fake.script.lock().unwrap().solver_error = Some((500, None));
    let status = setup.client.get_properties(pb::GetPropertiesRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(setup.fake.count(Method::GET, "/sapi/v2/solvers/remote/"), 8);
}

#[tokio::test]
async fn a_submit_failing_with_500_is_sent_exactly_once() {
    let mut setup = start().await.unwrap();
    setup.fake.script.lock().unwrap().submit_error = Some(500);
    let status = sample_one(&mut setup, triangle("once")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.message().contains("not retried"), "{}", status.message());
    assert_eq!(setup.fake.count(Method::POST, "/sapi/v2/problems/"), 1);
}

#[tokio::test]
async fn status_polls_failing_with_503_are_retried_and_the_answer_arrives() {
    let mut setup = start().await.unwrap();
    setup.fake.script.lock().unwrap().poll_errors = vec![503, 429];
    let answer = sample_one(&mut setup, triangle("r")).await.unwrap();
    assert_eq!(answer.set.energies, vec![-3.25]);
    assert_eq!(setup.fake.count(Method::POST, "/sapi/v2/problems/"), 1);
    assert_eq!(setup.fake.count(Method::GET, "/sapi/v2/problems/?id=p0001"), 3);
}

#[tokio::test]
async fn a_failed_problems_message_surfaces_with_a_fitting_code() {
    let mut setup = start().await.unwrap();
    let cases = [
        (
            ProblemStatus::Failed,
            "Upper limit on user-specified timing related parameters exceeded",
            Code::InvalidArgument,
        ),
        (ProblemStatus::Failed, "QPU controller fault", Code::Aborted),
        (ProblemStatus::Cancelled, "", Code::Cancelled),
    ];
    for (i, (outcome, message, code)) in cases.into_iter().enumerate() {
        setup.fake.script.lock().unwrap().outcome = Some((outcome, message.into()));
        let status = sample_one(&mut setup, triangle(&format!("f{i}"))).await.unwrap_err();
        assert_eq!(status.code(), code, "{}", status.message());
        assert!(status.message().contains(message), "{}", status.message());
    }
    // A finished problem is not cancelled.
    assert_eq!(setup.fake.count(Method::DELETE, "/sapi/v2/problems/"), 0);
}

#[tokio::test]
async fn dropping_the_call_cancels_the_sapi_problem() {
    let mut setup = start().await.unwrap();
    setup.fake.script.lock().unwrap().hold = true;
    let (tx, rx) = mpsc::channel(4);
    tx.send(triangle("held")).await.unwrap();
    let responses = setup.client.sample(ReceiverStream::new(rx)).await.unwrap().into_inner();
    let fake = setup.fake.clone();
    let wait_for = |method: Method, prefix: &'static str| {
        let fake = fake.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(10), async {
                while fake.count(method.clone(), prefix) == 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await
        }
    };
    wait_for(Method::GET, "/sapi/v2/problems/?id=p0001").await.expect("the proxy polls");
    drop(responses);
    drop(tx);
    wait_for(Method::DELETE, "/sapi/v2/problems/p0001/").await.expect("the problem is cancelled");
    assert_eq!(setup.fake.count(Method::POST, "/sapi/v2/problems/"), 1);
}
