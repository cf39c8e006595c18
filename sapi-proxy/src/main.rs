//! sapi-proxy binary: parse config, read the SAPI token, start tracing, bind, serve until
//! SIGTERM or Ctrl-C; or, as `sapi-proxy health`, ask a running one whether it serves (a
//! container's health check).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use qahm_proto::pb::annealer_server::SERVICE_NAME;
use qahm_wire::health::HealthArgs;
use qahm_wire::tls::ServerTlsArgs;
use reqwest::Url;
use sapi_proxy::client::RetryPolicy;
use sapi_proxy::server::{DEFAULT_SAPI_URL, ProxyConfig};
use sapi_proxy::service::ProxyLimits;
use sapi_proxy::token::{ApiToken, TOKEN_VARIABLES};

/// qahm.annealer.v1 in front of D-Wave's Solver API: real hardware behind the emulator's
/// contract. The SAPI token comes from QAHM_SAPI_TOKEN or DWAVE_API_TOKEN, or --token-file;
/// never from a flag.
///
/// Without a subcommand it serves; `health` probes a running proxy instead.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Tool>,
    #[command(flatten)]
    args: Args,
}

#[derive(Debug, Subcommand)]
enum Tool {
    /// Ask a running sapi-proxy over grpc.health.v1 whether it serves: exit 0 when it does,
    /// 1 with one line when it does not or cannot be reached.
    Health(HealthArgs),
}

#[derive(Debug, clap::Args)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "QAHM_SAPI_PROXY_LISTEN", default_value = "127.0.0.1:50052")]
    listen: SocketAddr,
    /// Require `authorization: Bearer <TOKEN>` on every gRPC call (not the SAPI token).
    #[arg(long, env = "QAHM_SAPI_PROXY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// SAPI's root URL (its region), e.g. https://eu-central-1.cloud.dwavesys.com/sapi/v2/.
    #[arg(long, env = "QAHM_SAPI_URL", default_value = DEFAULT_SAPI_URL)]
    sapi_url: String,
    /// File holding the SAPI API token (instead of QAHM_SAPI_TOKEN / DWAVE_API_TOKEN).
    #[arg(long, env = "QAHM_SAPI_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// The SAPI solver to forward to, e.g. Advantage2_system1.5 (required to serve).
    #[arg(long, env = "QAHM_SAPI_SOLVER")]
    solver: Option<String>,
    /// Requests accepted and unanswered at once, across streams (more: RESOURCE_EXHAUSTED).
    #[arg(long, env = "QAHM_SAPI_PROXY_MAX_QUEUED", default_value_t = 64)]
    max_queued: usize,
    /// Attempts per SAPI read (GET) before giving up; a submit is never retried.
    #[arg(long, env = "QAHM_SAPI_READ_ATTEMPTS", default_value_t = 6)]
    read_attempts: u32,
    /// Seconds in-flight requests may take to finish after SIGTERM; problems still running
    /// at SAPI then are cancelled.
    #[arg(long, env = "QAHM_SAPI_PROXY_DRAIN_TIMEOUT", default_value_t = 30.0)]
    drain_timeout: f64,
    #[command(flatten)]
    tls: ServerTlsArgs,
}

impl Args {
    fn into_config(self) -> Result<(SocketAddr, ProxyConfig), String> {
        let solver = self.solver.ok_or("--solver (or QAHM_SAPI_SOLVER) is required")?;
        let sapi_url = Url::parse(&self.sapi_url).map_err(|e| format!("--sapi-url: {e}"))?;
        if !matches!(sapi_url.scheme(), "https" | "http") {
            return Err(format!("--sapi-url {sapi_url} is not an http(s) URL"));
        }
        let sapi_token = match &self.token_file {
            Some(path) => ApiToken::from_file(path)?,
            None => ApiToken::from_env().ok_or_else(|| {
                format!("no SAPI token: set {} or give --token-file", TOKEN_VARIABLES.join(" or "))
            })?,
        };
        let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        if solver.is_empty() || !solver.chars().all(name_ok) {
            return Err(format!("--solver {solver:?} is not a SAPI solver name"));
        }
        if self.max_queued == 0 || self.read_attempts == 0 {
            return Err("--max-queued and --read-attempts must be at least 1".into());
        }
        if !(self.drain_timeout.is_finite() && (0.0..=3600.0).contains(&self.drain_timeout)) {
            return Err(format!("--drain-timeout {} is outside [0, 3600] s", self.drain_timeout));
        }
        if self.token.as_deref().is_some_and(str::is_empty) {
            return Err("--token must not be empty when given".into());
        }
        let config = ProxyConfig {
            sapi_url,
            sapi_token,
            solver,
            retry: RetryPolicy { max_attempts: self.read_attempts, ..RetryPolicy::default() },
            limits: ProxyLimits { max_queued: self.max_queued, ..ProxyLimits::default() },
            token: self.token,
            tls: self.tls.load().map_err(|e| e.to_string())?,
            drain_timeout: Duration::from_secs_f64(self.drain_timeout),
        };
        Ok((self.listen, config))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Tool::Health(health)) = cli.command {
        return health.run("sapi-proxy", cli.args.listen, SERVICE_NAME);
    }
    let (addr, config) = match cli.args.into_config() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("sapi-proxy: invalid configuration: {message}");
            return ExitCode::from(64);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sapi-proxy: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        sapi_proxy::serve(listener, config, qahm_wire::serving::shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sapi-proxy: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("sapi-proxy").chain(args.iter().copied()))
    }

    fn config_of(args: &[&str]) -> Result<ProxyConfig, String> {
        let cli = parse(args).map_err(|e| e.to_string())?;
        assert!(cli.command.is_none());
        cli.args.into_config().map(|(_, config)| config)
    }

    #[test]
    fn health_needs_no_solver_and_no_token() {
        let cli = parse(&["health", "--addr", "http://127.0.0.1:50052"]).unwrap();
        assert!(matches!(cli.command, Some(Tool::Health(_))));
        let e = config_of(&["--token-file", "/nonexistent"]).unwrap_err();
        assert_eq!(e, "--solver (or QAHM_SAPI_SOLVER) is required");
    }

    #[test]
    fn the_token_comes_from_a_file_and_is_never_a_flag_or_shown() {
        let path = std::env::temp_dir().join(format!("sapi-proxy-token-{}", std::process::id()));
        std::fs::write(&path, "DEV-secret42\n").unwrap();
        let path_arg = path.to_str().unwrap();
        let config = config_of(&["--solver", "Advantage2_system1.5", "--token-file", path_arg]);
        std::fs::remove_file(&path).unwrap();
        let config = config.unwrap();
        assert_eq!(config.sapi_url.as_str(), DEFAULT_SAPI_URL);
        assert!(!format!("{config:?}").contains("secret42"));
        let e = config_of(&["--solver", "x", "--sapi-token", "DEV-secret42"]).unwrap_err();
        assert!(e.contains("--sapi-token"), "{e}");
    }

    #[test]
    fn a_solver_name_that_is_not_one_is_refused_in_one_line() {
        let e = config_of(&["--solver", "../admin", "--token-file", "/nonexistent"]).unwrap_err();
        assert!(e.starts_with("--token-file /nonexistent"), "{e}");
        assert!(!e.contains('\n'));
    }
}
