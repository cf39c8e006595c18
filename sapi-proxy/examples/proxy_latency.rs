//! The proxy's added latency on loopback: the same small seeded request (100 reads on the
//! DW_2000Q_5's first unit cell, 20 µs) sent N times, one at a time,
//! (a) straight to annealer-svc's gRPC and (b) to sapi-proxy in front of the same
//! annealer-svc's SAPI front (gRPC → proxy → HTTP submit, long-poll, answer → front →
//! emulator). Each request is timed from send to its last answer chunk on a long-lived
//! `Sample` stream, as the trainer uses one; (a) and (b) alternate so that drift hits both.
//! Prints p50/p99 of each path and of the per-pair difference (b − a).
//!
//! `cargo run --release -p sapi-proxy --example proxy_latency [-- N]` (`make bench-proxy`).
//! The proxy runs with its production limits (`ProxyLimits::default()`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use annealer_svc::sapi_front::SapiOptions;
use annealer_svc::{Device, DeviceConfig, ServerConfig};
use anyhow::{Context, bail};
use qahm_common::properties::SolverProperties;
use qahm_common::topology::WorkingGraph;
use qahm_proto::pb::{self, annealer_client::AnnealerClient};
use qahm_wire::FromProto;
use sapi_proxy::ProxyConfig;
use sapi_proxy::client::RetryPolicy;
use sapi_proxy::service::ProxyLimits;
use sapi_proxy::token::ApiToken;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::Channel;

const TOKEN: &str = "bench-token";
const WARM_UP: usize = 10;

/// One `Sample` stream, used for one request at a time.
struct Stream {
    requests: mpsc::Sender<pb::SampleRequest>,
    answers: Streaming<pb::SampleResponse>,
    sent: u64,
}

impl Stream {
    async fn open(url: String) -> anyhow::Result<Self> {
        let mut client = AnnealerClient::<Channel>::connect(url).await?;
        let (requests, rx) = mpsc::channel(1);
        let answers = client.sample(ReceiverStream::new(rx)).await?.into_inner();
        Ok(Stream { requests, answers, sent: 0 })
    }

    /// Sends `request` and waits for its last chunk; the round trip.
    async fn time(&mut self, request: &pb::SampleRequest) -> anyhow::Result<Duration> {
        self.sent += 1;
        let request = pb::SampleRequest { request_id: self.sent.to_string(), ..request.clone() };
        let started = Instant::now();
        self.requests.send(request).await?;
        loop {
            let chunk = self.answers.message().await?.context("the stream ended")?;
            if let Some(error) = chunk.error {
                bail!("request failed: {} ({})", error.message, error.code);
            }
            if chunk.last_chunk {
                return Ok(started.elapsed());
            }
        }
    }
}

/// 100 reads on the DW_2000Q_5's first unit cell: qubits 0–7 and their working couplers.
fn request(graph: &WorkingGraph) -> pb::SampleRequest {
    let cell = |q: u32| q < 8;
    let h = (0..8u32)
        .filter(|&q| graph.index(q).is_some())
        .map(|qubit| pb::LinearBias { qubit, value: if qubit % 2 == 0 { 0.25 } else { -0.25 } });
    let j = graph.couplers().iter().filter(|&&(u, v)| cell(u) && cell(v)).map(|&(u, v)| {
        pb::QuadraticBias { u, v, value: if (u + v) % 3 == 0 { 0.5 } else { -0.5 } }
    });
    pb::SampleRequest {
        h: h.collect(),
        j: j.collect(),
        num_reads: 100,
        annealing_time: Some(20.0),
        seed: Some(42),
        ..Default::default()
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    println!(
        "{name:<34} p50 {:>8.2} ms   p99 {:>8.2} ms   mean {mean:>8.2} ms   min {:>7.2} ms",
        percentile(&ms, 0.50),
        percentile(&ms, 0.99),
        ms[0]
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse().context("N must be a number of requests")?,
        None => 200,
    };

    let grpc = TcpListener::bind("127.0.0.1:0").await?;
    let sapi = TcpListener::bind("127.0.0.1:0").await?;
    let (grpc_addr, sapi_addr) = (grpc.local_addr()?, sapi.local_addr()?);
    let config = ServerConfig {
        device: DeviceConfig { device_seed: Some(1), ..DeviceConfig::default() },
        drain_timeout: Duration::from_secs(5),
        sapi: SapiOptions { token: Some(TOKEN.into()), ..SapiOptions::default() },
        ..ServerConfig::default()
    };
    let device = Arc::new(Device::new(config.device.clone())?);
    tokio::spawn(annealer_svc::serve_all(grpc, Some(sapi), device, config, std::future::pending()));

    let proxy = TcpListener::bind("127.0.0.1:0").await?;
    let proxy_addr = proxy.local_addr()?;
    let config = ProxyConfig {
        sapi_url: format!("http://{sapi_addr}/sapi/v2/").parse()?,
        sapi_token: ApiToken::new(TOKEN).context("token")?,
        solver: "DW_2000Q_5".into(),
        retry: RetryPolicy::default(),
        limits: ProxyLimits::default(),
        token: None,
        tls: None,
        drain_timeout: Duration::from_secs(5),
    };
    tokio::spawn(sapi_proxy::serve(proxy, config, std::future::pending()));

    let mut client = AnnealerClient::<Channel>::connect(format!("http://{grpc_addr}")).await?;
    let props = client.get_properties(pb::GetPropertiesRequest {}).await?.into_inner();
    let graph = SolverProperties::from_proto(props)?.graph;
    let request = request(&graph);
    let mut direct = Stream::open(format!("http://{grpc_addr}")).await?;
    let mut proxied = Stream::open(format!("http://{proxy_addr}")).await?;
    for _ in 0..WARM_UP {
        direct.time(&request).await?;
        proxied.time(&request).await?;
    }
    let (mut a, mut b, mut diff) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let near = direct.time(&request).await?.as_secs_f64() * 1e3;
        let far = proxied.time(&request).await?.as_secs_f64() * 1e3;
        a.push(near);
        b.push(far);
        diff.push(far - near);
    }
    println!(
        "{n} sequential requests each way (after {WARM_UP} warm-up): 100 reads, 8 qubits, \
         DW_2000Q_5, seed 42, loopback"
    );
    summary("(a) annealer-svc gRPC", a);
    summary("(b) gRPC → sapi-proxy → SAPI front", b);
    summary("added by the proxy (b − a, paired)", diff);
    Ok(())
}
