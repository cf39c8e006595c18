//! The `trainer` command line: `train`, `generate`, `classify`, `reconstruct`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use ndarray::{Array2, Axis, s};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use crate::report::{self, GridLayout, MetricsWriter};
use crate::train::{self, CHECKPOINT_FILE, Checkpoint, Preset, PriorKind, TrainConfig, Trainer};

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

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Starting settings.
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    preset: Preset,
    /// A TOML file of settings (any field of the run's config.toml), applied over the preset.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run directory for config, metrics, checkpoints and pictures.
    #[arg(long, default_value = "runs/latest")]
    run: PathBuf,
    /// Continue the run in this directory from its checkpoint.
    #[arg(long, conflicts_with_all = ["preset", "config", "run"])]
    resume: Option<PathBuf>,
    /// Remote annealer, e.g. http://127.0.0.1:50051 (default: the in-process emulator).
    #[arg(long, env = "QAHM_ANNEALER")]
    annealer: Option<String>,
    /// Bearer token for the remote annealer.
    #[arg(long, env = "QAHM_ANNEALER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Data directory with the MNIST-format IDX files.
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long)]
    iterations: Option<u64>,
    /// Training epochs (sets iterations from the batch size).
    #[arg(long, conflicts_with = "iterations")]
    epochs: Option<u64>,
    /// Examples per update (0 = whole training set).
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    lr_start: Option<f32>,
    #[arg(long)]
    lr_end: Option<f32>,
    #[arg(long, value_enum)]
    prior: Option<PriorKind>,
    /// Annealer reads per update.
    #[arg(long)]
    num_reads: Option<u32>,
    /// Anneal time in µs.
    #[arg(long)]
    annealing_time: Option<f64>,
    /// Most reads per annealer call (0: the device's limit); each call has its own noise.
    #[arg(long)]
    reads_per_call: Option<u32>,
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long)]
    checkpoint_every: Option<u64>,
    /// Training images (the first of the data set's images).
    #[arg(long)]
    train_size: Option<usize>,
    /// Test images (the ones after the training images).
    #[arg(long)]
    test_size: Option<usize>,
    /// Units of the first hidden layer.
    #[arg(long)]
    hidden1: Option<usize>,
    /// Units of the deepest hidden layer (the annealer's logical variables).
    #[arg(long)]
    hidden2: Option<usize>,
    /// Standard deviation of the initial weights.
    #[arg(long)]
    init_std: Option<f32>,
    /// Fraction of the run at lr-start before the linear decay to lr-end.
    #[arg(long)]
    lr_hold_fraction: Option<f32>,
    /// The prior's learning rate relative to the networks'.
    #[arg(long)]
    prior_lr_scale: Option<f32>,
    /// Epochs at the start during which the prior does not learn.
    #[arg(long)]
    prior_warmup_epochs: Option<f64>,
    /// Initial J inside a chain (negative: ferromagnetic).
    #[arg(long, allow_negative_numbers = true)]
    chain_strength: Option<f64>,
    /// Gibbs sweeps per update of the Boltzmann baseline.
    #[arg(long)]
    gibbs_sweeps: Option<u32>,
    /// Seed of the in-process emulator's hidden temperature.
    #[arg(long)]
    device_seed: Option<u64>,
    /// Evaluate reconstruction and test accuracy every this many updates.
    #[arg(long)]
    eval_every: Option<u64>,
    /// Images in each evaluation subset (0 = whole sets).
    #[arg(long)]
    eval_size: Option<usize>,
    /// Stop after this many updates of this invocation (checkpointing first); for tests and
    /// for splitting long runs.
    #[arg(long)]
    stop_after: Option<u64>,
    /// No progress bar (log lines instead).
    #[arg(long)]
    quiet: bool,
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
    /// Remote annealer (default: the one the run used).
    #[arg(long, env = "QAHM_ANNEALER")]
    annealer: Option<String>,
    #[arg(long, env = "QAHM_ANNEALER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Reads per annealer call: each call has its own control errors, and its reads lean
    /// towards the same few digits, so small calls give a more representative set.
    #[arg(long, default_value_t = 10)]
    reads_per_call: usize,
}

/// Which part of an image to hide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Corruption {
    Top,
    Bottom,
    Left,
    Right,
}

