//! End-to-end tests of the trainer service (`qahm.trainer.v1`): the real server (and, where a
//! run samples remotely, the real annealer-svc) on ephemeral loopback ports, spoken to by a
//! tonic client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use annealer_svc::{DeviceConfig, ServerConfig};
use qahm_proto::trainer_pb as pb;
use qahm_proto::trainer_pb::trainer_client::TrainerClient;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;
use trainer::run::{CHECKPOINT_FILE, Checkpoint, Connection};
use trainer::service::{ManagerConfig, ServeConfig};

mod common;
use common::raw::{GARBAGE, oversized, unary_raw};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/mnist-10k")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qahm-svc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A trainer service on 127.0.0.1:0; stopping it (as SIGTERM would) is `stop.send(())`.
struct Service {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

impl Service {
    async fn start(
        runs_dir: &Path,
        annealer: Option<String>,
        slots: usize,
        token: Option<&str>,
    ) -> Self {
        Self::start_with(runs_dir, annealer, slots, 16, token).await
    }

    async fn start_with(
        runs_dir: &Path,
        annealer: Option<String>,
        slots: usize,
        queued: usize,
        token: Option<&str>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let config = ServeConfig {
            manager: ManagerConfig {
                runs_dir: runs_dir.to_path_buf(),
                max_concurrent_runs: slots,
                max_queued_runs: queued,
                connection: Connection::to(annealer, None),
            },
            token: token.map(str::to_string),
            tls: None,
            resume_interrupted: false,
            start_run: None,
            drain_timeout: Duration::from_secs(30),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(async move {
            trainer::service::serve(listener, config, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Service { url, stop: Some(stop), done }
    }

    async fn client(&self) -> TrainerClient<Channel> {
        TrainerClient::connect(self.url.clone()).await.unwrap()
    }

    /// Stops the service gracefully and waits until it has.
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.done.await.unwrap();
    }
}

/// annealer-svc on 127.0.0.1:0 with the trainer's in-process device seed; returns its URL.
async fn start_annealer() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = ServerConfig {
        device: DeviceConfig { device_seed: Some(7), ..DeviceConfig::default() },
        drain_timeout: Duration::from_secs(5),
        ..ServerConfig::default()
    };
    tokio::spawn(annealer_svc::serve(listener, config, std::future::pending()));
    url
}

/// A small run's settings: 500 training images, batches of 100.
fn config(prior: &str, iterations: u64, checkpoint_every: u64) -> pb::RunConfig {
    pb::RunConfig {
        data: Some(pb::DataConfig {
            dir: Some(data_dir().display().to_string()),
            train_size: Some(500),
            test_size: Some(100),
            ..Default::default()
        }),
        schedule: Some(pb::ScheduleConfig { iterations: Some(iterations), ..Default::default() }),
        prior: Some(pb::PriorConfig {
            kind: Some(prior.into()),
            warmup_epochs: Some(0.0),
            ..Default::default()
        }),
        annealing: Some(pb::AnnealingConfig {
            num_reads: Some(50),
            annealing_time: Some(5.0),
            ..Default::default()
        }),
        run: Some(pb::RunSettings {
            checkpoint_every: Some(checkpoint_every),
            ..Default::default()
        }),
        evaluation: Some(pb::EvaluationConfig { every: Some(10), ..Default::default() }),
        ..Default::default()
    }
}

async fn start(client: &mut TrainerClient<Channel>, id: &str, config: pb::RunConfig) -> pb::Run {
    let request =
        pb::StartRunRequest { run_id: id.into(), preset: String::new(), config: Some(config) };
    client.start_run(request).await.unwrap().into_inner()
}

fn state_of(run: &pb::Run) -> pb::RunState {
    pb::RunState::try_from(run.state).unwrap()
}

async fn get(client: &mut TrainerClient<Channel>, id: &str) -> pb::Run {
    client.get_run(pb::GetRunRequest { run_id: id.into() }).await.unwrap().into_inner()
}

/// Reads a run's events to their end.
async fn watch_to_end(client: &mut TrainerClient<Channel>, id: &str) -> Vec<pb::run_event::Event> {
    let request = pb::WatchRunRequest { run_id: id.into() };
    let mut stream = client.watch_run(request).await.unwrap().into_inner();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.unwrap().event.unwrap());
    }
    events
}

/// Polls until `pred` holds for the run (bounded).
async fn until(
    client: &mut TrainerClient<Channel>,
    id: &str,
    what: &str,
    pred: impl Fn(&pb::Run) -> bool,
) -> pb::Run {
    let started = std::time::Instant::now();
    loop {
        let run = get(client, id).await;
        if pred(&run) {
            return run;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{id}: never {what}: {run:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn update_of(run: &pb::Run) -> u64 {
    run.progress.as_ref().map_or(0, |p| p.update)
}

/// The training state of a run's final checkpoint (everything but the wall clock).
fn result(runs_dir: &Path, id: &str) -> Checkpoint {
    let mut c = Checkpoint::load(&runs_dir.join(id).join(CHECKPOINT_FILE)).unwrap();
    c.state.wall_seconds = 0.0;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_watched_to_its_end_shows_its_states_progress_and_checkpoints() {
    let runs = scratch("watch");
    let annealer = start_annealer().await;
    let service = Service::start(&runs, Some(annealer.clone()), 1, None).await;
    let mut client = service.client().await;
    let run = start(&mut client, "watched", config("quantum", 20, 5)).await;
    assert_eq!(run.annealer, annealer, "the run samples from the remote annealer");
    let events = watch_to_end(&mut client, "watched").await;
    use pb::run_event::Event;
    let Event::Run(first) = &events[0] else { panic!("the first event is the run: {events:?}") };
    assert_eq!(first.run_id, "watched");
    let states: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::State(s) => Some(pb::RunState::try_from(s.state).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(states.last(), Some(&pb::RunState::Succeeded), "{states:?}");
    let updates: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Progress(p) => Some(p.update),
            _ => None,
        })
        .collect();
    assert!(updates.windows(2).all(|w| w[0] < w[1]), "progress moves forward: {updates:?}");
    assert_eq!(updates.last(), Some(&20));
    let checkpoints: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Checkpoint(c) => Some(c.update),
            _ => None,
        })
        .collect();
    assert_eq!(checkpoints, [5, 10, 15, 20]);
    let done = get(&mut client, "watched").await;
    assert_eq!(state_of(&done), pb::RunState::Succeeded);
    let progress = done.progress.unwrap();
    assert_eq!((progress.update, progress.total_updates), (20, 20));
    assert!(progress.test_accuracy.is_some() && progress.qpu_access_ms > 0.0);
    assert_eq!(done.last_checkpoint.map(|c| c.update), Some(20));
    assert!(runs.join("watched/pictures/generated.png").exists());
    service.stop().await;
    std::fs::remove_dir_all(runs).unwrap();
}

/// A 16 × 16 test-style image for Classify and Reconstruct.
fn grey_image(seed: u8) -> pb::Image {
    let pixels = (0..256u32).map(|p| ((p * 7 + u32::from(seed) * 13) % 256) as u8).collect();
    pb::Image { data: Some(pb::image::Data::Grey(pb::GreyImage { width: 16, height: 16, pixels })) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_and_classify_mid_run_leave_its_result_bit_identical() {
    let runs = scratch("look");
    let service = Service::start(&runs, None, 2, None).await;
    let mut client = service.client().await;
    // Two identical runs; the second is looked at while it trains.
    let settings = config("quantum", 240, 20);
    start(&mut client, "alone", settings.clone()).await;
    start(&mut client, "looked", settings).await;
    until(&mut client, "looked", "checkpointed", |r| r.last_checkpoint.is_some()).await;
    let mut looks_while_running = 0;
    while state_of(&get(&mut client, "looked").await) == pb::RunState::Running {
        let generated = client
            .generate(pb::GenerateRequest {
                run_id: "looked".into(),
                n: 20,
                seed: 3,
                reads_per_call: 10,
                checkpoint: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!((generated.pixels.len(), generated.labels.len()), (20 * 256, 20));
        let classified = client
            .classify(pb::ClassifyRequest {
                run_id: "looked".into(),
                images: vec![grey_image(1), grey_image(2)],
                checkpoint: None,
            })
            .await
            .unwrap()
            .into_inner();
        let p = &classified.results[0].probabilities;
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{p:?}");
        if state_of(&get(&mut client, "looked").await) == pb::RunState::Running {
            looks_while_running += 1;
        }
    }
    assert!(looks_while_running >= 1, "no look happened while the run trained");
    for id in ["alone", "looked"] {
        until(&mut client, id, "succeeded", |r| state_of(r) == pb::RunState::Succeeded).await;
    }
    assert_eq!(result(&runs, "looked"), result(&runs, "alone"));
    // A named checkpoint is the one the run wrote then.
    let at_20 = client
        .generate(pb::GenerateRequest {
            run_id: "looked".into(),
            n: 5,
            seed: 1,
            reads_per_call: 0,
            checkpoint: Some(20),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(at_20.checkpoint, 20);
    service.stop().await;
    std::fs::remove_dir_all(runs).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_stops_checkpointed_and_resumes_where_it_stopped() {
    let runs = scratch("cancel");
    let service = Service::start(&runs, None, 1, None).await;
    let mut client = service.client().await;
    start(&mut client, "long", config("factorized", 1_000_000, 1000)).await;
    until(&mut client, "long", "training", |r| update_of(r) >= 30).await;
    let cancelled =
        client.cancel_run(pb::CancelRunRequest { run_id: "long".into() }).await.unwrap();
    assert!(matches!(
        state_of(cancelled.get_ref()),
        pb::RunState::Running | pb::RunState::Cancelled
    ));
    let run =
        until(&mut client, "long", "cancelled", |r| state_of(r) == pb::RunState::Cancelled).await;
    let stopped_at = update_of(&run);
    assert_eq!(
        run.last_checkpoint.map(|c| c.update),
        Some(stopped_at),
        "checkpointed where it stopped"
    );
    client.resume_run(pb::ResumeRunRequest { run_id: "long".into() }).await.unwrap();
    let resumed =
        until(&mut client, "long", "training again", |r| update_of(r) > stopped_at + 10).await;
    assert_eq!(state_of(&resumed), pb::RunState::Running);
    client.cancel_run(pb::CancelRunRequest { run_id: "long".into() }).await.unwrap();
    until(&mut client, "long", "cancelled", |r| state_of(r) == pb::RunState::Cancelled).await;
    let lines =
        std::fs::read_to_string(runs.join("long/metrics.jsonl")).unwrap().lines().count() as u64;
    let last = update_of(&get(&mut client, "long").await);
    assert_eq!(lines, last, "every update once in the metrics");
    client.delete_run(pb::DeleteRunRequest { run_id: "long".into() }).await.unwrap();
    assert!(!runs.join("long").exists());
    let gone = client.get_run(pb::GetRunRequest { run_id: "long".into() }).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    service.stop().await;
    std::fs::remove_dir_all(runs).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_interrupted_by_a_service_stop_resumes_after_a_restart_bit_identical() {
    let runs = scratch("restart");
    let settings = config("quantum", 150, 10);
    let first = Service::start(&runs, None, 1, None).await;
    let mut client = first.client().await;
    start(&mut client, "interrupted", settings.clone()).await;
    until(&mut client, "interrupted", "past update 30", |r| update_of(r) >= 30).await;
    first.stop().await;
    let saved = std::fs::read_to_string(runs.join("interrupted/service.json")).unwrap();
    assert!(saved.contains("\"interrupted\""), "{saved}");

    let second = Service::start(&runs, None, 2, None).await;
    let mut client = second.client().await;
    let found = get(&mut client, "interrupted").await;
    assert_eq!(state_of(&found), pb::RunState::Interrupted);
    assert!(update_of(&found) >= 30 && update_of(&found) < 150, "{found:?}");
    client.resume_run(pb::ResumeRunRequest { run_id: "interrupted".into() }).await.unwrap();
    start(&mut client, "straight", settings).await;
    for id in ["interrupted", "straight"] {
        until(&mut client, id, "succeeded", |r| state_of(r) == pb::RunState::Succeeded).await;
    }
    assert_eq!(result(&runs, "interrupted"), result(&runs, "straight"));
    let finished =
        client.resume_run(pb::ResumeRunRequest { run_id: "straight".into() }).await.unwrap_err();
    assert_eq!(finished.code(), Code::FailedPrecondition, "{finished:?}");
    second.stop().await;
    std::fs::remove_dir_all(runs).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_slot_a_second_run_waits_pending_until_the_first_ends() {
    let runs = scratch("slots");
    let service = Service::start(&runs, None, 1, None).await;
    let mut client = service.client().await;
    start(&mut client, "first", config("factorized", 1_000_000, 1000)).await;
    until(&mut client, "first", "running", |r| state_of(r) == pb::RunState::Running).await;
    start(&mut client, "second", config("factorized", 30, 10)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(state_of(&get(&mut client, "second").await), pb::RunState::Pending);
    // Before its first checkpoint a run has nothing to look at.
    let early = client
        .generate(pb::GenerateRequest {
            run_id: "second".into(),
            n: 1,
            seed: 0,
            reads_per_call: 0,
            checkpoint: None,
        })
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition, "{early:?}");
    let busy =
        client.delete_run(pb::DeleteRunRequest { run_id: "first".into() }).await.unwrap_err();
    assert_eq!(busy.code(), Code::FailedPrecondition, "{busy:?}");
    client.cancel_run(pb::CancelRunRequest { run_id: "first".into() }).await.unwrap();
    until(&mut client, "second", "succeeded", |r| state_of(r) == pb::RunState::Succeeded).await;
    assert_eq!(state_of(&get(&mut client, "first").await), pb::RunState::Cancelled);
    service.stop().await;
    std::fs::remove_dir_all(runs).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_watcher_does_not_stall_the_run() {
    let runs = scratch("stalled");
    let service = Service::start(&runs, None, 1, None).await;
    let mut client = service.client().await;
    start(&mut client, "busy", config("factorized", 500, 100)).await;
    // A watcher that reads its first event and then nothing for the whole run.
    let request = pb::WatchRunRequest { run_id: "busy".into() };
    let mut stalled = client.watch_run(request).await.unwrap().into_inner();
    stalled.next().await.unwrap().unwrap();
    let done =
        until(&mut client, "busy", "succeeded", |r| state_of(r) == pb::RunState::Succeeded).await;
    assert_eq!(update_of(&done), 500);
    // Read now, it holds the rest of the run in order (what the transport's buffers did not
    // hold was coalesced: see the unit test of `news`) and ends with the end.
    let mut rest = Vec::new();
    while let Some(event) = stalled.next().await {
        rest.push(event.unwrap().event.unwrap());
    }
    use pb::run_event::Event;
    let updates: Vec<u64> = rest
        .iter()
        .filter_map(|e| if let Event::Progress(p) = e { Some(p.update) } else { None })
        .collect();
    assert!(updates.windows(2).all(|w| w[0] < w[1]) && updates.last() == Some(&500), "{updates:?}");
    let Some(Event::State(last)) = rest.last() else { panic!("{rest:?}") };
    assert_eq!(pb::RunState::try_from(last.state).unwrap(), pb::RunState::Succeeded);
    service.stop().await;
    std::fs::remove_dir_all(runs).unwrap();
}

/// The field a refusal names in its BadRequest details.
fn field_of(status: &tonic::Status) -> String {
    qahm_wire::field_error_of(status).map(|e| e.field).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_has_its_code_and_names_its_field() {
    let runs = scratch("errors");
    let service = Service::start_with(&runs, None, 1, 1, None).await;
    let mut client = service.client().await;
    let mut bad = config("factorized", 10, 5);
    bad.schedule.as_mut().unwrap().lr_start = Some(-1.0);
    let request =
        pb::StartRunRequest { run_id: "bad".into(), preset: String::new(), config: Some(bad) };
    let e = client.start_run(request).await.unwrap_err();
    assert_eq!(
        (e.code(), field_of(&e)),
        (Code::InvalidArgument, "config.schedule.lr_start".into())
    );
    assert_eq!(e.message(), "config.schedule.lr_start: -1 is outside (0, 10]");
    // What only the annealer knows is checked at the start too.
    let mut fast = config("quantum", 10, 5);
    fast.annealing.as_mut().unwrap().annealing_time = Some(1.0);
    let request =
        pb::StartRunRequest { run_id: "fast".into(), preset: String::new(), config: Some(fast) };
    let e = client.start_run(request).await.unwrap_err();
    assert_eq!(
        (e.code(), field_of(&e)),
        (Code::InvalidArgument, "config.annealing.annealing_time".into())
    );
    for (id, preset, field) in [("../escape", "", "run_id"), ("ok", "fancy", "preset")] {
        let request = pb::StartRunRequest {
            run_id: id.into(),
            preset: preset.into(),
            config: Some(config("factorized", 10, 5)),
        };
        let e = client.start_run(request).await.unwrap_err();
        assert_eq!((e.code(), field_of(&e)), (Code::InvalidArgument, field.into()), "{e:?}");
    }
    assert!(
        !runs.join("bad").exists() && !runs.join("fast").exists(),
        "refused runs leave nothing"
    );
    let e = client.get_run(pb::GetRunRequest { run_id: "nobody".into() }).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    start(&mut client, "one", config("factorized", 1_000_000, 1000)).await;
    let again = pb::StartRunRequest { run_id: "one".into(), preset: String::new(), config: None };
    assert_eq!(client.start_run(again).await.unwrap_err().code(), Code::AlreadyExists);
    until(&mut client, "one", "running", |r| state_of(r) == pb::RunState::Running).await;
    start(&mut client, "two", config("factorized", 10, 5)).await; // waits: the one queue place
    let three = pb::StartRunRequest { run_id: "three".into(), preset: String::new(), config: None };
    assert_eq!(client.start_run(three).await.unwrap_err().code(), Code::ResourceExhausted);
    let e = client
        .generate(pb::GenerateRequest {
            run_id: "one".into(),
            n: 0,
            seed: 0,
            reads_per_call: 0,
            checkpoint: None,
        })
        .await
        .unwrap_err();
    assert_eq!((e.code(), field_of(&e)), (Code::InvalidArgument, "n".into()));
    let e = client
        .reconstruct(pb::ReconstructRequest {
            run_id: "one".into(),
            images: vec![grey_image(0)],
            mask: None,
            passes: 0,
            checkpoint: None,
        })
        .await
        .unwrap_err();
    assert_eq!((e.code(), field_of(&e)), (Code::InvalidArgument, "mask".into()));
    let e = client
        .list_runs(pb::ListRunsRequest { page_size: 5000, page_token: String::new() })
        .await
        .unwrap_err();
    assert_eq!((e.code(), field_of(&e)), (Code::InvalidArgument, "page_size".into()));
    let page = client
        .list_runs(pb::ListRunsRequest { page_size: 1, page_token: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (page.runs.len(), page.runs[0].run_id.as_str(), page.next_page_token.as_str()),
        (1, "one", "two")
    );
    for id in ["two", "one"] {
        client.cancel_run(pb::CancelRunRequest { run_id: id.into() }).await.unwrap();
    }
    service.stop().await;

    let guarded = Service::start(&runs, None, 1, Some("s3cret")).await;
    let mut stranger = guarded.client().await;
    let e = stranger.list_runs(pb::ListRunsRequest::default()).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    guarded.stop().await;
    std::fs::remove_dir_all(runs).unwrap();
}

#[tokio::test]
async fn unreadable_unary_requests_are_invalid_argument_or_resource_exhausted_naming_the_limit() {
    let runs = scratch("unreadable");
    let service = Service::start(&runs, None, 1, None).await;
    let channel = || async { Channel::from_shared(service.url.clone()).unwrap().connect().await };
    let status = unary_raw::<pb::Run>(
        channel().await.unwrap(),
        "/qahm.trainer.v1.Trainer/GetRun",
        GARBAGE.to_vec(),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("could not be decoded"), "{status:?}");
    let status = unary_raw::<pb::Run>(
        channel().await.unwrap(),
        "/qahm.trainer.v1.Trainer/StartRun",
        oversized(),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("4194304 bytes"), "{status:?}");
    // A handler's own refusal is untouched: an unknown run is NOT_FOUND, as before.
    let mut client = service.client().await;
    let missing = client.get_run(pb::GetRunRequest { run_id: "nope".into() }).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    service.stop().await;
    let _ = std::fs::remove_dir_all(&runs);
}
