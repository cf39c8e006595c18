//! Client-side balancing over a pool of annealers: `dns:///host:port` names every address
//! `host` resolves to (a compose service scaled out, a Kubernetes headless Service), looked up
//! again every few seconds; each sampling call goes to one of them by tower's
//! power-of-two-choices over their outstanding requests (tonic's balanced channel).
//!
//! Which replica answers does not change an answer: every request the trainer sends carries
//! its own seed, and the replicas are the same emulated chip (same `--device-seed`).

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};

use super::AnnealerError;

/// The scheme of a balanced annealer address (gRPC's name for DNS resolution).
pub const DNS_SCHEME: &str = "dns:///";

/// How often the name is resolved again (replicas come and go).
pub const REFRESH: Duration = Duration::from_secs(5);

/// Resolves the pool's addresses.
pub type Resolve = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>
        + Send
        + Sync,
>;

/// Whether `url` names a pool (`dns:///host:port`) rather than one server.
pub fn is_pool(url: &str) -> bool {
    url.starts_with(DNS_SCHEME)
}

/// The resolver of `dns:///host:port`: the system's (getaddrinfo, as tokio's lookup_host).
pub fn dns(url: &str) -> Result<Resolve, AnnealerError> {
    let target = url.strip_prefix(DNS_SCHEME).unwrap_or(url).trim_end_matches('/').to_string();
    let bad = |why: &str| AnnealerError::Address(url.into(), why.into());
    let (host, port) = target.rsplit_once(':').ok_or_else(|| bad("expected dns:///host:port"))?;
    if host.is_empty() {
        return Err(bad("no host"));
    }
    port.parse::<u16>().map_err(|_| bad("the port is not a number in 1..65535"))?;
    Ok(Arc::new(move || {
        let target = target.clone();
        Box::pin(async move { Ok(tokio::net::lookup_host(target).await?.collect()) })
    }))
}

/// A channel balanced over the addresses `resolve` gives, followed every `refresh`. Must be
/// called within a tokio runtime (the channel's worker and the resolver run on it).
pub fn pool_channel(resolve: Resolve, refresh: Duration) -> Channel {
    let (channel, changes) = Channel::balance_channel::<SocketAddr>(64);
    tokio::spawn(follow(resolve, changes, refresh));
    channel
}

fn endpoint_of(addr: SocketAddr) -> Endpoint {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("a socket address is a valid URI")
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
}

/// Keeps the balancer's endpoints equal to the resolved addresses. A failed or empty
/// resolution keeps the last known pool (a name briefly gone while its replicas restart
/// should not leave the client with nowhere to send).
async fn follow(
    resolve: Resolve,
    changes: tokio::sync::mpsc::Sender<Change<SocketAddr, Endpoint>>,
    refresh: Duration,
) {
    let mut pool = BTreeSet::new();
    loop {
        match resolve().await {
            Ok(addrs) if !addrs.is_empty() => {
                let resolved: BTreeSet<SocketAddr> = addrs.into_iter().collect();
                for &gone in pool.difference(&resolved) {
                    if changes.send(Change::Remove(gone)).await.is_err() {
                        return;
                    }
                }
                for &added in resolved.difference(&pool) {
                    if changes.send(Change::Insert(added, endpoint_of(added))).await.is_err() {
                        return;
                    }
                }
                if resolved != pool {
                    tracing::info!(replicas = ?resolved, "annealer pool");
                    pool = resolved;
                }
            }
            Ok(_) => tracing::warn!(
                "the annealer pool's name resolved to nothing; keeping the last pool"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cannot resolve the annealer pool; keeping the last pool")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(refresh) => {}
            _ = changes.closed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_addresses_need_a_host_and_a_numeric_port() {
        assert!(is_pool("dns:///annealer:50051"));
        assert!(!is_pool("http://annealer:50051"));
        assert!(dns("dns:///annealer:50051").is_ok());
        for bad in ["dns:///annealer", "dns:///:50051", "dns:///annealer:http"] {
            let error = dns(bad).err().unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(error.to_string().contains(bad), "{error}");
        }
    }
}
