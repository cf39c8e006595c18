//! Times qahm's clique embedding on one graph, for comparison with minorminer's busclique and
//! `find_embedding` in the same run (bench/embed_compare.sh, bench/embed_compare.py).
//!
//! Usage: embed_compare GRAPH N REPEATS → one JSON line: the embedding's qubits, shortest and
//! longest chain, how it was found, and the median wall time over REPEATS runs (the first run
//! included, nothing cached between runs). GRAPH is `advantage2` (the recorded
//! Advantage2_system1.5 working graph in data/solvers/), `z12` (full Zephyr Z12, t = 4), `p16`
//! (full Pegasus P16 fabric) or `dw_2000q_5`.

use std::str::FromStr;
use std::time::Instant;

use qahm_common::solver_record::SolverRecord;
use qahm_common::topology::{Chimera, Family, Pegasus, WorkingGraph, Zephyr};
use trainer::embedding::{CliqueOptions, embed_clique_with};

fn graph(name: &str) -> anyhow::Result<(WorkingGraph, Family)> {
    Ok(match name {
        "advantage2" => {
            let record = SolverRecord::shipped("Advantage2_system1.5")?;
            let family = record
                .topology()
                .family()
                .ok_or_else(|| anyhow::anyhow!("the record's topology is not a known family"))?;
            (record.working_graph()?, family)
        }
        "z12" => (Family::from(Zephyr::Z12).full_graph(), Zephyr::Z12.into()),
        "p16" => (Family::from(Pegasus::P16).full_graph(), Pegasus::P16.into()),
        "dw_2000q_5" => (Chimera::dw_2000q_5(), Chimera::C16.into()),
        other => anyhow::bail!("unknown graph {other:?}: advantage2, z12, p16 or dw_2000q_5"),
    })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, n, repeats] = args.as_slice() else {
        anyhow::bail!("usage: embed_compare advantage2|z12|p16|dw_2000q_5 N REPEATS");
    };
    let (graph, family) = graph(name)?;
    let (n, repeats) = (usize::from_str(n)?, usize::from_str(repeats)?.max(1));
    let options = CliqueOptions::default();
    let mut times = Vec::with_capacity(repeats);
    let mut found = None;
    for _ in 0..repeats {
        let started = Instant::now();
        let embedding = embed_clique_with(&graph, n, Some(family), &options)?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        found = Some(embedding);
    }
    let found = found.ok_or_else(|| anyhow::anyhow!("no run"))?;
    found.embedding.validate(&graph, n)?;
    times.sort_by(f64::total_cmp);
    let stats = found.embedding.stats();
    println!(
        "{{\"tool\": \"qahm\", \"graph\": \"{name}\", \"n\": {n}, \"qubits\": {}, \"min_chain\": {}, \
         \"max_chain\": {}, \"method\": \"{:?}\", \"ms\": {:.3}, \"repeats\": {repeats}}}",
        stats.num_qubits,
        stats.min,
        stats.max,
        found.method,
        times[times.len() / 2]
    );
    Ok(())
}
