#!/usr/bin/env bash
# `make bench`: every comparison benchmark in one run.
#  1. annealer: our simulated annealing vs dwave-samplers on one C16 instance (same schedule,
#     reads and sweeps), plus end-to-end gRPC latency vs the modelled QPU access time;
#  2. trainer: real updates of each preset split into phases (wake, annealer call, sleep,
#     parameter updates), next to a numpy reference of the same step (annealer samples given).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash bench/sa_compare.sh

echo
echo "== trainer update: qahm (real updates, in-process annealer) vs numpy (same step, samples given) =="
echo "   median of ${STEP_REPEATS:-50} updates per preset; compute = wake + sleep + updates (everything but the annealer call)"
cargo build -q --release -p trainer --example step_bench
PY=bench/.venv/bin/python
for preset in default paper; do
    ours=$(target/release/examples/step_bench "$preset" "${STEP_REPEATS:-50}")
    batch=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["batch"])' "$ours")
    dreams=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["dreams"])' "$ours")
    theirs=$("$PY" bench/trainer_step.py "$batch" "$dreams" "${STEP_REPEATS:-50}")
    "$PY" - "$preset" "$ours" "$theirs" <<'PY'
import json, sys
preset, ours, theirs = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
t = theirs["seconds_per_step"] * 1e3
print(f"{preset:>7}: batch {ours['batch']}, {ours['dreams']} reads at {ours['anneal_us']} us | qahm: "
      f"wake {ours['wake_ms']:.2f} ms, annealer {ours['annealer_ms']:.2f} ms (alongside wake), "
      f"sleep {ours['sleep_ms']:.2f} ms, updates {ours['update_ms']:.2f} ms, step {ours['step_ms']:.2f} ms | "
      f"{theirs['tool']}: {t:.2f} ms | compute qahm/numpy {ours['compute_ms'] / t:.3f}")
PY
done
