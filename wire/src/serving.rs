//! What every qahm gRPC server shares: bearer-token auth, reflection (v1 and v1alpha) over
//! every qahm service and grpc.health.v1, TLS, a status that says what was wrong with a unary
//! request tonic could not read, the errors that stop a server, the signals that start its
//! graceful stop, and the serving of a `qahm.annealer.v1` implementation with all of these and
//! a bounded drain.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use qahm_common::error::ServiceError;
use qahm_proto::pb::annealer_server::{Annealer, AnnealerServer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::codegen::http;
use tonic::service::Interceptor;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Status};
use tonic_reflection::server::{Builder, Error, v1, v1alpha};
use tower::layer::util::{Identity, Stack};
use tower::util::MapResponseLayer;

use crate::tls::ServerTls;
use crate::{status_of, unreadable_unary_status};

/// A unary call's response, restated by [`restate_unreadable_unary`].
type Restatement = fn(http::Response<Body>) -> http::Response<Body>;

/// The server builder every qahm gRPC server starts from ([`grpc_server`]).
pub type GrpcServer = Server<Stack<MapResponseLayer<Restatement>, Identity>>;

/// A server builder with TLS when `tls` is given, and whose unary calls end with a status
/// that says what was wrong with a request tonic could not read ([`restate_unreadable_unary`]).
pub fn grpc_server(tls: Option<&ServerTls>) -> Result<GrpcServer, ServeError> {
    let builder = match tls {
        Some(tls) => Server::builder().tls_config(tls.config())?,
        None => Server::builder(),
    };
    Ok(builder.layer(MapResponseLayer::new(restate_unreadable_unary as Restatement)))
}

/// tonic decodes a unary call's request before any handler sees it and answers one it
/// cannot read itself, as INTERNAL (not protobuf) or OUT_OF_RANGE (over the size limit): the
/// codes of a server fault and of a bad argument value. Such an answer carries its status in
/// its headers (no message was sent); this puts [`unreadable_unary_status`]'s in its place.
/// Statuses a handler returns, and every streamed call's, pass untouched.
pub fn restate_unreadable_unary(mut response: http::Response<Body>) -> http::Response<Body> {
    let restated =
        Status::from_header_map(response.headers()).as_ref().and_then(unreadable_unary_status);
    if let Some(Err(e)) = restated.map(|status| status.add_header(response.headers_mut())) {
        tracing::warn!(error = %e, "could not restate an unreadable request's status");
    }
    response
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

/// Errors that stop a qahm server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The service behind the server could not be set up (its device, its runs directory).
    #[error("{0}")]
    Setup(String),
    #[error("reflection: {0}")]
    Reflection(#[from] Error),
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Resolves on SIGTERM or Ctrl-C: what starts a server's graceful stop.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// gRPC server reflection, v1: every service of qahm's descriptor set and grpc.health.v1.
pub fn reflection_v1() -> Result<v1::ServerReflectionServer<impl v1::ServerReflection>, Error> {
    Builder::configure()
        .register_encoded_file_descriptor_set(qahm_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
}

/// The same reflection for clients that still speak v1alpha (grpcurl before 1.9, many tools).
pub fn reflection_v1alpha()
-> Result<v1alpha::ServerReflectionServer<impl v1alpha::ServerReflection>, Error> {
    Builder::configure()
        .register_encoded_file_descriptor_set(qahm_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
}

/// How a server's drain ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drained {
    /// Every call finished.
    Completed,
    /// `drain_timeout` passed with calls in flight; the server stopped anyway.
    TimedOut,
}

/// Serves `annealer` (behind [`BearerAuth`] with `token`, over TLS when `tls` is given),
/// grpc.health.v1 and reflection on `listener` until `shutdown` resolves, then drains: health turns NOT_SERVING, `draining` is
/// cancelled (the service refuses new requests with UNAVAILABLE and lets in-flight ones
/// finish), and the server stops once its calls are done or after `drain_timeout`.
pub async fn serve_annealer<S: Annealer>(
    listener: TcpListener,
    annealer: S,
    token: Option<&str>,
    tls: Option<&ServerTls>,
    draining: CancellationToken,
    drain_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Drained, ServeError> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<AnnealerServer<S>>().await;
    let (reflection_v1, reflection_v1alpha) = (reflection_v1()?, reflection_v1alpha()?);
    let annealer = tonic::service::interceptor::InterceptedService::new(
        AnnealerServer::new(annealer),
        BearerAuth::new(token),
    );

    let reporter = health_reporter.clone();
    let draining_for_signal = draining.clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!(?drain_timeout, "shutdown requested; draining");
        reporter.set_not_serving::<AnnealerServer<S>>().await;
        draining_for_signal.cancel();
        let _ = stop_tx.send(());
    });

    let server = grpc_server(tls)?
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
        result = &mut server => {
            result?;
            Ok(Drained::Completed)
        }
        _ = async {
            draining.cancelled().await;
            tokio::time::sleep(drain_timeout).await;
        } => {
            tracing::warn!("drain timed out; stopping with requests in flight");
            Ok(Drained::TimedOut)
        }
    }
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
