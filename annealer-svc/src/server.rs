//! The gRPC server: the Annealer service plus health, reflection (v1 and v1alpha), optional
//! bearer-token auth and a graceful drain when `shutdown` resolves; beside it, when given a
//! second listener, the SAPI REST front ([`crate::sapi_front`]), drained with it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use qahm_emulator::{ConfigError, Device, DeviceConfig};
pub use qahm_wire::serving::ServeError;
use qahm_wire::serving::serve_annealer;
use qahm_wire::tls::ServerTls;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::sapi_front::{self, Front, SapiOptions};
use crate::service::{AnnealerService, Capacity, ServiceLimits};

/// Everything the server needs, validated in `main` before it starts.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    pub device: DeviceConfig,
    pub limits: ServiceLimits,
    /// When set, every call must carry `authorization: Bearer <token>`.
    pub token: Option<String>,
    /// When set, gRPC is served over TLS with this identity.
    pub tls: Option<ServerTls>,
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
    // One queue for the machine: problems through gRPC and through SAPI wait in the same line.
    let capacity = Capacity::new(&config.limits);
    let mut front_to_stop = None;
    let sapi_task = match sapi {
        Some(sapi_listener) => {
            let front = Front::new(
                device.clone(),
                config.limits.clone(),
                capacity.clone(),
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
    let service =
        AnnealerService::new(device.clone(), config.limits.clone(), capacity, draining.clone());
    tracing::info!(
        addr = ?listener.local_addr().ok(),
        solver = %device.properties().name,
        qubits = device.properties().graph.qubits().len(),
        couplers = device.properties().graph.couplers().len(),
        auth = config.token.is_some(),
        "annealer-svc listening"
    );
    let token = config.token.as_deref();
    let (tls, drain_timeout) = (config.tls.as_ref(), config.drain_timeout);
    let grpc =
        serve_annealer(listener, service, token, tls, draining.clone(), drain_timeout, shutdown)
            .await;
    if let Some(task) = sapi_task {
        // The front drains on the same token from the same moment, within the same timeout.
        match tokio::time::timeout(config.drain_timeout, task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::error!(error = %e, "sapi front failed"),
            Ok(Err(e)) => tracing::error!(error = %e, "sapi front task failed"),
            Err(_) => {
                tracing::warn!("sapi front drain timed out; stopping with problems in flight")
            }
        }
    }
    if let Some(front) = front_to_stop {
        // Sampling runs on the blocking pool, which the runtime waits for on exit.
        front.store.stop_all();
    }
    grpc?;
    tracing::info!("annealer-svc stopped");
    Ok(())
}
