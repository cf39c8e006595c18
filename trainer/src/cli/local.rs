//! The commands on a local run directory.

use anyhow::bail;
use tokio_util::sync::CancellationToken;

use super::{
    ClassifyArgs, EvalArgs, GenerateArgs, ProgressLine, ProgressView, ReconstructArgs, TrainArgs,
    print_classification, signals, write_generated, write_reconstruction,
};
use crate::eval;
use crate::run::files::write_atomic;
use crate::run::{self, Event, Run, Stop};
use crate::seed;

pub fn train(args: TrainArgs) -> anyhow::Result<()> {
    let quiet = args.quiet;
    let mut log = move |line: String| {
        if quiet { eprintln!("{line}") } else { eprintln!("trainer: {line}") }
    };
    let connection = args.annealer.connection()?;
    let mut run = match &args.resume {
        Some(dir) => {
            if let Some(flag) = args.settings.first_flag() {
                bail!("{flag}: --resume continues a run with the settings it was started with");
            }
            Run::resume(dir, &connection, &mut log)?
        }
        None => Run::create(&args.run, args.config()?, &connection, &mut log)?,
    };
    let cancel = CancellationToken::new();
    signals::cancel_on_signal(cancel.clone());
    let total = run.config().iterations();
    let view =
        ProgressView::new(total, run.trainer().iteration(), run.config().evaluation.every, quiet);
    let (mut recon, mut accuracy) = (f64::NAN, f64::NAN);
    let stop = run.train(args.stop_after, &cancel, &mut |event| {
        if let Event::Evaluated { update, path, report } = event {
            let judge = report.judge.as_ref();
            view.note(&format!(
                "evaluation after update {update}: accuracy {:.4}, judge agreement {:.4}, judged-class entropy {:.3} bits, Fréchet {:.2} ({})",
                report.accuracy.mean_field,
                judge.map_or(f64::NAN, |j| j.agreement),
                judge.map_or(f64::NAN, |j| j.judged_entropy_bits),
                judge.map_or(f64::NAN, |j| j.frechet),
                path.display()
            ));
            return;
        }
        let Event::Update(m) = event else { return };
        recon = m.recon_test.map_or(recon, f64::from);
        accuracy = m.test_accuracy.unwrap_or(accuracy);
        view.show(&ProgressLine {
            update: m.iteration,
            total,
            lr: f64::from(m.lr),
            recon,
            accuracy,
            gaps: (m.prior_gap_linear, m.prior_gap_quadratic),
            annealer_ms: m.annealer_wall_ms,
        });
    })?;
    view.finish();
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

pub fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let checkpoint = run::load_checkpoint(&args.run, args.checkpoint)?;
    let connection = args.annealer.connection()?.or_recorded(checkpoint.annealer.clone());
    let generated =
        generate_through_prior(&checkpoint, &connection, args.n, args.reads_per_call, args.seed)?;
    write_generated(&args.out, &generated.pixels, &generated.labels)
}

/// `n` digits through the checkpoint's prior, opened from its saved state and never saved back:
/// generating leaves the run as it was.
fn generate_through_prior(
    checkpoint: &run::Checkpoint,
    connection: &run::Connection,
    n: usize,
    reads_per_call: usize,
    seed: u64,
) -> anyhow::Result<crate::model::Generated> {
    let state = &checkpoint.state;
    let mut prior =
        run::open_prior(&checkpoint.config, Some(state.prior.clone()), connection, &mut |_| {})?;
    Ok(crate::model::generate(&state.machine, prior.as_mut(), n, reads_per_call, seed)?)
}

pub fn classify(args: ClassifyArgs) -> anyhow::Result<()> {
    let checkpoint = run::load_checkpoint(&args.run, args.checkpoint)?;
    let (_, test) = run::load_data(&checkpoint.config.data)?;
    let machine = &checkpoint.state.machine;
    let predicted = if args.samples == 0 {
        machine.classify(test.pixels())
    } else {
        let mut rng = seed::classify(args.seed);
        let scores = machine.class_scores_sampled(test.pixels(), args.samples, &mut rng);
        crate::model::argmax_rows(scores.view())
    };
    print_classification(&predicted, test.labels());
    Ok(())
}

pub fn reconstruct(args: ReconstructArgs) -> anyhow::Result<()> {
    let checkpoint = run::load_checkpoint(&args.run, args.checkpoint)?;
    let machine = &checkpoint.state.machine;
    let (_, test) = run::load_data(&checkpoint.config.data)?;
    let rows: Vec<usize> = (0..args.n.min(test.len())).collect();
    let original = test.select(&rows);
    let pixels = original.pixels().to_owned();
    let hidden = crate::model::region_mask(args.corrupt, original.height());
    let result = machine.inpaint(pixels.view(), &hidden, args.passes);
    write_reconstruction(&args, &pixels, &result.corrupted, &result.restored)
}

pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let checkpoint = run::load_checkpoint(&args.run, args.checkpoint)?;
    let connection = args.annealer.connection()?.or_recorded(checkpoint.annealer.clone());
    let (train, test) = run::load_data(&checkpoint.config.data)?;
    let generated = generate_through_prior(
        &checkpoint,
        &connection,
        args.samples,
        args.reads_per_call,
        seed::eval_generate(args.seed),
    )?;
    let state = checkpoint.state;
    let likelihood = (args.ll_samples > 0)
        .then_some(eval::LikelihoodOptions { samples: args.ll_samples, images: args.ll_images });
    let ais = eval::AisSettings { chains: args.ais_chains, temperatures: args.ais_temperatures };
    // Only asked for when the likelihood is: log Z of a Boltzmann prior takes seconds.
    let density = likelihood.map(|_| eval::PriorDensity::of(&state.prior, &ais, args.seed));
    let unavailable = match &density {
        Some(Err(why)) => format!("log-likelihood {why}\n"),
        _ => String::new(),
    };
    let options = eval::EvalOptions {
        checkpoint: state.iteration,
        seed: args.seed,
        class_samples: args.class_samples,
        hide: args.hide,
        inpaint_passes: args.passes,
        likelihood,
    };
    let judge = (!args.no_judge).then(|| {
        eval::load_or_train(
            &train,
            &test,
            eval::JudgeSettings::default(),
            eval::cache_dir().as_deref(),
        )
    });
    let report = eval::evaluate(
        &state.machine,
        &train,
        &test,
        &generated,
        judge.as_ref().map(|(j, _)| j),
        density.as_ref().and_then(|d| d.as_ref().ok()),
        &options,
    );
    let path = args.run.join("eval.json");
    let mut json = serde_json::to_vec_pretty(&report)?;
    json.push(b'\n');
    write_atomic(&path, &json)?;
    let origin = match judge.map(|(_, origin)| origin) {
        None => String::new(),
        Some(eval::JudgeOrigin::Cached(p)) => format!("judge read from {}\n", p.display()),
        Some(eval::JudgeOrigin::Trained(p)) => {
            format!("judge trained and saved to {}\n", p.display())
        }
        Some(eval::JudgeOrigin::TrainedUnsaved(why)) => {
            format!("judge trained, not saved ({why})\n")
        }
    };
    let text = format!("{report}{unavailable}{origin}wrote {}\n", path.display());
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    Ok(())
}
