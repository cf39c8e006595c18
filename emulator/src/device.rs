//! The emulated QPU: a D-Wave 2000Q's working graph and ranges, a hidden effective inverse
//! temperature, integrated control errors (ICE: mostly a fixed offset per qubit and coupler of
//! the device, partly fresh at every programming), anneal time
//! turned into Monte Carlo work, and SAPI's QPU timing model.
//!
//! A job goes: auto-scale (as SAPI) → add ICE noise → compile → simulated annealing whose
//! final β is the device's secret β_eff (jittered per programming) → energies of the problem
//! *as submitted* → raw rows or a histogram.

use std::sync::atomic::AtomicBool;

use qahm_common::answer::{Answer, Timing};
use qahm_common::problem::IsingProblem;
use qahm_common::properties::{Range, SolverProperties};
use qahm_common::sampleset::{AnswerMode, SampleSet};
use qahm_common::topology::{Chimera, WorkingGraph};
use qahm_common::validation::SampleJob;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::anneal_time::AnnealModel;
use crate::sampler::{self, Cancelled, CompiledProblem};

/// How the emulated device behaves. Defaults model a real DW_2000Q_5.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceConfig {
    /// Solver name reported by GetProperties.
    pub name: String,
    /// Use the full-yield C16 chip (2048 qubits, 6016 couplers) instead of DW_2000Q_5's.
    pub full_yield: bool,
    /// Seeds the hidden β_eff; a random seed when absent.
    pub device_seed: Option<u64>,
    /// β_eff is drawn uniformly from this range at start-up (problem units; the real 2000Q's
    /// T_eff ≈ 0.086 is β ≈ 11.6).
    pub beta_min: f64,
    pub beta_max: f64,
    /// Relative jitter of β at each programming: β·(1 + U(−x, x)).
    pub beta_jitter: f64,
    /// ICE: Gaussian error on each programmed h and J (D-Wave 2X published figures).
    pub sigma_h: f64,
    pub sigma_j: f64,
    /// Share of the ICE variance that is the device's own: a fixed offset per qubit and
    /// coupler, drawn once from the device seed; the rest is drawn afresh at every programming.
    /// Real chips' control errors are mostly static (flux offsets, background susceptibility;
    /// why spin-reversal transforms exist), and a static error is one gray-box training can
    /// learn away, while a fresh one is a floor under the prior's moment gap.
    pub ice_static_fraction: f64,
    /// Anneal time → Monte Carlo work (the solver profile's calibrated model).
    pub anneal: AnnealModel,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            name: "DW_2000Q_5".into(),
            full_yield: false,
            device_seed: None,
            beta_min: 8.0,
            beta_max: 16.0,
            beta_jitter: 0.03,
            sigma_h: 0.025,
            sigma_j: 0.015,
            ice_static_fraction: 0.85,
            anneal: AnnealModel::dw_2000q(),
        }
    }
}

/// A device configuration that cannot work.
#[derive(Debug, Error, PartialEq)]
#[error("device config {field}: {description}")]
pub struct ConfigError {
    pub field: &'static str,
    pub description: String,
}

impl DeviceConfig {
    /// Checks every value once, before a device is built from it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field, description: String| Err(ConfigError { field, description });
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !positive(self.beta_min) || !positive(self.beta_max) || self.beta_min > self.beta_max {
            return err(
                "beta_min/beta_max",
                format!(
                    "need 0 < beta_min <= beta_max, got [{}, {}]",
                    self.beta_min, self.beta_max
                ),
            );
        }
        if !(0.0..0.5).contains(&self.beta_jitter) {
            return err("beta_jitter", format!("{} is outside [0, 0.5)", self.beta_jitter));
        }
        for (field, v) in [("sigma_h", self.sigma_h), ("sigma_j", self.sigma_j)] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return err(field, format!("{v} is outside [0, 1]"));
            }
        }
        if !(0.0..=1.0).contains(&self.ice_static_fraction) {
            return err(
                "ice_static_fraction",
                format!("{} is outside [0, 1]", self.ice_static_fraction),
            );
        }
        if let Err((field, description)) = self.anneal.validate() {
            return err(field, description);
        }
        if self.name.is_empty() {
            return err("name", "must not be empty".into());
        }
        Ok(())
    }
}

/// The emulated QPU. Cheap to share (`Arc`); sampling takes `&self`.
#[derive(Debug)]
pub struct Device {
    config: DeviceConfig,
    properties: SolverProperties,
    beta_eff: f64,
    /// The static part of ICE: an h offset per qubit label, a J offset per working-graph
    /// coupler (in `properties.graph.couplers()` order).
    static_h: Vec<f64>,
    static_j: Vec<f64>,
    /// Mixed into every job's seed so that two devices differ on the same request.
    device_seed: u64,
}

