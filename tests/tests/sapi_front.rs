//! End-to-end tests of annealer-svc's SAPI REST front: the real server on ephemeral loopback
//! ports (gRPC and SAPI), spoken to over HTTP as dwave-cloud-client does, with every body
//! read and written by qahm-sapi.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use annealer_svc::sapi_front::SapiOptions;
use annealer_svc::service::ServiceLimits;
use annealer_svc::{Device, DeviceConfig, ServerConfig, Solver};
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use qahm_common::answer::problem_energy_of_row;
use qahm_common::problem::IsingProblem;
use qahm_common::topology::WorkingGraph;
use qahm_sapi::{
    ApiVersion, BatchItem, ErrorBody, ProblemJob, ProblemStatus, ProblemStatusRecord, ProblemType,
    QpAnswer, Resource, SolverIdentity, SolverRef, decode_solver_record, encode_qp, row_values,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const TOKEN: &str = "front-token";

/// A reply, read whole.
struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn status(&self) -> StatusCode {
        self.status
    }

    async fn json<T: DeserializeOwned>(self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// A request being built: method, path under the base, headers, body.
struct Call<'a> {
    front: &'a Front,
    request: http::request::Builder,
    body: Vec<u8>,
}

impl Call<'_> {
    fn header(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.request = self.request.header(name, value.as_ref());
        self
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    fn json(self, value: &impl serde::Serialize) -> Self {
        let body = serde_json::to_vec(value).unwrap();
        self.header("Content-Type", "application/json").body(body)
    }

    async fn send(self) -> Result<Reply, hyper_util::client::legacy::Error> {
        let request = self.request.body(Full::new(Bytes::from(self.body))).unwrap();
        let response = self.front.http.request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Ok(Reply { status: parts.status, headers: parts.headers, body })
    }
}

struct Front {
    base: String,
    /// The same server's gRPC address.
    grpc: String,
    http: Client<HttpConnector, Full<Bytes>>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

impl Front {
    async fn start(limits: ServiceLimits) -> Self {
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sapi = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/sapi/v2/", sapi.local_addr().unwrap());
        let grpc_url = format!("http://{}", grpc.local_addr().unwrap());
        let config = ServerConfig {
            device: DeviceConfig { device_seed: Some(7), ..DeviceConfig::default() },
            limits,
            drain_timeout: Duration::from_secs(10),
            sapi: SapiOptions { token: Some(TOKEN.into()), ..SapiOptions::default() },
            ..ServerConfig::default()
        };
        let device = Arc::new(Device::new(config.device.clone()).unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(async move {
            annealer_svc::serve_all(grpc, Some(sapi), device, config, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        let http = Client::builder(TokioExecutor::new()).build_http();
        Front { base, grpc: grpc_url, http, stop: Some(stop), done }
    }

    /// A request without credentials.
    fn bare(&self, method: Method, path: &str) -> Call<'_> {
        let request = http::Request::builder().method(method).uri(format!("{}{path}", self.base));
        Call { front: self, request, body: Vec::new() }
    }

    /// A request as the cloud client makes it: token and v3 Accept.
    fn request(&self, method: Method, path: &str, resource: Resource) -> Call<'_> {
        self.bare(method, path)
            .header("X-Auth-Token", TOKEN)
            .header("Accept", resource.accept(ApiVersion::V3))
    }

    async fn get_json(&self, path: &str, resource: Resource) -> Value {
        let response = self.request(Method::GET, path, resource).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        let content_type = response.headers["content-type"].to_str().unwrap().to_string();
        assert_eq!(qahm_sapi::reply_version(&content_type, resource), Ok(ApiVersion::V3));
        response.json().await.unwrap()
    }

    async fn submit(&self, jobs: &[ProblemJob]) -> Reply {
        self.request(Method::POST, "problems/", Resource::Problems)
            .json(&jobs)
            .send()
            .await
            .unwrap()
    }

    /// Long-polls until the problem is terminal; each poll blocks server-side until then.
    async fn wait(&self, id: &str) -> ProblemStatusRecord {
        for _ in 0..20 {
            let body =
                self.get_json(&format!("problems/?id={id}&timeout=10"), Resource::Problems).await;
            let items: Vec<BatchItem> = serde_json::from_value(body).unwrap();
            let [BatchItem::Status(status)] = &items[..] else { panic!("{items:?}") };
            if status.status.is_terminal() {
                return (**status).clone();
            }
        }
        panic!("problem {id} did not finish");
    }

    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(30), self.done).await.unwrap().unwrap();
    }
}

async fn error_of(response: Reply) -> (StatusCode, ErrorBody) {
    let status = response.status();
    let body: ErrorBody = response.json().await.unwrap();
    assert_eq!(body.error_code, status.as_u16());
    (status, body)
}

fn identity(name: &str, graph: &WorkingGraph) -> SolverRef {
    SolverRef::Identity(SolverIdentity {
        name: name.into(),
        version: Some(qahm_sapi::SolverVersion { graph_id: qahm_sapi::graph_id(graph) }),
    })
}

fn job(
    solver: SolverRef,
    graph: &WorkingGraph,
    problem_type: ProblemType,
    h: &[(u32, f64)],
    j: &[(u32, u32, f64)],
    params: Value,
) -> ProblemJob {
    ProblemJob {
        solver,
        data: encode_qp(h, j, graph).unwrap(),
        problem_type,
        params: params.as_object().unwrap().clone(),
        label: Some("front-test".into()),
    }
}

async fn graphs(front: &Front) -> Vec<(String, WorkingGraph)> {
    let list = front
        .get_json("solvers/remote/?filter=all,-status,-avg_load", Resource::SolverDefinitionList)
        .await;
    list.as_array()
        .unwrap()
        .iter()
        .map(|record| {
            let decoded = decode_solver_record(record).unwrap();
            (decoded.summary.solver.name().to_string(), decoded.properties.graph)
        })
        .collect()
}

fn graph_of<'a>(graphs: &'a [(String, WorkingGraph)], name: &str) -> &'a WorkingGraph {
    &graphs.iter().find(|(n, _)| n == name).unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solvers_are_listed_filtered_and_looked_up_with_a_token() {
    let front = Front::start(ServiceLimits::default()).await;
    let list = front
        .get_json("solvers/remote/?filter=all,-status,-avg_load", Resource::SolverDefinitionList)
        .await;
    let records = list.as_array().unwrap();
    let names: Vec<String> = records
        .iter()
        .map(|r| decode_solver_record(r).unwrap().summary.solver.name().to_string())
        .collect();
    assert_eq!(names, Solver::ALL.map(|s| s.name().to_string()));
    for record in records {
        assert!(record.get("status").is_none() && record.get("avg_load").is_none());
        let parameters = record["properties"]["parameters"].as_object().unwrap();
        assert!(parameters.contains_key("x_seed") && parameters.contains_key("num_reads"));
        assert_eq!(record["properties"]["category"], "qpu");
    }

    let status = front
        .get_json(
            "solvers/remote/?filter=none%2C%2Bidentity%2C%2Bstatus%2C%2Bavg_load",
            Resource::SolverDefinitionList,
        )
        .await;
    for record in status.as_array().unwrap() {
        let mut keys: Vec<&String> = record.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["avg_load", "identity", "status"]);
        assert_eq!(record["status"], "ONLINE");
    }

    // The cloud client asks for one solver without the trailing slash.
    let one =
        front.get_json("solvers/remote/Advantage2_system1.5", Resource::SolverDefinition).await;
    assert_eq!(one["identity"]["name"], "Advantage2_system1.5");
    assert_eq!(one["properties"]["num_qubits"], 4800);

    let missing = front
        .request(Method::GET, "solvers/remote/Advantage_system4.1/", Resource::SolverDefinition)
        .send()
        .await
        .unwrap();
    let (code, body) = error_of(missing).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert!(body.error_msg.contains("Advantage_system4.1"), "{body:?}");

    // No token, then a wrong one.
    for token in [None, Some("wrong")] {
        let mut request = front.bare(Method::GET, "solvers/remote/");
        if let Some(token) = token {
            request = request.header("X-Auth-Token", token);
        }
        let (code, body) = error_of(request.send().await.unwrap()).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
        assert!(body.error_msg.contains("X-Auth-Token"), "{body:?}");
    }

    // v2 is still spoken: the solver is a string id.
    let v2: Value = front
        .bare(Method::GET, "solvers/remote/DW_2000Q_5/?filter=none,%2Bid")
        .header("X-Auth-Token", TOKEN)
        .header("Accept", Resource::SolverDefinition.accept(ApiVersion::V2))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v2, json!({"id": "DW_2000Q_5"}));
    front.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problems_are_solved_long_polled_and_answered_in_qp() {
    let front = Front::start(ServiceLimits::default()).await;
    let graphs = graphs(&front).await;

    // Ising on DW_2000Q_5, plain JSON.
    let graph = graph_of(&graphs, "DW_2000Q_5");
    let h = [(0, 0.5), (4, -0.25)];
    let j = [(0, 4, -1.0), (1, 4, 0.5), (0, 5, 0.7)];
    let ising = job(
        identity("DW_2000Q_5", graph),
        graph,
        ProblemType::Ising,
        &h,
        &j,
        json!({"num_reads": 100, "annealing_time": 20, "answer_mode": "histogram", "x_seed": 5}),
    );
    let response = front.submit(std::slice::from_ref(&ising)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let items: Vec<BatchItem> = response.json().await.unwrap();
    let [BatchItem::Status(submitted)] = &items[..] else { panic!("{items:?}") };
    assert_eq!(submitted.label, Some(Some("front-test".into())));
    let id = submitted.id.clone();

    let status = front.wait(&id).await;
    assert_eq!(status.status, ProblemStatus::Completed);
    assert!(status.solved_on.is_some() && status.answer.is_none());

    let record: ProblemStatusRecord =
        serde_json::from_value(front.get_json(&format!("problems/{id}"), Resource::Problem).await)
            .unwrap();
    let answer = record.answer.expect("a completed problem's answer").decode().unwrap();
    let set = &answer.set;
    assert_eq!(set.active_variables, [0, 1, 4, 5]);
    assert_eq!(answer.num_variables, 2048);
    assert_eq!(set.num_occurrences.as_ref().unwrap().iter().sum::<u32>(), 100);
    let problem = IsingProblem::from_labels(&[(0, 0.5), (1, 0.0), (4, -0.25), (5, 0.0)], &j);
    for row in 0..set.num_rows() {
        let recomputed = problem_energy_of_row(&problem, set, row).unwrap();
        assert!((recomputed - set.energies[row]).abs() < 1e-9, "row {row}");
    }
    assert!(set.energies.windows(2).all(|w| w[0] <= w[1]), "histogram rows ascend");
    assert!(answer.timing.qpu_access_time > answer.timing.qpu_sampling_time);

    // Same seed → same answer.
    let again =
        front.submit(std::slice::from_ref(&ising)).await.json::<Vec<BatchItem>>().await.unwrap();
    let [BatchItem::Status(again)] = &again[..] else { panic!() };
    front.wait(&again.id).await;
    let answer2: QpAnswer = serde_json::from_value(
        front.get_json(&format!("problems/{}/answer/", again.id), Resource::ProblemAnswer).await,
    )
    .unwrap();
    assert_eq!(answer2.decode().unwrap().set, answer.set);

    // QUBO on Advantage2_system1.5, deflated as the 2025 client sends it, raw answers.
    let graph = graph_of(&graphs, "Advantage2_system1.5");
    let q_lin = [(0, -1.0), (1, 0.5), (12, -0.5)];
    let q_quad = [(0, 1, 2.0), (0, 12, -1.5), (1, 12, 1.0)];
    let qubo = job(
        identity("Advantage2_system1.5", graph),
        graph,
        ProblemType::Qubo,
        &q_lin,
        &q_quad,
        json!({"num_reads": 64, "answer_mode": "raw", "auto_scale": true}),
    );
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    deflate.write_all(&serde_json::to_vec(&[qubo]).unwrap()).unwrap();
    let response = front
        .request(Method::POST, "problems/", Resource::Problems)
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "deflate")
        .body(deflate.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let items: Vec<BatchItem> = response.json().await.unwrap();
    let [BatchItem::Status(submitted)] = &items[..] else { panic!("{items:?}") };
    assert_eq!(front.wait(&submitted.id).await.status, ProblemStatus::Completed);
    let answer: QpAnswer = serde_json::from_value(
        front.get_json(&format!("problems/{}/answer", submitted.id), Resource::ProblemAnswer).await,
    )
    .unwrap();
    assert!(answer.num_occurrences.is_none(), "raw mode has no counts");
    let answer = answer.decode().unwrap();
    assert_eq!(answer.set.num_rows(), 64);
    assert_eq!(answer.set.active_variables, [0, 1, 12]);
    for row in 0..64 {
        let x = row_values(&answer.set, row, ProblemType::Qubo);
        let x = |q: u32| {
            f64::from(x[answer.set.active_variables.iter().position(|&a| a == q).unwrap()])
        };
        let energy = q_lin.iter().map(|&(i, v)| v * x(i)).sum::<f64>()
            + q_quad.iter().map(|&(u, v, w)| w * x(u) * x(v)).sum::<f64>();
        assert!((energy - answer.set.energies[row]).abs() < 1e-9, "row {row}");
    }

    // info and messages exist for a QPU problem.
    let info =
        front.get_json(&format!("problems/{}/info", submitted.id), Resource::ProblemData).await;
    assert_eq!(info["metadata"]["status"], "COMPLETED");
    assert_eq!(info["params"]["num_reads"], 64);
    let messages = front
        .get_json(&format!("problems/{}/messages/", submitted.id), Resource::ProblemMessage)
        .await;
    assert_eq!(messages, json!([]));

    // An unknown problem.
    let missing = front
        .request(Method::GET, "problems/not-a-problem/", Resource::Problem)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(missing).await.0, StatusCode::NOT_FOUND);
    front.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_problems_are_refused_naming_the_field() {
    let front = Front::start(ServiceLimits::default()).await;
    let graphs = graphs(&front).await;
    let graph = graph_of(&graphs, "DW_2000Q_5");
    let solver = identity("DW_2000Q_5", graph);
    let cases = [
        (json!({"annealing_time": 0.1}), vec![(0, 1.0)], "params.annealing_time"),
        (json!({"num_reads": 0}), vec![(0, 1.0)], "params.num_reads"),
        (json!({"auto_scale": false}), vec![(4, 9.0)], "data.lin (qubit 4)"),
        (json!({"flux_biases": [0.0]}), vec![(0, 1.0)], "params.flux_biases"),
        (json!({"answer_mode": "all"}), vec![(0, 1.0)], "params.answer_mode"),
    ];
    for (params, h, field) in cases {
        let bad = job(solver.clone(), graph, ProblemType::Ising, &h, &[], params);
        let (code, body) = error_of(front.submit(&[bad]).await).await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
        assert!(body.error_msg.starts_with(field), "{field}: {body:?}");
    }

    // A lin of the wrong length.
    let mut short = job(solver.clone(), graph, ProblemType::Ising, &[(0, 1.0)], &[], json!({}));
    short.data.lin = "AAAAAAAA8D8=".into();
    let (code, body) = error_of(front.submit(&[short]).await).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body.error_msg.starts_with("data.lin"), "{body:?}");

    // An unknown solver.
    let mut elsewhere = job(solver.clone(), graph, ProblemType::Ising, &[(0, 1.0)], &[], json!({}));
    elsewhere.solver = SolverRef::Name("Advantage_system4.1".into());
    let (code, body) = error_of(front.submit(&[elsewhere]).await).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert!(body.error_msg.starts_with("solver"), "{body:?}");

    // In a batch with a good job, the bad one is an error element of a 200 reply.
    let good =
        job(solver.clone(), graph, ProblemType::Ising, &[(0, 1.0)], &[], json!({"num_reads": 10}));
    let bad = job(solver, graph, ProblemType::Ising, &[(0, 1.0)], &[], json!({"num_reads": 0}));
    let response = front.submit(&[good, bad]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let items: Vec<BatchItem> = response.json().await.unwrap();
    assert!(matches!(&items[0], BatchItem::Status(_)));
    assert!(
        matches!(&items[1], BatchItem::Error(e) if e.error_code == 400 && e.error_msg.starts_with("params.num_reads"))
    );
    let BatchItem::Status(good) = &items[0] else { unreachable!() };
    assert_eq!(front.wait(&good.id).await.status, ProblemStatus::Completed);

    // Not JSON at all.
    let response = front
        .request(Method::POST, "problems/", Resource::Problems)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.0, StatusCode::BAD_REQUEST);
    front.shutdown().await;
}

