//! The gRPC server: the Annealer service plus health, reflection (v1 and v1alpha), optional
//! bearer-token auth and a graceful drain when `shutdown` resolves; beside it, when given a
//! second listener, the SAPI REST front ([`crate::sapi_front`]), drained with it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use qahm_emulator::{ConfigError, Device, DeviceConfig};
use qahm_proto::pb::annealer_server::AnnealerServer;
pub use qahm_wire::serving::ServeError;
use qahm_wire::serving::{BearerAuth, reflection_v1, reflection_v1alpha};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;

use crate::sapi_front::{self, Front, SapiOptions};
use crate::service::{AnnealerService, ServiceLimits};

/// Everything the server needs, validated in `main` before it starts.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    pub device: DeviceConfig,
    pub limits: ServiceLimits,
    /// When set, every call must carry `authorization: Bearer <token>`.
    pub token: Option<String>,
    /// How long in-flight requests may take to finish after shutdown begins.
    pub drain_timeout: Duration,
    /// The SAPI front's token and history (used when it has a listener).
    pub sapi: SapiOptions,
}

/// After the last SAPI problem ends during a drain, how long its answer stays fetchable
/// (within the drain timeout).
const SAPI_ANSWER_GRACE: Duration = Duration::from_secs(2);

/// Serves on `listener` until `shutdown` resolves, then drains: health turns NOT_SERVING, new
/// requests get UNAVAILABLE, in-flight ones finish (bounded by `drain_timeout`).
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve_with_sapi(listener, None, config, shutdown).await
}

/// As [`serve`], and the SAPI front on `sapi` when given.
pub async fn serve_with_sapi(
    listener: TcpListener,
    sapi: Option<TcpListener>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let device = Arc::new(
        Device::new(config.device.clone())
            .map_err(|e: ConfigError| ServeError::Setup(e.to_string()))?,
    );
    serve_all(listener, sapi, device, config, shutdown).await
}

/// As [`serve`], with a device built by the caller (tests read its hidden β this way).
pub async fn serve_device(
    listener: TcpListener,
    device: Arc<Device>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve_all(listener, None, device, config, shutdown).await
}

/// gRPC on `listener`, the SAPI front on `sapi` when given, over `device` (and, for the
/// front, a device per other profile built from the same config). One shutdown drains both.
pub async fn serve_all(
    listener: TcpListener,
    sapi: Option<TcpListener>,
    device: Arc<Device>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let draining = CancellationToken::new();
    let mut front_to_stop = None;
    let sapi_task = match sapi {
        Some(sapi_listener) => {
            let front = Front::new(
                device.clone(),
                config.limits.clone(),
                config.sapi.clone(),
                draining.clone(),
            )
            .map_err(|e| ServeError::Setup(format!("sapi front: {e}")))?;
            let front = Arc::new(front);
            front_to_stop = Some(front.clone());
            let grace = SAPI_ANSWER_GRACE.min(config.drain_timeout);
            Some(tokio::spawn(sapi_front::serve(sapi_listener, front, grace, config.drain_timeout)))
        }
        None => None,
    };
    let service = AnnealerService::new(device.clone(), config.limits.clone(), draining.clone());
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<AnnealerServer<AnnealerService>>().await;

    let (reflection_v1, reflection_v1alpha) = (reflection_v1()?, reflection_v1alpha()?);

    let auth = BearerAuth::new(config.token.as_deref());
    let annealer =
        tonic::service::interceptor::InterceptedService::new(AnnealerServer::new(service), auth);

    let local = listener.local_addr().ok();
    tracing::info!(
        addr = ?local,
        solver = %device.properties().name,
        qubits = device.properties().graph.qubits().len(),
        couplers = device.properties().graph.couplers().len(),
        auth = config.token.is_some(),
        "annealer-svc listening"
    );

    let drain_timeout = config.drain_timeout;
    let reporter = health_reporter.clone();
    let draining_for_signal = draining.clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!(?drain_timeout, "shutdown requested; draining");
        reporter.set_not_serving::<AnnealerServer<AnnealerService>>().await;
        draining_for_signal.cancel();
        let _ = stop_tx.send(());
    });

    let server = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(annealer)
        // Answers are streamed in chunks: without TCP_NODELAY, Nagle's algorithm holds the
        // last partial segment of each answer until the client's delayed ACK.
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            async {
                let _ = stop_rx.await;
            },
        );
    let both = async move {
        server.await?;
        if let Some(task) = sapi_task {
            task.await
                .map_err(|e| ServeError::Setup(format!("sapi front: {e}")))?
                .map_err(|e| ServeError::Setup(format!("sapi front: {e}")))?;
        }
        Ok::<(), ServeError>(())
    };
    tokio::pin!(both);
    tokio::select! {
        result = &mut both => result?,
        _ = async {
            draining.cancelled().await;
            tokio::time::sleep(drain_timeout).await;
        } => tracing::warn!("drain timed out; stopping with requests in flight"),
    }
    if let Some(front) = front_to_stop {
        // Sampling runs on the blocking pool, which the runtime waits for on exit.
        front.store.stop_all();
    }
    tracing::info!("annealer-svc stopped");
    Ok(())
}
