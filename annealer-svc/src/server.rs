//! The gRPC server: the Annealer service plus health, reflection (v1 and v1alpha), optional
//! bearer-token auth and a graceful drain when `shutdown` resolves.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use qahm_common::error::ServiceError;
use qahm_emulator::{ConfigError, Device, DeviceConfig};
use qahm_proto::pb::annealer_server::AnnealerServer;
use qahm_wire::status_of;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Interceptor;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Status};

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

/// Checks `authorization: Bearer <token>` on every call.
#[derive(Clone)]
pub struct BearerAuth {
    expected: Option<Arc<str>>,
}

impl BearerAuth {
    pub fn new(token: Option<&str>) -> Self {
        BearerAuth { expected: token.map(Arc::from) }
    }
}

/// Compares without an early exit, so the time taken does not reveal a matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Interceptor for BearerAuth {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.expected else { return Ok(request) };
        let refuse = |why: &str| status_of(ServiceError::Unauthenticated(why.into()));
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| refuse("missing bearer token"))?;
        let presented = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| refuse("expected 'Bearer <token>'"))?;
        if constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
            Ok(request)
        } else {
            Err(refuse("invalid bearer token"))
        }
    }
}

/// Errors that stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves on `listener` until `shutdown` resolves, then drains: health turns NOT_SERVING, new
/// requests get UNAVAILABLE, in-flight ones finish (bounded by `drain_timeout`).
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let device = Arc::new(Device::new(config.device.clone())?);
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

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(qahm_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(qahm_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn call(auth: &mut BearerAuth, header: Option<&str>) -> Result<(), tonic::Code> {
        let mut request = Request::new(());
        if let Some(h) = header {
            request.metadata_mut().insert("authorization", h.parse().unwrap());
        }
        auth.call(request).map(|_| ()).map_err(|s| s.code())
    }

    #[test]
    fn bearer_auth_accepts_only_the_configured_token() {
        let mut open = BearerAuth::new(None);
        assert_eq!(call(&mut open, None), Ok(()));
        let mut auth = BearerAuth::new(Some("s3cret"));
        assert_eq!(call(&mut auth, Some("Bearer s3cret")), Ok(()));
        assert_eq!(call(&mut auth, None), Err(tonic::Code::Unauthenticated));
        assert_eq!(call(&mut auth, Some("Bearer s3cre")), Err(tonic::Code::Unauthenticated));
        assert_eq!(call(&mut auth, Some("Basic s3cret")), Err(tonic::Code::Unauthenticated));
    }
}
