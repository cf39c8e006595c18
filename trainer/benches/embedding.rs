//! Criterion benches of the clique embedding: K60 into 2000Q-class working graphs, and into
//! Advantage2 (Zephyr) and Advantage (Pegasus) ones.
//!
//! `cargo bench -p trainer --bench embedding`. Graphs are built once, outside the timed
//! closures, from fixed seeds; each case prints the embedding it finds (qubits, chain lengths)
//! so the timing and the quality are read from the same run. The target on DW_2000Q_5 is
//! K60 with at most 1,100 qubits and chains of at most 18, in under a second; on the recorded
//! Advantage2_system1.5 graph, no more qubits and no longer a chain than minorminer's
//! busclique (356, 7) in less time (bench/embed_compare.sh measures both in one run).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use qahm_common::solver_record::SolverRecord;
use qahm_common::topology::{Chimera, Family, Pegasus, WorkingGraph, Zephyr};
use trainer::embedding::{CliqueOptions, embed_clique_with};

/// C16 with `dead_qubits` random inactive qubits and `dead_couplers` dead couplers.
fn random_chip(seed: u64, dead_qubits: usize, dead_couplers: usize) -> WorkingGraph {
    Family::Chimera(Chimera::C16).random_faulty(seed, dead_qubits, dead_couplers)
}

fn bench_k60(c: &mut Criterion) {
    let cases = [
        ("dw_2000q_5", Chimera::dw_2000q_5()),
        ("c16_full_yield", Chimera::C16.working_graph(&[], &[])),
        ("c16_1pct_dead", random_chip(1, 20, 4)),
        ("c16_2pct_dead", random_chip(4, 40, 6)),
    ];
    let options = CliqueOptions::default();
    let mut group = c.benchmark_group("embed_clique_k60");
    group.sample_size(10);
    for (name, graph) in &cases {
        let found = embed_clique_with(graph, 60, Some(Chimera::C16.into()), &options).unwrap();
        println!("{name}: {:?}, {}", found.method, found.embedding);
        group.bench_with_input(BenchmarkId::from_parameter(name), graph, |b, graph| {
            b.iter(|| {
                embed_clique_with(black_box(graph), 60, Some(Chimera::C16.into()), &options)
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn bench_k60_zephyr_pegasus(c: &mut Criterion) {
    let record = SolverRecord::shipped("Advantage2_system1.5").expect("data/solvers record");
    let z12 = Family::from(Zephyr::Z12);
    let p16 = Family::from(Pegasus::P16);
    let cases = [
        ("advantage2_system1_5", record.working_graph().expect("recorded graph"), z12),
        ("z12_full_yield", z12.full_graph(), z12),
        ("z12_2pct_dead", z12.random_faulty(2, 96, 40), z12),
        ("p16_full_yield", p16.full_graph(), p16),
        ("p16_2pct_dead", p16.random_faulty(4, 112, 40), p16),
    ];
    let options = CliqueOptions::default();
    let mut group = c.benchmark_group("embed_clique_k60_bus");
    group.sample_size(10);
    for (name, graph, family) in &cases {
        let found = embed_clique_with(graph, 60, Some(*family), &options).unwrap();
        println!("{name}: {:?}, {}", found.method, found.embedding);
        group.bench_with_input(BenchmarkId::from_parameter(name), graph, |b, graph| {
            b.iter(|| embed_clique_with(black_box(graph), 60, Some(*family), &options).unwrap())
        });
    }
    group.finish();
}

fn bench_heuristic(c: &mut Criterion) {
    // The general heuristic alone (what a non-Chimera solver gets), on a smaller clique.
    let graph = Chimera::dw_2000q_5();
    let options = CliqueOptions { heuristic_only: true, ..CliqueOptions::default() };
    let mut group = c.benchmark_group("heuristic_only");
    group.sample_size(10);
    for n in [12, 20] {
        let found = embed_clique_with(&graph, n, None, &options).unwrap();
        println!("K{n} on dw_2000q_5, heuristic only: {}", found.embedding);
        group.bench_with_input(BenchmarkId::new("dw_2000q_5", n), &n, |b, &n| {
            b.iter(|| embed_clique_with(black_box(&graph), n, None, &options).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_k60, bench_k60_zephyr_pegasus, bench_heuristic);
criterion_main!(benches);
