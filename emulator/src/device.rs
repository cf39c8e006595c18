//! The emulated QPU: a solver profile's working graph, ranges and timing data (see
//! [`crate::profile`]), a hidden effective inverse temperature, integrated control errors (ICE:
//! mostly a fixed offset per qubit and coupler of the device, partly fresh at every
//! programming), anneal time turned into Monte Carlo work, and SAPI's QPU timing model.
//!
//! A job goes: auto-scale (as SAPI) → add ICE noise → compile → simulated annealing whose
//! final β is the device's secret β_eff (jittered per programming) → energies of the problem
//! *as submitted* → raw rows or a histogram.

use std::sync::atomic::AtomicBool;

use qahm_common::answer::{Answer, Timing};
use qahm_common::problem::IsingProblem;
use qahm_common::properties::{Range, SolverProperties};
use qahm_common::sampleset::{AnswerMode, SampleSet};
use qahm_common::validation::{SampleJob, coupling_sums};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::anneal_time::AnnealModel;
use crate::profile::{Physics, Solver};
use crate::sampler::{self, Cancelled, CompiledProblem};

/// Which solver to emulate, and overrides of its hidden physics. Every absent value is the
/// solver profile's ([`Solver::physics`]); the default is an emulated DW_2000Q_5.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceConfig {
    /// The solver profile: what GetProperties reports and how the device behaves.
    pub solver: Solver,
    /// Solver name reported by GetProperties; the profile's name when absent.
    pub name: Option<String>,
    /// Use the profile's full-yield chip (C16: 2048 qubits; Z12: 4800; the P16 fabric: 5640)
    /// instead of its working graph.
    pub full_yield: bool,
    /// Seeds the hidden β_eff and the static ICE offsets; a random seed when absent.
    pub device_seed: Option<u64>,
    /// β_eff is drawn uniformly from [beta_min, beta_max] at start-up (problem units; the real
    /// 2000Q's T_eff ≈ 0.086 is β ≈ 11.6).
    pub beta_min: Option<f64>,
    pub beta_max: Option<f64>,
    /// Relative jitter of β at each programming: β·(1 + U(−x, x)).
    pub beta_jitter: Option<f64>,
    /// ICE: Gaussian error on each programmed h and J.
    pub sigma_h: Option<f64>,
    pub sigma_j: Option<f64>,
    /// Share of the ICE variance that is the device's own: a fixed offset per qubit and
    /// coupler, drawn once from the device seed; the rest is drawn afresh at every programming.
    /// Real chips' control errors are mostly static (flux offsets, background susceptibility;
    /// why spin-reversal transforms exist), and a static error is one gray-box training can
    /// learn away, while a fresh one is a floor under the prior's moment gap.
    pub ice_static_fraction: Option<f64>,
    /// Anneal time → Monte Carlo work; replaces the profile's model whole (every field given).
    pub anneal: Option<AnnealModel>,
}

/// A device configuration that cannot work.
#[derive(Debug, Error, PartialEq)]
#[error("device config {field}: {description}")]
pub struct ConfigError {
    pub field: &'static str,
    pub description: String,
}

impl DeviceConfig {
    /// The emulated `solver` with its profile's physics.
    pub fn for_solver(solver: Solver) -> Self {
        DeviceConfig { solver, ..DeviceConfig::default() }
    }

    /// The profile's physics with this config's overrides.
    pub fn physics(&self) -> Physics {
        let profile = self.solver.physics();
        Physics {
            beta_min: self.beta_min.unwrap_or(profile.beta_min),
            beta_max: self.beta_max.unwrap_or(profile.beta_max),
            beta_jitter: self.beta_jitter.unwrap_or(profile.beta_jitter),
            sigma_h: self.sigma_h.unwrap_or(profile.sigma_h),
            sigma_j: self.sigma_j.unwrap_or(profile.sigma_j),
            ice_static_fraction: self.ice_static_fraction.unwrap_or(profile.ice_static_fraction),
            anneal: self.anneal.clone().unwrap_or(profile.anneal),
        }
    }

