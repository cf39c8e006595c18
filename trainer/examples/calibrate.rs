//! The anneal-time calibration of the emulator (`make calibrate`), through the public API.
//!
//! 1. The kink-density experiment of King et al. 2022 (Nat. Phys. 18, 1324): a long 1D
//!    ferromagnetic ring embedded on the chip, zero fields, raw answers; kinks per coupler at
//!    each anneal time, next to the chip's figure (read off `dwave-examples/kibble-zurek`'s
//!    `static/experimental_results.png`, J = −1.4 on an Advantage; ×1.3 at J = −1). Rings are
//!    sent at J = −1, and at J = −1.4 where the solver's J range allows it (its
//!    `extended_j_range` where it has one, else `j_range`), at every chip point inside the
//!    solver's `annealing_time_range` and at 5, 20, 100 and 1000 µs.
//! 2. The trainer's K60 embedding with h = 0, chain couplers J = −1 and nothing between chains:
//!    the fraction of broken chains at 5, 20, 100 and 1000 µs.
//! 3. 1000 reads of that K60 problem at 5, 20 and 1000 µs: the answer's wall time next to the
//!    modelled QPU access time.
//!
//! Usage: calibrate [--annealer URL | --device CONFIG.json] [--reads N]. Without `--annealer`,
//! the in-process emulator (device seed 7), configured from a `DeviceConfig` JSON file if given
//! (to calibrate a new profile); `make calibrate` starts annealer-svc and passes its address.

use std::time::Instant;

use qahm_common::answer::Answer;
use qahm_common::properties::SolverProperties;
use qahm_common::request::SampleRequest;
use qahm_common::sampleset::AnswerMode;
use qahm_common::validation::max_num_reads;
use qahm_emulator::DeviceConfig;
use trainer::annealer::{Annealer, InProcessAnnealer, RemoteAnnealer, RetryPolicy};
use trainer::embedding::{self, Embedding, long_ring, ring_couplers};

/// Kinks per coupler of the chip's ring at J = −1.4 (anneal µs, density), King et al. 2022.
const CHIP: [(f64, f64); 7] = [
    (0.3, 0.016),
    (0.7, 0.015),
    (1.2, 0.013),
    (3.2, 0.0095),
    (6.4, 0.0075),
    (13.0, 0.0056),
    (26.0, 0.0044),
];
/// The chip's kink density at J = −1 over that at J = −1.4 (the same paper's coupling sweep).
const WEAKER_COUPLING_FACTOR: f64 = 1.3;

fn request(id: &str, j: Vec<(u32, u32, f64)>, reads: u32, anneal: f64, seed: u64) -> SampleRequest {
    SampleRequest {
        request_id: id.into(),
        h: Vec::new(),
        j,
        num_reads: reads,
        annealing_time: Some(anneal),
        auto_scale: Some(false),
        answer_mode: AnswerMode::Raw,
        programming_thermalization: None,
        readout_thermalization: None,
        label: "calibrate".into(),
        seed: Some(seed),
    }
}

/// Fraction of the given ferromagnetic couplers whose ends disagree, over all reads.
fn kink_density(answer: &Answer, couplers: &[(u32, u32)]) -> f64 {
    let column =
        |q: u32| answer.set.active_variables.iter().position(|&a| a == q).expect("active qubit");
    let pairs: Vec<(usize, usize)> =
        couplers.iter().map(|&(a, b)| (column(a), column(b))).collect();
    let rows = answer.set.num_rows();
    let mut kinks = 0usize;
    for r in 0..rows {
        let row = answer.set.row(r);
        kinks += pairs.iter().filter(|&&(a, b)| row[a] != row[b]).count();
    }
    kinks as f64 / (rows * pairs.len()) as f64
}

fn broken_chains(answer: &Answer, embedding: &Embedding) -> f64 {
    let column =
        |q: u32| answer.set.active_variables.iter().position(|&a| a == q).expect("active qubit");
    let chains: Vec<Vec<usize>> =
        embedding.chains.iter().map(|c| c.iter().map(|&q| column(q)).collect()).collect();
    let rows = answer.set.num_rows();
    let mut broken = 0usize;
    for r in 0..rows {
        let row = answer.set.row(r);
        broken += chains.iter().filter(|c| c.iter().any(|&i| row[i] != row[c[0]])).count();
    }
    broken as f64 / (rows * chains.len()) as f64
}