#[derive(Debug, Args)]
pub struct ReconstructArgs {
    #[arg(long)]
    run: PathBuf,
    #[arg(long, value_enum, default_value_t = Corruption::Bottom)]
    corrupt: Corruption,
    /// How many test images.
    #[arg(long, default_value_t = 10)]
    n: usize,
    /// Gibbs-like passes through the model (clamping the visible part each time).
    #[arg(long, default_value_t = 10)]
    passes: usize,
    #[arg(long, default_value = "reconstruct.png")]
    out: PathBuf,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train_command(*args),
        Command::Generate(args) => generate_command(args),
        Command::Classify(args) => classify_command(args),
        Command::Reconstruct(args) => reconstruct_command(args),
    }
}

fn config_from(args: &TrainArgs) -> anyhow::Result<TrainConfig> {
    let mut config = TrainConfig::preset(args.preset);
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
        let mut table: toml::Table = toml::to_string(&config)?.parse()?;
        let overrides: toml::Table =
            text.parse().with_context(|| format!("{}: not valid TOML", path.display()))?;
        for (key, value) in overrides {
            if !table.contains_key(&key) {
                bail!("{}: unknown setting {key:?}", path.display());
            }
            table.insert(key, value);
        }
        config = toml::Value::Table(table)
            .try_into()
            .with_context(|| format!("{}: bad setting", path.display()))?;
    }
    macro_rules! set {
        ($field:ident) => {
            if let Some(v) = args.$field.clone() {
                config.$field = v;
            }
        };
    }
    set!(iterations);
    set!(batch_size);
    set!(lr_start);
    set!(lr_end);
    set!(prior);
    set!(num_reads);
    set!(annealing_time);
    set!(reads_per_call);
    set!(seed);
    set!(checkpoint_every);
    set!(train_size);
    set!(test_size);
    set!(hidden1);
    set!(hidden2);
    set!(init_std);
    set!(lr_hold_fraction);
    set!(prior_lr_scale);
    set!(prior_warmup_epochs);
    set!(chain_strength);
    set!(gibbs_sweeps);
    set!(device_seed);
    set!(eval_every);
    set!(eval_size);
    if let Some(dir) = &args.data {
        config.data_dir = dir.clone();
    }
    if args.annealer.is_some() {
        config.annealer = args.annealer.clone();
    }
    if let Some(epochs) = args.epochs {
        let batch = if config.batch_size == 0 { config.train_size } else { config.batch_size };
        config.iterations = epochs * (config.train_size / batch.max(1)).max(1) as u64;
    }
    config.validate()?;
    Ok(config)
}

fn log_line(quiet: bool) -> impl FnMut(String) {
    move |line| {
        if quiet {
            eprintln!("{line}");
        } else {
            eprintln!("trainer: {line}");
        }
    }
}

