//! The annealer-backed prior: trainable h and J on the embedded qubits, the replica map f and
//! the majority vote g.

use std::collections::HashMap;

use ndarray::{Array2, ArrayView2, Axis};
use qahm_common::properties::{Range, SolverProperties};
use qahm_common::request::SampleRequest;
use qahm_common::sampleset::AnswerMode;
use qahm_common::validation::max_num_reads_with;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{
    Draw, LogDensity, MomentGap, Moments, Prior, PriorError, PriorState, mean_abs_diff, moments,
    temperature,
};
use crate::annealer::Annealer;
use crate::embedding::Embedding;
use crate::seed;

/// The quantum prior's trainable Hamiltonian on the annealer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantumParams {
    pub embedding: Embedding,
    /// Embedded qubit labels, ascending.
    pub qubits: Vec<u32>,
    /// Logical unit of each qubit in `qubits`.
    pub unit_of: Vec<u32>,
    /// h per qubit in `qubits`.
    pub h: Vec<f64>,
    /// Couplers as positions in `qubits` (a < b), and their J.
    pub couplers: Vec<(u32, u32)>,
    pub j: Vec<f64>,
    /// Seed of the annealer requests and of majority-vote tie breaks.
    pub seed: u64,
    /// The logical units' inverse temperature as last estimated from a training draw
    /// ([`Draw::logical_beta_hat`]): the wake phase's importance weights read the prior as
    /// e^{−β E} of the logical Hamiltonian programmed, all the trainer knows of what the
    /// device samples. Absent before the first estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake_beta: Option<f64>,
}

/// Annealer settings of the quantum prior.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnnealSettings {
    /// µs.
    pub annealing_time: f64,
    /// Seed annealer requests: set when the annealer lists `seed` among its parameters (the
    /// emulator, reproducibly); real hardware behind sapi-proxy refuses a seed.
    pub seeded_requests: bool,
    /// Initial J of couplers inside a chain (ferromagnetic: negative).
    pub chain_strength: f64,
    /// Most reads per annealer call (0: as many as the device allows). Every call draws its
    /// own control errors, so the reads of one call share one perturbed Hamiltonian; a draw
    /// spread over several calls averages over them.
    #[serde(default)]
    pub reads_per_call: u32,
    /// SAPI's thermalizations, µs (`None`: the solver's default). They change only the QPU time.
    #[serde(default)]
    pub programming_thermalization: Option<u32>,
    #[serde(default)]
    pub readout_thermalization: Option<u32>,
}

impl Default for AnnealSettings {
    fn default() -> Self {
        AnnealSettings {
            annealing_time: 5.0,
            seeded_requests: true,
            chain_strength: -1.0,
            reads_per_call: 0,
            programming_thermalization: None,
            readout_thermalization: None,
        }
    }
}

impl QuantumParams {
    /// Fresh parameters: h = 0, J = 0 between chains, `chain_strength` inside chains.
    pub fn new(
        embedding: Embedding,
        props: &SolverProperties,
        chain_strength: f64,
        seed: u64,
    ) -> Self {
        let mut pairs: Vec<(u32, u32)> = embedding
            .chains
            .iter()
            .enumerate()
            .flat_map(|(unit, chain)| chain.iter().map(move |&q| (q, unit as u32)))
            .collect();
        pairs.sort_unstable();
        let qubits: Vec<u32> = pairs.iter().map(|&(q, _)| q).collect();
        let unit_of: Vec<u32> = pairs.iter().map(|&(_, u)| u).collect();
        let used = embedding.couplers(&props.graph);
        let position =
            |q: u32| qubits.binary_search(&q).expect("coupler joins embedded qubits") as u32;
        let mut couplers = Vec::new();
        let mut j = Vec::new();
        for chain in &used.intra {
            for &(u, v) in chain {
                couplers.push((position(u), position(v)));
                j.push(chain_strength.clamp(props.j_range.min, props.j_range.max));
            }
        }
        for pair in &used.inter {
            for &(u, v) in &pair.couplers {
                couplers.push((position(u), position(v)));
                j.push(0.0);
            }
        }
        let h = vec![0.0; qubits.len()];
        QuantumParams { embedding, qubits, unit_of, h, couplers, j, seed, wake_beta: None }
    }
}

