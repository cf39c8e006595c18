//! The client side of grpc.health.v1, shared by every qahm binary's `health` subcommand (what
//! a container's health check runs, so the images need no probe tool of their own).
//!
//! [`probe`] asks one server about one service within a deadline; [`HealthArgs`] (feature
//! `cli`) is the subcommand's three flags and prints the outcome as one line.

use std::net::SocketAddr;
use std::time::Duration;

use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Why a server is not healthy, as one line naming the address (and the service).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProbeError {
    /// The address is not a URL a gRPC client can use.
    #[error("{addr} is not a server address: {message}")]
    Address { addr: String, message: String },
    /// Nothing answered: refused, reset, or no route.
    #[error("{addr} is unreachable: {message}")]
    Unreachable { addr: String, message: String },
    /// No answer within the deadline (connect included).
    #[error("{addr} did not answer within {seconds} s")]
    Timeout { addr: String, seconds: f64 },
    /// The server answered, and the service is not serving.
    #[error("{addr}: service {service:?} is {status}")]
    NotServing { addr: String, service: String, status: &'static str },
    /// The server refused the check (an unknown service is NOT_FOUND).
    #[error("{addr}: health check of {service:?} failed: {code:?}: {message}")]
    Refused { addr: String, service: String, code: tonic::Code, message: String },
}

/// Asks `addr` (e.g. `http://127.0.0.1:50051`) whether `service` is serving (`""`: the server
/// as a whole), waiting at most `timeout` for the connection and the answer. `Ok` only for
/// SERVING.
pub async fn probe(addr: &str, service: &str, timeout: Duration) -> Result<(), ProbeError> {
    let bad = |message: String| ProbeError::Address { addr: addr.into(), message };
    let uri: tonic::codegen::http::Uri = addr.parse().map_err(|e| bad(format!("{e}")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
        return Err(bad("expected http://HOST:PORT".into()));
    }
    // One deadline over connecting and asking (below), so any slowness reads as a timeout.
    let endpoint = Endpoint::from_shared(addr.to_string()).map_err(|e| bad(e.to_string()))?;
    let check = async {
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| ProbeError::Unreachable { addr: addr.into(), message: error_chain(&e) })?;
        let request = HealthCheckRequest { service: service.into() };
        HealthClient::new(channel).check(request).await.map_err(|status| ProbeError::Refused {
            addr: addr.into(),
            service: service.into(),
            code: status.code(),
            message: status.message().to_string(),
        })
    };
    let answer = tokio::time::timeout(timeout, check)
        .await
        .map_err(|_| ProbeError::Timeout { addr: addr.into(), seconds: timeout.as_secs_f64() })?;
    let answer = match answer {
        Err(ProbeError::Refused { code: tonic::Code::DeadlineExceeded, .. }) => {
            return Err(ProbeError::Timeout { addr: addr.into(), seconds: timeout.as_secs_f64() });
        }
        other => other?,
    };
    match ServingStatus::try_from(answer.into_inner().status) {
        Ok(ServingStatus::Serving) => Ok(()),
        Ok(status) => Err(ProbeError::NotServing {
            addr: addr.into(),
            service: service.into(),
            status: status.as_str_name(),
        }),
        Err(_) => Err(ProbeError::NotServing {
            addr: addr.into(),
            service: service.into(),
            status: "an unknown status",
        }),
    }
}

/// The error and its sources on one line (a transport error's cause is in its source).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

/// The address a local probe uses for a server listening on `listen`: loopback when the
/// server listens on every interface.
pub fn local_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, listen.port()))
}

#[cfg(feature = "cli")]
pub use cli::HealthArgs;

#[cfg(feature = "cli")]
mod cli {
    use std::net::SocketAddr;
    use std::process::ExitCode;
    use std::time::Duration;

    use super::{local_url, probe};

    /// `<binary> health`: asks a server over grpc.health.v1 whether it serves; exit 0 when it
    /// does, 1 with one line on stderr when it does not or cannot be reached, 64 on a bad flag.
    #[derive(Clone, Debug, clap::Args)]
    pub struct HealthArgs {
        /// Server to ask, e.g. http://annealer:50051 [default: this binary's listen address
        /// (from its flag's environment variable), on loopback when it listens everywhere].
        #[arg(long)]
        pub addr: Option<String>,
        /// Service to ask about; "" asks about the server as a whole [default: the service
        /// this binary serves].
        #[arg(long)]
        pub service: Option<String>,
        /// Seconds to wait for the connection and the answer.
        #[arg(long, default_value_t = 3.0)]
        pub timeout: f64,
    }

    impl HealthArgs {
        /// Probes and reports: `program` prefixes the error line; `listen` and `service` are
        /// the binary's own defaults.
        pub fn run(&self, program: &str, listen: SocketAddr, service: &str) -> ExitCode {
            if !(self.timeout.is_finite() && self.timeout > 0.0 && self.timeout <= 3600.0) {
                eprintln!("{program} health: --timeout {} is outside (0, 3600] s", self.timeout);
                return ExitCode::from(64);
            }
            let addr = self.addr.clone().unwrap_or_else(|| local_url(listen));
            let service = self.service.as_deref().unwrap_or(service);
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("{program} health: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let timeout = Duration::from_secs_f64(self.timeout);
            match runtime.block_on(probe(&addr, service, timeout)) {
                Ok(()) => {
                    println!("{addr}: {service:?} is SERVING");
                    ExitCode::SUCCESS
                }
                Err(e @ super::ProbeError::Address { .. }) => {
                    eprintln!("{program} health: {e}");
                    ExitCode::from(64)
                }
                Err(e) => {
                    eprintln!("{program} health: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_listening_everywhere_is_probed_on_loopback() {
        assert_eq!(local_url("0.0.0.0:50051".parse().unwrap()), "http://127.0.0.1:50051");
        assert_eq!(local_url("[::]:7".parse().unwrap()), "http://[::1]:7");
        assert_eq!(local_url("10.1.2.3:80".parse().unwrap()), "http://10.1.2.3:80");
    }

    #[tokio::test]
    async fn nothing_listening_is_unreachable_in_one_line() {
        // A port that was just free: bind, read it, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("http://127.0.0.1:{port}");
        let e = probe(&addr, "", Duration::from_secs(2)).await.unwrap_err();
        assert!(matches!(e, ProbeError::Unreachable { .. }), "{e:?}");
        let line = e.to_string();
        assert!(line.starts_with(&format!("{addr} is unreachable: ")), "{line}");
        assert!(!line.contains('\n'), "{line}");
    }

    #[tokio::test]
    async fn a_bad_address_is_named() {
        for addr in ["not a url", "nope", "127.0.0.1:50051", "ftp://host:1"] {
            let e = probe(addr, "", Duration::from_secs(1)).await.unwrap_err();
            assert!(matches!(e, ProbeError::Address { .. }), "{addr}: {e:?}");
        }
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        // Accepts connections (the kernel does) and never speaks HTTP/2.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = format!("http://{}", silent.local_addr().unwrap());
        let started = std::time::Instant::now();
        let e = probe(&addr, "", Duration::from_millis(300)).await.unwrap_err();
        assert!(matches!(e, ProbeError::Timeout { .. }), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(silent);
    }
}
