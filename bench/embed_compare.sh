#!/usr/bin/env bash
# Compares qahm's clique embedding with minorminer's (busclique, and its general
# find_embedding heuristic) on the same graphs, in one run: K60 on the recorded
# Advantage2_system1.5 working graph (data/solvers/), on full Zephyr Z12 and on the Pegasus
# P16 fabric. Both tools run on this machine, one after the other; the ratio is only
# meaningful on an otherwise idle machine (the load is printed).
#
#   bash bench/embed_compare.sh
#   REPEATS=9 N=60 bash bench/embed_compare.sh
#   FIND_EMBEDDING=0 bash bench/embed_compare.sh   # skip minorminer's 15-20 s heuristic run
#
# Needs cargo and python3 (3.11+) with pip; creates bench/.venv on first use (minorminer and
# dwave-networkx from bench/requirements.txt).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source bench/venv.sh
PY="$VENV/bin/python"
N="${N:-60}"
REPEATS="${REPEATS:-5}"
FIND_EMBEDDING="${FIND_EMBEDDING:-1}"

ensure_venv
cargo build -q --release -p trainer --example embed_compare

echo "== clique embedding: K$N, qahm vs minorminer $("$PY" -c 'import minorminer; print(minorminer.__version__)')"
echo "   medians of $REPEATS runs each (minorminer.find_embedding: one seeded run); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
results=()
for graph in advantage2 z12 p16; do
    results+=("$("${CARGO_TARGET_DIR:-target}/release/examples/embed_compare" "$graph" "$N" "$REPEATS")")
    extra=()
    if [ "$graph" = advantage2 ] && [ "$FIND_EMBEDDING" = 1 ]; then extra=(--find-embedding); fi
    while IFS= read -r line; do results+=("$line"); done \
        < <("$PY" bench/embed_compare.py "$graph" "$N" "$REPEATS" "${extra[@]}")
done
echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "${results[@]}" <<'PY'
import json, sys
rows = [json.loads(a) for a in sys.argv[1:]]
ours = {r["graph"]: r for r in rows if r["tool"] == "qahm"}
print(f"   {'graph':<11} {'tool':<11} {'qubits':>6} {'chains':>7} {'time':>11}   vs qahm")
for r in rows:
    ms = r["ms"]
    time = f"{ms / 1e3:.2f} s" if ms >= 1e3 else f"{ms:.1f} ms"
    note = ""
    if r["tool"] != "qahm":
        q = ours[r["graph"]]
        note = (f"qahm: {q['qubits'] - r['qubits']:+d} qubits, longest chain "
                f"{q['max_chain'] - r['max_chain']:+d}, time x{q['ms'] / ms:.2g}")
        if not r.get("valid", True):
            note += " (INVALID embedding)"
    chains = f"{r['min_chain']}-{r['max_chain']}"
    print(f"   {r['graph']:<11} {r['tool']:<11} {r['qubits']:>6} {chains:>7} {time:>11}   {note}")
PY