impl Device {
    pub fn new(config: DeviceConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let graph: WorkingGraph = if config.full_yield {
            Chimera::C16.working_graph(&[], &[])
        } else {
            Chimera::dw_2000q_5()
        };
        let properties = SolverProperties::dw_2000q(&config.name, graph);
        let device_seed = config.device_seed.unwrap_or_else(rand::random);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(device_seed);
        let beta_eff = if config.beta_min == config.beta_max {
            config.beta_min
        } else {
            rng.random_range(config.beta_min..config.beta_max)
        };
        // Drawn after β, from the same stream: β_eff stays what it was for a device seed.
        let fraction = config.ice_static_fraction.sqrt();
        let mut offsets = |sigma: f64, n: usize| {
            let mut values = vec![0.0; n];
            add_gaussian(values.iter_mut(), sigma * fraction, &mut rng);
            values
        };
        let static_h = offsets(config.sigma_h, properties.graph.num_qubits() as usize);
        let static_j = offsets(config.sigma_j, properties.graph.couplers().len());
        Ok(Device { config, properties, beta_eff, static_h, static_j, device_seed })
    }

    pub fn properties(&self) -> &SolverProperties {
        &self.properties
    }

    /// The hidden effective inverse temperature. Library callers (tests, benchmarks) may read
    /// it; the service never sends or logs it.
    pub fn effective_beta(&self) -> f64 {
        self.beta_eff
    }

    pub fn config(&self) -> &DeviceConfig {
        &self.config
    }

    /// Monte Carlo sweeps for an anneal of `annealing_time` µs.
    pub fn sweeps_for(&self, annealing_time: f64) -> usize {
        self.config.anneal.sweeps(annealing_time)
    }

    /// SAPI's QPU timing for a job (µs), from the solver's `problem_timing_data` as Ocean
    /// estimates it; `server_wall_time` is left at 0.
    pub fn timing(&self, job: &SampleJob) -> Timing {
        self.properties.timing.job_timing(
            job.problem.num_variables(),
            job.num_reads,
            job.annealing_time,
            job.programming_thermalization,
            job.readout_thermalization,
        )
    }

    /// The problem as the chip realises it: auto-scaled (if asked), plus the device's static
    /// control errors and fresh ones of this programming.
    fn programmed(
        &self,
        problem: &IsingProblem,
        auto_scale: bool,
        rng: &mut impl Rng,
    ) -> IsingProblem {
        let factor = if auto_scale {
            auto_scale_factor(problem, self.properties.h_range, self.properties.j_range)
        } else {
            1.0
        };
        let mut programmed =
            if factor > 0.0 { problem.scaled(1.0 / factor) } else { problem.clone() };
        let active = &programmed.active;
        for (h, &q) in programmed.linear.iter_mut().zip(active) {
            *h += self.static_h[q as usize];
        }
        let graph = &self.properties.graph;
        for (a, b, j) in &mut programmed.quadratic {
            // Validated jobs only use active couplers.
            if let Some(c) = graph.coupler(active[*a], active[*b]) {
                *j += self.static_j[c];
            }
        }
        let fresh = (1.0 - self.config.ice_static_fraction).sqrt();
        add_gaussian(programmed.linear.iter_mut(), self.config.sigma_h * fresh, rng);
        add_gaussian(
            programmed.quadratic.iter_mut().map(|(_, _, j)| j),
            self.config.sigma_j * fresh,
            rng,
        );
        programmed
    }

    /// Runs one validated job. Deterministic when the job carries a seed. The answer's timing
    /// is the modelled QPU's, with `server_wall_time` left at 0 for the caller.
    pub fn sample(&self, job: &SampleJob, cancel: &AtomicBool) -> Result<Answer, Cancelled> {
        let job_seed = job.seed.unwrap_or_else(rand::random);
        let mut rng =
            Xoshiro256PlusPlus::seed_from_u64(job_seed ^ self.device_seed.rotate_left(17));
        let jitter = self.config.beta_jitter;
        let beta = if jitter > 0.0 {
            self.beta_eff * (1.0 + rng.random_range(-jitter..=jitter))
        } else {
            self.beta_eff
        };
        let programmed = self.programmed(&job.problem, job.auto_scale, &mut rng);
        let compiled = CompiledProblem::new(
            programmed.num_variables(),
            &programmed.linear,
            &programmed.quadratic,
        );
        let betas = self.config.anneal.schedule(job.annealing_time, beta);
        let reads = job.num_reads as usize;
        let spins = sampler::simulated_annealing(&compiled, &betas, reads, rng.random(), cancel)?;
        let n = job.problem.num_variables();
        let energies: Vec<f64> = if n == 0 {
            vec![0.0; reads]
        } else {
            spins.chunks_exact(n).map(|row| job.problem.energy(row)).collect()
        };
        let active = job.problem.active.clone();
        let set = match job.answer_mode {
            AnswerMode::Raw => SampleSet::raw(active, &spins, energies),
            AnswerMode::Histogram => SampleSet::histogram(active, &spins, &energies),
        };
        Ok(Answer {
            set,
            timing: self.timing(job),
            num_variables: self.properties.graph.num_qubits(),
        })
    }
}

