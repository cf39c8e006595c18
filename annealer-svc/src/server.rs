//! The gRPC server: the Annealer service plus health, reflection (v1 and v1alpha), optional
//! bearer-token auth and a graceful drain when `shutdown` resolves.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use qahm_emulator::{ConfigError, Device, DeviceConfig};
pub use qahm_wire::serving::ServeError;
use qahm_wire::serving::serve_annealer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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
    tracing::info!(
        addr = ?listener.local_addr().ok(),
        solver = %device.properties().name,
        qubits = device.properties().graph.qubits().len(),
        couplers = device.properties().graph.couplers().len(),
        auth = config.token.is_some(),
        "annealer-svc listening"
    );
    let token = config.token.as_deref();
    serve_annealer(listener, service, token, draining, config.drain_timeout, shutdown).await?;
    tracing::info!("annealer-svc stopped");
    Ok(())
}
