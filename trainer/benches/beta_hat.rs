//! Criterion bench of β̂, the per-update estimate of the device's effective inverse temperature
//! (`prior::temperature`), on the problem a default update programs: K60 embedded in
//! DW_2000Q_5 (chains of 16–17 qubits), 100 physical reads.
//!
//! `cargo bench -p trainer --bench beta_hat`. The problem and reads are built once from fixed
//! seeds outside the timed closures: logical spins at random, copied onto their chains, 1 % of
//! qubits flipped (about the chain-break rate of 5 µs anneals). Both estimators are timed: the
//! single-spin pseudo-likelihood and the embedded one the trainer logs (plus whole-chain flips).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array2;
use qahm_common::topology::Chimera;
use rand::{Rng, SeedableRng};
use trainer::embedding::{CliqueOptions, embed_clique_with};
use trainer::prior::temperature::{embedded_beta, pseudo_likelihood_beta};

struct Problem {
    spins: Array2<f32>,
    h: Vec<f64>,
    couplers: Vec<(u32, u32)>,
    j: Vec<f64>,
    unit_of: Vec<u32>,
}

fn default_update_problem() -> Problem {
    let graph = Chimera::dw_2000q_5();
    let embedding =
        embed_clique_with(&graph, 60, Some(Chimera::C16.into()), &CliqueOptions::default())
            .expect("K60 embeds in DW_2000Q_5")
            .embedding;
    let mut rng = trainer::seed::Rng::seed_from_u64(11);
    // Physical variables are the used qubits, numbered in chain order.
    let mut index = std::collections::HashMap::new();
    let mut unit_of = Vec::new();
    for (unit, chain) in embedding.chains.iter().enumerate() {
        for &q in chain {
            index.insert(q, unit_of.len() as u32);
            unit_of.push(unit as u32);
        }
    }
    let h: Vec<f64> = (0..unit_of.len()).map(|_| rng.random_range(-0.1..0.1)).collect();
    let (mut couplers, mut j) = (Vec::new(), Vec::new());
    for &(a, b) in graph.couplers() {
        if let (Some(&ia), Some(&ib)) = (index.get(&a), index.get(&b)) {
            couplers.push((ia, ib));
            let intra = unit_of[ia as usize] == unit_of[ib as usize];
            j.push(if intra { -1.0 } else { rng.random_range(-0.2..0.2) });
        }
    }
    let reads = 100;
    let mut spins = Array2::zeros((reads, unit_of.len()));
    for mut read in spins.outer_iter_mut() {
        let logical: Vec<f32> =
            (0..60).map(|_| if rng.random_bool(0.5) { 1.0 } else { -1.0 }).collect();
        for (s, &u) in read.iter_mut().zip(&unit_of) {
            let flip = rng.random_bool(0.01);
            *s = if flip { -logical[u as usize] } else { logical[u as usize] };
        }
    }
    Problem { spins, h, couplers, j, unit_of }
}

fn bench_beta_hat(c: &mut Criterion) {
    let p = default_update_problem();
    println!(
        "K60 in DW_2000Q_5: {} qubits, {} couplers, {} reads",
        p.h.len(),
        p.couplers.len(),
        p.spins.nrows()
    );
    let mut group = c.benchmark_group("beta_hat");
    group.bench_function("single_spin", |b| {
        b.iter(|| pseudo_likelihood_beta(black_box(p.spins.view()), &p.h, &p.couplers, &p.j))
    });
    group.bench_function("embedded", |b| {
        b.iter(|| embedded_beta(black_box(p.spins.view()), &p.h, &p.couplers, &p.j, &p.unit_of, 60))
    });
    group.finish();
}

criterion_group!(benches, bench_beta_hat);
criterion_main!(benches);
