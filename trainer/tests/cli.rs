//! The trainer's command line: bad input is one readable line and a non-zero exit, and nothing
//! already written is lost.

use std::process::{Command, Output};

fn trainer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trainer")).args(args).output().unwrap()
}

fn assert_one_line_error(out: &Output, needle: &str) {
    assert!(!out.status.success(), "expected failure, got {:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {stderr}");
    assert!(lines[0].contains(needle), "{:?} should mention {needle:?}", lines[0]);
}

#[test]
fn every_command_has_help() {
    for command in
        ["train", "generate", "classify", "reconstruct", "eval", "serve", "runs", "watch"]
    {
        let out = trainer(&[command, "--help"]);
        assert!(out.status.success(), "{command} --help");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
    }
}

#[test]
fn out_of_range_settings_name_the_setting() {
    let cases: [(&[&str], &str); 11] = [
        (&["train", "--num-reads", "0"], "annealing.num_reads: 0 is outside [1, 100000]"),
        (&["train", "--lr-start=-1"], "schedule.lr_start: -1 is outside (0, 10]"),
        (&["train", "--chain-strength", "0.5"], "annealing.chain_strength: 0.5 is outside"),
        (&["train", "--lr-hold-fraction", "2"], "schedule.lr_hold_fraction: 2 is outside [0, 1]"),
        // The dotted name, as in config.toml, is the flag's alias.
        (&["train", "--schedule.lr_end", "11"], "schedule.lr_end: 11 is outside (0, 10]"),
        (&["train", "--resume", "/nonexistent/r", "--seed", "3"], "--seed: --resume continues"),
        // generate checks its counts before it looks for the run.
        (&["generate", "--reads-per-call", "0"], "--reads-per-call 0 is outside [1, 10000]"),
        (&["generate", "--n", "0"], "--n 0 is outside [1, 100000]"),
        // So does eval, the likelihood's settings included.
        (&["eval", "--ll-images", "1"], "--ll-images 1 is outside [2, 1000000] (or 0 for all"),
        (&["eval", "--ais-chains", "1"], "--ais-chains 1 is outside [2, 100000]"),
        (&["eval", "--ais-temperatures", "0"], "--ais-temperatures 0 is outside [1, 1000000]"),
    ];
    for (args, needle) in cases {
        let run =
            if args.contains(&"--resume") { &[][..] } else { &["--run", "/nonexistent/never"][..] };
        let out = trainer(&[args, run].concat());
        assert_one_line_error(&out, needle);
    }
}

#[test]
fn a_missing_run_directory_is_named() {
    for command in ["classify", "eval"] {
        let out = trainer(&[command, "--run", "/nonexistent/run"]);
        assert_one_line_error(&out, "/nonexistent/run");
    }
}