/// Every coupler of the 2000Q at a long anneal: far longer than the requests of a test take.
async fn heavy_job(front: &Front) -> ProblemJob {
    let graphs = graphs(front).await;
    let graph = graph_of(&graphs, "DW_2000Q_5");
    let j: Vec<(u32, u32, f64)> = graph
        .couplers()
        .iter()
        .enumerate()
        .map(|(k, &(u, v))| (u, v, if k % 2 == 0 { 1.0 } else { -1.0 }))
        .collect();
    job(
        identity("DW_2000Q_5", graph),
        graph,
        ProblemType::Ising,
        &[],
        &j,
        json!({"num_reads": 400, "annealing_time": 2000}),
    )
}

/// Submits `heavy` `n` times, one problem per POST; their ids.
async fn fill_queue(front: &Front, heavy: &ProblemJob, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let items: Vec<BatchItem> =
            front.submit(std::slice::from_ref(heavy)).await.json().await.unwrap();
        let [BatchItem::Status(s)] = &items[..] else { panic!("{items:?}") };
        ids.push(s.id.clone());
    }
    ids
}

/// `DELETE problems/` for `ids`, which SAPI answers 200 with one item per id.
async fn cancel_batch(front: &Front, ids: &Vec<String>) -> Reply {
    let response = front
        .request(Method::DELETE, "problems/", Resource::Problems)
        .json(ids)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response
}

