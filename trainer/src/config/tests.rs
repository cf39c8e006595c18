use super::layers::{Layer, build, read_run_config};
use super::*;

/// The command-line layer of `flags` (name, value) pairs, as `trainer train` builds it.
fn flags(pairs: &[(&str, &str)]) -> Layer {
    let mut layer = Layer::new("command line");
    for (path, value) in pairs {
        layer.set_text(field(path).unwrap_or_else(|| panic!("{path} is declared")), value).unwrap();
    }
    layer
}

fn toml_layer(text: &str) -> Layer {
    Layer::from_toml("test.toml", text).unwrap()
}

#[test]
fn preset_values_round_to_the_f32_values_the_first_runs_used() {
    // Before settings were f64, these were f32 literals; the networks compute in f32, so the
    // rounded settings must be those same numbers for runs to stay bit-identical.
    let d = RunConfig::preset(Preset::Default);
    assert_eq!(d.schedule.lr_start as f32, 0.05f32);
    assert_eq!(d.schedule.lr_end as f32, 0.005f32);
    assert_eq!(d.model.init_std as f32, 0.01f32);
    assert_eq!(d.prior.lr_scale as f32, 0.5f32);
    let p = RunConfig::preset(Preset::Paper);
    assert_eq!(p.schedule.lr_start as f32, 0.005f32);
    assert_eq!(p.schedule.lr_end as f32, 0.0005f32);
    assert_eq!(p.lr(0), 0.005f32);
}

#[test]
fn paper_schedule_holds_then_decays_linearly() {
    let mut c = RunConfig::preset(Preset::Paper);
    // As run::settle_data leaves it for the shipped data.
    c.data.train_size = 8000;
    assert_eq!(c.iterations(), 1000);
    assert_eq!(c.lr(0), 0.005);
    assert_eq!(c.lr(499), 0.005);
    assert!((c.lr(999) - 0.0005).abs() < 1e-9);
    let mid = c.lr(750);
    assert!(mid < 0.005 && mid > 0.0005);
    assert_eq!(
        (c.batch_size(), c.annealing.num_reads, c.annealing.annealing_time),
        (8000, 1000, 5.0)
    );
    // Algorithm 1's wake phase: Q's one sample, and Q learns from dreams only.
    assert_eq!(c.wake_rule(), crate::model::WakeRule::PAPER);
}

#[test]
fn a_config_written_before_the_wake_rule_existed_keeps_the_papers_wake_phase() {
    let mut c = RunConfig::preset(Preset::Default);
    assert_ne!(c.wake_rule(), crate::model::WakeRule::PAPER);
    let mut text = toml::to_string(&c).unwrap();
    text = text
        .lines()
        .filter(|l| !l.starts_with("wake_samples") && !l.starts_with("wake_recognition"))
        .collect::<Vec<_>>()
        .join("\n");
    c = toml::from_str(&text).unwrap();
    assert_eq!(c.wake_rule(), crate::model::WakeRule::PAPER);
}

#[test]
fn every_preset_is_valid_and_every_setting_declared_once() {
    for preset in [Preset::Default, Preset::Paper] {
        RunConfig::preset(preset).validate().unwrap();
    }
    let mut paths: Vec<_> = fields().map(|f| f.path).collect();
    let mut flags: Vec<_> = fields().map(|f| f.flag).collect();
    let n = paths.len();
    paths.sort_unstable();
    paths.dedup();
    flags.sort_unstable();
    flags.dedup();
    assert_eq!((paths.len(), flags.len()), (n, n), "a path or flag is declared twice");
}

#[test]
fn layers_apply_in_order_preset_then_file_then_flags() {
    let file = toml_layer("[schedule]\nlr_start = 0.1\n[annealing]\nnum_reads = 50\n");
    let cli = flags(&[("annealing.num_reads", "70"), ("run.seed", "3")]);
    let c = build(Some(Preset::Paper), &[file, cli]).unwrap();
    assert_eq!(c.schedule.lr_start, 0.1, "the file over the preset");
    assert_eq!(c.annealing.num_reads, 70, "the flag over the file");
    assert_eq!(c.run.seed, 3);
    let paper = RunConfig::preset(Preset::Paper);
    assert_eq!((c.schedule.lr_end, c.preset), (paper.schedule.lr_end, Preset::Paper));
    assert_eq!(c.annealing.annealing_time, 5.0, "untouched settings keep the preset's value");
}

