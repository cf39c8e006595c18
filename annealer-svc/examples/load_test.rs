//! A bounded load test of annealer-svc on loopback: `--streams` Sample streams (64) each keep
//! `--depth` requests (2) in flight for `--seconds` (60), with real requests (random h and J
//! on the first `--cell-rows` rows of unit cells, `--reads` reads at `--annealing-time` µs).
//!
//! The server is the annealer-svc binary built beside this example, started as a child
//! process so that its memory is its own: its peak RSS (VmHWM) is read at the end. With 64 ×
//! 2 requests against a queue of `--max-queued` (64) some are refused; a refused request is
//! sent again after a short pause, as a client honouring RESOURCE_EXHAUSTED would.
//!
//! Prints throughput, p50 / p99 latency of answered requests (send to last chunk), the count
//! of every status seen and the peak RSS; exits non-zero when any status other than OK or
//! RESOURCE_EXHAUSTED (in-band or ending a stream) appeared, when nothing was answered, or when
//! the peak RSS passed `--max-rss-mib`.
//!
//! `make bench-load` (release build); `--seconds 5 --streams 8` for a quick look.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use qahm_proto::pb::{self, annealer_client::AnnealerClient};
use qahm_wire::{AnswerAssembler, AnswerError};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::transport::Channel;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 64)]
    streams: usize,
    #[arg(long, default_value_t = 2)]
    depth: usize,
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    #[arg(long, default_value_t = 100)]
    reads: u32,
    #[arg(long, default_value_t = 20.0)]
    annealing_time: f64,
    /// Rows of unit cells the problem covers (3 ≈ 380 qubits, the size of the trainer's
    /// embedded 60-unit prior).
    #[arg(long, default_value_t = 3)]
    cell_rows: u32,
    /// The server's --max-queued.
    #[arg(long, default_value_t = 64)]
    max_queued: usize,
    /// Fail when the server's peak resident memory passes this.
    #[arg(long, default_value_t = 512)]
    max_rss_mib: u64,
    /// The annealer-svc binary (default: the one beside this example's directory).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Also write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// What every stream records.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    /// Status code name → count, in-band per request and ending streams.
    statuses: BTreeMap<String, u64>,
    reads: u64,
}

fn request(props: &pb::SolverProperties, args: &Args, id: String, seed: u64) -> pb::SampleRequest {
    let limit = args.cell_rows * 128;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    pb::SampleRequest {
        request_id: id,
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
        seed: Some(seed),
        ..Default::default()
    }
}

/// The server binary: `--server`, or annealer-svc in the target directory this example was
/// built into (target/<profile>/examples/load_test → target/<profile>/annealer-svc).
fn server_binary(args: &Args) -> anyhow::Result<PathBuf> {
    if let Some(path) = &args.server {
        return Ok(path.clone());
    }
    let exe = std::env::current_exe()?;
    let profile_dir = exe.parent().and_then(|d| d.parent()).context("no target directory")?;
    let path = profile_dir.join("annealer-svc");
    if !path.exists() {
        bail!("{} not found: build it (cargo build --release -p annealer-svc)", path.display());
    }
    Ok(path)
}

/// Peak resident memory (VmHWM) of process `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM")?;
    Ok(line.split_whitespace().nth(1).context("VmHWM value")?.parse()?)
}

