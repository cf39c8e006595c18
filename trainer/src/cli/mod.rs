//! The `trainer` command line: parses, calls, prints. `train`, `generate`, `classify` and
//! `reconstruct` work on a local run directory ([`local`]) or, with `--trainer URL`, on a run
//! of a trainer service ([`remote`]), with the same output files either way; `eval` works on
//! a local run directory only; `runs` and
//! `watch` talk to a service; `serve` is one ([`serve`]), and `health` asks one whether it
//! serves.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Parser, Subcommand};
use ndarray::{Array2, Axis};

use crate::config::Preset;
use crate::config::RunConfig;
use crate::config::layers::{self, Layer};
use crate::eval;
use crate::model::Region;
use crate::run::Connection;
use crate::run::files::{npy_f32, npy_u8, write_atomic};
use crate::run::pictures::{GridLayout, write_grid};

mod flags;
mod local;
mod remote;
mod serve;
mod signals;

pub use flags::ConfigFlags;
pub use qahm_wire::health::HealthArgs;
pub use serve::{ServeArgs, health};

/// Quantum-assisted Helmholtz machines trained gray-box by wake-sleep through an annealer.
#[derive(Debug, Parser)]
#[command(name = "trainer", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model (a fresh run, or `--resume DIR`).
    Train(Box<TrainArgs>),
    /// Sample digits from a trained model into a .npy file.
    Generate(GenerateArgs),
    /// Classify the test set through the model (class bits hidden).
    Classify(ClassifyArgs),
    /// Corrupt part of test images and restore them through the model (PNG before/after).
    Reconstruct(ReconstructArgs),
    /// Measure a trained model: accuracy, reconstruction, inpainting, novelty of generated
    /// digits; prints a report and writes it to <run>/eval.json.
    Eval(EvalArgs),
    /// Serve training runs over gRPC (`qahm.trainer.v1`).
    Serve(Box<ServeArgs>),
    /// List the runs of a trainer service.
    Runs(RunsArgs),
    /// Follow a run of a trainer service to its end.
    Watch(WatchArgs),
    /// Ask a running trainer service over grpc.health.v1 whether it serves: exit 0 when it
    /// does, 1 with one line when it does not or cannot be reached.
    Health(HealthArgs),
}

/// Where the annealer is (not part of a run's settings).
#[derive(Debug, Args)]
pub struct AnnealerArgs {
    /// Remote annealer, e.g. http://127.0.0.1:50051 (default: the in-process emulator, or on
    /// --resume and for a trained run the annealer the run last used).
    #[arg(long, env = "QAHM_ANNEALER")]
    annealer: Option<String>,
    /// Bearer token for the remote annealer.
    #[arg(
        long = "annealer-token",
        visible_alias = "token",
        env = "QAHM_ANNEALER_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// A CA certificate (PEM) to trust for an https:// annealer, besides the system's roots.
    #[arg(long, env = "QAHM_ANNEALER_CA")]
    annealer_ca: Option<PathBuf>,
}

impl AnnealerArgs {
    fn connection(&self) -> anyhow::Result<Connection> {
        Ok(Connection::to(self.annealer.clone(), self.token.clone())
            .with_tls(client_tls("--annealer-ca", self.annealer_ca.as_deref())?))
    }
}

/// Trust for https:// addresses: the system's roots, and the CA in `ca` when given.
pub(crate) fn client_tls(
    setting: &'static str,
    ca: Option<&std::path::Path>,
) -> anyhow::Result<qahm_wire::tls::ClientTls> {
    Ok(match ca {
        Some(path) => qahm_wire::tls::ClientTls::with_ca_file(setting, path)?,
        None => qahm_wire::tls::ClientTls::default(),
    })
}

