//! A pool of annealers behind one name: the trainer's client spreads its calls over every
//! replica (tower's power of two choices over a resolved address list), training through
//! the pool ends bit-identical to training against one annealer (every request carries its
//! own seed, and the replicas are the same emulated chip), and a replica stopped mid-run
//! costs a retry, not the run.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use annealer_svc::service::{AnnealerService, Capacity, ServiceLimits};
use annealer_svc::{Device, DeviceConfig};
use qahm_proto::pb;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};
use trainer::annealer::{Annealer, RemoteAnnealer, RetryPolicy};
use trainer::config::{Preset, PriorKind, RunConfig};
use trainer::run::{self, Trainer, TrainingState};

/// annealer-svc's service, counting the Sample streams it was sent (in a pool, one per call).
#[derive(Clone)]
struct Counting {
    inner: AnnealerService,
    streams: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl pb::annealer_server::Annealer for Counting {
    async fn get_properties(
        &self,
        request: Request<pb::GetPropertiesRequest>,
    ) -> Result<Response<pb::SolverProperties>, Status> {
        self.inner.get_properties(request).await
    }

    type SampleStream = <AnnealerService as pb::annealer_server::Annealer>::SampleStream;

    async fn sample(
        &self,
        request: Request<Streaming<pb::SampleRequest>>,
    ) -> Result<Response<Self::SampleStream>, Status> {
        self.streams.fetch_add(1, Ordering::SeqCst);
        self.inner.sample(request).await
    }
}

/// One replica: its address, its count, and the switch that stops it.
struct Replica {
    addr: SocketAddr,
    streams: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
}

/// A replica of the same emulated chip (device seed 99) on 127.0.0.1:0.
fn start_replica(runtime: &tokio::runtime::Runtime) -> Replica {
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let device = DeviceConfig { device_seed: Some(99), ..DeviceConfig::default() };
    let device = Arc::new(Device::new(device).unwrap());
    let draining = CancellationToken::new();
    let streams = Arc::new(AtomicUsize::new(0));
    let service = Counting {
        inner: AnnealerService::new(
            device,
            ServiceLimits::default(),
            Capacity::new(&ServiceLimits::default()),
            draining.clone(),
        ),
        streams: streams.clone(),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    runtime.spawn(qahm_wire::serving::serve_annealer(
        listener,
        service,
        None,
        None,
        draining,
        Duration::from_secs(2),
        async {
            let _ = stopped.await;
        },
    ));
    Replica { addr, streams, stop: Some(stop) }
}

/// A short quantum-prior run: 40 updates of 100 reads on 500 images.
fn config() -> RunConfig {
    let mut c = RunConfig::preset(Preset::Default);
    c.data.dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/mnist-10k");
    (c.data.train_size, c.data.test_size) = (500, 100);
    c.schedule.iterations = Some(40);
    c.prior.kind = PriorKind::Quantum;
    c.prior.warmup_epochs = 0.0;
    (c.annealing.num_reads, c.annealing.annealing_time) = (100, 20.0);
    c.evaluation.every = 1000;
    c
}

/// Trains `config()` through `annealer`, calling `between(update)` after each update.
fn train(annealer: Box<dyn Annealer + Send>, mut between: impl FnMut(u64)) -> TrainingState {
    let config = config();
    let (train_set, test_set) = run::load_data(&config.data).unwrap();
    let prior = trainer::prior::build(&config, None, Some(annealer), &mut |_| {}).unwrap();
    let mut trainer = Trainer::start(config, None, train_set, test_set, prior).unwrap();
    while !trainer.done() {
        trainer.step().unwrap();
        between(trainer.state().iteration);
    }
    // Wall time is the one part of the state that is not the model's.
    TrainingState { wall_seconds: 0.0, ..trainer.state() }
}

/// The update after which the third replica stops.
const STOP_AT: u64 = 30;

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..RetryPolicy::default()
    }
}

#[test]
fn a_pool_spreads_calls_over_every_replica_survives_losing_one_and_trains_bit_identically() {
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // Reference: the same run against one annealer.
    let single = start_replica(&runtime);
    let url = format!("http://{}", single.addr);
    let alone = RemoteAnnealer::new(&url, None, quick_retries()).unwrap();
    let reference = train(Box::new(alone), |_| {});

    // The pool: three replicas behind one resolver, which forgets the third when it stops
    // (as DNS does for a stopped container).
    let mut replicas: Vec<Replica> = (0..3).map(|_| start_replica(&runtime)).collect();
    let listed = Arc::new(Mutex::new(replicas.iter().map(|r| r.addr).collect::<Vec<_>>()));
    let resolving = listed.clone();
    let resolve: trainer::annealer::balance::Resolve = Arc::new(move || {
        let addrs = resolving.lock().unwrap().clone();
        Box::pin(async move { Ok(addrs) })
    });
    let pool = RemoteAnnealer::pool(
        "dns:///pool-under-test:0",
        resolve,
        Duration::from_millis(50),
        None,
        quick_retries(),
    )
    .unwrap();
    let mut served_before_stop = Vec::new();
    let pooled = train(Box::new(pool), |update| {
        if update == STOP_AT {
            served_before_stop =
                replicas.iter().map(|r| r.streams.load(Ordering::SeqCst)).collect();
            let _ = replicas[2].stop.take().unwrap().send(());
            listed.lock().unwrap().pop();
        }
    });
    let served: Vec<usize> = replicas.iter().map(|r| r.streams.load(Ordering::SeqCst)).collect();
    eprintln!(
        "Sample streams per replica: {served_before_stop:?} at update {STOP_AT}, {served:?} at the end"
    );

    // Every replica answered calls before the stop. The balancer's random choices are not
    // seeded, so this is statistical: with one call per update picked by power of two choices
    // among idle replicas (uniform), a replica left out of the first 30 calls has probability
    // 3 · (2/3)^30 ≈ 2e-5.
    assert!(served_before_stop.iter().all(|&n| n > 0), "a replica served nothing: {served:?}");
    assert!(
        served[0] + served[1] > served_before_stop[0] + served_before_stop[1],
        "the survivors took the calls after the stop: {served_before_stop:?} → {served:?}"
    );
    assert_eq!(pooled, reference, "training through the pool differs from one annealer's");
}
