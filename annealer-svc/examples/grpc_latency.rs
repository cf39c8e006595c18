//! End-to-end latency of one sampling request over gRPC on loopback, next to the modelled
//! D-Wave 2000Q access time of the same request.
//!
//! Starts annealer-svc on 127.0.0.1:0 in this process, then, as a client over the network:
//! GetProperties, and `--repeats` times one request of `--reads` reads at `--annealing-time`
//! µs with random h and J on the first `--cell-rows` rows of unit cells (8 rows ≈ 1000 qubits).

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use qahm_proto::pb::{self, annealer_client::AnnealerClient};
use qahm_wire::AnswerAssembler;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use tokio_stream::StreamExt;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 1000)]
    reads: u32,
    #[arg(long, default_value_t = 5.0)]
    annealing_time: f64,
    #[arg(long, default_value_t = 8)]
    cell_rows: u32,
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Also write the figures as JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

fn request(props: &pb::SolverProperties, args: &Args, id: usize) -> pb::SampleRequest {
    let limit = args.cell_rows * 128;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(12345);
    pb::SampleRequest {
        request_id: format!("latency-{id}"),
        h: props
            .qubits
            .iter()
            .filter(|&&q| q < limit)
            .map(|&qubit| pb::LinearBias { qubit, value: rng.random_range(-1.0..1.0) })
            .collect(),
        j: props
            .couplers
            .iter()
            .filter(|c| c.v < limit)
            .map(|c| pb::QuadraticBias { u: c.u, v: c.v, value: rng.random_range(-1.0..1.0) })
            .collect(),
        num_reads: args.reads,
        annealing_time: Some(args.annealing_time),
        answer_mode: pb::AnswerMode::Raw as i32,
        auto_scale: Some(false),
        ..Default::default()
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(annealer_svc::serve(listener, Default::default(), async {
        let _ = stopped.await;
    }));
    let mut client = AnnealerClient::connect(format!("http://{addr}")).await?;
    let props = client.get_properties(pb::GetPropertiesRequest {}).await?.into_inner();

    let mut walls = Vec::new();
    let mut modelled = 0.0;
    let mut qubits = 0;
    for i in 0..args.repeats {
        let r = request(&props, &args, i);
        qubits = r.h.len();
        let started = Instant::now();
        let mut inbound = client.sample(tokio_stream::iter([r])).await?.into_inner();
        let mut assembler = AnswerAssembler::default();
        let answer = loop {
            let chunk = inbound.next().await.context("stream ended early")??;
            if let Some(answer) = assembler.push(chunk) {
                break answer?;
            }
        };
        walls.push(started.elapsed());
        modelled = answer.timing.qpu_access_time;
        anyhow::ensure!(answer.set.num_rows() == args.reads as usize, "wrong row count");
    }
    walls.sort();
    let median = walls[walls.len() / 2];
    let best = walls[0];
    let modelled = Duration::from_secs_f64(modelled * 1e-6);
    println!(
        "grpc end-to-end: {} reads × {} qubits at {} µs: median {:.1} ms, best {:.1} ms over {} runs; \
         modelled 2000Q access time {:.1} ms; ratio (median / modelled) {:.3}",
        args.reads,
        qubits,
        args.annealing_time,
        median.as_secs_f64() * 1e3,
        best.as_secs_f64() * 1e3,
        walls.len(),
        modelled.as_secs_f64() * 1e3,
        median.as_secs_f64() / modelled.as_secs_f64(),
    );
    if let Some(path) = &args.json {
        let record = format!(
            "{{\"reads\": {}, \"qubits\": {}, \"annealing_time_us\": {}, \"runs\": {}, \
             \"median_ms\": {:.3}, \"best_ms\": {:.3}, \"modelled_qpu_access_ms\": {:.3}, \
             \"median_over_modelled\": {:.4}}}\n",
            args.reads,
            qubits,
            args.annealing_time,
            walls.len(),
            median.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e3,
            modelled.as_secs_f64() * 1e3,
            median.as_secs_f64() / modelled.as_secs_f64()
        );
        std::fs::write(path, record)?;
    }
    let _ = stop.send(());
    server.await??;
    Ok(())
}