/// A trainer service to work through instead of a local run directory.
#[derive(Clone, Debug, Args)]
pub struct ServiceArgs {
    /// A trainer service, e.g. http://127.0.0.1:50061: the run is the service's run named by
    /// the last part of --run (or --resume).
    #[arg(long, env = "QAHM_TRAINER")]
    trainer: Option<String>,
    /// Bearer token for the trainer service.
    #[arg(long, env = "QAHM_TRAINER_TOKEN", hide_env_values = true)]
    trainer_token: Option<String>,
    /// A CA certificate (PEM) to trust for an https:// trainer service, besides the system's
    /// roots.
    #[arg(long, env = "QAHM_TRAINER_CA")]
    trainer_ca: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Starting settings: `default` (minibatches, a decaying learning rate; learns well in
    /// minutes) or `paper` (Algorithm 1 as published) [default: default, or the `preset` a
    /// --config file names].
    #[arg(long, value_parser = named(Preset::NAMES, Preset::from_name))]
    preset: Option<Preset>,
    /// A TOML file of settings (any of the run's config.toml), applied over the preset.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run directory for config, metrics, checkpoints and pictures.
    #[arg(long, default_value = "runs/latest")]
    run: PathBuf,
    /// Continue the run in this directory from its checkpoint, with its own settings.
    #[arg(long, conflicts_with_all = ["preset", "config", "run"])]
    resume: Option<PathBuf>,
    #[command(flatten)]
    annealer: AnnealerArgs,
    #[command(flatten)]
    service: ServiceArgs,
    /// Stop after this many updates of this invocation (checkpointing first); for tests and
    /// for splitting long runs.
    #[arg(long)]
    stop_after: Option<u64>,
    /// No progress bar (log lines instead).
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    settings: ConfigFlags,
}

impl TrainArgs {
    /// The config the layers of this command line build: preset, --config file, flags.
    fn config(&self) -> anyhow::Result<RunConfig> {
        let mut config_layers = Vec::new();
        if let Some(path) = &self.config {
            config_layers.push(Layer::from_toml_file(path)?);
        }
        config_layers.push(self.settings.layer()?);
        Ok(layers::build(self.preset, &config_layers)?)
    }
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// A run directory written by `train` (or a service's run, with --trainer).
    #[arg(long)]
    run: PathBuf,
    /// Average the class units over this many stochastic passes (0 = one mean-field pass).
    #[arg(long, default_value_t = 0)]
    samples: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The checkpoint after this many updates (default: the latest).
    #[arg(long)]
    checkpoint: Option<u64>,
    #[command(flatten)]
    service: ServiceArgs,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[arg(long)]
    run: PathBuf,
    /// Number of digits.
    #[arg(long, default_value_t = 100)]
    n: usize,
    /// Output .npy (pixels [n, side²] f32 in [-1, 1]); labels go to <stem>.labels.npy.
    #[arg(long, default_value = "samples.npy")]
    out: PathBuf,
    #[command(flatten)]
    annealer: AnnealerArgs,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Reads per annealer call: each call has its own control errors, and its reads lean
    /// towards the same few digits, so small calls give a more representative set.
    #[arg(long, default_value_t = 10)]
    reads_per_call: usize,
    /// The checkpoint after this many updates (default: the latest).
    #[arg(long)]
    checkpoint: Option<u64>,
    #[command(flatten)]
    service: ServiceArgs,
}

#[derive(Debug, Args)]
pub struct ReconstructArgs {
    #[arg(long)]
    run: PathBuf,
    /// Which half of each image to hide.
    #[arg(long, value_parser = named(Region::NAMES, Region::from_name), default_value = "bottom")]
    corrupt: Region,
    /// How many test images.
    #[arg(long, default_value_t = 10)]
    n: usize,
    /// Passes through the model (clamping the visible part each time).
    #[arg(long, default_value_t = 10)]
    passes: usize,
    #[arg(long, default_value = "reconstruct.png")]
    out: PathBuf,
    /// The checkpoint after this many updates (default: the latest).
    #[arg(long)]
    checkpoint: Option<u64>,
    #[command(flatten)]
    service: ServiceArgs,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A run directory written by `train`; eval.json is written there, nothing else changes.
    #[arg(long)]
    run: PathBuf,
    /// The checkpoint after this many updates (default: the latest).
    #[arg(long)]
    checkpoint: Option<u64>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Digits to generate for the novelty figures (compared with as many test images).
    #[arg(long, default_value_t = eval::DEFAULT_SAMPLES)]
    samples: usize,
    /// Stochastic passes per test image for the sampled accuracy (0 = skip it).
    #[arg(long, default_value_t = eval::DEFAULT_CLASS_SAMPLES)]
    class_samples: usize,
    /// Which half of each test image to hide for the inpainting error.
    #[arg(long, value_parser = named(Region::NAMES, Region::from_name), default_value = "bottom")]
    hide: Region,
    /// Passes through the model when inpainting (clamping the visible part each time).
    #[arg(long, default_value_t = eval::DEFAULT_INPAINT_PASSES)]
    passes: usize,
    #[command(flatten)]
    annealer: AnnealerArgs,
    /// Reads per annealer call when generating (as for `generate`).
    #[arg(long, default_value_t = eval::DEFAULT_READS_PER_CALL)]
    reads_per_call: usize,
    /// Skip the judge (a classifier trained once per data set in a few seconds, then read from the
    /// cache: $QAHM_CACHE_DIR, else $XDG_CACHE_HOME/qahm, else ~/.cache/qahm).
    #[arg(long)]
    no_judge: bool,
    /// Importance samples per test image for the log-likelihood, drawn from the recognition
    /// network (0 = skip it; never estimated for the quantum prior).
    #[arg(long, default_value_t = eval::DEFAULT_LL_SAMPLES)]
    ll_samples: usize,
    /// Test images the log-likelihood is over, the first ones (0 = all).
    #[arg(long, default_value_t = eval::DEFAULT_LL_IMAGES)]
    ll_images: usize,
    /// Independent AIS chains for the Boltzmann prior's log Z.
    #[arg(long, default_value_t = eval::DEFAULT_AIS.chains)]
    ais_chains: usize,
    /// Steps of AIS's linear schedule from β = 0 to 1, one Gibbs sweep each.
    #[arg(long, default_value_t = eval::DEFAULT_AIS.temperatures)]
    ais_temperatures: usize,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(flatten)]
    service: ServiceArgs,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The run's id.
    run: String,
    /// No progress bar (log lines instead).
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    service: ServiceArgs,
}

