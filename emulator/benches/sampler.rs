//! Criterion benches of the sampler kernels, throughput in spin updates (or states) per second.
//!
//! `cargo bench -p qahm-emulator --bench sampler`. The C16 instance (full-yield Chimera, 2048
//! qubits, 6016 couplers, h and J uniform in [−1, 1]) and the β schedules are built once, outside
//! the timed closures, from fixed seeds.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use qahm_common::topology::Chimera;
use qahm_emulator::sampler::{
    CompiledProblem, exact_energies, geometric_betas, simulated_annealing,
};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn c16_instance(seed: u64) -> CompiledProblem {
    let chimera = Chimera::C16;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let n = chimera.num_qubits() as usize;
    let h: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..=1.0)).collect();
    let q: Vec<(usize, usize, f64)> = chimera
        .couplers()
        .into_iter()
        .map(|(i, j)| (i as usize, j as usize, rng.random_range(-1.0..=1.0)))
        .collect();
    CompiledProblem::new(n, &h, &q)
}

fn bench_annealing(c: &mut Criterion) {
    let problem = c16_instance(42);
    let cancel = AtomicBool::new(false);
    let reads = 64;
    let mut group = c.benchmark_group("simulated_annealing_c16");
    group.sample_size(20);
    for sweeps in [100, 1000] {
        let betas = geometric_betas(0.1, 5.0, sweeps);
        group.throughput(Throughput::Elements((reads * sweeps * problem.num_vars()) as u64));
        for threads in [1, 0] {
            // 0 = rayon's default, all cores.
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let label = if threads == 1 { "1_thread" } else { "all_threads" };
            group.bench_with_input(BenchmarkId::new(label, sweeps), &betas, |b, betas| {
                b.iter(|| {
                    pool.install(|| {
                        simulated_annealing(&problem, black_box(betas), reads, 7, &cancel).unwrap()
                    })
                })
            });
        }
    }
    group.finish();
}

fn bench_exact(c: &mut Criterion) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let n = 20;
    let h: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let q: Vec<(usize, usize, f64)> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .map(|(i, j)| (i, j, rng.random_range(-1.0..1.0)))
        .collect();
    let problem = CompiledProblem::new(n, &h, &q);
    let mut group = c.benchmark_group("exact_energies_dense");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1 << n));
    group.bench_function(BenchmarkId::from_parameter(n), |b| {
        b.iter(|| exact_energies(black_box(&problem)))
    });
    group.finish();
}

criterion_group!(benches, bench_annealing, bench_exact);
criterion_main!(benches);
