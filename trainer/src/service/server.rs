//! The trainer service's gRPC server: `qahm.trainer.v1` plus grpc.health.v1, reflection (v1
//! and v1alpha), optional bearer-token auth, and a graceful stop: on `shutdown` health turns
//! NOT_SERVING, new calls are refused, running runs finish their update, checkpoint and become
//! interrupted, then the server stops.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use qahm_proto::trainer_pb::trainer_server::TrainerServer;
pub use qahm_wire::serving::ServeError;
use qahm_wire::serving::{BearerAuth, grpc_server, reflection_v1, reflection_v1alpha};
use qahm_wire::tls::ServerTls;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

use super::grpc::TrainerService;
use super::{Manager, ManagerConfig, ServiceError, StartRequest};
use crate::annealer::SharedConnections;

/// How long open connections may linger once the runs have stopped.
const CONNECTION_GRACE: Duration = Duration::from_secs(5);

/// Everything the server needs, validated before it starts.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub manager: ManagerConfig,
    /// When set, every call must carry `authorization: Bearer <token>`.
    pub token: Option<String>,
    /// When set, the service is served over TLS with this identity.
    pub tls: Option<ServerTls>,
    /// Continue every interrupted run on start (what a restarted container should do).
    pub resume_interrupted: bool,
    /// How long running runs may take to reach a checkpoint after shutdown begins.
    pub drain_timeout: Duration,
    /// A run to start once the server is up, unless a run of its id exists (a deployment's
    /// first run; a restarted service leaves it to `resume_interrupted`). Its `run_id` must be
    /// set.
    pub start_run: Option<StartRequest>,
}

/// Serves the runs of `config.manager.runs_dir` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    mut config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    // One connection per annealer address, shared by every run.
    config.manager.connection.shared =
        Some(Arc::new(SharedConnections::new(tokio::runtime::Handle::current())));
    let manager = Manager::open(config.manager.clone())
        .map_err(|e: ServiceError| ServeError::Setup(e.to_string()))?;
    if config.resume_interrupted {
        let resumed = manager.resume_interrupted();
        tracing::info!(runs = ?resumed, "interrupted runs resumed");
    }
    if let Some(request) = config.start_run.clone() {
        let starter = manager.clone();
        tokio::spawn(async move {
            if let Err(e) = starter.start_unless_present(request).await {
                tracing::error!(error = %e, "the run to start on start was not started");
            }
        });
    }
    let service = TrainerService::new(manager.clone());
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<TrainerServer<TrainerService>>().await;
    let auth = BearerAuth::new(config.token.as_deref());
    let trainer =
        tonic::service::interceptor::InterceptedService::new(TrainerServer::new(service), auth);

    tracing::info!(
        addr = ?listener.local_addr().ok(),
        runs_dir = %config.manager.runs_dir.display(),
        annealer = config.manager.connection.annealer.as_deref().unwrap_or("in-process"),
        max_concurrent_runs = config.manager.max_concurrent_runs,
        auth = config.token.is_some(),
        "trainer service listening"
    );
    let stopped = tokio_util::sync::CancellationToken::new();
    let drain_timeout = config.drain_timeout;
    let reporter = health_reporter.clone();
    let stopping = manager.clone();
    let runs_stopped = stopped.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!(?drain_timeout, "shutdown requested; stopping runs at their next update");
        reporter.set_not_serving::<TrainerServer<TrainerService>>().await;
        stopping.shutdown(drain_timeout).await;
        runs_stopped.cancel();
    });
    let server = grpc_server(config.tls.as_ref())?
        .add_service(health_service)
        .add_service(reflection_v1()?)
        .add_service(reflection_v1alpha()?)
        .add_service(trainer)
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            stopped.clone().cancelled_owned(),
        );
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result?,
        // Clients that keep idle connections open (or watch runs that ended) do not hold the
        // process: the runs are checkpointed by now.
        _ = async {
            stopped.cancelled().await;
            tokio::time::sleep(CONNECTION_GRACE).await;
        } => tracing::warn!("clients kept connections open; stopping anyway"),
    }
    tracing::info!("trainer service stopped");
    Ok(())
}