/// The annealer-backed prior.
pub struct QuantumPrior {
    params: QuantumParams,
    settings: AnnealSettings,
    h_range: Range<f64>,
    j_range: Range<f64>,
    /// The most reads one request may carry at the configured anneal time; larger draws are
    /// split into several requests.
    max_reads_per_call: usize,
    annealer: Box<dyn Annealer + Send>,
    /// Per-parameter step sizes: 1 / (number of physical parameters that realise the same
    /// logical one), so that every logical field and coupling learns at the same rate however
    /// long its chain or however many couplers join a pair.
    h_step: Vec<f64>,
    j_step: Vec<f64>,
}

impl QuantumPrior {
    pub fn new(
        params: QuantumParams,
        settings: AnnealSettings,
        props: &SolverProperties,
        annealer: Box<dyn Annealer + Send>,
    ) -> Self {
        let units = &params.unit_of;
        let mut chain_len = vec![0usize; params.embedding.chains.len()];
        units.iter().for_each(|&u| chain_len[u as usize] += 1);
        let pair_of = |&(a, b): &(u32, u32)| {
            let (x, y) = (units[a as usize], units[b as usize]);
            (x.min(y), x.max(y))
        };
        let mut per_pair: HashMap<(u32, u32), usize> = Default::default();
        params.couplers.iter().for_each(|c| *per_pair.entry(pair_of(c)).or_default() += 1);
        let h_step = units.iter().map(|&u| 1.0 / chain_len[u as usize] as f64).collect();
        let j_step = params.couplers.iter().map(|c| 1.0 / per_pair[&pair_of(c)] as f64).collect();
        QuantumPrior {
            h_step,
            j_step,
            params,
            h_range: props.h_range,
            j_range: props.j_range,
            max_reads_per_call: reads_per_call_limit(props, &settings),
            settings,
            annealer,
        }
    }

    pub fn params(&self) -> &QuantumParams {
        &self.params
    }

    pub fn annealer_description(&self) -> String {
        self.annealer.describe()
    }

    /// Request `part` of the draw keyed `key` (an update number or a viewing call's key).
    fn request(&self, n: usize, key: u64, part: u64) -> SampleRequest {
        let p = &self.params;
        let seed = seed::annealer_request(p.seed, key, part);
        SampleRequest {
            request_id: if part == 0 { format!("it{key}") } else { format!("it{key}.{part}") },
            h: p.qubits.iter().zip(&p.h).map(|(&q, &h)| (q, h)).collect(),
            j: p.couplers
                .iter()
                .zip(&p.j)
                .map(|(&(a, b), &j)| (p.qubits[a as usize], p.qubits[b as usize], j))
                .collect(),
            num_reads: n as u32,
            annealing_time: Some(self.settings.annealing_time),
            auto_scale: Some(false),
            answer_mode: AnswerMode::Raw,
            programming_thermalization: self.settings.programming_thermalization.map(i64::from),
            readout_thermalization: self.settings.readout_thermalization.map(i64::from),
            seed: self.settings.seeded_requests.then_some(seed),
            label: "qahm prior".into(),
        }
    }
}

/// The raw answer of a draw: physical spins and what the calls cost.
struct Physical {
    /// ±1, `[reads, embedded qubits]`, columns in `QuantumParams::qubits` order.
    spins: Array2<f32>,
    wall_us: f64,
    qpu_access_us: f64,
}

impl QuantumPrior {
    /// `n` reads of the current Hamiltonian for the draw keyed `key`, in as many requests as
    /// the solver's limits (or `reads_per_call`) require.
    fn physical(&mut self, n: usize, key: u64) -> Result<Physical, PriorError> {
        let nq = self.params.qubits.len();
        let mut spins = Array2::<f32>::zeros((n, nq));
        let (mut wall, mut qpu) = (0.0, 0.0);
        let mut row_spins = Vec::with_capacity(nq);
        let mut start = 0;
        for (part, reads) in split_reads(n, self.max_reads_per_call).enumerate() {
            let answer = self.annealer.sample(&self.request(reads, key, part as u64))?;
            let set = &answer.set;
            if set.active_variables != self.params.qubits || set.num_rows() != reads {
                return Err(PriorError::Answer(format!(
                    "{} rows over {} active variables, expected {reads} over {nq}",
                    set.num_rows(),
                    set.active_variables.len(),
                )));
            }
            for r in 0..reads {
                qahm_common::sampleset::unpack_row(set.packed_row(r), nq, &mut row_spins);
                let mut out = spins.row_mut(start + r);
                out.iter_mut().zip(&row_spins).for_each(|(o, &s)| *o = f32::from(s));
            }
            start += reads;
            wall += answer.timing.server_wall_time;
            qpu += answer.timing.qpu_access_time;
        }
        Ok(Physical { spins, wall_us: wall, qpu_access_us: qpu })
    }

