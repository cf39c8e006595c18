//! What every qahm gRPC server shares: bearer-token auth, reflection (v1 and v1alpha) over
//! every qahm service and grpc.health.v1, the errors that stop a server, and the signals that
//! start its graceful stop.

use std::sync::Arc;

use qahm_common::error::ServiceError;
use tonic::service::Interceptor;
use tonic::{Request, Status};
use tonic_reflection::server::{Builder, Error, v1, v1alpha};

use crate::status_of;

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
