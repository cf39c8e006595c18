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
    for command in ["train", "generate", "classify", "reconstruct"] {
        let out = trainer(&[command, "--help"]);
        assert!(out.status.success(), "{command} --help");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
    }
}

#[test]
fn out_of_range_settings_name_the_setting() {
    let out = trainer(&["train", "--num-reads", "0", "--run", "/nonexistent/never"]);
    assert_one_line_error(&out, "num_reads");
    let out = trainer(&["train", "--lr-start=-1", "--run", "/nonexistent/never"]);
    assert_one_line_error(&out, "lr_start");
}

#[test]
fn a_missing_run_directory_is_named() {
    let out = trainer(&["classify", "--run", "/nonexistent/run"]);
    assert_one_line_error(&out, "/nonexistent/run");
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
