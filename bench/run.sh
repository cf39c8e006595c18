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
echo "== trainer update: qahm vs numpy (bench/trainer_step.py: the same step, annealer samples given) =="
echo "   medians of ${STEP_REPEATS:-200 (default), 50 (paper)} updates. Real updates (in-process annealer) are split"
echo "   into phases; the wake phase runs alongside the annealer call. 'alone' is the update with the"
echo "   samples given and the cores free, as numpy's (plus the prior's update, which numpy leaves out)."
cargo build -q --release -p trainer --example step_bench
PY=bench/.venv/bin/python
# A default update takes about a millisecond, so 200 of them cost little and steady the median.
for preset in default paper; do
    repeats="${STEP_REPEATS:-$([ "$preset" = default ] && echo 200 || echo 50)}"
    ours=$(target/release/examples/step_bench "$preset" "$repeats")
    batch=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["batch"])' "$ours")
    dreams=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["dreams"])' "$ours")
    theirs=$("$PY" bench/trainer_step.py "$batch" "$dreams" "$repeats")
    "$PY" - "$preset" "$ours" "$theirs" <<'PY'
import json, sys
preset, ours, theirs = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
t = theirs["seconds_per_step"] * 1e3
print(f"{preset:>7}: batch {ours['batch']}, {ours['dreams']} reads at {ours['anneal_us']} us")
print(f"         real update {ours['step_ms']:.2f} ms: annealer call {ours['annealer_ms']:.2f} ms "
      f"alongside wake {ours['wake_ms']:.2f} ms, then sleep {ours['sleep_ms']:.2f} ms, "
      f"parameter updates {ours['update_ms']:.2f} ms")
print(f"         without the annealer: qahm {ours['compute_alone_ms']:.2f} ms | {theirs['tool']} "
      f"{t:.2f} ms | qahm/numpy {ours['compute_alone_ms'] / t:.3f}")
PY
done