fn train_command(args: TrainArgs) -> anyhow::Result<()> {
    let (run_dir, checkpoint) = match &args.resume {
        Some(dir) => {
            let mut c = Checkpoint::load(dir)?;
            // The address of the annealer may change between sessions; nothing else may.
            if args.annealer.is_some() {
                c.config.annealer = args.annealer.clone();
            }
            (dir.clone(), Some(c))
        }
        None => {
            if args.run.join(CHECKPOINT_FILE).exists() {
                bail!(
                    "{} already holds a run; use --resume {} to continue it or choose another --run",
                    args.run.display(),
                    args.run.display()
                );
            }
            (args.run.clone(), None)
        }
    };
    let config = match &checkpoint {
        Some(c) => c.config.clone(),
        None => config_from(&args)?,
    };
    std::fs::create_dir_all(&run_dir).with_context(|| format!("{}", run_dir.display()))?;
    std::fs::write(run_dir.join("config.toml"), toml::to_string_pretty(&config)?)
        .with_context(|| format!("{}", run_dir.join("config.toml").display()))?;

    let mut log = log_line(args.quiet);
    let (train_set, test_set) = train::load_data(&config)?;
    log(format!(
        "data: {} training and {} test images from {}",
        train_set.len(),
        test_set.len(),
        config.data_dir.display()
    ));
    let annealer = match config.prior {
        PriorKind::Quantum => Some(train::open_annealer(&config, args.token.clone())?),
        PriorKind::Factorized | PriorKind::Boltzmann => None,
    };
    if let Some(a) = &annealer {
        log(format!("annealer: {}", a.describe()));
    }
    let prior_state = checkpoint.as_ref().map(|c| c.prior.clone());
    let prior = train::build_prior(&config, prior_state, annealer, &mut log)?;
    let mut trainer = match checkpoint {
        Some(c) => {
            log(format!("resuming at update {} of {}", c.iteration, c.config.iterations));
            Trainer::resume(c, train_set, test_set, prior)?
        }
        None => Trainer::new(config.clone(), train_set, test_set, prior)?,
    };

    let mut metrics = MetricsWriter::append(&run_dir.join("metrics.jsonl"))?;
    let bar = progress_bar(&config, trainer.iteration, args.quiet);
    let stop_at = args.stop_after.map(|n| trainer.iteration + n);
    let interrupted = stop_on_signal();
    let (mut last_recon, mut last_accuracy) = (f32::NAN, f64::NAN);
    while !trainer.done() && stop_at.is_none_or(|s| trainer.iteration < s) {
        let m = trainer.step()?;
        metrics.write(&m)?;
        if let Some(r) = m.recon_test {
            last_recon = r;
        }
        if let Some(a) = m.test_accuracy {
            last_accuracy = a;
        }
        bar.set_position(trainer.iteration);
        bar.set_message(format!(
            "lr {:.4} recon {:.4} acc {:.3} annealer {:.1} ms",
            m.lr, last_recon, last_accuracy, m.annealer_wall_ms
        ));
        if args.quiet && trainer.iteration.is_multiple_of(config.eval_every) {
            eprintln!(
                "update {}/{} lr {:.4} recon(test) {:.4} acc(test) {:.4} gap {:.4}/{:.4} annealer {:.1} ms",
                trainer.iteration,
                config.iterations,
                m.lr,
                last_recon,
                last_accuracy,
                m.prior_gap_linear,
                m.prior_gap_quadratic,
                m.annealer_wall_ms
            );
        }
        if trainer.iteration.is_multiple_of(config.checkpoint_every) {
            trainer.checkpoint().save(&run_dir)?;
        }
        if interrupted.load(Ordering::SeqCst) {
            bar.finish_and_clear();
            trainer.checkpoint().save(&run_dir)?;
            bail!(
                "interrupted at update {} of {}; checkpoint saved, continue with --resume {}",
                trainer.iteration,
                config.iterations,
                run_dir.display()
            );
        }
    }
    bar.finish_and_clear();
    trainer.checkpoint().save(&run_dir)?;
    if !trainer.done() {
        log(format!(
            "stopped at update {} of {}; continue with --resume {}",
            trainer.iteration,
            config.iterations,
            run_dir.display()
        ));
        return Ok(());
    }
    let accuracy = trainer.test_accuracy();
    let wall = trainer.wall_seconds();
    write_pictures(&mut trainer, &run_dir, 100)?;
    let summary = Summary {
        iterations: trainer.iteration,
        test_accuracy: accuracy,
        wall_seconds: wall,
        reconstruction: trainer.reconstruction_errors(),
    };
    std::fs::write(run_dir.join("summary.json"), serde_json::to_string_pretty(&summary)?)?;
    println!(
        "trained {} updates in {:.1} s; test accuracy through the model {:.4}; run in {}",
        trainer.iteration,
        wall,
        accuracy,
        run_dir.display()
    );
    Ok(())
}

#[derive(Serialize)]
struct Summary {
    iterations: u64,
    test_accuracy: f64,
    wall_seconds: f64,
    /// Mean-field reconstruction pixel MSE (train, test).
    reconstruction: (f32, f32),
}

/// A flag raised by SIGINT (Ctrl-C) or SIGTERM: training finishes the update in progress,
/// checkpoints and exits. A second signal exits at once (the last checkpoint stays intact: it is
/// only ever replaced by an atomic rename).
fn stop_on_signal() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let raised = flag.clone();
    let watch = move || -> std::io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            #[cfg(unix)]
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            for signals in 0.. {
                #[cfg(unix)]
                tokio::select! {
                    r = tokio::signal::ctrl_c() => r?,
                    _ = term.recv() => {}
                }
                #[cfg(not(unix))]
                tokio::signal::ctrl_c().await?;
                if signals > 0 {
                    eprintln!("interrupted twice: exiting without a final checkpoint");
                    std::process::exit(130);
                }
                raised.store(true, Ordering::SeqCst);
            }
            Ok(())
        })
    };
    std::thread::spawn(move || {
        if let Err(e) = watch() {
            eprintln!("cannot watch for signals: {e}");
        }
    });
    flag
}

