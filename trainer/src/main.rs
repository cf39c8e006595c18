//! `trainer` binary: parse the command line, start tracing, run the command; errors print one
//! line and exit non-zero (64, EX_USAGE, for settings that cannot work).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = trainer::cli::Cli::parse();
    if let trainer::cli::Command::Health(args) = &cli.command {
        return trainer::cli::health(args);
    }
    // A service logs what it does; a command only what went wrong.
    let level = match cli.command {
        trainer::cli::Command::Serve(_) => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .init();
    match trainer::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trainer: {e:#}");
            let config_error = e.downcast_ref::<trainer::config::ConfigError>().is_some()
                || matches!(
                    e.downcast_ref::<trainer::run::RunError>(),
                    Some(trainer::run::RunError::Config(_))
                );
            ExitCode::from(if config_error { 64 } else { 1 })
        }
    }
}
