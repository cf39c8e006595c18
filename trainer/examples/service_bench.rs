//! What the trainer service costs, measured in one run (`make bench-service`):
//! 1. a preset's run through the command line's path (the library's `Run`, in this process)
//!    and through the service (StartRun → SUCCEEDED): wall time of both, and whether their
//!    parameters agree bit for bit;
//! 2. the cost of 10 watchers: the same run with none and with 10 `WatchRun` streams read by
//!    clients, updates per second of each;
//! 3. the latency of `Generate(n = 100)` while a run trains.
//!
//! Usage: service_bench [PRESET [UPDATES]] (default: the default preset, all its updates).
//! Run from the repository root (the preset's data directory is relative to it).

use std::time::{Duration, Instant};

use qahm_proto::trainer_pb as pb;
use qahm_proto::trainer_pb::trainer_client::TrainerClient;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;
use trainer::config::{Preset, RunConfig};
use trainer::run::{CHECKPOINT_FILE, Checkpoint, Connection, Run};
use trainer::service::grpc::config_pb;
use trainer::service::{ManagerConfig, ServeConfig};

type Client = TrainerClient<tonic::transport::Channel>;

fn state_of(run: &pb::Run) -> pb::RunState {
    pb::RunState::try_from(run.state).unwrap_or_default()
}

async fn wait_done(client: &mut Client, id: &str) -> anyhow::Result<pb::Run> {
    loop {
        let run = client.get_run(pb::GetRunRequest { run_id: id.into() }).await?.into_inner();
        match state_of(&run) {
            pb::RunState::Succeeded => return Ok(run),
            pb::RunState::Pending | pb::RunState::Running => {}
            other => anyhow::bail!("run {id} ended {other:?}: {}", run.error),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn start(client: &mut Client, id: &str, config: &RunConfig) -> anyhow::Result<()> {
    let request = pb::StartRunRequest {
        run_id: id.into(),
        preset: config.preset.name().into(),
        config: Some(config_pb(config)),
    };
    client.start_run(request).await?;
    Ok(())
}

fn state(dir: &std::path::Path) -> anyhow::Result<Checkpoint> {
    let mut c = Checkpoint::load(&dir.join(CHECKPOINT_FILE))?;
    c.state.wall_seconds = 0.0;
    Ok(c)
}

/// Updates per second of a finished run of the service (its summary's wall time).
fn rate(runs: &std::path::Path, id: &str, updates: u64) -> anyhow::Result<f64> {
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(runs.join(id).join("summary.json"))?)?;
    Ok(updates as f64 / summary["wall_seconds"].as_f64().unwrap_or(f64::NAN))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let preset = args.first().and_then(|p| Preset::from_name(p)).unwrap_or(Preset::Default);
    let mut config = trainer::run::settle_data(RunConfig::preset(preset))?;
    if let Some(n) = args.get(1) {
        config.schedule.iterations = Some(n.parse()?);
        config.schedule.epochs = None;
    }
    let updates = config.iterations();
    let runs = std::env::temp_dir().join(format!("qahm-service-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&runs);

    // 1a. The command line's path: the library's Run in this process.
    let local_dir = runs.join("local");
    let started = Instant::now();
    let local_config = config.clone();
    let dir = local_dir.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut run = Run::create(&dir, local_config, &Connection::default(), &mut |_| {})?;
        run.train(None, &CancellationToken::new(), &mut |_| {})?;
        run.finish()?;
        Ok(())
    })
    .await??;
    let local_wall = started.elapsed().as_secs_f64();

    // 1b. The same run through the service.
    let service_runs = runs.join("service");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let serve = ServeConfig {
        manager: ManagerConfig {
            runs_dir: service_runs.clone(),
            max_concurrent_runs: 1,
            max_queued_runs: 16,
            connection: Connection::default(),
        },
        token: None,
        tls: None,
        resume_interrupted: false,
        start_run: None,
        drain_timeout: Duration::from_secs(60),
    };
    let stop = CancellationToken::new();
    let server =
        tokio::spawn(trainer::service::serve(listener, serve, stop.clone().cancelled_owned()));
    let mut client = TrainerClient::connect(url).await?;
    let started = Instant::now();
    start(&mut client, "through-service", &config).await?;
    wait_done(&mut client, "through-service").await?;
    let service_wall = started.elapsed().as_secs_f64();
    let same = state(&local_dir)? == state(&service_runs.join("through-service"))?;
    println!(
        "{} preset, {updates} updates: command-line path {local_wall:.1} s, service {service_wall:.1} s \
         ({:+.1} %), parameters {}",
        preset.name(),
        100.0 * (service_wall / local_wall - 1.0),
        if same { "bit-identical" } else { "DIFFERENT" }
    );

    // 2. Ten watchers, each read by its own client as fast as it comes.
    let short = {
        let mut c = config.clone();
        c.schedule.iterations = Some(updates.min(1000));
        c.schedule.epochs = None;
        c
    };
    let n = short.iterations();
    start(&mut client, "no-watchers", &short).await?;
    wait_done(&mut client, "no-watchers").await?;
    start(&mut client, "ten-watchers", &short).await?;
    let mut readers = Vec::new();
    for _ in 0..10 {
        let mut c = client.clone();
        readers.push(tokio::spawn(async move {
            let request = pb::WatchRunRequest { run_id: "ten-watchers".into() };
            let mut events = c.watch_run(request).await?.into_inner();
            let mut count = 0usize;
            while let Some(e) = events.next().await {
                e?;
                count += 1;
            }
            Ok::<usize, tonic::Status>(count)
        }));
    }
    wait_done(&mut client, "ten-watchers").await?;
    let mut received = Vec::new();
    for r in readers {
        received.push(r.await??);
    }
    let (quiet, watched) =
        (rate(&service_runs, "no-watchers", n)?, rate(&service_runs, "ten-watchers", n)?);
    println!(
        "{n} updates: no watcher {quiet:.1} updates/s, 10 watchers {watched:.1} updates/s ({:+.1} %); \
         events per watcher {}–{}",
        100.0 * (watched / quiet - 1.0),
        received.iter().min().unwrap_or(&0),
        received.iter().max().unwrap_or(&0)
    );

    // 3. Generate(n = 100) while a run trains.
    start(&mut client, "looked-at", &short).await?;
    loop {
        let run =
            client.get_run(pb::GetRunRequest { run_id: "looked-at".into() }).await?.into_inner();
        if run.last_checkpoint.is_some() || state_of(&run) == pb::RunState::Succeeded {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut latencies = Vec::new();
    let mut during = 0;
    for seed in 0..20 {
        let t = Instant::now();
        let request = pb::GenerateRequest {
            run_id: "looked-at".into(),
            n: 100,
            seed,
            reads_per_call: 10,
            checkpoint: None,
        };
        client.generate(request).await?;
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
        let run =
            client.get_run(pb::GetRunRequest { run_id: "looked-at".into() }).await?.into_inner();
        during += usize::from(state_of(&run) == pb::RunState::Running);
    }
    wait_done(&mut client, "looked-at").await?;
    latencies.sort_by(f64::total_cmp);
    println!(
        "Generate(n = 100) while training ({during} of 20 calls during the run): p50 {:.0} ms, \
         p90 {:.0} ms, max {:.0} ms",
        latencies[10], latencies[18], latencies[19]
    );
    stop.cancel();
    server.await??;
    std::fs::remove_dir_all(&runs)?;
    Ok(())
}
