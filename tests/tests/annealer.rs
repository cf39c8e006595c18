//! End-to-end tests of annealer-svc: the real server on an ephemeral loopback port, spoken to
//! over the network by a tonic client.

use std::sync::Arc;
use std::time::Duration;

use annealer_svc::service::ServiceLimits;
use annealer_svc::{Device, DeviceConfig, ServerConfig, Solver};
use qahm_common::answer::Answer;
use qahm_common::problem::IsingProblem;
use qahm_proto::pb::{self, annealer_client::AnnealerClient};
use qahm_wire::{AnswerAssembler, AnswerError};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

mod common;
use common::raw::{GARBAGE, RawRequests, oversized, unary_raw};

struct TestServer {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

impl TestServer {
    async fn start(config: ServerConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let device = Arc::new(Device::new(config.device.clone()).unwrap());
        let done = tokio::spawn(async move {
            annealer_svc::serve_device(listener, device, config, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        TestServer { addr, stop: Some(stop), done }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr)).unwrap().connect().await.unwrap()
    }

    async fn client(&self) -> AnnealerClient<Channel> {
        AnnealerClient::new(self.channel().await)
    }

    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(20), self.done).await.unwrap().unwrap();
    }
}

fn seeded_config() -> ServerConfig {
    ServerConfig {
        device: DeviceConfig { device_seed: Some(11), ..DeviceConfig::default() },
        drain_timeout: Duration::from_secs(10),
        ..ServerConfig::default()
    }
}

fn small_request(id: &str) -> pb::SampleRequest {
    pb::SampleRequest {
        request_id: id.into(),
        h: vec![pb::LinearBias { qubit: 0, value: 0.5 }, pb::LinearBias { qubit: 4, value: -0.25 }],
        j: vec![pb::QuadraticBias { u: 0, v: 4, value: -1.0 }],
        num_reads: 50,
        annealing_time: Some(5.0),
        ..Default::default()
    }
}

/// Sends `requests` on one stream and collects every answer (or error) by request id.
async fn run_stream(
    client: &mut AnnealerClient<Channel>,
    requests: Vec<pb::SampleRequest>,
) -> Result<Vec<(String, Result<(Answer, usize), AnswerError>)>, Status> {
    let expected = requests.len();
    let (tx, rx) = mpsc::channel(requests.len().max(1));
    for r in requests {
        tx.send(r).await.unwrap();
    }
    let mut inbound = client.sample(ReceiverStream::new(rx)).await?.into_inner();
    let mut assemblers: std::collections::HashMap<String, (AnswerAssembler, usize)> =
        Default::default();
    let mut done = Vec::new();
    while done.len() < expected {
        let chunk = inbound.next().await.expect("stream ended early")?;
        let id = chunk.request_id.clone();
        let entry = assemblers.entry(id.clone()).or_default();
        entry.1 += 1;
        if let Some(result) = entry.0.push(chunk) {
            let chunks = entry.1;
            done.push((id, result.map(|a| (a, chunks))));
        }
    }
    drop(tx);
    Ok(done)
}

async fn sample_error(request: pb::SampleRequest) -> Status {
    let server = TestServer::start(seeded_config()).await;
    let mut client = server.client().await;
    let mut results = run_stream(&mut client, vec![request]).await.unwrap();
    let (_, result) = results.pop().unwrap();
    let status = match result {
        Err(AnswerError::Failed(status)) => status,
        other => panic!("expected a failed request, got {other:?}"),
    };
    server.shutdown().await;
    status
}

async fn assert_invalid(request: pb::SampleRequest, field: &str) {
    let status = sample_error(request).await;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().starts_with(&format!("{field}: ")),
        "message {:?} should name {field}",
        status.message()
    );
}