/// The chip's density at `t` µs by log-log interpolation, if inside its measured range.
fn chip_at(t: f64) -> Option<f64> {
    CHIP.windows(2).find(|w| w[0].0 <= t && t <= w[1].0).map(|w| {
        let x = (t.ln() - w[0].0.ln()) / (w[1].0.ln() - w[0].0.ln());
        (w[0].1.ln() + x * (w[1].1.ln() - w[0].1.ln())).exp()
    })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut url = None;
    let mut reads = 200u32;
    let mut device = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--annealer" => url = it.next().cloned(),
            "--device" => {
                device = Some(it.next().ok_or_else(|| anyhow::anyhow!("--device FILE"))?.clone())
            }
            "--reads" => reads = it.next().ok_or_else(|| anyhow::anyhow!("--reads N"))?.parse()?,
            other => anyhow::bail!(
                "unknown argument {other:?}; usage: calibrate [--annealer URL | --device CONFIG.json] [--reads N]"
            ),
        }
    }
    let mut annealer: Box<dyn Annealer> = match &url {
        Some(url) => Box::new(RemoteAnnealer::new(url, None, RetryPolicy::default())?),
        None => {
            let config = match &device {
                Some(path) => serde_json::from_slice(&std::fs::read(path)?)?,
                None => DeviceConfig::default(),
            };
            Box::new(InProcessAnnealer::new(DeviceConfig { device_seed: Some(7), ..config })?)
        }
    };
    let props: SolverProperties = annealer.properties()?;
    println!("solver {} ({}), {} raw reads per point", props.name, annealer.describe(), reads);
    let range = props.annealing_time_range;
    let allowed = |t: f64| range.min <= t && t <= range.max;

    let ring = long_ring(&props.graph);
    let couplers = ring_couplers(&ring);
    println!("\n== ring of {} qubits, zero fields: kinks per coupler ==", ring.len());
    let mut strengths = vec![-1.0];
    if props.widest_j_range().min <= -1.4 {
        strengths.push(-1.4);
    }
    let chip_times: Vec<f64> = CHIP.iter().map(|c| c.0).filter(|&t| allowed(t)).collect();
    let mut times = chip_times.clone();
    times.extend([5.0, 20.0, 100.0, 1000.0].into_iter().filter(|&t| allowed(t)));
    times.sort_by(f64::total_cmp);
    times.dedup();
    for &strength in &strengths {
        let mut worst: f64 = 1.0;
        let factor = if strength == -1.0 { WEAKER_COUPLING_FACTOR } else { 1.0 };
        println!("J = {strength}: anneal µs | emulator | chip | emulator/chip");
        for &t in &times {
            let j = couplers.iter().map(|&(a, b)| (a, b, strength)).collect();
            let answer = annealer.sample(&request("ring", j, reads, t, 11))?;
            let ours = kink_density(&answer, &couplers);
            match chip_at(t).map(|c| c * factor) {
                Some(chip) => {
                    let ratio = ours / chip;
                    worst = worst.max(ratio).max(1.0 / ratio);
                    println!("  {t:>7} | {ours:.5} | {chip:.5} | {ratio:.2}");
                }
                None => println!("  {t:>7} | {ours:.5} |   —     |"),
            }
        }
        println!("  worst factor against the chip over its points in range: {worst:.2}");
    }

    let embedding = embedding::embed_clique(
        &props.graph,
        embedding::DEFAULT_CLIQUE_SIZE,
        props.topology.family(),
        0,
    )?;
    let chain_j: Vec<(u32, u32, f64)> = embedding
        .couplers(&props.graph)
        .intra
        .iter()
        .flatten()
        .map(|&(a, b)| (a, b, -1.0))
        .collect();
    println!("\n== K60 embedding ({}), h = 0, chains J = −1 ==", embedding.stats());
    println!("anneal µs | broken chains");
    for t in [5.0, 20.0, 100.0, 1000.0].into_iter().filter(|&t| allowed(t)) {
        let answer = annealer.sample(&request("k60", chain_j.clone(), reads, t, 13))?;
        println!("  {t:>7} | {:.4}", broken_chains(&answer, &embedding));
    }

    println!(
        "\n== 1000 reads (or the most allowed) of that problem: wall time vs modelled QPU access time =="
    );
    for t in [5.0, 20.0, 1000.0].into_iter().filter(|&t| allowed(t)) {
        let started = Instant::now();
        // SAPI caps a request at 1 s of problem run time: 1000 reads do not fit at 1000 µs.
        let reads = 1000.min(max_num_reads(&props, t));
        let answer = annealer.sample(&request("k60-1000", chain_j.clone(), reads, t, 17))?;
        let wall = started.elapsed().as_secs_f64() * 1e3;
        let qpu = answer.timing.qpu_access_time / 1e3;
        println!(
            "  {t:>7} µs, {reads} reads: {wall:.0} ms answered, {qpu:.0} ms modelled ({:.2}×)",
            wall / qpu
        );
    }
    Ok(())
}