fn add_gaussian<'a>(values: impl Iterator<Item = &'a mut f64>, sigma: f64, rng: &mut impl Rng) {
    if sigma <= 0.0 {
        return;
    }
    let normal = Normal::new(0.0, sigma).expect("sigma was validated finite and positive");
    for v in values {
        *v += normal.sample(rng);
    }
}

/// SAPI's auto-scale factor: the largest of max(h)/max(h_range), min(h)/min(h_range),
/// max(J)/max(j_range), min(J)/min(j_range), each clipped at 0. Dividing by it fits the
/// problem to the ranges (and stretches a small problem to use them fully).
pub fn auto_scale_factor(problem: &IsingProblem, h_range: Range<f64>, j_range: Range<f64>) -> f64 {
    let ratio = |v: f64, limit: f64| if limit != 0.0 { (v / limit).max(0.0) } else { 0.0 };
    let mut factor = 0.0f64;
    for &h in &problem.linear {
        factor = factor.max(ratio(h, h_range.max)).max(ratio(h, h_range.min));
    }
    for &(_, _, j) in &problem.quadratic {
        factor = factor.max(ratio(j, j_range.max)).max(ratio(j, j_range.min));
    }
    factor
}

#[cfg(test)]
mod tests {
    use super::*;
    use qahm_common::sampleset::AnswerMode;

    fn quiet_device(seed: u64) -> Device {
        Device::new(DeviceConfig {
            device_seed: Some(seed),
            sigma_h: 0.0,
            sigma_j: 0.0,
            beta_jitter: 0.0,
            ..DeviceConfig::default()
        })
        .unwrap()
    }

    fn job(problem: IsingProblem, reads: u32, anneal: f64, seed: Option<u64>) -> SampleJob {
        SampleJob {
            request_id: "t".into(),
            problem,
            num_reads: reads,
            annealing_time: anneal,
            auto_scale: false,
            answer_mode: AnswerMode::Raw,
            programming_thermalization: 1000,
            readout_thermalization: 0,
            label: String::new(),
            seed,
        }
    }

    #[test]
    fn beta_is_drawn_from_the_configured_range_by_the_device_seed() {
        let a = quiet_device(1);
        let b = quiet_device(1);
        let c = quiet_device(2);
        assert_eq!(a.effective_beta(), b.effective_beta());
        assert_ne!(a.effective_beta(), c.effective_beta());
        for seed in 0..50 {
            assert!((8.0..16.0).contains(&quiet_device(seed).effective_beta()));
        }
    }

    #[test]
    fn timing_follows_the_2000q6_model() {
        let d = quiet_device(0);
        let t = d.timing(&job(IsingProblem::default(), 1000, 5.0, None));
        assert!((t.qpu_programming_time - 11_536.81).abs() < 1e-9);
        assert!((t.qpu_sampling_time - 1000.0 * (5.0 + 198.4 + 20.54)).abs() < 1e-6);
        assert!((t.qpu_access_time - (t.qpu_programming_time + t.qpu_sampling_time)).abs() < 1e-9);
    }

    #[test]
    fn auto_scale_uses_the_sapi_factor() {
        let p = IsingProblem::from_labels(&[(0, 4.0), (1, -1.0)], &[(0, 1, -3.0)]);
        let f = auto_scale_factor(&p, Range::new(-2.0, 2.0), Range::new(-1.0, 1.0));
        assert_eq!(f, 3.0);
    }

