#!/usr/bin/env bash
# `make bench`: every comparison benchmark in one run.
#  1. annealer: our simulated annealing vs dwave-samplers on one C16 instance (same schedule,
#     reads and sweeps), plus end-to-end gRPC latency vs the modelled QPU access time;
#  2. trainer: one wake-sleep update without the annealer, ours vs a numpy reference.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash bench/sa_compare.sh

echo
echo "== trainer step (no annealer): qahm vs numpy, median of ${STEP_REPEATS:-20} steps =="
cargo build -q --release -p trainer --example step_bench
PY=bench/.venv/bin/python
for shape in "100 100" "8000 1000"; do
    set -- $shape
    ours=$(target/release/examples/step_bench "$1" "$2" "${STEP_REPEATS:-20}")
    theirs=$("$PY" bench/trainer_step.py "$1" "$2" "${STEP_REPEATS:-20}")
    "$PY" - "$ours" "$theirs" <<'PY'
import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
o, t = ours["seconds_per_step"], theirs["seconds_per_step"]
print(f"batch {ours['batch']:>5}, dreams {ours['dreams']:>5}: qahm {o*1e3:8.2f} ms "
      f"(wake {ours['wake']*1e3:.2f}, sleep {ours['sleep']*1e3:.2f}, update {ours['update']*1e3:.2f}) | "
      f"{theirs['tool']} {t*1e3:8.2f} ms | qahm/numpy {o/t:.3f}")
PY
done
