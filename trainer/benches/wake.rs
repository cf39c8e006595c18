//! Criterion bench of the wake phase (`HelmholtzMachine::wake_gradient_with`) at the default
//! preset's sizes (266-120-60, 100-example batch): Algorithm 1's wake (one sample, no Q
//! wake gradient) against the reweighted wake at 10 and 20 samples per example with the
//! prior's log-density in the weights, as a default update runs it. The wake phase runs
//! beside the annealer call, so its cost decides how many samples fit in an update's shadow.
//!
//! `cargo bench -p trainer --bench wake`. Machine, data and density are built once from fixed
//! seeds outside the timed closures; the weights are scaled up from the initial 0.01 so that
//! the importance weights are as uneven as in a trained model (the cost does not depend on
//! it, the branch the resampling takes does).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use trainer::model::{HelmholtzMachine, LayerSizes, WakeRule};
use trainer::prior::LogDensity;

fn bench_wake(c: &mut Criterion) {
    let sizes = LayerSizes { pixels: 256, classes: 10, hidden1: 120, hidden2: 60 };
    let mut rng = trainer::seed::Rng::seed_from_u64(5);
    let machine = HelmholtzMachine::new(sizes, 0.3, &mut rng).expect("valid sizes");
    let batch = Array2::from_shape_fn((100, sizes.visible()), |_| {
        if rng.random_bool(0.3) { 1.0f32 } else { -1.0 }
    });
    let n = sizes.hidden2;
    let density = LogDensity {
        h: (0..n).map(|_| rng.random_range(-0.5..0.5)).collect(),
        j: (0..n * n).map(|_| rng.random_range(-0.2..0.2)).collect(),
        beta: 1.5,
    };
    let log_prior = |u2: &[f32]| density.log_unnormalised(u2);

    let mut group = c.benchmark_group("wake_100x266-120-60");
    let rules = [
        ("algorithm1", WakeRule::PAPER),
        ("reweighted_10", WakeRule { samples: 10, recognition: 1.0 }),
        ("reweighted_20", WakeRule { samples: 20, recognition: 1.0 }),
    ];
    for (name, rule) in rules {
        let mut draws = trainer::seed::Rng::seed_from_u64(9);
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(machine.wake_gradient_with(
                    black_box(batch.view()),
                    rule,
                    &log_prior,
                    &mut draws,
                ))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_wake);
criterion_main!(benches);
