//! Statistical tests of the emulated device, through the library (no network): long anneals
//! sample the Boltzmann distribution at the device's hidden β; 5 µs anneals do not equilibrate.

use std::sync::atomic::AtomicBool;

use qahm_common::problem::IsingProblem;
use qahm_common::sampleset::AnswerMode;
use qahm_common::validation::SampleJob;
use qahm_emulator::sampler::{CompiledProblem, exact_boltzmann, exact_energies};
use qahm_emulator::{Device, DeviceConfig};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A device with ICE noise and β jitter off, so that its target is exactly exp(−β_eff E).
fn quiet_device() -> Device {
    Device::new(DeviceConfig {
        device_seed: Some(2024),
        sigma_h: Some(0.0),
        sigma_j: Some(0.0),
        beta_jitter: Some(0.0),
        ..DeviceConfig::default()
    })
    .unwrap()
}

/// The unit cells (0,0) and (0,1) of the chip (qubits 0..16), with h and J uniform in ±scale.
fn two_cell_problem(device: &Device, scale: f64, seed: u64) -> IsingProblem {
    let graph = &device.properties().graph;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let qubits: Vec<u32> = (0..16).filter(|&q| graph.is_active(q)).collect();
    let h: Vec<(u32, f64)> = qubits.iter().map(|&q| (q, rng.random_range(-scale..scale))).collect();
    let j: Vec<(u32, u32, f64)> = graph
        .couplers()
        .iter()
        .filter(|&&(u, v)| u < 16 && v < 16)
        .map(|&(u, v)| (u, v, rng.random_range(-scale..scale)))
        .collect();
    IsingProblem::from_labels(&h, &j)
}

fn job(problem: IsingProblem, reads: u32, annealing_time: f64, seed: u64) -> SampleJob {
    SampleJob {
        request_id: "stat".into(),
        problem,
        num_reads: reads,
        annealing_time,
        auto_scale: false,
        answer_mode: AnswerMode::Histogram,
        programming_thermalization: 0,
        readout_thermalization: 0,
        label: String::new(),
        seed: Some(seed),
    }
}

fn compiled(problem: &IsingProblem) -> CompiledProblem {
    CompiledProblem::new(problem.num_variables(), &problem.linear, &problem.quadratic)
}

/// Empirical distribution over state indices (bit i set ⇔ spin i = +1).
fn empirical(device: &Device, problem: &IsingProblem, reads: u32, annealing_time: f64) -> Vec<f64> {
    let answer = device
        .sample(&job(problem.clone(), reads, annealing_time, 7), &AtomicBool::new(false))
        .unwrap();
    let mut p = vec![0.0; 1 << problem.num_variables()];
    let counts = answer.set.num_occurrences.as_ref().unwrap();
    for (row, &count) in counts.iter().enumerate() {
        let index = answer
            .set
            .row(row)
            .iter()
            .enumerate()
            .fold(0usize, |acc, (i, &s)| if s > 0 { acc | (1 << i) } else { acc });
        p[index] += f64::from(count) / f64::from(reads);
    }
    p
}

fn mean_energy(energies: &[f64], probs: &[f64]) -> f64 {
    energies.iter().zip(probs).map(|(e, p)| e * p).sum()
}

#[test]
fn long_anneals_sample_the_boltzmann_distribution_at_the_hidden_beta() {
    let device = quiet_device();
    let beta = device.effective_beta();
    // Couplings of ±0.3 at β ∈ [8, 16] spread the distribution over tens of states: broad
    // enough to be a real test, concentrated enough that 100k reads resolve it.
    let problem = two_cell_problem(&device, 0.3, 1);
    assert_eq!(problem.num_variables(), 16);
    let exact = exact_boltzmann(&compiled(&problem), beta);
    let reads = 100_000;
    // The distance a perfect sampler shows from finite reads alone:
    // E|p̂ − p| ≈ sqrt(2 p (1 − p) / (π N)) per state, so E[TV] ≈ ½ Σ of that.
    let noise_floor: f64 = exact
        .iter()
        .map(|&p| (2.0 * p * (1.0 - p) / (std::f64::consts::PI * f64::from(reads))).sqrt())
        .sum::<f64>()
        / 2.0;
    assert!(noise_floor < 0.01, "instance too broad for {reads} reads: floor {noise_floor}");
    let sampled = empirical(&device, &problem, reads, 1000.0);
    let tv: f64 = exact.iter().zip(&sampled).map(|(a, b)| (a - b).abs()).sum::<f64>() / 2.0;
    eprintln!("1000 µs: TV distance {tv:.4} from Boltzmann (noise floor {noise_floor:.4})");
    assert!(tv < 0.02, "TV distance {tv} (noise floor {noise_floor}) at β = {beta}");
}

#[test]
fn five_microsecond_anneals_stay_above_equilibrium_on_a_frustrated_instance() {
    let device = quiet_device();
    let beta = device.effective_beta();
    // ±1 couplings on two cells: a frustrated spin glass whose barriers a 5 µs anneal (150
    // sweeps) cannot reliably cross.
    let problem = two_cell_problem(&device, 1.0, 3);
    let energies = exact_energies(&compiled(&problem));
    let equilibrium = mean_energy(&energies, &exact_boltzmann(&compiled(&problem), beta));
    let reads = 100_000u32;
    let short = empirical(&device, &problem, reads, 5.0);
    let short_mean = mean_energy(&energies, &short);
    let short_var: f64 =
        energies.iter().zip(&short).map(|(e, p)| (e - short_mean).powi(2) * p).sum();
    let standard_error = (short_var / f64::from(reads)).sqrt().max(1e-4);
    // "Measurably": more than ten standard errors above the exact equilibrium mean energy.
    assert!(
        short_mean - equilibrium > 10.0 * standard_error,
        "5 µs mean {short_mean}, equilibrium {equilibrium}, s.e. {standard_error}"
    );
    // Longer anneals equilibrate more: at 1000 µs the mean energy is much closer to
    // equilibrium. (Not all the way: with ±1 couplings at β ≈ 8–16 single-spin-flip barriers
    // of ΔE ≈ 4 freeze the relative weights of distant minima, as on the real chip.)
    let long_mean = mean_energy(&energies, &empirical(&device, &problem, reads, 1000.0));
    eprintln!(
        "mean energy: equilibrium {equilibrium:.4}, 5 µs {short_mean:.4} (s.e. \
         {standard_error:.4}), 1000 µs {long_mean:.4}"
    );
    assert!(
        (long_mean - equilibrium).abs() < (short_mean - equilibrium) - 10.0 * standard_error,
        "1000 µs mean {long_mean}, 5 µs mean {short_mean}, equilibrium {equilibrium}"
    );
}
