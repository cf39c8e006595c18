//! Times real training updates of a preset against the in-process annealer and splits each
//! into its phases, for comparison with bench/trainer_step.py (the same step in numpy, the
//! annealer's samples given) in the same run.
//!
//! Usage: step_bench PRESET REPEATS → one JSON line of median milliseconds per phase.
//! Run from the repository root (the preset's data directory is relative to it).

use std::str::FromStr;

use clap::ValueEnum;
use trainer::train::{self, IterationMetrics, Preset, TrainConfig, Trainer};

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [preset, repeats] = args.as_slice() else {
        anyhow::bail!("usage: step_bench default|paper REPEATS");
    };
    let preset = Preset::from_str(preset, true).map_err(anyhow::Error::msg)?;
    let repeats = usize::from_str(repeats)?;
    let config = TrainConfig { eval_every: u64::MAX, ..TrainConfig::preset(preset) };
    let (train_set, test_set) = train::load_data(&config)?;
    let prior = train::build_prior(&config, None, None, &mut |_| {})?;
    let mut trainer = Trainer::new(config.clone(), train_set, test_set, prior)?;
    // The pool's threads start and the allocations settle in the first updates.
    for _ in 0..2 {
        trainer.step()?;
    }
    let steps: Vec<IterationMetrics> =
        (0..repeats).map(|_| trainer.step()).collect::<Result<_, _>>()?;
    let phase = |pick: fn(&IterationMetrics) -> f64| {
        median(&mut steps.iter().map(pick).collect::<Vec<_>>())
    };
    let (wake, annealer, sleep, update, step) = (
        phase(|m| m.t_wake_ms),
        phase(|m| m.t_annealer_ms),
        phase(|m| m.t_sleep_ms),
        phase(|m| m.t_update_ms),
        phase(|m| m.t_step_ms),
    );
    let compute = phase(|m| m.t_wake_ms + m.t_sleep_ms + m.t_update_ms);
    let batch = if config.batch_size == 0 { config.train_size } else { config.batch_size };
    println!(
        "{{\"tool\": \"qahm\", \"batch\": {batch}, \"dreams\": {}, \"anneal_us\": {}, \
         \"wake_ms\": {wake}, \"annealer_ms\": {annealer}, \"sleep_ms\": {sleep}, \
         \"update_ms\": {update}, \"compute_ms\": {compute}, \"step_ms\": {step}}}",
        config.num_reads, config.annealing_time
    );
    Ok(())
}
