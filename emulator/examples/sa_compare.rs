//! Our half of `bench/sa_compare.sh`: exports the benchmark instance and times our sampler on it.
//!
//! ```text
//! sa_compare export --out bench/out/c16.json [--seed 42] [--sweeps 100,1000]
//!                   [--beta-start 0.1] [--beta-end 5]
//! sa_compare run --instance bench/out/c16.json --out bench/out/ours.json [--reads 1000] [--seed 1]
//!                [--repeat 1]
//! ```
//!
//! The instance is a chip's graph with `h_i` and `J_ij` uniform in `[−1, 1]`, plus one geometric
//! β schedule per sweep count, so both samplers run the very same numbers. `--graph c16` is the
//! full-yield Chimera C16 (2048 qubits, 6016 couplers, degree 6); `--graph advantage2` the
//! recorded Advantage2_system1.5 working graph (4594 qubits, 41813 couplers, degree up to 20),
//! its qubits renumbered 0..n in index order (neither sampler cares about labels).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use clap::{Parser, Subcommand};
use qahm_common::topology::Chimera;
use qahm_emulator::profile::Solver;
use qahm_emulator::sampler::{CompiledProblem, geometric_betas, simulated_annealing};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes the C16 instance and its β schedules as JSON.
    Export {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long, value_delimiter = ',', default_value = "100,1000")]
        sweeps: Vec<usize>,
        #[arg(long, default_value_t = 0.1)]
        beta_start: f64,
        #[arg(long, default_value_t = 5.0)]
        beta_end: f64,
        #[arg(long, value_enum, default_value = "c16")]
        graph: Graph,
    },
    /// Times `simulated_annealing` on every schedule of an exported instance.
    Run {
        #[arg(long)]
        instance: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1000)]
        reads: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Timed runs per schedule; the median time is reported (the samples are identical).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Graph {
    /// Chimera C16, full yield.
    C16,
    /// The recorded Advantage2_system1.5 working graph (Zephyr Z12, 4594 qubits).
    Advantage2,
}

impl Graph {
    /// Its description, qubit count and couplers over `0..n`.
    fn build(self) -> (String, usize, Vec<(usize, usize)>) {
        match self {
            Graph::C16 => {
                let chimera = Chimera::C16;
                let couplers =
                    chimera.couplers().into_iter().map(|(i, j)| (i as usize, j as usize)).collect();
                ("chimera C16 (full yield)".into(), chimera.num_qubits() as usize, couplers)
            }
            Graph::Advantage2 => {
                let graph = Solver::Advantage2System1_5.properties(false).graph;
                let index = |q: u32| graph.index(q).expect("a coupler's qubits are active");
                let couplers =
                    graph.couplers().iter().map(|&(a, b)| (index(a), index(b))).collect();
                (
                    "Advantage2_system1.5 working graph (recorded; zephyr Z12)".into(),
                    graph.qubits().len(),
                    couplers,
                )
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Instance {
    topology: String,
    seed: u64,
    num_vars: usize,
    linear: Vec<f64>,
    /// `(i, j, J_ij)` with `i < j`.
    couplers: Vec<(usize, usize, f64)>,
    beta_start: f64,
    beta_end: f64,
    /// One geometric schedule per sweep count; its length is the number of sweeps.
    schedules: Vec<Vec<f64>>,
}

#[derive(Serialize)]
struct RunResult {
    tool: &'static str,
    sweeps: usize,
    reads: usize,
    num_vars: usize,
    seconds: f64,
    spin_updates_per_second: f64,
    mean_energy: f64,
    min_energy: f64,
    threads: usize,
    /// Timed runs; `seconds` is their median.
    repeat: usize,
}

fn export(
    out: PathBuf,
    seed: u64,
    sweeps: Vec<usize>,
    beta_start: f64,
    beta_end: f64,
    graph: Graph,
) -> Result<()> {
    ensure!(beta_start > 0.0 && beta_end > 0.0, "a geometric schedule needs positive β");
    let (topology, num_vars, edges) = graph.build();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let linear = (0..num_vars).map(|_| rng.random_range(-1.0..=1.0)).collect();
    let couplers = edges.into_iter().map(|(i, j)| (i, j, rng.random_range(-1.0..=1.0))).collect();
    let schedules = sweeps.iter().map(|&s| geometric_betas(beta_start, beta_end, s)).collect();
    let instance =
        Instance { topology, seed, num_vars, linear, couplers, beta_start, beta_end, schedules };
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_vec(&instance)?)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "exported {} ({num_vars} qubits, {} couplers, β geometric {beta_start} → {beta_end}, \
         sweeps {sweeps:?})",
        out.display(),
        instance.couplers.len()
    );
    Ok(())
}

fn run(instance: PathBuf, out: PathBuf, reads: usize, seed: u64, repeat: usize) -> Result<()> {
    ensure!(repeat > 0, "--repeat must be positive");
    let text =
        std::fs::read(&instance).with_context(|| format!("reading {}", instance.display()))?;
    let instance: Instance = serde_json::from_slice(&text)?;
    let problem = CompiledProblem::new(instance.num_vars, &instance.linear, &instance.couplers);
    let cancel = AtomicBool::new(false);
    // Warm up the thread pool and the CPU-feature dispatch outside the timed runs.
    simulated_annealing(&problem, &instance.schedules[0][..1], 64, seed, &cancel)?;
    let mut results = Vec::new();
    for betas in &instance.schedules {
        let mut times = Vec::with_capacity(repeat);
        let mut samples = Vec::new();
        for _ in 0..repeat {
            let start = Instant::now();
            samples = simulated_annealing(&problem, betas, reads, seed, &cancel)?;
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let seconds = times[repeat / 2];
        let energies: Vec<f64> =
            samples.chunks_exact(problem.num_vars()).map(|row| problem.energy(row)).collect();
        let updates = (reads * betas.len() * problem.num_vars()) as f64;
        let result = RunResult {
            tool: "qahm",
            sweeps: betas.len(),
            reads,
            num_vars: problem.num_vars(),
            seconds,
            spin_updates_per_second: updates / seconds,
            mean_energy: energies.iter().sum::<f64>() / reads as f64,
            min_energy: energies.iter().copied().fold(f64::INFINITY, f64::min),
            threads: rayon::current_num_threads(),
            repeat,
        };
        println!(
            "qahm      sweeps={:5} reads={reads}: {:8.3} s  {:8.1} M spin updates/s  mean E {:.3}",
            result.sweeps,
            seconds,
            result.spin_updates_per_second / 1e6,
            result.mean_energy
        );
        results.push(result);
    }
    std::fs::write(&out, serde_json::to_vec_pretty(&results)?)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Export { out, seed, sweeps, beta_start, beta_end, graph } => {
            export(out, seed, sweeps, beta_start, beta_end, graph)
        }
        Command::Run { instance, out, reads, seed, repeat } => {
            run(instance, out, reads, seed, repeat)
        }
    }
}