#[tokio::test]
async fn properties_describe_the_dw_2000q_5() {
    let server = TestServer::start(seeded_config()).await;
    let p = server.client().await.get_properties(pb::GetPropertiesRequest {}).await.unwrap();
    let p = p.into_inner();
    assert_eq!(p.name, "DW_2000Q_5");
    assert_eq!(p.num_qubits, 2048);
    assert_eq!(p.qubits.len(), 2030);
    assert_eq!(p.couplers.len(), 5909);
    assert_eq!(p.topology.as_ref().unwrap().shape, vec![16, 16, 4]);
    assert_eq!(p.annealing_time_range, Some(pb::Range { min: 5.0, max: 2000.0 }));
    assert_eq!(p.default_annealing_time, 20.0);
    assert_eq!(p.num_reads_range, Some(pb::IntRange { min: 1, max: 10_000 }));
    assert_eq!(p.h_range, Some(pb::Range { min: -2.0, max: 2.0 }));
    assert_eq!(p.j_range, Some(pb::Range { min: -1.0, max: 1.0 }));
    server.shutdown().await;
}

fn advantage2_config() -> ServerConfig {
    ServerConfig {
        device: DeviceConfig {
            device_seed: Some(12),
            ..DeviceConfig::for_solver(Solver::Advantage2System1_5)
        },
        drain_timeout: Duration::from_secs(10),
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn properties_describe_advantage2_system1_5_as_its_record() {
    let server = TestServer::start(advantage2_config()).await;
    let p = server.client().await.get_properties(pb::GetPropertiesRequest {}).await.unwrap();
    let p = p.into_inner();
    assert_eq!(p.name, "Advantage2_system1.5");
    assert_eq!(p.category, "qpu");
    let topology = p.topology.as_ref().unwrap();
    assert_eq!((topology.r#type.as_str(), topology.shape.as_slice()), ("zephyr", &[12, 4][..]));
    assert_eq!(p.num_qubits, 4800);
    assert_eq!(p.qubits.len(), 4594);
    assert_eq!(p.couplers.len(), 41_813);
    assert_eq!(p.h_range, Some(pb::Range { min: -6.0, max: 6.0 }));
    assert_eq!(p.j_range, Some(pb::Range { min: -1.0, max: 1.0 }));
    assert_eq!(p.extended_j_range, Some(pb::Range { min: -2.0, max: 1.0 }));
    assert_eq!(p.per_qubit_coupling_range, None);
    assert_eq!(p.per_group_coupling_range, Some(pb::Range { min: -13.0, max: 10.0 }));
    assert_eq!(p.annealing_time_range, Some(pb::Range { min: 0.5, max: 2000.0 }));
    assert_eq!(p.default_annealing_time, 20.0);
    assert_eq!(p.num_reads_range, Some(pb::IntRange { min: 1, max: 10_000 }));
    assert_eq!(p.problem_run_duration_range, Some(pb::IntRange { min: 0, max: 1_000_000 }));
    assert_eq!(p.default_programming_thermalization, 1000);
    assert_eq!(p.default_readout_thermalization, 0);
    let t = p.problem_timing_data.as_ref().unwrap();
    assert_eq!(t.version, "1.0.0");
    assert_eq!(t.typical_programming_time, 33_636.7);
    assert_eq!(t.qpu_delay_time_per_sample, 60.57);
    assert_eq!(t.readout_time_model, "pwl_log_log");
    assert_eq!(t.readout_time_model_parameters[5], 1.367063268466494);
    assert_eq!(t.decorrelation_time_range, Some(pb::Range { min: 500.0, max: 10_000.0 }));

    // J in the extended range, not auto-scaled, at the 0.5 µs floor: answered, with the
    // record's timing for a two-qubit problem.
    let (u, v) = (p.couplers[0].u, p.couplers[0].v);
    let request = |id: &str, j: f64, anneal: f64| pb::SampleRequest {
        request_id: id.into(),
        j: vec![pb::QuadraticBias { u, v, value: j }],
        num_reads: 20,
        annealing_time: Some(anneal),
        auto_scale: Some(false),
        seed: Some(5),
        ..Default::default()
    };
    let mut client = server.client().await;
    let mut results = run_stream(&mut client, vec![request("strong", -1.4, 0.5)]).await.unwrap();
    let (answer, _) = results.pop().unwrap().1.unwrap();
    assert_eq!(answer.set.active_variables, vec![u, v]);
    assert_eq!(answer.num_variables, 4800);
    let timing = answer.timing;
    assert!((timing.qpu_readout_time_per_sample - 29.252906827901576).abs() < 1e-9);
    assert_eq!(timing.qpu_programming_time, 34_636.7);
    for (j, anneal, field) in [(-2.5, 0.5, "j[0].value"), (-1.0, 0.4, "annealing_time")] {
        let mut results = run_stream(&mut client, vec![request("bad", j, anneal)]).await.unwrap();
        let Err(AnswerError::Failed(status)) = results.pop().unwrap().1 else {
            panic!("J = {j} at {anneal} µs should be refused");
        };
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().starts_with(&format!("{field}: ")), "{status:?}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn h_out_of_range_without_auto_scale() {
    let mut r = small_request("h");
    r.auto_scale = Some(false);
    r.h[1].value = -2.5;
    assert_invalid(r, "h[1].value").await;
}

#[tokio::test]
async fn j_out_of_range_without_auto_scale() {
    let mut r = small_request("j");
    r.auto_scale = Some(false);
    r.j[0].value = 1.01;
    assert_invalid(r, "j[0].value").await;
}

#[tokio::test]
async fn coupler_absent() {
    let mut r = small_request("c");
    r.j.push(pb::QuadraticBias { u: 9, v: 12, value: 0.1 }); // dead on DW_2000Q_5
    assert_invalid(r, "j[1]").await;
}

#[tokio::test]
async fn qubit_inactive() {
    let mut r = small_request("q");
    r.h.push(pb::LinearBias { qubit: 49, value: 0.1 });
    assert_invalid(r, "h[2].qubit").await;
}

#[tokio::test]
async fn nan_bias() {
    let mut r = small_request("nan");
    r.h[0].value = f64::NAN;
    assert_invalid(r, "h[0].value").await;
}

#[tokio::test]
async fn infinite_coupling() {
    let mut r = small_request("inf");
    r.j[0].value = f64::INFINITY;
    assert_invalid(r, "j[0].value").await;
}

#[tokio::test]
async fn duplicate_entry() {
    let mut r = small_request("dup");
    r.j.push(pb::QuadraticBias { u: 4, v: 0, value: 0.2 });
    assert_invalid(r, "j[1]").await;
}

#[tokio::test]
async fn annealing_time_below_the_5_us_floor() {
    let mut r = small_request("t");
    r.annealing_time = Some(4.9);
    assert_invalid(r, "annealing_time").await;
}

#[tokio::test]
async fn annealing_time_above_the_maximum() {
    let mut r = small_request("t");
    r.annealing_time = Some(2000.1);
    assert_invalid(r, "annealing_time").await;
}

#[tokio::test]
async fn zero_reads() {
    let mut r = small_request("n");
    r.num_reads = 0;
    assert_invalid(r, "num_reads").await;
}

#[tokio::test]
async fn too_many_reads() {
    let mut r = small_request("n");
    r.num_reads = 10_001;
    assert_invalid(r, "num_reads").await;
}

#[tokio::test]
async fn run_duration_exceeded() {
    let mut r = small_request("d");
    r.annealing_time = Some(1000.0);
    r.num_reads = 1000; // (1000 + 198.4) × 1000 + 1000 µs > 1 s
    let status = sample_error(r).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("num_reads: problem run duration"), "{status:?}");
    assert!(status.message().contains("1000000"), "{status:?}");
}

#[tokio::test]
async fn unknown_answer_mode() {
    let mut r = small_request("m");
    r.answer_mode = 7;
    assert_invalid(r, "answer_mode").await;
}

#[tokio::test]
async fn missing_token_when_auth_is_on() {
    let mut config = seeded_config();
    config.token = Some("s3cret".into());
    let server = TestServer::start(config).await;
    let mut anonymous = server.client().await;
    let status = anonymous.get_properties(pb::GetPropertiesRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().starts_with("authorization: "), "{status:?}");
    let status = run_stream(&mut anonymous, vec![small_request("a")]).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    let token: tonic::metadata::MetadataValue<_> = "Bearer s3cret".parse().unwrap();
    let mut authorised =
        AnnealerClient::with_interceptor(server.channel().await, move |mut req: Request<()>| {
            req.metadata_mut().insert("authorization", token.clone());
            Ok(req)
        });
    assert!(authorised.get_properties(pb::GetPropertiesRequest {}).await.is_ok());
    server.shutdown().await;
}

/// About 1000 qubits: the first `rows` cell rows of the chip with random h and J in [-1, 1].
fn big_request(id: &str, props: &pb::SolverProperties, reads: u32) -> pb::SampleRequest {
    let limit = 8 * 128; // cell rows 0..8 → labels below 1024
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut uniform = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    pb::SampleRequest {
        request_id: id.into(),
        h: props
            .qubits
            .iter()
            .filter(|&&q| q < limit)
            .map(|&qubit| pb::LinearBias { qubit, value: uniform() })
            .collect(),
        j: props
            .couplers
            .iter()
            .filter(|c| c.v < limit)
            .map(|c| pb::QuadraticBias { u: c.u, v: c.v, value: uniform() })
            .collect(),
        num_reads: reads,
        annealing_time: Some(5.0),
        answer_mode: pb::AnswerMode::Raw as i32,
        seed: Some(1),
        ..Default::default()
    }
}

fn problem_of(r: &pb::SampleRequest) -> IsingProblem {
    let h: Vec<_> = r.h.iter().map(|b| (b.qubit, b.value)).collect();
    let j: Vec<_> = r.j.iter().map(|b| (b.u, b.v, b.value)).collect();
    IsingProblem::from_labels(&h, &j)
}

#[tokio::test]
async fn concurrent_requests_stream_back_chunked_answers_with_true_energies() {
    let mut config = seeded_config();
    config.limits = ServiceLimits { max_chunk_bytes: 32 * 1024, ..ServiceLimits::default() };
    let server = TestServer::start(config).await;
    let mut client = server.client().await;
    let props = client.get_properties(pb::GetPropertiesRequest {}).await.unwrap().into_inner();

    let big = big_request("big", &props, 1000);
    assert!((950..=1024).contains(&big.h.len()), "{} qubits", big.h.len());
    let mut requests = vec![big.clone()];
    for i in 0..4 {
        let mut r = small_request(&format!("small-{i}"));
        r.answer_mode =
            if i % 2 == 0 { pb::AnswerMode::Raw } else { pb::AnswerMode::Histogram } as i32;
        requests.push(r);
    }
    // A second stream in parallel with the first.
    let mut other_client = server.client().await;
    let other = tokio::spawn(async move {
        run_stream(&mut other_client, vec![small_request("other")]).await.unwrap()
    });
    let results = run_stream(&mut client, requests.clone()).await.unwrap();
    assert_eq!(other.await.unwrap().len(), 1);
    assert_eq!(results.len(), requests.len());

    for (id, result) in results {
        let (answer, chunks) = result.unwrap();
        let request = requests.iter().find(|r| r.request_id == id).unwrap();
        let problem = problem_of(request);
        assert_eq!(answer.set.active_variables, problem.active);
        assert_eq!(answer.num_variables, 2048);
        assert_eq!(answer.set.num_reads(), u64::from(request.num_reads));
        for row in 0..answer.set.num_rows() {
            let spins = answer.set.row(row);
            let recomputed = problem.energy(&spins);
            assert!((recomputed - answer.set.energies[row]).abs() < 1e-9, "{id} row {row}");
        }
        let t = answer.timing;
        assert!((t.qpu_access_time - t.qpu_programming_time - t.qpu_sampling_time).abs() < 1e-6);
        if id == "big" {
            assert!(chunks > 1, "1000 reads × ~1000 qubits should come in several chunks");
            assert!(answer.set.num_occurrences.is_none());
            // 1000 × (5 + 198.4 + 20.54) + 10536.81 + 1000 µs.
            assert!((t.qpu_access_time - 235_476.81).abs() < 1e-6, "{t:?}");
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn seeded_requests_over_the_network_are_reproducible() {
    let server = TestServer::start(seeded_config()).await;
    let mut client = server.client().await;
    let mut a = small_request("a");
    a.seed = Some(42);
    a.answer_mode = pb::AnswerMode::Raw as i32;
    let mut b = a.clone();
    b.request_id = "b".into();
    let results = run_stream(&mut client, vec![a, b]).await.unwrap();
    let sets: Vec<_> = results.into_iter().map(|(_, r)| r.unwrap().0.set).collect();
    assert_eq!(sets[0], sets[1]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_full_queue_answers_resource_exhausted() {
    let mut config = seeded_config();
    // One slot and pacing: the first request holds the slot for its modelled access time
    // (≈ 11.6 ms + 50 × 224 µs ≈ 23 ms), far longer than the second takes to arrive.
    config.limits = ServiceLimits { max_queued: 1, pacing: true, ..ServiceLimits::default() };
    let server = TestServer::start(config).await;
    let mut client = server.client().await;
    let results = run_stream(&mut client, vec![small_request("first"), small_request("second")])
        .await
        .unwrap();
    let second = results.iter().find(|(id, _)| id == "second").unwrap();
    match &second.1 {
        Err(AnswerError::Failed(status)) => assert_eq!(status.code(), Code::ResourceExhausted),
        other => panic!("expected RESOURCE_EXHAUSTED, got {other:?}"),
    }
    assert!(results.iter().find(|(id, _)| id == "first").unwrap().1.is_ok());
    server.shutdown().await;
}

#[tokio::test]
async fn duplicate_request_ids_in_flight_are_refused() {
    let mut config = seeded_config();
    config.limits = ServiceLimits { pacing: true, ..ServiceLimits::default() };
    let server = TestServer::start(config).await;
    let mut client = server.client().await;
    let (tx, rx) = mpsc::channel(4);
    tx.send(small_request("same")).await.unwrap();
    tx.send(small_request("same")).await.unwrap();
    let mut inbound = client.sample(ReceiverStream::new(rx)).await.unwrap().into_inner();
    let first = inbound.next().await.unwrap().unwrap();
    let status = qahm_wire::rpc_to_status(first.error.as_ref().expect("an error first"));
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("request_id: "));
    let field_error = qahm_wire::field_error_of(&status).expect("a BadRequest field violation");
    assert_eq!(field_error.field, "request_id");
    drop(tx);
    server.shutdown().await;
}

#[tokio::test]
async fn health_is_serving_until_shutdown_and_in_flight_work_drains() {
    let mut config = seeded_config();
    config.limits = ServiceLimits { pacing: true, ..ServiceLimits::default() };
    let server = TestServer::start(config).await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let check =
        tonic_health::pb::HealthCheckRequest { service: "qahm.annealer.v1.Annealer".into() };
    let reply = health.check(check).await.unwrap().into_inner();
    assert_eq!(
        reply.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    // A paced request is in flight when the shutdown begins; it must still be answered.
    let mut client = server.client().await;
    let (tx, rx) = mpsc::channel(4);
    let mut r = small_request("in-flight");
    r.num_reads = 400; // ≈ 11.6 ms + 400 × 224 µs ≈ 100 ms modelled
    tx.send(r).await.unwrap();
    let mut inbound = client.sample(ReceiverStream::new(rx)).await.unwrap().into_inner();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let TestServer { addr: _, mut stop, done } = server;
    let _ = stop.take().unwrap().send(());
    let mut assembler = AnswerAssembler::default();
    let answer = loop {
        let chunk = inbound.next().await.unwrap().unwrap();
        if let Some(a) = assembler.push(chunk) {
            break a;
        }
    };
    assert!(answer.is_ok(), "{answer:?}");
    drop(tx);
    tokio::time::timeout(Duration::from_secs(20), done).await.unwrap().unwrap();
}

#[tokio::test]
async fn an_empty_problem_is_answered_not_crashed_on() {
    let server = TestServer::start(seeded_config()).await;
    let mut client = server.client().await;
    let empty = pb::SampleRequest {
        request_id: "empty".into(),
        num_reads: 10,
        answer_mode: pb::AnswerMode::Raw as i32,
        ..Default::default()
    };
    let mut results = run_stream(&mut client, vec![empty]).await.unwrap();
    let (answer, _) = results.pop().unwrap().1.unwrap();
    assert!(answer.set.active_variables.is_empty());
    assert_eq!(answer.set.energies, vec![0.0; 10]);
    server.shutdown().await;
}

#[tokio::test]
async fn reflection_lists_the_annealer_in_v1_and_v1alpha() {
    use tonic_reflection::pb::{v1, v1alpha};
    let server = TestServer::start(seeded_config()).await;

    let mut client =
        v1::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut replies =
        client.server_reflection_info(tokio_stream::iter([request])).await.unwrap().into_inner();
    let reply = replies.next().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        reply.message_response
    else {
        panic!("expected a service list, got {reply:?}");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"qahm.annealer.v1.Annealer"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");

    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1alpha::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut replies =
        client.server_reflection_info(tokio_stream::iter([request])).await.unwrap().into_inner();
    let reply = replies.next().await.unwrap().unwrap();
    assert!(format!("{reply:?}").contains("qahm.annealer.v1.Annealer"));
    server.shutdown().await;
}

// ---- requests the server cannot read --------------------------------------------------------

/// Sends `messages` as raw request bytes on one Sample stream; returns the responses and the
/// status the call ended with.
async fn sample_raw(messages: Vec<Vec<u8>>) -> (Vec<pb::SampleResponse>, Status) {
    let server = TestServer::start(seeded_config()).await;
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.unwrap();
    let path =
        tonic::codegen::http::uri::PathAndQuery::from_static("/qahm.annealer.v1.Annealer/Sample");
    let request = Request::new(tokio_stream::iter(messages));
    let codec = RawRequests::<pb::SampleResponse>::default();
    let mut inbound = grpc.streaming(request, path, codec).await.unwrap().into_inner();
    let mut responses = Vec::new();
    let end = loop {
        match inbound.message().await {
            Ok(Some(response)) => responses.push(response),
            Ok(None) => break Status::ok(""),
            Err(status) => break status,
        }
    };
    server.shutdown().await;
    (responses, end)
}

#[tokio::test]
async fn an_undecodable_request_ends_the_call_with_invalid_argument_after_the_earlier_answers() {
    let good = prost::Message::encode_to_vec(&small_request("before"));
    let (responses, end) = sample_raw(vec![good, GARBAGE.to_vec()]).await;
    assert_eq!(end.code(), Code::InvalidArgument, "{end:?}");
    assert!(end.message().contains("could not be decoded"), "{end:?}");
    // The request read before the garbage is answered in full, before the status.
    assert!(!responses.is_empty());
    assert!(
        responses.iter().all(|r| r.request_id == "before" && r.error.is_none()),
        "{responses:?}"
    );
}

#[tokio::test]
async fn a_request_over_the_4_mib_limit_ends_the_call_with_resource_exhausted_naming_it() {
    let (responses, end) = sample_raw(vec![oversized()]).await;
    assert_eq!(end.code(), Code::ResourceExhausted, "{end:?}");
    assert!(end.message().contains("4194304 bytes"), "{end:?}");
    assert!(responses.is_empty(), "{responses:?}");
}

#[tokio::test]
async fn an_undecodable_get_properties_is_invalid_argument_not_internal() {
    let server = TestServer::start(seeded_config()).await;
    let path = "/qahm.annealer.v1.Annealer/GetProperties";
    let status = unary_raw::<pb::SolverProperties>(server.channel().await, path, GARBAGE.to_vec())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("could not be decoded"), "{status:?}");
    let status = unary_raw::<pb::SolverProperties>(server.channel().await, path, oversized())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("4194304 bytes"), "{status:?}");
    // The server is still well: a proper call is answered.
    server.client().await.get_properties(pb::GetPropertiesRequest {}).await.unwrap();
    server.shutdown().await;
}
