//! How well does a prior fit the deepest layer's data distribution? A diagnostic for choosing
//! anneal times, read counts and prior learning rates without training the networks.
//!
//! The target is a trained run's aggregate posterior: recognition samples of u2 over the whole
//! training set. Two modes:
//!
//! - `prior_fit RUN 0`: how close the run's own prior is to its target;
//! - `prior_fit RUN ITERATIONS LR READS ANNEAL_US [quantum|boltzmann|factorized]`: a fresh
//!   prior learns the fixed target for ITERATIONS updates (batches of READS target rows
//!   against READS samples) at learning rate LR, reporting the fit ten times.
//!
//! The fit is the mean |difference| of the units' means and of all pairwise second moments,
//! each over ten sampling calls of 400 reads (the device's noise differs from call to call, so
//! the prior is the mixture of its calls). For scale it also prints the second-moment gap of
//! independent units with the target's exact means: what a factorized prior can at best reach.

use std::path::Path;

use anyhow::{Context, bail};
use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;
use trainer::config::PriorKind;
use trainer::prior::Prior;
use trainer::run::{self, CHECKPOINT_FILE, Checkpoint, Connection};

/// ⟨s⟩ and ⟨s sᵀ⟩ of the rows of `s`.
fn moments(s: ArrayView2<f32>) -> (Vec<f64>, Array2<f64>) {
    let s = s.mapv(f64::from);
    let n = s.nrows().max(1) as f64;
    ((s.sum_axis(Axis(0)) / n).to_vec(), s.t().dot(&s) / n)
}

/// Mean |difference| of the means and of the off-diagonal second moments.
fn gaps(a: &(Vec<f64>, Array2<f64>), b: &(Vec<f64>, Array2<f64>)) -> (f64, f64) {
    let k = a.0.len();
    let linear = a.0.iter().zip(&b.0).map(|(x, y)| (x - y).abs()).sum::<f64>() / k as f64;
    let mut sum = 0.0;
    for i in 0..k {
        for j in i + 1..k {
            sum += (a.1[[i, j]] - b.1[[i, j]]).abs();
        }
    }
    (linear, sum / (k * (k - 1) / 2).max(1) as f64)
}

/// Ten calls of 400 reads, stacked; and their mean chain-break fraction.
fn sample_mixture(prior: &mut dyn Prior, tag: u64) -> anyhow::Result<(Array2<f32>, f64)> {
    let calls: Vec<_> =
        (0..10).map(|k| prior.draw(400, 1_000_000 + tag * 10 + k)).collect::<Result<_, _>>()?;
    let views: Vec<_> = calls.iter().map(|c| c.units.view()).collect();
    let breaks = calls.iter().map(|c| c.chain_breaks).sum::<f64>() / calls.len() as f64;
    Ok((ndarray::concatenate(Axis(0), &views)?, breaks))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(run), Some(iterations)) = (args.first(), args.get(1)) else {
        bail!("usage: prior_fit RUN 0 | prior_fit RUN ITERATIONS LR READS ANNEAL_US [KIND]");
    };
    let iterations: u64 = iterations.parse().context("ITERATIONS")?;
    let checkpoint = Checkpoint::load(&Path::new(run).join(CHECKPOINT_FILE))?;
    let mut config = checkpoint.config.clone();
    let (train_set, _) = run::load_data(&config.data)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let machine = &checkpoint.state.machine;
    let (_, target) = machine.recognition.sample(train_set.visible().view(), &mut rng);
    let target_moments = moments(target.view());
    let independent = Array2::from_shape_fn((target.ncols(), target.ncols()), |(i, j)| {
        target_moments.0[i] * target_moments.0[j]
    });
    let (_, floor) = gaps(&target_moments, &(target_moments.0.clone(), independent));
    println!("independent units with the target's means: second-moment gap {floor:.4}");

    if iterations == 0 {
        let state = Some(checkpoint.state.prior);
        let mut prior = run::open_prior(&config, state, &Connection::default(), &mut |_| {})?;
        let (samples, breaks) = sample_mixture(prior.as_mut(), 0)?;
        let (l, q) = gaps(&target_moments, &moments(samples.view()));
        println!(
            "the run's prior: gaps {l:.4} (means) {q:.4} (second moments), chain breaks {breaks:.4}"
        );
        return Ok(());
    }
    let number = |i: usize, name: &str| -> anyhow::Result<f64> {
        args.get(i).with_context(|| format!("missing {name}"))?.parse().context(name.to_string())
    };
    let lr = number(2, "LR")? as f32;
    let reads = number(3, "READS")? as usize;
    config.annealing.annealing_time = number(4, "ANNEAL_US")?;
    config.prior.kind = match args.get(5).map(String::as_str).unwrap_or("quantum") {
        "quantum" => PriorKind::Quantum,
        "boltzmann" => PriorKind::Boltzmann,
        "factorized" => PriorKind::Factorized,
        other => bail!("unknown prior kind {other:?}"),
    };
    let mut prior =
        run::open_prior(&config, None, &Connection::default(), &mut |line| println!("{line}"))?;
    let mut order: Vec<usize> = (0..target.nrows()).collect();
    for it in 0..iterations {
        let draw = prior.draw(reads, it)?;
        order.shuffle(&mut rng);
        let batch = target.select(Axis(0), &order[..reads.min(order.len())]);
        prior.update(&draw, batch.view(), lr);
        if it % (iterations / 10).max(1) == 0 || it + 1 == iterations {
            let (samples, breaks) = sample_mixture(prior.as_mut(), it)?;
            let (l, q) = gaps(&target_moments, &moments(samples.view()));
            println!(
                "update {it:5}: gaps {l:.4} (means) {q:.4} (second moments), chain breaks {breaks:.4}"
            );
        }
    }
    Ok(())
}
