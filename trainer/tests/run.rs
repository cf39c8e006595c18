//! A run directory's life through the library: resume is bit-identical to an uninterrupted
//! run, and looking at a model mid-run (pictures, generated digits) changes nothing.

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;
use trainer::config::{Preset, PriorKind, RunConfig};
use trainer::run::{CHECKPOINT_FILE, Checkpoint, Connection, Run, Stop};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/mnist-10k")
}

/// A small run: 12 updates of 100 examples, 50 reads at 5 µs from the in-process emulator.
fn small(prior: PriorKind) -> RunConfig {
    let mut c = RunConfig::preset(Preset::Default);
    c.data.dir = data_dir();
    (c.data.train_size, c.data.test_size) = (500, 100);
    c.schedule.iterations = Some(12);
    (c.schedule.lr_start, c.schedule.lr_end) = (0.05, 0.01);
    (c.prior.kind, c.prior.lr_scale, c.prior.warmup_epochs) = (prior, 1.0, 0.0);
    (c.annealing.num_reads, c.annealing.annealing_time) = (50, 5.0);
    c.run.checkpoint_every = 4;
    c.evaluation.every = 5;
    c
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qahm-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The final checkpoint without the wall clock, the one thing allowed to differ.
fn result(dir: &Path) -> Checkpoint {
    let mut c = Checkpoint::load(&dir.join(CHECKPOINT_FILE)).unwrap();
    c.state.wall_seconds = 0.0;
    c
}

fn train(run: &mut Run, limit: Option<u64>) -> Stop {
    run.train(limit, &CancellationToken::new(), &mut |_| {}).unwrap()
}

fn straight(config: &RunConfig, dir: &Path) {
    let mut run = Run::create(dir, config.clone(), &Connection::default(), &mut |_| {}).unwrap();
    assert_eq!(train(&mut run, None), Stop::Finished);
}

/// Trains `config` straight through and with a stop after 5 updates, and compares the ends.
fn resume_is_bit_identical(config: RunConfig, name: &str) {
    let (a, b) = (scratch(&format!("straight-{name}")), scratch(&format!("resumed-{name}")));
    straight(&config, &a);
    let mut first = Run::create(&b, config, &Connection::default(), &mut |_| {}).unwrap();
    assert_eq!(train(&mut first, Some(5)), Stop::Paused);
    drop(first);
    let mut resumed = Run::resume(&b, &Connection::default(), &mut |_| {}).unwrap();
    assert_eq!(resumed.trainer().iteration(), 5);
    assert_eq!(train(&mut resumed, None), Stop::Finished);
    assert_eq!(result(&b), result(&a));
    let lines = std::fs::read_to_string(b.join("metrics.jsonl")).unwrap().lines().count();
    assert_eq!(lines, 12, "every update once");
    for dir in [a, b] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn a_resumed_run_ends_bit_identical_to_an_uninterrupted_one() {
    resume_is_bit_identical(small(PriorKind::Quantum), "sgd");
}

#[test]
fn a_resumed_adam_run_ends_bit_identical_and_its_checkpoints_carry_the_moments() {
    // Adam's moments are training state: a resume that restarted them at zero would move
    // differently from update 6 on, and the final checkpoints would differ.
    let mut config = small(PriorKind::Factorized);
    config.schedule.optimizer = trainer::model::Optimizer::Adam;
    (config.schedule.lr_start, config.schedule.lr_end) = (0.002, 0.001);
    let dir = scratch("adam-state");
    straight(&config, &dir);
    assert!(result(&dir).state.optimizer.is_some(), "the checkpoint holds Adam's moments");
    std::fs::remove_dir_all(dir).unwrap();
    resume_is_bit_identical(config, "adam");
}

/// Pictures and generated digits at three points of a run leave its result bit-identical.
fn viewing_changes_nothing(prior: PriorKind) {
    let config = small(prior);
    let (a, b) = (scratch(&format!("plain-{prior:?}")), scratch(&format!("viewed-{prior:?}")));
    straight(&config, &a);
    let mut run = Run::create(&b, config, &Connection::default(), &mut |_| {}).unwrap();
    let mut seen = Vec::new();
    for limit in [1, 4, 3] {
        train(&mut run, Some(limit));
        run.write_pictures().unwrap();
        seen.push(run.generate(25, 10, 3).unwrap().pixels);
    }
    assert_eq!(train(&mut run, None), Stop::Finished);
    assert_eq!(result(&b), result(&a));
    assert!(b.join("pictures/by_class.png").exists());
    assert_ne!(seen[0], seen[2], "the model moved between the looks");
    for dir in [a, b] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn viewing_draws_mid_run_leave_a_quantum_run_bit_identical() {
    viewing_changes_nothing(PriorKind::Quantum);
}

#[test]
fn viewing_draws_mid_run_leave_a_boltzmann_run_bit_identical() {
    // The Boltzmann baseline's persistent chains are training state a viewing draw of another
    // size used to resize.
    viewing_changes_nothing(PriorKind::Boltzmann);
}

#[test]
fn a_new_run_never_overwrites_an_existing_one() {
    let dir = scratch("exists");
    straight(&small(PriorKind::Factorized), &dir);
    let before = std::fs::read(dir.join(CHECKPOINT_FILE)).unwrap();
    let again =
        Run::create(&dir, small(PriorKind::Factorized), &Connection::default(), &mut |_| {});
    assert!(matches!(again, Err(trainer::run::RunError::Exists(_))));
    assert_eq!(std::fs::read(dir.join(CHECKPOINT_FILE)).unwrap(), before);
    std::fs::remove_dir_all(dir).unwrap();
}
