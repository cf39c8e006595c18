#!/usr/bin/env bash
# Compares qahm's simulated annealing kernel with dwave-samplers' SimulatedAnnealingSampler on
# the same instances, β schedule, read count and sweep counts: the full Chimera C16 (degree 6)
# and the recorded Advantage2_system1.5 graph (Zephyr, degree up to 20).
#
#   bash bench/sa_compare.sh                 # sweeps 100 and 1000, 1000 reads
#   READS=200 SWEEPS=100 bash bench/sa_compare.sh
#   REPEAT=3 bash bench/sa_compare.sh         # median of 3 timed runs per tool and sweep count
#   GRAPHS=advantage2 bash bench/sa_compare.sh  # one graph only (default: c16 advantage2)
#
# Needs cargo and python3 (3.11+) with pip; creates bench/.venv on first use. Outputs go to
# bench/out/ (instance, both tools' results as JSON). Both tools run on this machine, so the
# ratio is only meaningful on an otherwise idle machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source bench/venv.sh
OUT="bench/out"
READS="${READS:-1000}"
SWEEPS="${SWEEPS:-100,1000}"
INSTANCE_SEED="${INSTANCE_SEED:-42}"
SAMPLER_SEED="${SAMPLER_SEED:-1}"
REPEAT="${REPEAT:-1}"
BETA_START="${BETA_START:-0.1}"
BETA_END="${BETA_END:-5}"
GRAPHS="${GRAPHS:-c16 advantage2}"

ours() {
    cargo run -q --release -p qahm-emulator --example sa_compare -- "$@"
}

# ---------------------------------------------------------------------------------------------
# End-to-end gRPC latency: annealer-svc on 127.0.0.1:0 in the example's process, one request
# of 1000 reads at 5 µs on ~1000 qubits (cell rows 0–7) over the network, median of 5 runs,
# next to the modelled DW_2000Q_6 access time of the same request.
e2e_grpc_latency() {
    cargo run -q --release -p annealer-svc --example grpc_latency -- \
        --reads 1000 --annealing-time 5 --cell-rows 8 --repeats 5 --json "$OUT/grpc.json"
}
# ---------------------------------------------------------------------------------------------

main() {
    mkdir -p "$OUT"
    ensure_venv
    echo "building the qahm example (release)"
    cargo build -q --release -p qahm-emulator --example sa_compare
    local reports=()
    for graph in $GRAPHS; do
        ours export --graph "$graph" --out "$OUT/$graph.json" --seed "$INSTANCE_SEED" \
            --sweeps "$SWEEPS" --beta-start "$BETA_START" --beta-end "$BETA_END"
        "$VENV/bin/python" bench/sa_compare.py dwave --instance "$OUT/$graph.json" \
            --reads "$READS" --seed "$SAMPLER_SEED" --repeat "$REPEAT" --out "$OUT/$graph-dwave.json"
        ours run --instance "$OUT/$graph.json" --reads "$READS" --seed "$SAMPLER_SEED" \
            --repeat "$REPEAT" --out "$OUT/$graph-ours.json"
        reports+=(--instance "$OUT/$graph.json" --theirs "$OUT/$graph-dwave.json" \
            --ours "$OUT/$graph-ours.json")
    done
    e2e_grpc_latency
    "$VENV/bin/python" bench/sa_compare.py report "${reports[@]}" --grpc "$OUT/grpc.json"
}

main "$@"
