//! The gRPC server: the Annealer service plus health, reflection (v1 and v1alpha), optional
//! bearer-token auth and a graceful drain when `shutdown` resolves.

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
}

/// Serves on `listener` until `shutdown` resolves, then drains: health turns NOT_SERVING, new
/// requests get UNAVAILABLE, in-flight ones finish (bounded by `drain_timeout`).
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let device = Arc::new(
        Device::new(config.device.clone())
            .map_err(|e: ConfigError| ServeError::Setup(e.to_string()))?,
    );
    serve_device(listener, device, config, shutdown).await
}

/// As [`serve`], with a device built by the caller (tests read its hidden β this way).
pub async fn serve_device(
    listener: TcpListener,
    device: Arc<Device>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let draining = CancellationToken::new();
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
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result?,
        _ = async {
            draining.cancelled().await;
            tokio::time::sleep(drain_timeout).await;
        } => tracing::warn!("drain timed out; stopping with requests in flight"),
    }
    tracing::info!("annealer-svc stopped");
    Ok(())
}