/// A run of 20 updates on 300 training and 100 test images with `prior` (and `extra` flags) in
/// a fresh scratch directory named after `name`.
fn tiny_run(name: &str, prior: &str, extra: &[&str]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("qahm-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist-10k");
    let run = dir.to_str().unwrap();
    let args = ["train", "--run", run, "--data", data, "--prior", prior, "--iterations", "20"];
    let size = ["--train-size", "300", "--test-size", "100", "--quiet"];
    let out = trainer(&[&args[..], &size, extra].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir
}

#[test]
fn eval_writes_a_report_in_range_and_leaves_the_run_otherwise_alone() {
    let dir = tiny_run("eval", "factorized", &[]);
    let run = dir.to_str().unwrap();
    let checkpoint = std::fs::read(dir.join("checkpoint.json")).unwrap();

    // The judge is trained on the run's 300 training images and kept in this cache.
    let cache = dir.join("cache");
    let eval = || {
        Command::new(env!("CARGO_BIN_EXE_trainer"))
            .args(["eval", "--run", run, "--samples", "50", "--class-samples", "2"])
            .args(["--ll-samples", "5", "--ll-images", "20"])
            .env("QAHM_CACHE_DIR", &cache)
            .output()
            .unwrap()
    };
    let out = eval();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("bottom half hidden"));
    assert!(
        stdout.contains(&format!("judge trained and saved to {}", cache.display())),
        "{stdout}"
    );
    let first = std::fs::read(dir.join("eval.json")).unwrap();
    let out = eval();
    assert!(String::from_utf8_lossy(&out.stdout).contains("judge read from"));
    assert_eq!(std::fs::read(dir.join("eval.json")).unwrap(), first, "a cached judge judges alike");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("eval.json")).unwrap()).unwrap();
    let number = |path: &[&str]| {
        let value = path.iter().fold(&report, |v, key| &v[*key]);
        value.as_f64().unwrap_or_else(|| panic!("{path:?} is not a number in {report}"))
    };
    assert_eq!(number(&["checkpoint"]), 20.0);
    assert_eq!(number(&["test_images"]), 100.0);
    for accuracy in [&["accuracy", "mean_field"][..], &["accuracy", "sampled"]] {
        assert!((0.0..=1.0).contains(&number(accuracy)), "{accuracy:?}");
    }
    // Pixels are in [-1, 1], so no squared pixel error exceeds 4.
    for mse in
        [&["reconstruction_mse"][..], &["inpainting", "mse"], &["inpainting", "train_mean_mse"]]
    {
        assert!((0.0..=4.0).contains(&number(mse)), "{mse:?}");
    }
    assert_eq!(report["inpainting"]["hidden"], "bottom");
    for distance in
        ["generated_to_train", "test_to_train", "generated_to_generated", "test_to_test"]
    {
        assert!(number(&["novelty", distance]) > 0.0, "{distance}");
    }
    let histogram = report["novelty"]["class_histogram"].as_array().unwrap();
    assert_eq!(histogram.iter().map(|c| c.as_u64().unwrap()).sum::<u64>(), 50);
    let entropy = number(&["novelty", "class_entropy_bits"]);
    assert!((0.0..=number(&["novelty", "max_entropy_bits"]) + 1e-9).contains(&entropy));
    for fraction in ["judge_test_accuracy", "agreement", "mean_confidence", "test_mean_confidence"]
    {
        assert!((0.0..=1.0).contains(&number(&["judge", fraction])), "{fraction}");
    }
    let judged = report["judge"]["judged_histogram"].as_array().unwrap();
    assert_eq!(judged.iter().map(|c| c.as_u64().unwrap()).sum::<u64>(), 50);
    assert!(
        number(&["judge", "frechet"]) > 0.0 && number(&["judge", "frechet_train_reference"]) > 0.0
    );
    assert_eq!(
        (number(&["likelihood", "images"]), number(&["likelihood", "samples"])),
        (20.0, 5.0)
    );
    assert_eq!(report["likelihood"]["prior"], "factorized");
    // Each image's log-mean-exp is at least its mean log weight, so the ELBO cannot exceed the
    // estimate; and a probability of 266 binary units is below 1.
    let (log_p, elbo) =
        (number(&["likelihood", "log_likelihood"]), number(&["likelihood", "elbo"]));
    assert!(elbo <= log_p && log_p < 0.0, "{log_p} {elbo}");
    assert!(number(&["likelihood", "log_likelihood_se"]) > 0.0);
    assert!(report["likelihood"].get("log_partition").is_none(), "{report}");
    assert_eq!(std::fs::read(dir.join("checkpoint.json")).unwrap(), checkpoint);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn eval_estimates_a_boltzmann_runs_log_z_and_omits_the_likelihood_of_a_quantum_run() {
    // No judge: it has nothing to do with the likelihood and would train for seconds.
    let ll = ["--samples", "20", "--class-samples", "0", "--ll-samples", "3", "--ll-images", "10"];
    let ll = [&ll[..], &["--no-judge"]].concat();
    let dir = tiny_run("eval-boltzmann", "boltzmann", &[]);
    let ais = ["--ais-chains", "10", "--ais-temperatures", "100"];
    let out = trainer(&[&["eval", "--run", dir.to_str().unwrap()][..], &ll, &ais].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("eval.json")).unwrap()).unwrap();
    let log_z = &report["likelihood"]["log_partition"];
    assert_eq!((log_z["chains"].as_u64(), log_z["temperatures"].as_u64()), (Some(10), Some(100)));
    // Over 60 units log Z ≥ 60 ln 2 ≈ 41.6 (Jensen: E averages zero over uniform states); a
    // barely trained prior is near uniform, where AIS is close to exact.
    assert!(log_z["log_z"].as_f64().unwrap() > 40.0, "{report}");
    std::fs::remove_dir_all(&dir).unwrap();

    let dir = tiny_run("eval-quantum", "quantum", &["--num-reads", "50", "--annealing-time", "5"]);
    let out = trainer(&[&["eval", "--run", dir.to_str().unwrap()][..], &ll].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("log-likelihood not estimated: the quantum prior"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("eval.json")).unwrap()).unwrap();
    assert!(report.get("likelihood").is_none(), "{report}");
    assert!(report.get("novelty").is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_data_path_without_a_data_set_is_one_line_with_the_os_error_once() {
    let dir = std::env::temp_dir().join(format!("qahm-cli-data-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = dir.join("run");
    let run = run.to_str().unwrap();
    // A directory with none of the names looked for.
    let out = trainer(&["train", "--data", dir.to_str().unwrap(), "--run", run]);
    assert_one_line_error(&out, "no data set found: looked for train-images-idx3-ubyte[.gz]");
    // A path that is not there: what and where, and the OS error once.
    let missing = dir.join("mnist");
    let out = trainer(&["train", "--data", missing.to_str().unwrap(), "--run", run]);
    assert_one_line_error(&out, &format!("cannot read {}: ", missing.display()));
    assert_eq!(String::from_utf8_lossy(&out.stderr).matches("os error").count(), 1);
    // Nothing was written for the run.
    assert!(!std::path::Path::new(run).join("config.toml").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unparsable_numbers_are_refused_by_the_parser() {
    let out = trainer(&["generate", "--run", "x", "--n", "many"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--n"));
}

#[test]
fn an_existing_run_is_never_overwritten() {
    let dir = std::env::temp_dir().join(format!("qahm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let checkpoint = dir.join("checkpoint.json");
    std::fs::write(&checkpoint, "precious").unwrap();
    let out = trainer(&["train", "--run", dir.to_str().unwrap()]);
    assert_one_line_error(&out, "--resume");
    assert_eq!(std::fs::read_to_string(&checkpoint).unwrap(), "precious");
    let out = trainer(&["train", "--resume", dir.to_str().unwrap()]);
    assert_one_line_error(&out, "not a qahm checkpoint");
    assert_eq!(std::fs::read_to_string(&checkpoint).unwrap(), "precious");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A training run in `dir` that would go on for a million quick updates (a classical prior:
/// what these tests exercise is the process's life, not the annealer), started once
/// `metrics.jsonl` holds `lines` lines. `extra` are more flags.
#[cfg(unix)]
fn training_child(dir: &std::path::Path, extra: &[&str], lines: usize) -> std::process::Child {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let _ = std::fs::remove_dir_all(dir);
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist-10k");
    let child = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["train", "--run", dir.to_str().unwrap(), "--iterations", "1000000"])
        .args(["--data", data, "--prior", "factorized", "--quiet"])
        .args(extra)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let metrics = dir.join("metrics.jsonl");
    let started = Instant::now();
    while std::fs::read_to_string(&metrics).map(|m| m.lines().count()).unwrap_or(0) < lines {
        assert!(started.elapsed() < Duration::from_secs(60), "no training progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// `metrics.jsonl` as update numbers, in file order.
fn updates_in(metrics: &std::path::Path) -> Vec<u64> {
    std::fs::read_to_string(metrics)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["iteration"].as_u64().unwrap()
        })
        .collect()
}

/// The update count a run's checkpoint holds.
fn checkpointed(dir: &std::path::Path) -> u64 {
    let checkpoint: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("checkpoint.json")).unwrap()).unwrap();
    checkpoint["iteration"].as_u64().unwrap()
}

#[cfg(unix)]
#[test]
fn sigterm_checkpoints_the_update_in_progress_and_the_run_resumes() {
    let dir = std::env::temp_dir().join(format!("qahm-sigterm-{}", std::process::id()));
    let child = training_child(&dir, &[], 20);
    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "an interrupted run must not look finished");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.contains("interrupted at update") && last.contains("--resume"), "{stderr}");

    // The checkpoint holds exactly the updates the metrics recorded, and the run continues.
    let metrics = dir.join("metrics.jsonl");
    let done = updates_in(&metrics).len() as u64;
    assert_eq!(checkpointed(&dir), done);
    let out =
        trainer(&["train", "--resume", dir.to_str().unwrap(), "--stop-after", "3", "--quiet"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(updates_in(&metrics), (1..=done + 3).collect::<Vec<_>>());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn after_sigkill_and_resume_every_update_is_in_the_metrics_exactly_once() {
    let dir = std::env::temp_dir().join(format!("qahm-sigkill-{}", std::process::id()));
    // Checkpoints every 7 updates, so a kill lands between checkpoints with updates logged
    // after the last one: those are the lines a resume must not keep twice.
    let mut child = training_child(&dir, &["--checkpoint-every", "7"], 60);
    child.kill().unwrap(); // SIGKILL: no chance to checkpoint
    child.wait().unwrap();
    let saved = checkpointed(&dir);
    let metrics = dir.join("metrics.jsonl");
    let logged = updates_in(&metrics);
    assert!(saved >= 56 && saved.is_multiple_of(7), "checkpoint at {saved}");

    let out =
        trainer(&["train", "--resume", dir.to_str().unwrap(), "--stop-after", "10", "--quiet"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = updates_in(&metrics);
    assert_eq!(
        after,
        (1..=saved + 10).collect::<Vec<_>>(),
        "killed with {} lines logged",
        logged.len()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn full_evaluations_during_training_leave_training_unchanged_and_equal_trainer_eval() {
    let dir = std::env::temp_dir().join(format!("qahm-cli-full-eval-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist-10k");
    let cache = dir.join("cache");
    // The Boltzmann prior keeps persistent Gibbs chains: if a viewing draw advanced them, the
    // next update would differ.
    let train = |run: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["train", "--run", run.to_str().unwrap(), "--data", data];
        args.extend([
            "--prior",
            "boltzmann",
            "--iterations",
            "20",
            "--checkpoint-every",
            "10",
            "--train-size",
            "300",
            "--test-size",
            "100",
            "--quiet",
        ]);
        args.extend(extra);
        let out = Command::new(env!("CARGO_BIN_EXE_trainer"))
            .args(&args)
            .env("QAHM_CACHE_DIR", &cache)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let (plain, evaluated) = (dir.join("plain"), dir.join("evaluated"));
    train(&plain, &[]);
    let log = train(&evaluated, &["--full-eval-every", "10"]);
    assert!(log.contains("evaluation after update 10: accuracy"), "{log}");
    assert!(!plain.join("evals").exists());

    // Training state after 10 and 20 updates is the same with evaluations or without (all
    // but the wall time, and the setting itself).
    let state = |run: &std::path::Path, update: &str| {
        let path = run.join("checkpoints").join(format!("{update}.json"));
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        v["wall_seconds"] = serde_json::Value::Null;
        v["config"]["evaluation"]["full_every"] = serde_json::Value::Null;
        v
    };
    for update in ["00000010", "00000020"] {
        // Not assert_eq: a failure would print two whole checkpoints.
        assert!(state(&plain, update) == state(&evaluated, update), "update {update} differs");
    }

    // Each evaluation is `trainer eval` of the checkpoint kept at its update.
    for (update, file) in [("10", "00000010.json"), ("20", "00000020.json")] {
        let during = std::fs::read(evaluated.join("evals").join(file)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_trainer"))
            .args(["eval", "--run", evaluated.to_str().unwrap(), "--checkpoint", update])
            .env("QAHM_CACHE_DIR", &cache)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read(evaluated.join("eval.json")).unwrap(), during, "update {update}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
