//! `trainer serve`: the trainer service on a port, until SIGTERM or Ctrl-C (optionally
//! starting a run of its own on first start); `trainer health`: ask one whether it serves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use qahm_proto::trainer_pb::trainer_server::SERVICE_NAME;
use qahm_wire::health::HealthArgs;

use super::{ConfigFlags, named};
use crate::config::Preset;
use crate::config::layers;
use qahm_wire::tls::ServerTlsArgs;

use crate::run::Connection;
use crate::service::manager::check_run_id;
use crate::service::{ManagerConfig, ServeConfig, StartRequest};

/// Where `serve` listens unless told otherwise (and so where `health` asks).
const DEFAULT_LISTEN: &str = "127.0.0.1:50061";
/// The variable `--listen` reads.
const LISTEN_VARIABLE: &str = "QAHM_TRAINER_LISTEN";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = LISTEN_VARIABLE, default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Directory of the runs (one directory per run, found again after a restart).
    #[arg(long, env = "QAHM_RUNS_DIR", default_value = "runs")]
    runs_dir: PathBuf,
    /// Require `authorization: Bearer <TOKEN>` on every call.
    #[arg(long, env = "QAHM_TRAINER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Runs training at once; later ones wait, pending, first come first served.
    #[arg(long, env = "QAHM_MAX_CONCURRENT_RUNS", default_value_t = 1)]
    max_concurrent_runs: usize,
    /// Runs waiting at most; more are refused (RESOURCE_EXHAUSTED).
    #[arg(long, env = "QAHM_MAX_QUEUED_RUNS", default_value_t = 16)]
    max_queued_runs: usize,
    /// On start, continue every run the service was interrupted in.
    #[arg(long, env = "QAHM_RESUME_INTERRUPTED")]
    resume_interrupted: bool,
    /// Seconds running runs may take to reach a checkpoint after SIGTERM.
    #[arg(long, env = "QAHM_TRAINER_DRAIN_TIMEOUT", default_value_t = 60.0)]
    drain_timeout: f64,
    /// The annealer every run samples from, e.g. http://annealer:50051 (default: an
    /// in-process emulator per run).
    #[arg(long, env = "QAHM_ANNEALER")]
    annealer: Option<String>,
    /// Bearer token for the annealer.
    #[arg(long, env = "QAHM_ANNEALER_TOKEN", hide_env_values = true)]
    annealer_token: Option<String>,
    /// A CA certificate (PEM) to trust for an https:// annealer, besides the system's roots.
    #[arg(long, env = "QAHM_ANNEALER_CA")]
    annealer_ca: Option<PathBuf>,
    #[command(flatten)]
    tls: ServerTlsArgs,
    /// On start, start a run with this id unless the service already has one by that name:
    /// a deployment's first run, started once (after a restart an interrupted run is
    /// resumed by --resume-interrupted instead). Its settings: --start-preset and the
    /// settings flags. Waits for an annealer that is not up yet.
    #[arg(long, env = "QAHM_START_RUN")]
    start_run: Option<String>,
    /// Starting settings of the --start-run run: `default` or `paper` [default: default].
    #[arg(long, requires = "start_run", value_parser = named(Preset::NAMES, Preset::from_name))]
    start_preset: Option<Preset>,
    /// Settings of the --start-run run (as `trainer train` takes them).
    #[command(flatten)]
    settings: ConfigFlags,
}

impl ServeArgs {
    fn config(&self) -> anyhow::Result<ServeConfig> {
        if !(1..=64).contains(&self.max_concurrent_runs) {
            bail!("--max-concurrent-runs {} is outside [1, 64]", self.max_concurrent_runs);
        }
        if !(1..=10_000).contains(&self.max_queued_runs) {
            bail!("--max-queued-runs {} is outside [1, 10000]", self.max_queued_runs);
        }
        if !(self.drain_timeout.is_finite() && (0.0..=3600.0).contains(&self.drain_timeout)) {
            bail!("--drain-timeout {} is outside [0, 3600] s", self.drain_timeout);
        }
        if self.token.as_deref().is_some_and(str::is_empty) {
            bail!("--token must not be empty when given");
        }
        let start_run = match &self.start_run {
            Some(id) => {
                check_run_id(id).map_err(|e| anyhow::anyhow!("--start-run {e}"))?;
                let layer = self.settings.layer()?;
                // Checked here, so a setting that cannot work stops the service at once
                // instead of failing a run in the background.
                layers::build(self.start_preset, std::slice::from_ref(&layer))?;
                Some(StartRequest {
                    run_id: Some(id.clone()),
                    preset: self.start_preset,
                    config: layer.to_json(),
                })
            }
            None => {
                if let Some(flag) = self.settings.first_flag() {
                    bail!("{flag} is a setting of the run --start-run starts; give --start-run");
                }
                None
            }
        };
        Ok(ServeConfig {
            manager: ManagerConfig {
                runs_dir: self.runs_dir.clone(),
                max_concurrent_runs: self.max_concurrent_runs,
                max_queued_runs: self.max_queued_runs,
                connection: Connection::to(self.annealer.clone(), self.annealer_token.clone())
                    .with_tls(super::client_tls("--annealer-ca", self.annealer_ca.as_deref())?),
            },
            token: self.token.clone(),
            tls: self.tls.load()?,
            resume_interrupted: self.resume_interrupted,
            drain_timeout: Duration::from_secs_f64(self.drain_timeout),
            start_run,
        })
    }
}

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        crate::service::serve(listener, config, qahm_wire::serving::shutdown_signal()).await?;
        Ok(())
    })
}

/// `trainer health`: asks a trainer service over grpc.health.v1 whether it serves (by default
/// the one `serve` would listen on, from QAHM_TRAINER_LISTEN, on loopback).
pub fn health(args: &HealthArgs) -> ExitCode {
    let listen = std::env::var(LISTEN_VARIABLE).unwrap_or_else(|_| DEFAULT_LISTEN.into());
    let listen: SocketAddr = match listen.parse() {
        Ok(addr) => addr,
        Err(e) if args.addr.is_none() => {
            eprintln!("trainer health: {LISTEN_VARIABLE}={listen:?}: {e}");
            return ExitCode::from(64);
        }
        Err(_) => DEFAULT_LISTEN.parse().expect("a socket address"),
    };
    args.run("trainer", listen, SERVICE_NAME)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    fn serve_config(args: &[&str]) -> anyhow::Result<crate::service::ServeConfig> {
        let cli = Cli::try_parse_from(["trainer", "serve"].iter().chain(args))?;
        match cli.command {
            Command::Serve(args) => args.config(),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn a_run_to_start_takes_the_settings_flags_checked_at_once() {
        let config =
            serve_config(&["--start-run", "first", "--iterations", "40", "--seed", "7"]).unwrap();
        let start = config.start_run.expect("a run to start");
        assert_eq!(start.run_id.as_deref(), Some("first"));
        assert_eq!(start.config["schedule"]["iterations"], 40);
        assert_eq!(start.config["run"]["seed"], 7);
        assert!(serve_config(&[]).unwrap().start_run.is_none());

        let e = serve_config(&["--iterations", "40"]).unwrap_err().to_string();
        assert_eq!(e, "--iterations is a setting of the run --start-run starts; give --start-run");
        let e = serve_config(&["--start-run", "../x"]).unwrap_err().to_string();
        assert!(e.starts_with("--start-run run_id: "), "{e}");
        let e = serve_config(&["--start-run", "a", "--lr-start", "-1"]).unwrap_err();
        assert!(e.downcast_ref::<crate::config::ConfigError>().is_some(), "{e}");
    }
}
