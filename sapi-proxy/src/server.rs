//! The gRPC server: the proxy's Annealer service plus health, reflection, optional bearer
//! auth and a bounded graceful drain (shared with annealer-svc through
//! `qahm_wire::serving`). When the drain times out, jobs still waiting on SAPI cancel their
//! problems before the server returns.

use std::future::Future;
use std::time::Duration;

pub use qahm_wire::serving::ServeError;
use qahm_wire::serving::{Drained, serve_annealer};
use qahm_wire::tls::ServerTls;
use reqwest::Url;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client::{RetryPolicy, SapiClient};
use crate::service::{ProxyLimits, ProxyService};
use crate::token::ApiToken;

/// The default SAPI endpoint (D-Wave's North American region).
pub const DEFAULT_SAPI_URL: &str = "https://na-west-1.cloud.dwavesys.com/sapi/v2/";

/// Everything the proxy needs, validated in `main` before it starts.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// SAPI's root URL.
    pub sapi_url: Url,
    /// The SAPI token (its `Debug` is redacted).
    pub sapi_token: ApiToken,
    /// The solver to forward to, e.g. `Advantage2_system1.5`.
    pub solver: String,
    pub retry: RetryPolicy,
    pub limits: ProxyLimits,
    /// When set, every gRPC call must carry `authorization: Bearer <token>`.
    pub token: Option<String>,
    /// When set, gRPC is served over TLS with this identity.
    pub tls: Option<ServerTls>,
    /// How long in-flight requests may take to finish after shutdown begins.
    pub drain_timeout: Duration,
}

/// How long cancels of abandoned SAPI problems may take once the drain has timed out.
const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// Serves on `listener` until `shutdown` resolves, then drains: health turns NOT_SERVING, new
/// requests get UNAVAILABLE, in-flight ones finish (bounded by `drain_timeout`; those still
/// waiting then are cancelled at SAPI and answered UNAVAILABLE).
pub async fn serve(
    listener: TcpListener,
    config: ProxyConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let sapi = SapiClient::new(config.sapi_url.clone(), config.sapi_token.clone(), config.retry)
        .map_err(ServeError::Setup)?;
    let (draining, aborting, tasks) =
        (CancellationToken::new(), CancellationToken::new(), TaskTracker::new());
    let service = ProxyService::new(
        sapi,
        &config.solver,
        config.limits.clone(),
        draining.clone(),
        aborting.clone(),
        tasks.clone(),
    );
    tracing::info!(
        addr = ?listener.local_addr().ok(),
        sapi = %config.sapi_url,
        solver = %config.solver,
        auth = config.token.is_some(),
        "sapi-proxy listening"
    );
    let token = config.token.as_deref();
    let (tls, drain_timeout) = (config.tls.as_ref(), config.drain_timeout);
    let drained =
        serve_annealer(listener, service, token, tls, draining, drain_timeout, shutdown).await?;
    if drained == Drained::TimedOut {
        aborting.cancel();
    }
    tasks.close();
    if tokio::time::timeout(CANCEL_GRACE, tasks.wait()).await.is_err() {
        tracing::warn!("some SAPI problems may not have been cancelled");
    }
    tracing::info!("sapi-proxy stopped");
    Ok(())
}
