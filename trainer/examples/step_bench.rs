//! Times qahm's wake-sleep update without the annealer (a factorized prior stands in), split
//! into its phases, for comparison with bench/trainer_step.py in the same run.
//!
//! Usage: step_bench BATCH DREAMS REPEATS → one JSON line.

use std::time::Instant;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use trainer::model::{HelmholtzMachine, LayerSizes};

fn main() {
    // The step runs on a rayon worker, as the trainer's does, so that its parallel halves
    // start without a hand-off from a foreign thread.
    let pool = rayon::ThreadPoolBuilder::new().build().expect("a thread pool");
    pool.install(run);
}

fn run() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a number")).collect();
    let (batch, dreams, repeats) = (args[0], args[1], args[2]);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let sizes = LayerSizes::default();
    let mut machine = HelmholtzMachine::new(sizes, 0.01, &mut rng).expect("valid sizes");
    let pm1 = |rng: &mut Xoshiro256PlusPlus, p: f64| if rng.random_bool(p) { 1.0f32 } else { -1.0 };
    let v = Array2::from_shape_simple_fn((batch, sizes.visible()), || pm1(&mut rng, 0.3));
    let u2 = Array2::from_shape_simple_fn((dreams, sizes.hidden2), || pm1(&mut rng, 0.5));
    let mut phases = Vec::with_capacity(repeats);
    for i in 0..=repeats {
        let t0 = Instant::now();
        let (wake_grad, _) = machine.wake_gradient(v.view(), &mut rng);
        let t1 = Instant::now();
        let (sleep_grad, _) = machine.sleep_gradient(u2.view(), &mut rng);
        let t2 = Instant::now();
        machine.generator.apply(&wake_grad, 0.01);
        machine.recognition.apply(&sleep_grad, 0.01);
        let t3 = Instant::now();
        if i > 0 {
            phases.push([
                (t1 - t0).as_secs_f64(),
                (t2 - t1).as_secs_f64(),
                (t3 - t2).as_secs_f64(),
            ]);
        }
    }
    phases.sort_by(|a, b| a.iter().sum::<f64>().total_cmp(&b.iter().sum::<f64>()));
    let median = phases[phases.len() / 2];
    println!(
        "{{\"tool\": \"qahm\", \"batch\": {batch}, \"dreams\": {dreams}, \"seconds_per_step\": {}, \
         \"wake\": {}, \"sleep\": {}, \"update\": {}}}",
        median.iter().sum::<f64>(),
        median[0],
        median[1],
        median[2]
    );
}
