//! How well can a prior learn a fixed target distribution over the 60 deepest units?
//!
//! Usage: prior_fit RUN_DIR ITERATIONS LR READS ANNEAL_US [quantum|factorized]
use std::path::Path;

use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;
use trainer::train::{self, Checkpoint, PriorKind};

fn logical_moments(s: ArrayView2<f32>) -> (Vec<f64>, Array2<f64>) {
    let n = s.nrows() as f64;
    let s64 = s.mapv(f64::from);
    let m = s64.mean_axis(Axis(0)).unwrap().to_vec();
    let c = s64.t().dot(&s64) / n;
    (m, c)
}

fn gaps(a: &(Vec<f64>, Array2<f64>), b: &(Vec<f64>, Array2<f64>)) -> (f64, f64) {
    let k = a.0.len();
    let lin = a.0.iter().zip(&b.0).map(|(x, y)| (x - y).abs()).sum::<f64>() / k as f64;
    let mut q = 0.0;
    let mut cnt = 0;
    for i in 0..k {
        for j in i + 1..k {
            q += (a.1[[i, j]] - b.1[[i, j]]).abs();
            cnt += 1;
        }
    }
    (lin, q / cnt as f64)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = Path::new(&args[0]);
    let iters: u64 = args[1].parse()?;
    let lr: f32 = args[2].parse()?;
    let reads: usize = args[3].parse()?;
    let anneal: f64 = args[4].parse()?;
    let kind = args.get(5).map(String::as_str).unwrap_or("quantum");
    let ck = Checkpoint::load(dir)?;
    let mut config = ck.config.clone();
    config.annealing_time = anneal;
    config.prior = match kind {
        "quantum" => PriorKind::Quantum,
        "boltzmann" => PriorKind::Boltzmann,
        _ => PriorKind::Factorized,
    };
    let (train_set, _) = train::load_data(&config)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let (_, target) = ck.machine.recognition.sample(train_set.visible().view(), &mut rng);
    let target_m = logical_moments(target.view());
    // Independent units with the target's means: the correlation error a factorized prior has.
    let indep_c = Array2::from_shape_fn((60, 60), |(i, j)| target_m.0[i] * target_m.0[j]);
    let (_, indep_q) = gaps(&target_m, &(target_m.0.clone(), indep_c));
    println!("target: factorized-with-exact-means correlation gap {indep_q:.4}");
    // ITERATIONS 0: evaluate the checkpoint's own prior against its own recognition samples.
    let state = (iters == 0).then(|| ck.prior.clone());
    if iters == 0 {
        config.prior = ck.config.prior;
    }
    let mut prior = train::build_prior(&config, state, None, &mut |s| println!("{s}"))?;
    if iters == 0 {
        let calls: Vec<_> =
            (0..10).map(|k| prior.sample(400, 1_000_000 + k)).collect::<Result<_, _>>()?;
        let views: Vec<_> = calls.iter().map(|c| c.units.view()).collect();
        let big = ndarray::concatenate(Axis(0), &views)?;
        let (l, q) = gaps(&target_m, &logical_moments(big.view()));
        let breaks = calls.iter().map(|c| c.chain_breaks).sum::<f64>() / 10.0;
        println!(
            "own prior: logical gap means {l:.4} correlations {q:.4}, chain breaks {breaks:.4}"
        );
        return Ok(());
    }
    let mut order: Vec<usize> = (0..target.nrows()).collect();
    for it in 0..iters {
        let samples = prior.sample(reads, it)?;
        order.shuffle(&mut rng);
        let batch = target.select(Axis(0), &order[..reads.min(order.len())]);
        prior.update(batch.view(), lr);
        if it % (iters / 10).max(1) == 0 || it + 1 == iters {
            // Ten calls: the device's noise differs per call, the prior is their mixture.
            let calls: Vec<Array2<f32>> = (0..10)
                .map(|k| prior.sample(400, 1_000_000 + it * 10 + k).map(|s| s.units))
                .collect::<Result<_, _>>()?;
            let views: Vec<_> = calls.iter().map(|c| c.view()).collect();
            let big = ndarray::concatenate(Axis(0), &views)?;
            let (l, q) = gaps(&target_m, &logical_moments(big.view()));
            println!("it {it:5}: logical gap means {l:.4} correlations {q:.4}");
            let _ = samples;
        }
    }
    Ok(())
}