    /// The logical samples of the draw keyed `key`: majority vote, ties by that draw's coins.
    fn vote(&self, physical: &Array2<f32>, key: u64) -> Array2<f32> {
        let mut ties = seed::tie_break(self.params.seed, key);
        majority_vote(physical.view(), &self.params.unit_of, self.num_units(), &mut ties)
    }
}

/// The device's limit on reads per call at the settings' anneal time, lowered to the
/// settings' own cap when they set one.
fn reads_per_call_limit(props: &SolverProperties, settings: &AnnealSettings) -> usize {
    let device = max_num_reads_with(
        props,
        settings.annealing_time,
        settings.programming_thermalization,
        settings.readout_thermalization,
    );
    match settings.reads_per_call {
        0 => device as usize,
        cap => cap.min(device) as usize,
    }
}

/// Sizes of the requests a draw of `n` reads is split into, none above `max` (≥ 1).
fn split_reads(n: usize, max: usize) -> impl Iterator<Item = usize> {
    let max = max.max(1);
    (0..n.div_ceil(max)).map(move |k| max.min(n - k * max))
}

/// Majority vote g (Eq. 21): each unit takes the sign of its chain's sum; ties by a coin from
/// `rng`. `physical` is `[reads, qubits]` ±1, `unit_of[q]` the unit of qubit column q.
pub fn majority_vote(
    physical: ArrayView2<f32>,
    unit_of: &[u32],
    num_units: usize,
    rng: &mut impl Rng,
) -> Array2<f32> {
    let mut units = Array2::zeros((physical.nrows(), num_units));
    let mut sums = vec![0.0f32; num_units];
    for (row, mut out) in physical.outer_iter().zip(units.outer_iter_mut()) {
        sums.iter_mut().for_each(|s| *s = 0.0);
        for (&s, &u) in row.iter().zip(unit_of) {
            sums[u as usize] += s;
        }
        for (o, &s) in out.iter_mut().zip(&sums) {
            *o = if s > 0.0 {
                1.0
            } else if s < 0.0 {
                -1.0
            } else if rng.random::<bool>() {
                1.0
            } else {
                -1.0
            };
        }
    }
    units
}

/// The moments of `replicate(units, unit_of)` (see [`moments`]) without building it: a qubit's
/// mean is its unit's, a coupler's is its two units' second moment (1 inside a chain). Equal
/// bit for bit, since on ±1 values every sum involved is an exact integer.
pub fn replicated_moments(
    units: ArrayView2<f32>,
    unit_of: &[u32],
    couplers: &[(u32, u32)],
) -> (Vec<f64>, Vec<f64>) {
    let n = units.nrows().max(1) as f64;
    let unit_means =
        units.mean_axis(Axis(0)).unwrap_or_else(|| ndarray::Array1::zeros(units.ncols()));
    let k = units.ncols();
    let mut unit_second = Array2::zeros((k, k));
    crate::model::mat_mul(1.0, units.t(), units, 0.0, unit_second.view_mut());
    let linear = unit_of.iter().map(|&u| f64::from(unit_means[u as usize])).collect();
    let quadratic = couplers
        .iter()
        .map(|&(a, b)| {
            let (x, y) = (unit_of[a as usize] as usize, unit_of[b as usize] as usize);
            f64::from(unit_second[[x, y]]) / n
        })
        .collect();
    (linear, quadratic)
}

/// Fraction of (row, chain) pairs of `physical` (`[reads, qubits]`, ±1) whose qubits disagree.
pub fn chain_break_fraction(physical: ArrayView2<f32>, unit_of: &[u32], num_units: usize) -> f64 {
    let mut len = vec![0.0f32; num_units];
    unit_of.iter().for_each(|&u| len[u as usize] += 1.0);
    let mut sums = vec![0.0f32; num_units];
    let mut broken = 0usize;
    for row in physical.outer_iter() {
        sums.iter_mut().for_each(|s| *s = 0.0);
        for (&s, &u) in row.iter().zip(unit_of) {
            sums[u as usize] += s;
        }
        broken += sums.iter().zip(&len).filter(|(s, l)| s.abs() != **l).count();
    }
    broken as f64 / (physical.nrows() * num_units).max(1) as f64
}

