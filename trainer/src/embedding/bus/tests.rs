use qahm_common::solver_record::SolverRecord;
use qahm_common::topology::{Family, Pegasus, Zephyr};

use super::*;
use crate::embedding::{CliqueOptions, Embedding, EmbeddingMethod, embed_clique_with};

fn advantage2() -> (WorkingGraph, Family) {
    let record = SolverRecord::shipped("Advantage2_system1.5").unwrap();
    (record.working_graph().unwrap(), record.topology().family().unwrap())
}

/// K_n through the public entry point with the family given; checked valid and native.
fn native_k(graph: &WorkingGraph, family: Family, n: usize) -> Embedding {
    let found = embed_clique_with(graph, n, Some(family), &CliqueOptions::default()).unwrap();
    found.embedding.validate(graph, n).unwrap();
    assert_eq!(found.method, EmbeddingMethod::Native, "{family:?}: {}", found.embedding);
    found.embedding
}

#[test]
fn k60_on_the_recorded_advantage2_graph_beats_busclique() {
    // minorminer 0.2.22's busclique: 356–358 qubits, chains 5–7 (bench/embed_compare.sh).
    let (graph, family) = advantage2();
    assert_eq!(family, Family::Zephyr(Zephyr::Z12));
    let stats = native_k(&graph, family, 60).stats();
    assert!(stats.num_qubits <= 356, "{stats}");
    assert!(stats.max <= 7, "{stats}");
}

#[test]
fn k60_on_full_z12_and_p16_is_native_and_short() {
    // busclique on the same graphs: Z12 328 qubits, chains 5–6; P16 402 qubits, chains 6–7.
    let z = native_k(&Family::from(Zephyr::Z12).full_graph(), Zephyr::Z12.into(), 60).stats();
    assert!(z.num_qubits <= 330 && z.max <= 6, "{z}");
    let p = native_k(&Family::from(Pegasus::P16).full_graph(), Pegasus::P16.into(), 60).stats();
    assert!(p.num_qubits <= 402 && p.max <= 7, "{p}");
}

#[test]
fn random_broken_chips_with_one_to_two_percent_dead_qubits_get_valid_native_cliques() {
    // Z12: 48 and 96 of 4800 qubits dead; P16: 56 and 112 of 5640; a few dead couplers each.
    let z12 = Family::from(Zephyr::Z12);
    let p16 = Family::from(Pegasus::P16);
    for (family, seed, dead_qubits, dead_couplers) in
        [(z12, 1, 48, 20), (z12, 2, 96, 40), (p16, 3, 56, 20), (p16, 4, 112, 40)]
    {
        let graph = family.random_faulty(seed, dead_qubits, dead_couplers);
        let stats = native_k(&graph, family, 60).stats();
        assert!(stats.max <= 8, "{family:?} seed {seed}: {stats}");
    }
}

#[test]
fn the_layout_is_deterministic() {
    let (graph, family) = advantage2();
    assert_eq!(native_clique(&graph, family, 60), native_clique(&graph, family, 60));
}

#[test]
fn small_cliques_are_native_and_oversized_ones_find_no_layout() {
    let (graph, family) = advantage2();
    assert_eq!(native_clique(&graph, family, 0), Some(Vec::new()));
    for n in [1, 2, 8, 9, 33] {
        native_k(&graph, family, n);
    }
    // Z2 (t = 4) has 16 tracks across 5 lines: K17 fits, K400 does not; the heuristic is
    // left to say so.
    let z2 = Family::from(Zephyr::new(2, 4));
    native_k(&z2.full_graph(), z2, 17);
    assert_eq!(native_clique(&z2.full_graph(), z2, 400), None);
}

#[test]
fn chimera_is_not_a_bus_family() {
    let c16 = qahm_common::topology::Chimera::C16;
    assert_eq!(native_clique(&c16.working_graph(&[], &[]), c16.into(), 8), None);
}

#[test]
fn a_graph_of_another_size_than_its_family_is_refused() {
    let c16 = qahm_common::topology::Chimera::C16.working_graph(&[], &[]);
    let options = CliqueOptions::default();
    let err = embed_clique_with(&c16, 4, Some(Zephyr::Z12.into()), &options).unwrap_err();
    assert_eq!(err.to_string(), "zephyr [12, 4] has 4800 qubits but the graph reports 2048");
}