/// Runs a command against the trainer service `service` names, or locally.
fn either<A>(
    service: &ServiceArgs,
    args: A,
    through_service: fn(remote::Client, A) -> anyhow::Result<()>,
    here: fn(A) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    match remote::Client::of(service)? {
        Some(client) => through_service(client, args),
        None => here(args),
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => {
            let service = remote::Client::of(&args.service)?;
            match service {
                Some(client) => client.train(*args),
                None => local::train(*args),
            }
        }
        Command::Generate(args) => {
            check_count("n", args.n, 1, 100_000)?;
            check_count("reads-per-call", args.reads_per_call, 1, 10_000)?;
            let service = args.service.clone();
            either(&service, args, remote::Client::generate, local::generate)
        }
        Command::Classify(args) => {
            check_count("samples", args.samples, 0, 10_000)?;
            let service = args.service.clone();
            either(&service, args, remote::Client::classify, local::classify)
        }
        Command::Reconstruct(args) => {
            check_count("n", args.n, 1, 100)?;
            check_count("passes", args.passes, 1, 1000)?;
            let service = args.service.clone();
            either(&service, args, remote::Client::reconstruct, local::reconstruct)
        }
        Command::Eval(args) => {
            // Two digits at least: each needs another to measure the distance to.
            check_count("samples", args.samples, 2, 100_000)?;
            check_count("class-samples", args.class_samples, 0, 10_000)?;
            check_count("passes", args.passes, 1, 1000)?;
            check_count("reads-per-call", args.reads_per_call, 1, 10_000)?;
            check_count("ll-samples", args.ll_samples, 0, 100_000)?;
            if args.ll_images != 0 {
                // Two images at least, for a standard error over them.
                check_count("ll-images", args.ll_images, 2, 1_000_000)
                    .map_err(|e| anyhow::anyhow!("{e} (or 0 for all test images)"))?;
            }
            // Two chains at least, for log Z's standard error.
            check_count("ais-chains", args.ais_chains, 2, 100_000)?;
            check_count("ais-temperatures", args.ais_temperatures, 1, 1_000_000)?;
            local::eval(args)
        }
        Command::Serve(args) => serve::serve(*args),
        Command::Runs(args) => remote::Client::required(&args.service)?.runs(),
        Command::Watch(args) => {
            remote::Client::required(&args.service)?.watch(&args.run, args.quiet)
        }
        Command::Health(args) => match health(&args) {
            code if code == std::process::ExitCode::SUCCESS => Ok(()),
            _ => bail!("the trainer service is not serving"),
        },
    }
}

/// A parser for a flag that takes one of `names`, turned into a `T` by `from_name`.
fn named<T: Clone + Send + Sync + 'static>(
    names: &'static [&'static str],
    from_name: fn(&str) -> Option<T>,
) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(names)
        .map(move |name: String| from_name(&name).expect("clap admits only the possible values"))
}

