//! annealer-svc binary: parse config, start tracing, bind, serve until SIGTERM or Ctrl-C; or,
//! as `annealer-svc health`, ask a running one whether it serves (a container's health check).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use annealer_svc::sapi_front::SapiOptions;
use annealer_svc::service::ServiceLimits;
use annealer_svc::{DeviceConfig, ServerConfig};
use clap::{Parser, Subcommand};
use qahm_emulator::{Solver, UnknownSolver};
use qahm_proto::pb::annealer_server::SERVICE_NAME;
use qahm_wire::health::HealthArgs;
use qahm_wire::tls::ServerTlsArgs;

/// An emulated D-Wave QPU behind the qahm.annealer.v1 gRPC contract.
///
/// Without a subcommand it serves; `health` probes a running server instead.
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
    /// Ask a running annealer-svc over grpc.health.v1 whether it serves: exit 0 when it does,
    /// 1 with one line when it does not or cannot be reached.
    Health(HealthArgs),
}

#[derive(Debug, clap::Args)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "QAHM_ANNEALER_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// Require `authorization: Bearer <TOKEN>` on every call.
    #[arg(long, env = "QAHM_ANNEALER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Also serve every emulated solver over SAPI's REST API (for Ocean's clients) on this
    /// address, under /sapi/v2/.
    #[arg(long, env = "QAHM_ANNEALER_SAPI_LISTEN")]
    sapi_listen: Option<SocketAddr>,
    /// Require `X-Auth-Token: <TOKEN>` on every SAPI request (default: --token's value).
    #[arg(long, env = "QAHM_ANNEALER_SAPI_TOKEN", hide_env_values = true)]
    sapi_token: Option<String>,
    /// Finished SAPI problems kept for status and answer requests.
    #[arg(long, env = "QAHM_ANNEALER_SAPI_HISTORY", default_value_t = 1000)]
    sapi_history: usize,
    /// Solver profile to emulate: DW_2000Q_5, Advantage2_system1.5 or
    /// Advantage_system_emulated (working graph, ranges, timing and hidden physics).
    #[arg(long, env = "QAHM_ANNEALER_SOLVER", default_value = "DW_2000Q_5")]
    solver: String,
    /// Solver name reported by GetProperties (default: the profile's).
    #[arg(long, env = "QAHM_ANNEALER_NAME")]
    name: Option<String>,
    /// Emulate the profile's full-yield chip instead of its working graph.
    #[arg(long, env = "QAHM_ANNEALER_FULL_YIELD")]
    full_yield: bool,
    /// Seed of the hidden effective temperature and static noise (random if absent).
    #[arg(long, env = "QAHM_ANNEALER_DEVICE_SEED")]
    device_seed: Option<u64>,
    /// Lower end of the range β_eff is drawn from (default: the profile's, 8 on every one).
    #[arg(long, env = "QAHM_ANNEALER_BETA_MIN")]
    beta_min: Option<f64>,
    /// Upper end of the range β_eff is drawn from (default: the profile's, 16).
    #[arg(long, env = "QAHM_ANNEALER_BETA_MAX")]
    beta_max: Option<f64>,
    /// Relative jitter of β_eff at each programming (default: the profile's, 0.03).
    #[arg(long, env = "QAHM_ANNEALER_BETA_JITTER")]
    beta_jitter: Option<f64>,
    /// ICE noise: standard deviation added to each h (default: the profile's, 0.025).
    #[arg(long, env = "QAHM_ANNEALER_SIGMA_H")]
    sigma_h: Option<f64>,
    /// ICE noise: standard deviation added to each J (default: the profile's, 0.015).
    #[arg(long, env = "QAHM_ANNEALER_SIGMA_J")]
    sigma_j: Option<f64>,
    /// Share of the ICE variance that is a fixed offset of the device (the rest is fresh at
    /// every programming; default: the profile's, 0.85).
    #[arg(long, env = "QAHM_ANNEALER_ICE_STATIC_FRACTION")]
    ice_static_fraction: Option<f64>,
    /// Requests accepted and unanswered at once, across streams (more: RESOURCE_EXHAUSTED).
    #[arg(long, env = "QAHM_ANNEALER_MAX_QUEUED", default_value_t = 64)]
    max_queued: usize,
    /// Jobs sampling at the same time.
    #[arg(long, env = "QAHM_ANNEALER_MAX_CONCURRENT", default_value_t = 2)]
    max_concurrent: usize,
    /// Hold each answer until the modelled QPU access time has passed.
    #[arg(long, env = "QAHM_ANNEALER_PACING")]
    pacing: bool,
    /// Seconds in-flight requests may take to finish after SIGTERM.
    #[arg(long, env = "QAHM_ANNEALER_DRAIN_TIMEOUT", default_value_t = 30.0)]
    drain_timeout: f64,
    #[command(flatten)]
    tls: ServerTlsArgs,
}

