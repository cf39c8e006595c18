//! annealer-svc binary: parse config, start tracing, bind, serve until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use annealer_svc::service::ServiceLimits;
use annealer_svc::{DeviceConfig, ServerConfig};
use clap::Parser;

/// An emulated D-Wave 2000Q QPU behind the qahm.annealer.v1 gRPC contract.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "QAHM_ANNEALER_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// Require `authorization: Bearer <TOKEN>` on every call.
    #[arg(long, env = "QAHM_ANNEALER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Solver name reported by GetProperties.
    #[arg(long, env = "QAHM_ANNEALER_NAME", default_value = "DW_2000Q_5")]
    name: String,
    /// Emulate a full-yield C16 chip instead of DW_2000Q_5's working graph.
    #[arg(long, env = "QAHM_ANNEALER_FULL_YIELD")]
    full_yield: bool,
    /// Seed of the hidden effective temperature (random if absent).
    #[arg(long, env = "QAHM_ANNEALER_DEVICE_SEED")]
    device_seed: Option<u64>,
    /// Lower end of the range β_eff is drawn from.
    #[arg(long, env = "QAHM_ANNEALER_BETA_MIN", default_value_t = 8.0)]
    beta_min: f64,
    /// Upper end of the range β_eff is drawn from.
    #[arg(long, env = "QAHM_ANNEALER_BETA_MAX", default_value_t = 16.0)]
    beta_max: f64,
    /// Relative jitter of β_eff at each programming.
    #[arg(long, env = "QAHM_ANNEALER_BETA_JITTER", default_value_t = 0.03)]
    beta_jitter: f64,
    /// ICE noise: standard deviation added to each h.
    #[arg(long, env = "QAHM_ANNEALER_SIGMA_H", default_value_t = 0.025)]
    sigma_h: f64,
    /// ICE noise: standard deviation added to each J.
    #[arg(long, env = "QAHM_ANNEALER_SIGMA_J", default_value_t = 0.015)]
    sigma_j: f64,
    /// Share of the ICE variance that is a fixed offset of the device (the rest is fresh at
    /// every programming).
    #[arg(long, env = "QAHM_ANNEALER_ICE_STATIC_FRACTION", default_value_t = 0.85)]
    ice_static_fraction: f64,
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
}

impl Args {
    fn into_config(self) -> Result<(SocketAddr, ServerConfig), String> {
        let device = DeviceConfig {
            name: self.name,
            full_yield: self.full_yield,
            device_seed: self.device_seed,
            beta_min: self.beta_min,
            beta_max: self.beta_max,
            beta_jitter: self.beta_jitter,
            sigma_h: self.sigma_h,
            sigma_j: self.sigma_j,
            ice_static_fraction: self.ice_static_fraction,
            ..DeviceConfig::default()
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
        let limits = ServiceLimits {
            max_queued: self.max_queued,
            max_concurrent: self.max_concurrent,
            pacing: self.pacing,
            ..ServiceLimits::default()
        };
        let config = ServerConfig {
            device,
            limits,
            token: self.token,
            drain_timeout: Duration::from_secs_f64(self.drain_timeout),
        };
        Ok((self.listen, config))
    }
}

fn main() -> ExitCode {
    let (addr, config) = match Args::parse().into_config() {
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
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        annealer_svc::serve(listener, config, qahm_wire::serving::shutdown_signal())
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