/// A front whose queue holds 2 problems and runs 1 at a time, filled with two slow problems.
async fn full_front() -> (Front, ProblemJob, Vec<String>) {
    let front = Front::start(ServiceLimits {
        max_queued: 2,
        max_concurrent: 1,
        ..ServiceLimits::default()
    })
    .await;
    let heavy = heavy_job(&front).await;
    let ids = fill_queue(&front, &heavy, 2).await;
    (front, heavy, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_and_sapi_problems_wait_in_one_queue() {
    use qahm_proto::pb;
    use qahm_proto::pb::annealer_client::AnnealerClient;
    use tokio_stream::StreamExt;

    let (front, _heavy, ids) = full_front().await;
    // The machine's queue is full of SAPI problems: a gRPC request is refused, in band.
    let mut client = AnnealerClient::connect(front.grpc.clone()).await.unwrap();
    let request = pb::SampleRequest {
        request_id: "grpc".into(),
        h: vec![pb::LinearBias { qubit: 0, value: 0.5 }],
        num_reads: 10,
        ..Default::default()
    };
    let mut answers = client.sample(tokio_stream::iter([request])).await.unwrap().into_inner();
    let reply = answers.next().await.expect("an answer").expect("in band");
    let status = qahm_wire::rpc_to_status(reply.error.as_ref().expect("an error"));
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    // And SAPI's load figure counts the whole queue.
    let records = front
        .get_json(
            "solvers/remote/?filter=none%2C%2Bidentity%2C%2Bavg_load",
            Resource::SolverDefinitionList,
        )
        .await;
    let load = records
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["identity"]["name"] == "DW_2000Q_5")
        .map(|r| r["avg_load"].as_f64().unwrap())
        .unwrap();
    assert_eq!(load, 1.0, "2 of 2 slots taken");

    cancel_batch(&front, &ids).await;
    for id in &ids {
        assert_eq!(front.wait(id).await.status, ProblemStatus::Cancelled);
    }
    front.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_429_and_problems_are_cancelled() {
    let (front, heavy, ids) = full_front().await;
    let (code, body) = error_of(front.submit(std::slice::from_ref(&heavy)).await).await;
    assert_eq!(code, StatusCode::TOO_MANY_REQUESTS);
    assert!(body.error_msg.contains("queue full"), "{body:?}");

    // One is sampling (202: attempting), the other waits (cancelled at once), or both wait.
    let response = cancel_batch(&front, &ids).await;
    let items: Vec<BatchItem> = response.json().await.unwrap();
    assert_eq!(items.len(), 2);
    for item in &items {
        match item {
            BatchItem::Status(s) => assert_eq!(s.status, ProblemStatus::Cancelled),
            BatchItem::Error(e) => assert_eq!(e.error_code, 202, "{e:?}"),
        }
    }
    assert!(items.iter().any(|i| matches!(i, BatchItem::Status(_))), "one was still pending");
    for id in &ids {
        assert_eq!(front.wait(id).await.status, ProblemStatus::Cancelled);
        let again = front
            .request(Method::DELETE, &format!("problems/{id}/"), Resource::Problem)
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(again).await.0, StatusCode::CONFLICT);
    }
    let unknown = front
        .request(Method::DELETE, "problems/no-such-id", Resource::Problem)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(unknown).await.0, StatusCode::NOT_FOUND);
    front.shutdown().await;
}
