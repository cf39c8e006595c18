//! Times the training update of a preset, for comparison with bench/trainer_step.py (the same
//! step in numpy, the annealer's samples given) in the same run.
//!
//! Two measurements, medians over REPEATS updates:
//! - real updates (`Trainer::step` against the in-process annealer), split into phases: the
//!   wake phase runs alongside the annealer call, so on a machine whose cores the emulator
//!   keeps busy it is slowed down by it;
//! - the same update with the annealer's samples given, as numpy's is: wake, sleep and every
//!   parameter update (the prior's too, which the numpy step leaves out) with the cores free.
//!
//! Usage: step_bench PRESET REPEATS [alone] → one JSON line, milliseconds; with `alone`, only
//! the second measurement (bench/run.sh pairs it with numpy's over several rounds). Run from
//! the repository root (the preset's data directory is relative to it).

use std::str::FromStr;
use std::time::Instant;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use trainer::config::{Preset, RunConfig};
use trainer::run::{self, Connection, Trainer, UpdateMetrics};

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (preset, repeats, alone_only) = match args.as_slice() {
        [preset, repeats] => (preset, repeats, false),
        [preset, repeats, mode] if mode == "alone" => (preset, repeats, true),
        _ => anyhow::bail!("usage: step_bench default|paper REPEATS [alone]"),
    };
    let preset = Preset::from_name(preset)
        .ok_or_else(|| anyhow::anyhow!("preset {preset:?} is not one of {:?}", Preset::NAMES))?;
    let repeats = usize::from_str(repeats)?;
    let mut config = run::settle_data(RunConfig::preset(preset))?;
    config.evaluation.every = u64::MAX;
    let batch = config.batch_size();
    let (train_set, test_set) = run::load_data(&config.data)?;
    let data = train_set.select(&(0..batch).collect::<Vec<_>>()).visible();
    let prior = run::open_prior(&config, None, &Connection::default(), &mut |_| {})?;
    let mut trainer = Trainer::start(config.clone(), None, train_set, test_set, prior)?;

    // Real updates. The pool's threads start and the allocations settle in the first ones.
    let real_steps = if alone_only { 0 } else { repeats };
    for _ in 0..2.min(real_steps) {
        trainer.step()?;
    }
    let steps: Vec<UpdateMetrics> =
        (0..real_steps).map(|_| trainer.step()).collect::<Result<_, _>>()?;
    let phase = |pick: fn(&UpdateMetrics) -> f64| median(steps.iter().map(pick).collect());

    // The same update with the samples given: the trained machine, a prior of its own.
    let reads = config.annealing.num_reads as usize;
    let mut machine = trainer.machine().clone();
    let mut prior = run::open_prior(&config, None, &Connection::default(), &mut |_| {})?;
    let draw = prior.draw(reads, u64::MAX)?;
    let samples = draw.units.clone();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let mut alone = Vec::with_capacity(repeats);
    let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
    for i in 0..=repeats {
        let t0 = Instant::now();
        let (wake_grad, wake) = machine.wake_gradient(data.view(), &mut rng);
        let t1 = Instant::now();
        let (sleep_grad, _) = machine.sleep_gradient(samples.view(), &mut rng);
        let t2 = Instant::now();
        machine.generator.apply(&wake_grad, 1e-4);
        machine.recognition.apply(&sleep_grad, 1e-4);
        prior.update(&draw, wake.u2.view(), 1e-4);
        let t3 = Instant::now();
        if i > 0 {
            alone.push([ms(t0, t3), ms(t0, t1), ms(t1, t2), ms(t2, t3)]);
        }
    }
    alone.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let alone = alone[alone.len() / 2];
    if alone_only {
        println!(
            "{{\"tool\": \"qahm\", \"batch\": {batch}, \"dreams\": {}, \"compute_alone_ms\": {}}}",
            config.annealing.num_reads, alone[0]
        );
        return Ok(());
    }

    println!(
        "{{\"tool\": \"qahm\", \"batch\": {batch}, \"dreams\": {}, \"anneal_us\": {}, \
         \"wake_ms\": {}, \"annealer_ms\": {}, \"sleep_ms\": {}, \"update_ms\": {}, \
         \"step_ms\": {}, \"compute_alone_ms\": {}, \"alone_wake_ms\": {}, \
         \"alone_sleep_ms\": {}, \"alone_update_ms\": {}}}",
        config.annealing.num_reads,
        config.annealing.annealing_time,
        phase(|m| m.t_wake_ms),
        phase(|m| m.t_annealer_ms),
        phase(|m| m.t_sleep_ms),
        phase(|m| m.t_update_ms),
        phase(|m| m.t_step_ms),
        alone[0],
        alone[1],
        alone[2],
        alone[3],
    );
    Ok(())
}