    /// Checks every value once, before a device is built from it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field, description: String| Err(ConfigError { field, description });
        let p = self.physics();
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !positive(p.beta_min) || !positive(p.beta_max) || p.beta_min > p.beta_max {
            return err(
                "beta_min/beta_max",
                format!("need 0 < beta_min <= beta_max, got [{}, {}]", p.beta_min, p.beta_max),
            );
        }
        if !(0.0..0.5).contains(&p.beta_jitter) {
            return err("beta_jitter", format!("{} is outside [0, 0.5)", p.beta_jitter));
        }
        for (field, v) in [("sigma_h", p.sigma_h), ("sigma_j", p.sigma_j)] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return err(field, format!("{v} is outside [0, 1]"));
            }
        }
        if !(0.0..=1.0).contains(&p.ice_static_fraction) {
            return err(
                "ice_static_fraction",
                format!("{} is outside [0, 1]", p.ice_static_fraction),
            );
        }
        if let Err((field, description)) = p.anneal.validate() {
            return err(field, description);
        }
        if self.name.as_deref().is_some_and(str::is_empty) {
            return err("name", "must not be empty".into());
        }
        Ok(())
    }
}

/// The emulated QPU. Cheap to share (`Arc`); sampling takes `&self`.
#[derive(Debug)]
pub struct Device {
    config: DeviceConfig,
    /// The profile's physics with the config's overrides.
    physics: Physics,
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
        let physics = config.physics();
        let mut properties = config.solver.properties(config.full_yield);
        if let Some(name) = &config.name {
            properties.name.clone_from(name);
        }
        let device_seed = config.device_seed.unwrap_or_else(rand::random);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(device_seed);
        let beta_eff = if physics.beta_min == physics.beta_max {
            physics.beta_min
        } else {
            rng.random_range(physics.beta_min..physics.beta_max)
        };
        // Drawn after β, from the same stream: β_eff stays what it was for a device seed.
        let fraction = physics.ice_static_fraction.sqrt();
        let mut offsets = |sigma: f64, n: usize| {
            let mut values = vec![0.0; n];
            add_gaussian(values.iter_mut(), sigma * fraction, &mut rng);
            values
        };
        let static_h = offsets(physics.sigma_h, properties.graph.num_qubits() as usize);
        let static_j = offsets(physics.sigma_j, properties.graph.couplers().len());
        Ok(Device { config, physics, properties, beta_eff, static_h, static_j, device_seed })
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