fn progress_bar(config: &TrainConfig, position: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(config.iterations);
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

/// The pictures' prior samples come from calls of this many reads: the reads of one call share
/// its control errors and lean towards the same few digits (one call of 100 reads can miss a
/// class that ten calls of ten show in its share).
const PICTURE_READS_PER_CALL: usize = 10;

/// Fig. 2 c–e: generated digits, their nearest training images, generated digits by class.
fn write_pictures(trainer: &mut Trainer, dir: &Path, n: usize) -> anyhow::Result<()> {
    let samples = trainer.prior.sample_spread(n, PICTURE_READS_PER_CALL, u64::MAX - 1)?;
    let generated = trainer.machine.generator.generate_mean_field(samples.view());
    let pixels = trainer.machine.sizes.pixels;
    let layout = GridLayout::default();
    let pictures = dir.join("pictures");
    report::write_grid(&pictures.join("generated.png"), generated.view(), layout)?;
    let train_pixels = trainer.train_set().pixels();
    let nearest = report::nearest_neighbours(generated.view(), train_pixels, pixels);
    let neighbours = train_pixels.select(Axis(0), &nearest);
    report::write_grid(&pictures.join("nearest.png"), neighbours.view(), layout)?;
    // More samples for the by-class picture, so every class row can fill up.
    let more = trainer.prior.sample_spread(1000, PICTURE_READS_PER_CALL, u64::MAX - 2)?;
    let more_generated = trainer.machine.generator.generate_mean_field(more.view());
    let more_classes = more_generated.slice(s![.., pixels..]).to_owned();
    report::write_class_grid(
        &pictures.join("by_class.png"),
        more_generated.view(),
        more_classes.view(),
        layout,
    )?;
    Ok(())
}

fn load_run(dir: &Path) -> anyhow::Result<Checkpoint> {
    Ok(Checkpoint::load(dir)?)
}

fn generate_command(args: GenerateArgs) -> anyhow::Result<()> {
    if args.n == 0 || args.n > 100_000 {
        bail!("--n {} is outside [1, 100000]", args.n);
    }
    if args.reads_per_call == 0 || args.reads_per_call > 10_000 {
        bail!("--reads-per-call {} is outside [1, 10000]", args.reads_per_call);
    }
    let mut checkpoint = load_run(&args.run)?;
    if args.annealer.is_some() {
        checkpoint.config.annealer = args.annealer.clone();
    }
    let config = checkpoint.config.clone();
    let annealer = match config.prior {
        PriorKind::Quantum => Some(train::open_annealer(&config, args.token.clone())?),
        PriorKind::Factorized | PriorKind::Boltzmann => None,
    };
    let mut prior =
        train::build_prior(&config, Some(checkpoint.prior.clone()), annealer, &mut |_| {})?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let mut pixels = Array2::<f32>::zeros((0, checkpoint.machine.sizes.pixels));
    let mut labels = Vec::with_capacity(args.n);
    // Blocks of at most 10,000 digits bound the memory of the generator's passes.
    let mut block = 0u64;
    while pixels.nrows() < args.n {
        let want = (args.n - pixels.nrows()).min(10_000);
        let stream = (u64::MAX / 2).wrapping_add(args.seed).wrapping_add(block << 32);
        let units = prior.sample_spread(want, args.reads_per_call, stream)?;
        block += 1;
        let visible = checkpoint.machine.generate(units.view(), &mut rng);
        let p = checkpoint.machine.sizes.pixels;
        let class_scores = visible.slice(s![.., p..]);
        labels.extend(crate::model::argmax_rows(class_scores));
        pixels.append(Axis(0), visible.slice(s![.., ..p]))?;
    }
    write_npy_f32(&args.out, &pixels)?;
    let label_path = args.out.with_extension("labels.npy");
    write_npy_u8(&label_path, &labels)?;
    println!(
        "wrote {} digits to {} and their most probable classes to {}",
        args.n,
        args.out.display(),
        label_path.display()
    );
    Ok(())
}

fn npy_header(descr: &str, shape: &str) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + header, padded with spaces and '\n' to 64 bytes.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out
}

