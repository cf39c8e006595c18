//! `trainer serve`: the trainer service on a port, until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use qahm_wire::tls::ServerTlsArgs;

use crate::run::Connection;
use crate::service::{ManagerConfig, ServeConfig};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "QAHM_TRAINER_LISTEN", default_value = "127.0.0.1:50061")]
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