    /// The hidden physics the device runs with (its profile's, with the config's overrides).
    pub fn physics(&self) -> &Physics {
        &self.physics
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
        let factor = if auto_scale { auto_scale_factor(problem, &self.properties) } else { 1.0 };
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
        let fresh = (1.0 - self.physics.ice_static_fraction).sqrt();
        add_gaussian(programmed.linear.iter_mut(), self.physics.sigma_h * fresh, rng);
        add_gaussian(
            programmed.quadratic.iter_mut().map(|(_, _, j)| j),
            self.physics.sigma_j * fresh,
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
        let jitter = self.physics.beta_jitter;
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
        let betas = self.physics.anneal.schedule(job.annealing_time, beta);
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
/// max(J)/max(J range), min(J)/min(J range), each clipped at 0, with the J range the solver's
/// `extended_j_range` where it has one, and likewise for the sums of J per qubit or per coupling
/// group where the solver limits them (SAPI's `coupling_limit`). Dividing by it fits the
/// problem to the ranges (and stretches a small problem to use them fully).
pub fn auto_scale_factor(problem: &IsingProblem, props: &SolverProperties) -> f64 {
    let ratio = |v: f64, limit: f64| if limit != 0.0 { (v / limit).max(0.0) } else { 0.0 };
    let fit = |factor: f64, v: f64, range: Range<f64>| {
        factor.max(ratio(v, range.max)).max(ratio(v, range.min))
    };
    let (h_range, j_range) = (props.h_range, props.widest_j_range());
    let mut factor = 0.0f64;
    for &h in &problem.linear {
        factor = fit(factor, h, h_range);
    }
    for &(_, _, j) in &problem.quadratic {
        factor = fit(factor, j, j_range);
    }
    if props.per_qubit_coupling_range.is_some() || props.per_group_coupling_range.is_some() {
        let active = &problem.active;
        let labelled: Vec<(u32, u32, f64)> =
            problem.quadratic.iter().map(|&(a, b, j)| (active[a], active[b], j)).collect();
        for sum in coupling_sums(props, &labelled) {
            let range = match sum.group {
                None => props.per_qubit_coupling_range,
                Some(_) => props.per_group_coupling_range,
            };
            if let Some(range) = range {
                factor = fit(factor, sum.sum, range);
            }
        }
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
            sigma_h: Some(0.0),
            sigma_j: Some(0.0),
            beta_jitter: Some(0.0),
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
        let props = Solver::Dw2000q5.properties(false);
        let p = IsingProblem::from_labels(&[(0, 4.0), (1, -1.0)], &[(0, 1, -3.0)]);
        assert_eq!(auto_scale_factor(&p, &props), 3.0);
        // With an extended J range, J is fitted into it: −3 / −2.
        let props = Solver::AdvantageSystemEmulated.properties(false);
        let (u, v) = props.graph.couplers()[0];
        let p = IsingProblem::from_labels(&[(u, 1.0)], &[(u, v, -3.0)]);
        assert_eq!(auto_scale_factor(&p, &props), 1.5);
        // And so are the coupling sums: 15 couplers of one qubit at J = −1.5 sum to −22.5,
        // 1.25 × the per-qubit minimum −18.
        let q = props.graph.qubits().iter().copied().find(|&q| props.graph.degree(q) == 15);
        let q = q.unwrap();
        let j: Vec<(u32, u32, f64)> =
            props.graph.neighbours(q).iter().map(|&(n, _)| (q, n, -1.5)).collect();
        let p = IsingProblem::from_labels(&[], &j);
        assert_eq!(auto_scale_factor(&p, &props), 1.25);
    }

    #[test]
    fn profiles_bring_their_properties_and_physics_and_configs_override_them() {
        let device = Device::new(DeviceConfig {
            device_seed: Some(1),
            ..DeviceConfig::for_solver(Solver::Advantage2System1_5)
        })
        .unwrap();
        assert_eq!(device.properties().name, "Advantage2_system1.5");
        assert_eq!(device.properties().graph.qubits().len(), 4594);
        assert_eq!(device.physics(), &Solver::Advantage2System1_5.physics());
        let renamed = Device::new(DeviceConfig {
            name: Some("emulated".into()),
            sigma_h: Some(0.0),
            ..DeviceConfig::for_solver(Solver::Advantage2System1_5)
        })
        .unwrap();
        assert_eq!(renamed.properties().name, "emulated");
        assert_eq!(renamed.physics().sigma_h, 0.0);
        assert_eq!(renamed.physics().anneal, AnnealModel::advantage2());
        // A JSON config names the solver by its SAPI name; unknown names are refused.
        let parsed: DeviceConfig =
            serde_json::from_str(r#"{"solver": "Advantage_system_emulated", "sigma_j": 0.01}"#)
                .unwrap();
        assert_eq!(parsed.solver, Solver::AdvantageSystemEmulated);
        assert_eq!(parsed.physics().sigma_j, 0.01);
        let e = serde_json::from_str::<DeviceConfig>(r#"{"solver": "DW_2000Q_6"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `DW_2000Q_6`"), "{e}");
    }

    #[test]
    fn advantage2_timing_follows_its_record() {
        let device = Device::new(DeviceConfig {
            device_seed: Some(2),
            ..DeviceConfig::for_solver(Solver::Advantage2System1_5)
        })
        .unwrap();
        let (u, v) = device.properties().graph.couplers()[0];
        let problem = IsingProblem::from_labels(&[], &[(u, v, -1.0)]);
        let t = device.timing(&job(problem, 100, 0.5, None));
        // Two qubits: 10 ** interp(log10(2), q, t) of the record's curve, by Python's math.
        assert!((t.qpu_readout_time_per_sample - 29.252906827901576).abs() < 1e-9, "{t:?}");
        assert_eq!(t.qpu_programming_time, 33_636.7 + 1000.0);
        assert_eq!(t.qpu_delay_time_per_sample, 60.57);
        let per_read = 0.5 + t.qpu_readout_time_per_sample + 60.57;
        assert!((t.qpu_access_time - (34_636.7 + 100.0 * per_read)).abs() < 1e-9);
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
        let anneal = Some(AnnealModel { exponent: -1.0, ..AnnealModel::dw_2000q() });
        let e = Device::new(DeviceConfig { anneal, ..Default::default() }).unwrap_err();
        assert_eq!(e.field, "anneal.exponent");
        let e = Device::new(DeviceConfig {
            beta_min: Some(5.0),
            beta_max: Some(1.0),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.field, "beta_min/beta_max");
        // An override below the profile's other bound is caught as well.
        let e = Device::new(DeviceConfig { beta_min: Some(20.0), ..Default::default() });
        assert_eq!(e.unwrap_err().field, "beta_min/beta_max");
        let e = Device::new(DeviceConfig { name: Some(String::new()), ..Default::default() });
        assert_eq!(e.unwrap_err().field, "name");
    }
}