/// A numpy `.npy` file (format 1.0) of a little-endian f32 matrix.
pub fn write_npy_f32(path: &Path, a: &Array2<f32>) -> anyhow::Result<()> {
    let mut bytes = npy_header("<f4", &format!("({}, {})", a.nrows(), a.ncols()));
    for v in a.iter() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    atomic_write(path, &bytes)
}

/// A numpy `.npy` file of a u8 vector.
pub fn write_npy_u8(path: &Path, v: &[u8]) -> anyhow::Result<()> {
    let mut bytes = npy_header("|u1", &format!("({},)", v.len()));
    bytes.extend_from_slice(v);
    atomic_write(path, &bytes)
}

fn atomic_write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("{}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}", path.display()))
}

fn classify_command(args: ClassifyArgs) -> anyhow::Result<()> {
    if args.samples > 10_000 {
        bail!("--samples {} is outside [0, 10000]", args.samples);
    }
    let checkpoint = load_run(&args.run)?;
    let (_, test) = train::load_data(&checkpoint.config)?;
    let machine = &checkpoint.machine;
    let predicted = if args.samples == 0 {
        machine.classify(test.pixels())
    } else {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
        let scores = machine.class_scores_sampled(test.pixels(), args.samples, &mut rng);
        crate::model::argmax_rows(scores.view())
    };
    let accuracy = train::accuracy_of(&predicted, test.labels());
    let matrix = train::confusion_of(&predicted, test.labels());
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

fn reconstruct_command(args: ReconstructArgs) -> anyhow::Result<()> {
    if args.n == 0 || args.n > 100 {
        bail!("--n {} is outside [1, 100]", args.n);
    }
    if args.passes == 0 || args.passes > 1000 {
        bail!("--passes {} is outside [1, 1000]", args.passes);
    }
    let checkpoint = load_run(&args.run)?;
    let machine = &checkpoint.machine;
    let (_, test) = train::load_data(&checkpoint.config)?;
    let rows: Vec<usize> = (0..args.n.min(test.len())).collect();
    let original = test.select(&rows);
    let side = original.height();
    let pixels = original.pixels().to_owned();
    let hidden: Vec<bool> = (0..pixels.ncols())
        .map(|p| {
            let (y, x) = (p / side, p % side);
            match args.corrupt {
                Corruption::Top => y < side / 2,
                Corruption::Bottom => y >= side / 2,
                Corruption::Left => x < side / 2,
                Corruption::Right => x >= side / 2,
            }
        })
        .collect();
    let mut corrupted = pixels.clone();
    for mut row in corrupted.outer_iter_mut() {
        for (v, &h) in row.iter_mut().zip(&hidden) {
            if h {
                *v = 0.0;
            }
        }
    }
    // Restore by iterating the model's reconstruction, clamping the visible half each time.
    let mut current = corrupted.clone();
    for _ in 0..args.passes {
        let mut v = Array2::zeros((current.nrows(), machine.sizes.visible()));
        v.slice_mut(s![.., ..machine.sizes.pixels]).assign(&current);
        let restored = machine.reconstruct(v.view()).visible;
        for (mut row, new) in current.outer_iter_mut().zip(restored.outer_iter()) {
            for ((value, &h), &n) in row.iter_mut().zip(&hidden).zip(new.iter()) {
                if h {
                    *value = n;
                }
            }
        }
    }
    let mut grid = Array2::zeros((0, pixels.ncols()));
    for block in [&pixels, &corrupted, &current] {
        grid.append(Axis(0), block.view())?;
    }
    let layout = GridLayout { columns: rows.len(), ..GridLayout::default() };
    report::write_grid(&args.out, grid.view(), layout)?;
    let err = |a: &Array2<f32>| report::mean_squared_error(a.view(), pixels.view(), pixels.ncols());
    println!(
        "rows: original, corrupted ({:?} half hidden), restored; pixel MSE corrupted {:.4} → restored {:.4}; wrote {}",
        args.corrupt,
        err(&corrupted),
        err(&current),
        args.out.display()
    );
    Ok(())
}