/// Connects, retrying while the child server starts.
async fn connect(url: &str) -> anyhow::Result<Channel> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match Channel::from_shared(url.to_string())?.connect().await {
            Ok(channel) => return Ok(channel),
            Err(e) if Instant::now() > deadline => return Err(e.into()),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// One stream: keeps `depth` requests in flight until `until`, then lets them finish.
async fn drive_stream(
    channel: Channel,
    props: Arc<pb::SolverProperties>,
    args: Arc<Args>,
    stream: usize,
    until: Instant,
    tally: Arc<Mutex<Tally>>,
) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel::<pb::SampleRequest>(args.depth * 2);
    let mut client = AnnealerClient::new(channel);
    let mut inbound = client.sample(ReceiverStream::new(rx)).await?.into_inner();
    let mut sent: HashMap<String, (Instant, AnswerAssembler)> = HashMap::new();
    let mut next = 0u64;
    let mut send = |sent: &mut HashMap<String, (Instant, AnswerAssembler)>| {
        let id = format!("s{stream}-r{next}");
        let seed = (stream as u64) << 32 | next;
        next += 1;
        sent.insert(id.clone(), (Instant::now(), AnswerAssembler::default()));
        request(&props, &args, id, seed)
    };
    for _ in 0..args.depth {
        tx.send(send(&mut sent)).await?;
    }
    let mut tx = Some(tx);
    while let Some(item) = inbound.next().await {
        let chunk = match item {
            Ok(chunk) => chunk,
            Err(status) => {
                *tally
                    .lock()
                    .unwrap()
                    .statuses
                    .entry(format!("{:?}", status.code()))
                    .or_default() += 1;
                return Ok(());
            }
        };
        let id = chunk.request_id.clone();
        let Some((started, assembler)) = sent.get_mut(&id) else {
            bail!("a response for {id}, which this stream did not send or already had");
        };
        let started = *started;
        let Some(outcome) = assembler.push(chunk) else { continue };
        sent.remove(&id);
        let refused = {
            let mut tally = tally.lock().unwrap();
            match outcome {
                Ok(answer) => {
                    tally.latencies.push(started.elapsed());
                    tally.reads += answer.set.num_reads();
                    *tally.statuses.entry("Ok".into()).or_default() += 1;
                    false
                }
                Err(AnswerError::Failed(status)) => {
                    *tally.statuses.entry(format!("{:?}", status.code())).or_default() += 1;
                    status.code() == Code::ResourceExhausted
                }
                Err(e) => bail!("{id}: {e}"),
            }
        };
        if Instant::now() >= until {
            if sent.is_empty() {
                tx = None;
            }
        } else if let Some(tx) = &tx {
            if refused {
                // Back off a little, as a client told the queue is full would.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tx.send(send(&mut sent)).await?;
        }
        if tx.is_none() && sent.is_empty() {
            break;
        }
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank]
}

/// Stops the child with SIGTERM (its graceful drain), then waits.
fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?.port()
    };
    let mut child = Command::new(server_binary(&args)?)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--device-seed", "1"])
        .args(["--max-queued", &args.max_queued.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start annealer-svc")?;
    let outcome = run(&args, port, child.id()).await;
    stop(&mut child);
    let report = outcome?;
    println!("{report}");
    if let Some(path) = &args.json {
        std::fs::write(path, format!("{report}\n"))?;
    }
    Ok(())
}

async fn run(args: &Arc<Args>, port: u16, pid: u32) -> anyhow::Result<String> {
    let url = format!("http://127.0.0.1:{port}");
    let channel = connect(&url).await?;
    let props = Arc::new(
        AnnealerClient::new(channel.clone())
            .get_properties(pb::GetPropertiesRequest {})
            .await?
            .into_inner(),
    );
    let idle_rss = peak_rss_kib(pid)?;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(args.seconds);
    let mut streams = tokio::task::JoinSet::new();
    for stream in 0..args.streams {
        // Several HTTP/2 connections, as several clients would open.
        let channel = if stream % 8 == 0 { connect(&url).await? } else { channel.clone() };
        streams.spawn(drive_stream(
            channel,
            props.clone(),
            args.clone(),
            stream,
            until,
            tally.clone(),
        ));
    }
    while let Some(done) = streams.join_next().await {
        done??;
    }
    let wall = started.elapsed().as_secs_f64();
    let peak_rss = peak_rss_kib(pid)?;
    let mut tally = std::mem::take(&mut *tally.lock().unwrap());
    tally.latencies.sort();
    let answered = tally.latencies.len();
    if answered == 0 {
        bail!("no request was answered");
    }
    let (p50, p99) = (percentile(&tally.latencies, 50.0), percentile(&tally.latencies, 99.0));
    let unexpected: Vec<_> = tally
        .statuses
        .keys()
        .filter(|k| !matches!(k.as_str(), "Ok" | "ResourceExhausted"))
        .collect();
    let report = format!(
        "{{\"streams\": {}, \"depth\": {}, \"seconds\": {:.1}, \"qubits\": {}, \"reads\": {}, \
         \"annealing_time_us\": {}, \"answered\": {answered}, \"requests_per_s\": {:.1}, \
         \"reads_per_s\": {:.0}, \"p50_ms\": {:.1}, \"p99_ms\": {:.1}, \"statuses\": {:?}, \
         \"idle_rss_mib\": {:.1}, \"peak_rss_mib\": {:.1}}}",
        args.streams,
        args.depth,
        wall,
        props.qubits.iter().filter(|&&q| q < args.cell_rows * 128).count(),
        args.reads,
        args.annealing_time,
        answered as f64 / wall,
        tally.reads as f64 / wall,
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        tally.statuses,
        idle_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
    );
    if !unexpected.is_empty() {
        bail!("statuses other than OK and RESOURCE_EXHAUSTED: {unexpected:?}\n{report}");
    }
    if peak_rss / 1024 > args.max_rss_mib {
        bail!("peak RSS {} MiB over --max-rss-mib {}\n{report}", peak_rss / 1024, args.max_rss_mib);
    }
    Ok(report)
}