#[test]
fn a_file_names_its_preset_unless_the_command_line_does() {
    let file = || toml_layer("preset = \"paper\"\n[run]\nseed = 9\n");
    let c = build(None, &[file()]).unwrap();
    assert_eq!((c.preset, c.iterations(), c.run.seed), (Preset::Paper, 1000, 9));
    let c = build(Some(Preset::Default), &[file()]).unwrap();
    assert_eq!((c.preset, c.iterations(), c.run.seed), (Preset::Default, 4000, 9));
}

#[test]
fn a_run_config_file_read_back_is_the_same_config() {
    let dir = std::env::temp_dir().join(format!("qahm-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    let c =
        build(None, &[flags(&[("schedule.lr_start", "0.07"), ("schedule.epochs", "3")])]).unwrap();
    std::fs::write(&path, c.to_toml()).unwrap();
    assert!(c.to_toml().contains("lr_start = 0.07\n"), "{}", c.to_toml());
    assert_eq!(read_run_config(&path).unwrap(), c);
    // And as a --config layer it reproduces the run's settings.
    assert_eq!(build(None, &[Layer::from_toml_file(&path).unwrap()]).unwrap(), c);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn json_layers_use_the_toml_names() {
    let request = serde_json::json!({
        "schedule": {"lr_start": 0.2, "iterations": null},
        "prior": {"kind": "boltzmann"}
    });
    let c = build(None, &[Layer::from_json("request", request).unwrap()]).unwrap();
    assert_eq!((c.schedule.lr_start, c.prior.kind), (0.2, PriorKind::Boltzmann));
    assert_eq!(c.iterations(), 4000, "null leaves a setting as it was");
}

#[test]
fn epochs_and_iterations_are_one_setting_in_two_units() {
    // Epochs count batches of the training set, whose size the data set settles
    // (run::settle_data): 8000 for the shipped data.
    let c =
        build(None, &[flags(&[("schedule.epochs", "3"), ("data.train_size", "8000")])]).unwrap();
    assert_eq!((c.schedule.iterations, c.iterations()), (None, 240));
    let file = toml_layer("[schedule]\nepochs = 3\n");
    let c = build(None, &[file, flags(&[("schedule.iterations", "10")])]).unwrap();
    assert_eq!((c.schedule.epochs, c.iterations()), (None, 10), "the later layer wins");
    let both = flags(&[("schedule.epochs", "3"), ("schedule.iterations", "10")]);
    let e = build(None, &[both]).unwrap_err();
    assert_eq!(e.field_name(), Some("schedule.epochs"), "{e}");
}

#[test]
fn unknown_settings_are_named_with_their_dotted_path() {
    let e = Layer::from_toml("a.toml", "[schedule]\nlr_strat = 1.0\n").unwrap_err();
    assert_eq!(e.to_string(), "schedule.lr_strat: unknown setting (a.toml)");
    let e = Layer::from_toml("a.toml", "[sched]\nlr_start = 1.0\n").unwrap_err();
    assert!(
        e.to_string().starts_with("sched: unknown section (a.toml); sections are data, model"),
        "{e}"
    );
    let e = Layer::from_toml("old.toml", "lr_start = 0.1\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "lr_start: settings live in sections now: write it as schedule.lr_start (old.toml)"
    );
}

#[test]
fn non_finite_numbers_are_refused_not_dropped() {
    // JSON has no NaN: a NaN that became a null would silently leave the preset's value.
    let mut layer = Layer::new("command line");
    let e = layer.set_text(field("schedule.lr_start").unwrap(), "NaN").unwrap_err();
    assert_eq!(e.to_string(), "schedule.lr_start: NaN is not a finite number (command line)");
    let e = Layer::from_toml("a.toml", "[prior]\nwarmup_epochs = inf\n").unwrap_err();
    assert_eq!(e.to_string(), "prior.warmup_epochs: inf is not a finite number (a.toml)");
}

#[test]
fn values_of_the_wrong_kind_are_named() {
    let e = Layer::from_toml("a.toml", "[schedule]\nlr_start = \"fast\"\n").unwrap_err();
    assert_eq!(e.to_string(), "schedule.lr_start: \"fast\" is not a number (a.toml)");
    let mut layer = Layer::new("command line");
    let e = layer.set_text(field("annealing.num_reads").unwrap(), "-3").unwrap_err();
    assert_eq!(
        e.to_string(),
        "annealing.num_reads: \"-3\" is not a whole number ≥ 0 (command line)"
    );
    let e = Layer::from_toml("a.toml", "[prior]\nkind = \"gaussian\"\n").unwrap_err();
    assert!(e.to_string().contains("one of quantum, factorized, boltzmann"), "{e}");
}

/// The error of `value` for setting `path` on the command line: from the layer, from
/// validation or, `by_solver`, from the check against DW_2000Q_5's properties.
fn refusal(path: &str, value: &str, by_solver: bool) -> ConfigError {
    let mut layer = Layer::new("command line");
    let checked = layer.set_text(field(path).unwrap(), value).and_then(|()| build(None, &[layer]));
    match (checked, by_solver) {
        (Ok(config), true) => config.check_solver(&dw_2000q()).unwrap_err(),
        (Ok(_), false) => panic!("{path} = {value} was accepted"),
        (Err(e), _) => e,
    }
}

/// One test per validation rule: the setting given `value` on the command line must be
/// refused (`solver`: by the solver's properties) by an error naming it and what is allowed.
macro_rules! refused {
    ($($name:ident: $path:literal = $value:literal $(, $solver:ident)? => $message:literal;)*) => {$(
        #[test]
        fn $name() {
            let e = refusal($path, $value, false $(|| stringify!($solver) == "solver")?);
            assert_eq!(e.field_name(), Some($path), "{e}");
            assert_eq!(e.to_string(), concat!($path, ": ", $message));
        }
    )*};
}

refused! {
    data_dir_empty_is_refused: "data.dir" = "" => "must not be empty";
    data_side_of_zero_is_refused: "data.side" = "0" => "0 is outside [1, 128]";
    data_classes_beyond_a_byte_are_refused: "data.classes" = "257" => "257 is outside [1, 256]";
    model_hidden1_of_zero_is_refused: "model.hidden1" = "0" => "0 is outside [1, 100000]";
    model_hidden2_of_zero_is_refused: "model.hidden2" = "0" => "0 is outside [1, 10000]";
    model_init_std_negative_is_refused: "model.init_std" = "-0.1" => "-0.1 is outside [0, 10]";
    schedule_iterations_of_zero_is_refused: "schedule.iterations" = "0" => "0 is outside [1, ∞)";
    schedule_epochs_of_zero_is_refused: "schedule.epochs" = "0" => "0 is outside [1, ∞)";
    schedule_lr_start_negative_is_refused: "schedule.lr_start" = "-1" => "-1 is outside (0, 10]";
    schedule_lr_end_of_zero_is_refused: "schedule.lr_end" = "0" => "0 is outside (0, 10]";
    schedule_lr_hold_fraction_above_one_is_refused: "schedule.lr_hold_fraction" = "2" => "2 is outside [0, 1]";
    prior_lr_scale_negative_is_refused: "prior.lr_scale" = "-0.5" => "-0.5 is outside [0, 10000]";
    prior_warmup_epochs_huge_is_refused: "prior.warmup_epochs" = "1e309" => "inf is not a finite number (command line)";
    prior_gibbs_sweeps_of_zero_is_refused: "prior.gibbs_sweeps" = "0" => "0 is outside [1, 100000]";
    annealing_num_reads_of_zero_is_refused: "annealing.num_reads" = "0" => "0 is outside [1, 100000]";
    annealing_time_of_zero_is_refused: "annealing.annealing_time" = "0" => "0 is outside (0, 1000000]";
    annealing_chain_strength_positive_is_refused: "annealing.chain_strength" = "0.5" => "0.5 is outside (−∞, 0)";
    annealing_device_seed_above_i64_is_refused: "annealing.device_seed" = "9223372036854775808"
        => "9223372036854775808 is outside [0, 9223372036854775807]";
    run_seed_above_i64_is_refused: "run.seed" = "18446744073709551615"
        => "18446744073709551615 is outside [0, 9223372036854775807]";
    run_checkpoint_every_of_zero_is_refused: "run.checkpoint_every" = "0" => "0 is outside [1, ∞)";
    evaluation_every_of_zero_is_refused: "evaluation.every" = "0" => "0 is outside [1, ∞)";
}

#[test]
fn a_batch_larger_than_the_training_set_is_refused_once_its_size_is_known() {
    let mut layer = Layer::new("command line");
    layer.set_text(field("schedule.batch_size").unwrap(), "9000").unwrap();
    // data.train_size 0: the data set settles it, and the check waits (run::settle_data).
    let config = build(None, std::slice::from_ref(&layer)).unwrap();
    assert_eq!(config.data.train_size, 0);
    layer.set_text(field("data.train_size").unwrap(), "8000").unwrap();
    let e = build(None, &[layer]).unwrap_err();
    assert_eq!(e.field_name(), Some("schedule.batch_size"));
    assert_eq!(
        e.to_string(),
        "schedule.batch_size: 9000 is outside [0, 8000] (0 = the whole training set; \
         data.train_size is 8000)"
    );
}

#[test]
fn configs_written_before_the_image_side_and_class_bits_read_as_the_papers() {
    let mut config = RunConfig::preset(Preset::Default);
    config.data.train_size = 8000;
    config.data.test_size = 2000;
    let text = config.to_toml();
    let old = text.replace("side = 16\n", "").replace("classes = 10\n", "");
    assert!(!old.contains("side") && !old.contains("classes ="), "{old}");
    let read: RunConfig = toml::from_str(&old).unwrap();
    assert_eq!(read, config);
    assert_eq!((read.sizes().pixels, read.sizes().classes), (256, 10));
}

fn dw_2000q() -> qahm_common::properties::SolverProperties {
    qahm_common::properties::SolverProperties::dw_2000q(
        "DW_2000Q_5",
        qahm_common::topology::Chimera::dw_2000q_5(),
    )
}

refused! {
    annealing_time_below_the_solvers_range_is_refused: "annealing.annealing_time" = "1", solver
        => "1 µs is outside DW_2000Q_5's annealing_time_range [5, 2000] µs";
    annealing_chain_strength_beyond_j_range_is_refused: "annealing.chain_strength" = "-2", solver
        => "-2 is outside DW_2000Q_5's j_range [-1, 1]";
    annealing_reads_per_call_above_the_solvers_limit_is_refused: "annealing.reads_per_call" = "5000", solver
        // (1,000,000 µs run duration − 1000 µs programming thermalization) / (40 µs anneal
        // + 198.4 µs readout) = 4190.4 reads.
        => "5000 is outside [0, 4190] (DW_2000Q_5 takes at most 4190 reads per call at 40 µs; 0 = that limit)";
    annealing_programming_thermalization_beyond_the_solvers_range_is_refused:
        "annealing.programming_thermalization" = "20000", solver
        => "20000 µs is outside DW_2000Q_5's range [0, 10000] µs";
    annealing_readout_thermalization_beyond_the_solvers_range_is_refused:
        "annealing.readout_thermalization" = "10001", solver
        => "10001 µs is outside DW_2000Q_5's range [0, 10000] µs";
}

#[test]
fn the_presets_fit_the_2000q() {
    for preset in [Preset::Default, Preset::Paper] {
        RunConfig::preset(preset).check_solver(&dw_2000q()).unwrap();
    }
}

#[test]
fn the_solver_setting_names_every_emulated_solver() {
    let names: Vec<&str> = Solver::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(names, super::SOLVER_NAMES);
}