/// Where to listen: gRPC always, SAPI's REST API when asked.
struct Listen {
    grpc: SocketAddr,
    sapi: Option<SocketAddr>,
}

impl Args {
    fn into_config(self) -> Result<(Listen, ServerConfig), String> {
        let solver: Solver =
            self.solver.parse().map_err(|e: UnknownSolver| format!("--solver: {e}"))?;
        let device = DeviceConfig {
            solver,
            name: self.name,
            full_yield: self.full_yield,
            device_seed: self.device_seed,
            beta_min: self.beta_min,
            beta_max: self.beta_max,
            beta_jitter: self.beta_jitter,
            sigma_h: self.sigma_h,
            sigma_j: self.sigma_j,
            ice_static_fraction: self.ice_static_fraction,
            anneal: None,
        };
        device.validate().map_err(|e| e.to_string())?;
        if self.max_queued == 0 || self.max_concurrent == 0 {
            return Err("--max-queued and --max-concurrent must be at least 1".into());
        }
        if !(self.drain_timeout.is_finite() && (0.0..=3600.0).contains(&self.drain_timeout)) {
            return Err(format!("--drain-timeout {} is outside [0, 3600] s", self.drain_timeout));
        }
        if self.token.as_deref().is_some_and(str::is_empty) {
            return Err("--token must not be empty when given".into());
        }
        if self.sapi_token.as_deref().is_some_and(str::is_empty) {
            return Err("--sapi-token must not be empty when given".into());
        }
        if self.sapi_history == 0 {
            return Err("--sapi-history must be at least 1".into());
        }
        let sapi = SapiOptions {
            token: self.sapi_token.or_else(|| self.token.clone()),
            max_history: self.sapi_history,
        };
        let limits = ServiceLimits {
            max_queued: self.max_queued,
            max_concurrent: self.max_concurrent,
            pacing: self.pacing,
            ..ServiceLimits::default()
        };
        let tls = self.tls.load().map_err(|e| e.to_string())?;
        let config = ServerConfig {
            device,
            limits,
            token: self.token,
            tls,
            drain_timeout: Duration::from_secs_f64(self.drain_timeout),
            sapi,
        };
        Ok((Listen { grpc: self.listen, sapi: self.sapi_listen }, config))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Tool::Health(health)) = cli.command {
        return health.run("annealer-svc", cli.args.listen, SERVICE_NAME);
    }
    let (listen, config) = match cli.args.into_config() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("annealer-svc: invalid configuration: {message}");
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
            eprintln!("annealer-svc: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let bind = |addr: SocketAddr| async move {
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))
        };
        let listener = bind(listen.grpc).await?;
        let sapi = match listen.sapi {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        annealer_svc::serve_with_sapi(listener, sapi, config, qahm_wire::serving::shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("annealer-svc: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("annealer-svc").chain(args.iter().copied()))
    }

    fn config_of(args: &[&str]) -> Result<ServerConfig, String> {
        let cli = parse(args).map_err(|e| e.to_string())?;
        assert!(cli.command.is_none());
        cli.args.into_config().map(|(_, config)| config)
    }

    #[test]
    fn health_is_a_subcommand_beside_the_flat_server_flags() {
        let cli = parse(&["--listen", "0.0.0.0:6000", "--max-concurrent", "3"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.args.listen, "0.0.0.0:6000".parse().unwrap());
        let cli = parse(&["health", "--addr", "http://annealer:50051", "--timeout", "2"]).unwrap();
        match cli.command {
            Some(Tool::Health(h)) => {
                assert_eq!(h.addr.as_deref(), Some("http://annealer:50051"));
                assert_eq!(h.timeout, 2.0);
                assert_eq!(h.service, None);
            }
            None => panic!("health parsed as the server"),
        }
        // Server flags belong to the server, not to the probe.
        assert!(parse(&["--listen", "0.0.0.0:6000", "health"]).is_err());
        assert!(parse(&["health", "--listen", "0.0.0.0:6000"]).is_err());
    }

    #[test]
    fn solver_selects_a_profile_by_its_sapi_name() {
        assert_eq!(config_of(&[]).unwrap().device.solver, Solver::Dw2000q5);
        let config = config_of(&["--solver", "Advantage2_system1.5", "--sigma-h", "0.01"]).unwrap();
        assert_eq!(config.device.solver, Solver::Advantage2System1_5);
        assert_eq!(config.device.physics().sigma_h, 0.01);
        assert_eq!(config.device.physics().beta_max, 16.0, "the profile's");
    }

    #[test]
    fn an_unknown_solver_is_one_line_naming_the_known_ones() {
        let e = config_of(&["--solver", "Advantage_system4.1"]).unwrap_err();
        assert_eq!(
            e,
            "--solver: unknown solver \"Advantage_system4.1\"; the emulator's solvers are \
             DW_2000Q_5, Advantage2_system1.5, Advantage_system_emulated"
        );
        assert!(!e.contains('\n'));
    }
}