/// A count flag outside its range, as one line naming the flag.
fn check_count(flag: &str, value: usize, min: usize, max: usize) -> anyhow::Result<()> {
    if !(min..=max).contains(&value) {
        bail!("--{flag} {value} is outside [{min}, {max}]");
    }
    Ok(())
}

/// One line of progress, from a local update or a service's progress event.
struct ProgressLine {
    update: u64,
    total: u64,
    lr: f64,
    recon: f64,
    accuracy: f64,
    gaps: (f64, f64),
    annealer_ms: f64,
}

/// A progress bar, or log lines every `every` updates when `quiet`.
struct ProgressView {
    bar: indicatif::ProgressBar,
    quiet: bool,
    every: u64,
}

impl ProgressView {
    fn new(total: u64, position: u64, every: u64, quiet: bool) -> Self {
        let bar = if quiet {
            indicatif::ProgressBar::hidden()
        } else {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_position(position);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:30}] {pos}/{len} {msg} ETA {eta}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            bar
        };
        ProgressView { bar, quiet, every: every.max(1) }
    }

    fn show(&self, p: &ProgressLine) {
        self.bar.set_position(p.update);
        self.bar.set_message(format!(
            "lr {:.4} recon {:.4} acc {:.3} annealer {:.1} ms",
            p.lr, p.recon, p.accuracy, p.annealer_ms
        ));
        if self.quiet && p.update.is_multiple_of(self.every) {
            eprintln!(
                "update {}/{} lr {:.4} recon(test) {:.4} acc(test) {:.4} gap {:.4}/{:.4} annealer {:.1} ms",
                p.update, p.total, p.lr, p.recon, p.accuracy, p.gaps.0, p.gaps.1, p.annealer_ms
            );
        }
    }

    /// A line of its own above the bar (or in the log when `quiet`).
    fn note(&self, line: &str) {
        if self.quiet { eprintln!("{line}") } else { self.bar.println(format!("trainer: {line}")) }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Writes generated digits as `.npy` files: pixels to `out`, labels beside it.
fn write_generated(
    out: &std::path::Path,
    pixels: &Array2<f32>,
    labels: &[u8],
) -> anyhow::Result<()> {
    write_atomic(out, &npy_f32(pixels))?;
    let label_path = out.with_extension("labels.npy");
    write_atomic(&label_path, &npy_u8(labels))?;
    println!(
        "wrote {} digits to {} and their most probable classes to {}",
        pixels.nrows(),
        out.display(),
        label_path.display()
    );
    Ok(())
}

/// Prints test accuracy and the confusion matrix, written once (a closed pipe, `| head`,
/// ends the output quietly).
fn print_classification(predicted: &[u8], labels: &[u8]) {
    let accuracy = eval::accuracy_of(predicted, labels);
    let matrix = eval::confusion_of(predicted, labels);
    let mut out =
        format!("test accuracy through the model: {accuracy:.4} ({} images)\n", labels.len());
    out.push_str("confusion matrix (rows: true class, columns: predicted)\n     ");
    for c in 0..10 {
        out.push_str(&format!("{c:>5}"));
    }
    out.push('\n');
    for (t, row) in matrix.iter().enumerate() {
        out.push_str(&format!("{t:>5}"));
        for v in row {
            out.push_str(&format!("{v:>5}"));
        }
        out.push('\n');
    }
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes());
}

/// The reconstruction picture (original, corrupted, restored rows) and its summary line.
fn write_reconstruction(
    args: &ReconstructArgs,
    original: &Array2<f32>,
    corrupted: &Array2<f32>,
    restored: &Array2<f32>,
) -> anyhow::Result<()> {
    let mut grid = Array2::zeros((0, original.ncols()));
    for block in [original, corrupted, restored] {
        grid.append(Axis(0), block.view())?;
    }
    let layout = GridLayout { columns: original.nrows(), ..GridLayout::default() };
    write_grid(&args.out, grid.view(), layout)?;
    let err =
        |a: &Array2<f32>| eval::mean_squared_error(a.view(), original.view(), original.ncols());
    println!(
        "rows: original, corrupted ({:?} half hidden), restored; pixel MSE corrupted {:.4} → restored {:.4}; wrote {}",
        args.corrupt,
        err(corrupted),
        err(restored),
        args.out.display()
    );
    Ok(())
}
