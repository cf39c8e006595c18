//! The `trainer` command line: parses, calls the library, prints. `train`, `generate`,
//! `classify`, `reconstruct`.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Args, Parser, Subcommand};
use ndarray::{Array2, Axis};
use tokio_util::sync::CancellationToken;

use crate::config::Preset;
use crate::config::layers::{self, Layer};
use crate::eval;
use crate::model::Region;
use crate::run::files::{npy_f32, npy_u8, write_atomic};
use crate::run::pictures::{GridLayout, write_grid};
use crate::run::{self, Checkpoint, Connection, Run, Stop};
use crate::seed;

mod flags;
mod signals;

pub use flags::ConfigFlags;

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
}

/// Where the annealer is (not part of a run's settings).
#[derive(Debug, Args)]
pub struct AnnealerArgs {
    /// Remote annealer, e.g. http://127.0.0.1:50051 (default: the in-process emulator, or on
    /// --resume and for a trained run the annealer the run last used).
    #[arg(long, env = "QAHM_ANNEALER")]
    annealer: Option<String>,
    /// Bearer token for the remote annealer.
    #[arg(long, env = "QAHM_ANNEALER_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

impl AnnealerArgs {
    fn connection(&self) -> Connection {
        Connection { annealer: self.annealer.clone(), token: self.token.clone() }
    }
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

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// A run directory written by `train`.
    #[arg(long)]
    run: PathBuf,
    /// Average the class units over this many stochastic passes (0 = one mean-field pass).
    #[arg(long, default_value_t = 0)]
    samples: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[arg(long)]
    run: PathBuf,
    /// Number of digits.
    #[arg(long, default_value_t = 100)]
    n: usize,
    /// Output .npy (pixels [n, 256] f32 in [-1, 1]); labels go to <stem>.labels.npy.
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
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train(*args),
        Command::Generate(args) => generate(args),
        Command::Classify(args) => classify(args),
        Command::Reconstruct(args) => reconstruct(args),
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

fn train(args: TrainArgs) -> anyhow::Result<()> {
    let quiet = args.quiet;
    let mut log = move |line: String| {
        if quiet { eprintln!("{line}") } else { eprintln!("trainer: {line}") }
    };
    let connection = args.annealer.connection();
    let mut run = match &args.resume {
        Some(dir) => {
            if let Some(flag) = args.settings.first_flag() {
                bail!("{flag}: --resume continues a run with the settings it was started with");
            }
            Run::resume(dir, &connection, &mut log)?
        }
        None => {
            let mut config_layers = Vec::new();
            if let Some(path) = &args.config {
                config_layers.push(Layer::from_toml_file(path)?);
            }
            config_layers.push(args.settings.layer()?);
            let config = layers::build(args.preset, &config_layers)?;
            Run::create(&args.run, config, &connection, &mut log)?
        }
    };
    let cancel = CancellationToken::new();
    signals::cancel_on_signal(cancel.clone());
    let total = run.config().iterations();
    let bar = progress_bar(total, run.trainer().iteration(), quiet);
    let every = run.config().evaluation.every;
    let (mut recon, mut accuracy) = (f32::NAN, f64::NAN);
    let stop = run.train(args.stop_after, &cancel, &mut |m| {
        recon = m.recon_test.unwrap_or(recon);
        accuracy = m.test_accuracy.unwrap_or(accuracy);
        bar.set_position(m.iteration);
        bar.set_message(format!(
            "lr {:.4} recon {recon:.4} acc {accuracy:.3} annealer {:.1} ms",
            m.lr, m.annealer_wall_ms
        ));
        if quiet && m.iteration.is_multiple_of(every) {
            eprintln!(
                "update {}/{total} lr {:.4} recon(test) {recon:.4} acc(test) {accuracy:.4} gap {:.4}/{:.4} annealer {:.1} ms",
                m.iteration, m.lr, m.prior_gap_linear, m.prior_gap_quadratic, m.annealer_wall_ms
            );
        }
    })?;
    bar.finish_and_clear();
    let (done, dir) = (run.trainer().iteration(), run.dir().display().to_string());
    match stop {
        Stop::Cancelled => {
            bail!(
                "interrupted at update {done} of {total}; checkpoint saved, continue with --resume {dir}"
            )
        }
        Stop::Paused => {
            log(format!("stopped at update {done} of {total}; continue with --resume {dir}"));
        }
        Stop::Finished => {
            let summary = run.finish()?;
            println!(
                "trained {} updates in {:.1} s; test accuracy through the model {:.4}; run in {dir}",
                summary.iterations, summary.wall_seconds, summary.test_accuracy
            );
        }
    }
    Ok(())
}

fn progress_bar(total: u64, position: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
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
}

fn load_checkpoint(dir: &Path) -> anyhow::Result<Checkpoint> {
    Ok(Checkpoint::load(&dir.join(run::CHECKPOINT_FILE))?)
}

fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    check_count("n", args.n, 1, 100_000)?;
    check_count("reads-per-call", args.reads_per_call, 1, 10_000)?;
    let checkpoint = load_checkpoint(&args.run)?;
    let connection = args.annealer.connection().or_recorded(checkpoint.annealer.clone());
    let state = checkpoint.state;
    let mut prior =
        run::open_prior(&checkpoint.config, Some(state.prior), &connection, &mut |_| {})?;
    let generated = crate::model::generate(
        &state.machine,
        prior.as_mut(),
        args.n,
        args.reads_per_call,
        args.seed,
    )?;
    write_atomic(&args.out, &npy_f32(&generated.pixels))?;
    let label_path = args.out.with_extension("labels.npy");
    write_atomic(&label_path, &npy_u8(&generated.labels))?;
    println!(
        "wrote {} digits to {} and their most probable classes to {}",
        args.n,
        args.out.display(),
        label_path.display()
    );
    Ok(())
}

fn classify(args: ClassifyArgs) -> anyhow::Result<()> {
    check_count("samples", args.samples, 0, 10_000)?;
    let checkpoint = load_checkpoint(&args.run)?;
    let (_, test) = run::load_data(&checkpoint.config.data)?;
    let machine = &checkpoint.state.machine;
    let predicted = if args.samples == 0 {
        machine.classify(test.pixels())
    } else {
        let mut rng = seed::classify(args.seed);
        let scores = machine.class_scores_sampled(test.pixels(), args.samples, &mut rng);
        crate::model::argmax_rows(scores.view())
    };
    let accuracy = eval::accuracy_of(&predicted, test.labels());
    let matrix = eval::confusion_of(&predicted, test.labels());
    // Built in full, then written once: a closed pipe (`| head`) ends the output quietly.
    let mut out =
        format!("test accuracy through the model: {accuracy:.4} ({} images)\n", test.len());
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
    Ok(())
}

fn reconstruct(args: ReconstructArgs) -> anyhow::Result<()> {
    check_count("n", args.n, 1, 100)?;
    check_count("passes", args.passes, 1, 1000)?;
    let checkpoint = load_checkpoint(&args.run)?;
    let machine = &checkpoint.state.machine;
    let (_, test) = run::load_data(&checkpoint.config.data)?;
    let rows: Vec<usize> = (0..args.n.min(test.len())).collect();
    let original = test.select(&rows);
    let pixels = original.pixels().to_owned();
    let hidden = crate::model::region_mask(args.corrupt, original.height());
    let result = machine.inpaint(pixels.view(), &hidden, args.passes);
    let mut grid = Array2::zeros((0, pixels.ncols()));
    for block in [&pixels, &result.corrupted, &result.restored] {
        grid.append(Axis(0), block.view())?;
    }
    let layout = GridLayout { columns: rows.len(), ..GridLayout::default() };
    write_grid(&args.out, grid.view(), layout)?;
    let err = |a: &Array2<f32>| eval::mean_squared_error(a.view(), pixels.view(), pixels.ncols());
    println!(
        "rows: original, corrupted ({:?} half hidden), restored; pixel MSE corrupted {:.4} → restored {:.4}; wrote {}",
        args.corrupt,
        err(&result.corrupted),
        err(&result.restored),
        args.out.display()
    );
    Ok(())
}