/// Replica map f (Eq. 20): each qubit takes its unit's value. `[batch, units]` → `[batch, qubits]`.
pub fn replicate(units: ArrayView2<f32>, unit_of: &[u32]) -> Array2<f32> {
    let columns: Vec<usize> = unit_of.iter().map(|&u| u as usize).collect();
    units.select(Axis(1), &columns)
}

impl QuantumPrior {
    /// The logical Ising model the embedding programs: each unit's field is its chain's fields
    /// summed, each pair's coupling the couplers between their chains summed (pairs `u < v`,
    /// ascending). Couplers inside a chain add a constant on intact (majority-voted) states.
    fn logical_hamiltonian(&self) -> (Vec<f64>, Vec<(u32, u32)>, Vec<f64>) {
        let n = self.num_units();
        let mut h = vec![0.0; n];
        for (&field, &unit) in self.params.h.iter().zip(&self.params.unit_of) {
            h[unit as usize] += field;
        }
        let mut pairs = std::collections::BTreeMap::new();
        for (&(a, b), &coupling) in self.params.couplers.iter().zip(&self.params.j) {
            let (u, v) = (self.params.unit_of[a as usize], self.params.unit_of[b as usize]);
            if u != v {
                *pairs.entry((u.min(v), u.max(v))).or_insert(0.0) += coupling;
            }
        }
        let (couplers, j) = pairs.into_iter().unzip();
        (h, couplers, j)
    }
}

impl Prior for QuantumPrior {
    fn num_units(&self) -> usize {
        self.params.embedding.chains.len()
    }

    fn draw(&mut self, n: usize, iteration: u64) -> Result<Draw, PriorError> {
        let physical = self.physical(n, iteration)?;
        let (linear, quadratic) = moments(physical.spins.view(), &self.params.couplers);
        let units = self.vote(&physical.spins, iteration);
        let (h, couplers, j) = self.logical_hamiltonian();
        let logical_beta_hat = temperature::pseudo_likelihood_beta(units.view(), &h, &couplers, &j);
        Ok(Draw {
            logical_beta_hat,
            units,
            moments: Moments { linear, quadratic },
            annealer_wall_us: physical.wall_us,
            qpu_access_us: physical.qpu_access_us,
            chain_breaks: chain_break_fraction(
                physical.spins.view(),
                &self.params.unit_of,
                self.num_units(),
            ),
            beta_hat: temperature::embedded_beta(
                physical.spins.view(),
                &self.params.h,
                &self.params.couplers,
                &self.params.j,
                &self.params.unit_of,
                self.num_units(),
            ),
        })
    }

    /// One call per `per_call` reads, each with its own control errors: the reads of one call
    /// are correlated through its perturbed Hamiltonian (one call of 100 reads can hold no
    /// zero at all where ten calls of ten hold the model's share).
    fn view(&mut self, n: usize, per_call: usize, stream: u64) -> Result<Array2<f32>, PriorError> {
        let mut units = Array2::zeros((0, self.num_units()));
        for (call, reads) in split_reads(n, per_call).enumerate() {
            let key = seed::view_call(stream, call as u64);
            let physical = self.physical(reads, key)?;
            let drawn = self.vote(&physical.spins, key);
            units.append(Axis(0), drawn.view()).expect("rows of one width");
        }
        Ok(units)
    }

    fn update(&mut self, draw: &Draw, data: ArrayView2<f32>, lr: f32) -> MomentGap {
        if draw.logical_beta_hat.is_some() {
            self.params.wake_beta = draw.logical_beta_hat;
        }
        let (data_linear, data_quadratic) =
            replicated_moments(data, &self.params.unit_of, &self.params.couplers);
        let model = &draw.moments;
        let lr = f64::from(lr);
        let (h_range, j_range) = (self.h_range, self.j_range);
        let linear = self.params.h.iter_mut().zip(&self.h_step);
        for (((h, step), d), m) in linear.zip(&data_linear).zip(&model.linear) {
            *h = (*h - lr * step * (d - m)).clamp(h_range.min, h_range.max);
        }
        let quadratic = self.params.j.iter_mut().zip(&self.j_step);
        for (((j, step), d), m) in quadratic.zip(&data_quadratic).zip(&model.quadratic) {
            *j = (*j - lr * step * (d - m)).clamp(j_range.min, j_range.max);
        }
        MomentGap {
            linear: mean_abs_diff(&data_linear, &model.linear),
            quadratic: mean_abs_diff(&data_quadratic, &model.quadratic),
        }
    }

    fn state(&self) -> PriorState {
        PriorState::Quantum(self.params.clone())
    }