    #[test]
    fn seeded_jobs_reproduce_noise_included_and_different_seeds_differ() {
        let noisy =
            Device::new(DeviceConfig { device_seed: Some(3), ..Default::default() }).unwrap();
        let problem = IsingProblem::from_labels(&[(0, 0.1), (4, -0.1)], &[(0, 4, 0.05)]);
        let cancel = AtomicBool::new(false);
        let a = noisy.sample(&job(problem.clone(), 200, 5.0, Some(9)), &cancel).unwrap();
        let b = noisy.sample(&job(problem.clone(), 200, 5.0, Some(9)), &cancel).unwrap();
        let c = noisy.sample(&job(problem, 200, 5.0, Some(10)), &cancel).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.set.solutions, c.set.solutions);
    }

    /// Magnetisations of 64 free qubits (h = 0, no couplers) in each of `requests` unseeded
    /// requests of 1000 reads: `[request][qubit]`.
    fn free_qubit_magnetisations(device: &Device, requests: usize) -> Vec<Vec<f64>> {
        let qubits: Vec<u32> = device.properties().graph.qubits()[..64].to_vec();
        let h: Vec<(u32, f64)> = qubits.iter().map(|&q| (q, 0.0)).collect();
        let problem = IsingProblem::from_labels(&h, &[]);
        let cancel = AtomicBool::new(false);
        (0..requests)
            .map(|_| {
                let answer =
                    device.sample(&job(problem.clone(), 1000, 20.0, None), &cancel).unwrap();
                (0..64)
                    .map(|q| {
                        (0..1000).map(|r| f64::from(answer.set.row(r)[q])).sum::<f64>() / 1000.0
                    })
                    .collect()
            })
            .collect()
    }

    fn mean(xs: &[f64]) -> f64 {
        xs.iter().sum::<f64>() / xs.len() as f64
    }

    /// Per qubit: the mean magnetisation over requests, and its variance across requests.
    fn per_qubit(m: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
        let n = m.len() as f64;
        (0..m[0].len())
            .map(|q| {
                let mean = m.iter().map(|r| r[q]).sum::<f64>() / n;
                let var = m.iter().map(|r| (r[q] - mean).powi(2)).sum::<f64>() / (n - 1.0);
                (mean, var)
            })
            .unzip()
    }

    fn correlation(a: &[f64], b: &[f64]) -> f64 {
        let (ma, mb) = (mean(a), mean(b));
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    }

    #[test]
    fn ice_noise_is_mostly_the_devices_own_and_partly_fresh_at_each_programming() {
        // 1000 reads of a fair coin: the variance of a magnetisation across requests is
        // 1/1000 from sampling alone.
        let sampling_var = 1.0 / 1000.0;
        let quiet = per_qubit(&free_qubit_magnetisations(&quiet_device(5), 20)).1;
        assert!(mean(&quiet) < 1.5 * sampling_var, "noise-free variance {}", mean(&quiet));
        // Fresh part: σ_h·√0.15 ≈ 0.0097 at β ∈ [8, 16] tilts a qubit by β·δh with an sd of
        // 0.08–0.16 per programming, a variance of 6–24× sampling's. Threshold: 3×.
        let noisy = |seed| {
            Device::new(DeviceConfig { device_seed: Some(seed), ..Default::default() }).unwrap()
        };
        let device = noisy(5);
        let (first, fresh_var) = per_qubit(&free_qubit_magnetisations(&device, 20));
        assert!(mean(&fresh_var) > 3.0 * sampling_var, "fresh variance {}", mean(&fresh_var));
        // Static part: σ_h·√0.85 ≈ 0.023 gives each qubit a lasting lean (β·δh sd 0.18–0.37);
        // averaged over 20 requests it is the same lean again in 20 more, and another device's
        // qubits lean their own way. Over 64 qubits, a correlation of 0 has sd 1/8: thresholds
        // at 0.7 and 0.4 are ≥ 3 sd from 0 and far below the same device's expected ≈ 0.95.
        let (again, _) = per_qubit(&free_qubit_magnetisations(&device, 20));
        let (other, _) = per_qubit(&free_qubit_magnetisations(&noisy(6), 20));
        assert!(correlation(&first, &again) > 0.7, "same device {}", correlation(&first, &again));
        assert!(
            correlation(&first, &other).abs() < 0.4,
            "other device {}",
            correlation(&first, &other)
        );
    }

    #[test]
    fn bad_configs_name_their_field() {
        let anneal = AnnealModel { exponent: -1.0, ..AnnealModel::dw_2000q() };
        let e = Device::new(DeviceConfig { anneal, ..Default::default() }).unwrap_err();
        assert_eq!(e.field, "anneal.exponent");
        let e = Device::new(DeviceConfig { beta_min: 5.0, beta_max: 1.0, ..Default::default() })
            .unwrap_err();
        assert_eq!(e.field, "beta_min/beta_max");
    }
}