    fn log_density(&self) -> LogDensity {
        let n = self.num_units();
        let (h, couplers, j_sparse) = self.logical_hamiltonian();
        let mut j = vec![0.0; n * n];
        for (&(u, v), &coupling) in couplers.iter().zip(&j_sparse) {
            j[u as usize * n + v as usize] = coupling;
        }
        // Before the first estimate the prior is still uniform, and any β will do.
        LogDensity { h, j, beta: self.params.wake_beta.unwrap_or(1.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn majority_vote_takes_the_chain_sign_and_breaks_ties_by_coin() {
        let physical = array![[1.0, 1.0, -1.0, -1.0, 1.0], [-1.0, -1.0, 1.0, 1.0, -1.0]];
        let unit_of = [0, 0, 0, 1, 1];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let units = majority_vote(physical.view(), &unit_of, 2, &mut rng);
        assert_eq!(units.column(0).to_vec(), vec![1.0, -1.0]);
        // Unit 1 ties (one up, one down) in both rows: a coin each time, ±1 either way.
        assert!(units.column(1).iter().all(|&x| x == 1.0 || x == -1.0));
        let mut heads = 0;
        for seed in 0..200 {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let u = majority_vote(physical.view(), &unit_of, 2, &mut rng);
            heads += (u[[0, 1]] > 0.0) as i32;
        }
        // A fair coin over 200 seeds: 100 ± 3σ (σ ≈ 7).
        assert!((79..=121).contains(&heads), "{heads}");
    }

    #[test]
    fn replicated_moments_are_the_moments_of_the_replicas() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let units = Array2::from_shape_simple_fn((37, 4), || if rng.random() { 1.0 } else { -1.0 });
        let unit_of = [0, 0, 1, 2, 2, 2, 3];
        let couplers = [(0, 1), (1, 2), (3, 4), (4, 5), (2, 6), (0, 5), (5, 6)];
        let replicas = replicate(units.view(), &unit_of);
        assert_eq!(
            replicated_moments(units.view(), &unit_of, &couplers),
            moments(replicas.view(), &couplers)
        );
    }

    #[test]
    fn large_draws_are_split_into_requests_the_solver_accepts() {
        assert_eq!(split_reads(1000, 833).collect::<Vec<_>>(), vec![833, 167]);
        assert_eq!(split_reads(100, 833).collect::<Vec<_>>(), vec![100]);
        assert_eq!(split_reads(1666, 833).collect::<Vec<_>>(), vec![833, 833]);
        assert_eq!(split_reads(0, 833).count(), 0);
    }

    /// Reads and seed of every request an annealer received.
    type CallLog = std::sync::Arc<std::sync::Mutex<Vec<(u32, Option<u64>)>>>;

    /// The in-process emulator, recording every request's reads and seed.
    struct Recording {
        inner: crate::annealer::InProcessAnnealer,
        calls: CallLog,
    }

    impl Annealer for Recording {
        fn properties(&mut self) -> Result<SolverProperties, crate::annealer::AnnealerError> {
            self.inner.properties()
        }
        fn sample(
            &mut self,
            spec: &SampleRequest,
        ) -> Result<qahm_common::answer::Answer, crate::annealer::AnnealerError> {
            self.calls.lock().unwrap().push((spec.num_reads, spec.seed));
            self.inner.sample(spec)
        }
        fn describe(&self) -> String {
            "recording".into()
        }
    }

    /// A small quantum prior (8 units) whose annealer records its calls.
    fn recorded_prior(reads_per_call: u32) -> (Box<dyn Prior + Send>, CallLog) {
        let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let device = qahm_emulator::DeviceConfig { device_seed: Some(3), ..Default::default() };
        let annealer = Recording {
            inner: crate::annealer::InProcessAnnealer::new(device).unwrap(),
            calls: calls.clone(),
        };
        let mut config = crate::config::RunConfig::preset(crate::config::Preset::Default);
        config.model.hidden2 = 8;
        config.annealing.annealing_time = 20.0;
        config.annealing.reads_per_call = reads_per_call;
        let prior =
            super::super::build(&config, None, Some(Box::new(annealer)), &mut |_| {}).unwrap();
        (prior, calls)
    }

    #[test]
    fn reads_per_call_caps_every_request_of_a_draw() {
        let (mut prior, calls) = recorded_prior(30);
        assert_eq!(prior.draw(100, 4).unwrap().units.dim(), (100, 8));
        let reads: Vec<u32> = calls.lock().unwrap().iter().map(|c| c.0).collect();
        assert_eq!(reads, vec![30, 30, 30, 10]);
    }

    #[test]
    fn spread_draws_use_small_calls_each_with_its_own_seed() {
        let (mut prior, calls) = recorded_prior(0);
        let units = prior.view(25, 10, 77).unwrap();
        assert_eq!(units.dim(), (25, 8));
        assert!(units.iter().all(|&s| s == 1.0 || s == -1.0));
        let calls = calls.lock().unwrap().clone();
        assert_eq!(calls.iter().map(|c| c.0).collect::<Vec<_>>(), vec![10, 10, 5]);
        let seeds: std::collections::HashSet<_> = calls.iter().map(|c| c.1).collect();
        assert_eq!(seeds.len(), 3, "{calls:?}");
        // Reproducible: the same stream gives the same samples.
        let (mut again, _) = recorded_prior(0);
        assert_eq!(again.view(25, 10, 77).unwrap(), units);
    }

    #[test]
    fn a_viewing_draw_between_draw_and_update_changes_nothing() {
        let data = array![[1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 1.0]];
        let run = |look: bool| {
            let (mut prior, _) = recorded_prior(0);
            for it in 0..3 {
                let draw = prior.draw(20, it).unwrap();
                if look {
                    prior.view(15, 10, seed::PICTURES_GENERATED).unwrap();
                }
                prior.update(&draw, data.view(), 0.1);
            }
            prior.state()
        };
        let (looked, plain) = (run(true), run(false));
        assert_eq!(looked, plain);
        let PriorState::Quantum(params) = plain else { panic!("quantum") };
        assert!(params.h.iter().any(|&h| h != 0.0), "the updates moved the fields");
    }

    #[test]
    fn chain_breaks_count_chains_whose_qubits_disagree() {
        let physical = array![[1.0, 1.0, -1.0, -1.0, 1.0], [-1.0, -1.0, -1.0, 1.0, 1.0]];
        // Chains {0, 1, 2} and {3, 4}: row 0 breaks both, row 1 neither.
        assert_eq!(chain_break_fraction(physical.view(), &[0, 0, 0, 1, 1], 2), 0.5);
        assert_eq!(chain_break_fraction(physical.view(), &[0, 0, 1, 2, 2], 3), 1.0 / 6.0);
    }

    #[test]
    fn replication_then_vote_is_the_identity() {
        let units = array![[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0]];
        let unit_of = [0, 0, 1, 2, 2, 2];
        let physical = replicate(units.view(), &unit_of);
        assert_eq!(physical.row(0).to_vec(), vec![1.0, 1.0, -1.0, 1.0, 1.0, 1.0]);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
        assert_eq!(majority_vote(physical.view(), &unit_of, 3, &mut rng), units);
    }

    #[test]
    fn the_wake_density_is_the_programmed_hamiltonian_at_the_last_beta_hat() {
        let (mut prior, _) = recorded_prior(0);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let data = Array2::from_shape_simple_fn((50, 8), || if rng.random() { 1.0 } else { -1.0 });
        // Two updates give every field and coupler a value of its own.
        for it in 0..2 {
            let draw = prior.draw(100, it).unwrap();
            prior.update(&draw, data.view(), 0.5);
        }
        let PriorState::Quantum(params) = prior.state() else { panic!("a quantum prior") };
        let beta = params.wake_beta.expect("a draw's logical β̂ kept for the wake phase");
        let density = prior.log_density();
        assert_eq!(density.beta, beta);
        // −β̂ times the physical energy of the replicated state, up to one constant (the
        // couplers inside chains): the same for every logical state.
        let states =
            Array2::from_shape_simple_fn((20, 8), || if rng.random() { 1.0 } else { -1.0 });
        let physical = replicate(states.view(), &params.unit_of);
        let offsets: Vec<f64> = states
            .rows()
            .into_iter()
            .zip(physical.rows())
            .map(|(s, q)| {
                let mut e: f64 = params.h.iter().zip(q).map(|(h, &x)| h * f64::from(x)).sum();
                for (&(a, b), j) in params.couplers.iter().zip(&params.j) {
                    e += j * f64::from(q[a as usize]) * f64::from(q[b as usize]);
                }
                density.log_unnormalised(s.as_slice().unwrap()) + beta * e
            })
            .collect();
        for o in &offsets {
            assert!((o - offsets[0]).abs() < 1e-9, "offsets {offsets:?}");
        }
    }
}
