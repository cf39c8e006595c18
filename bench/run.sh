#!/usr/bin/env bash
# `make bench`: every comparison benchmark in one run.
#  1. annealer: our simulated annealing vs dwave-samplers on one C16 instance (same schedule,
#     reads and sweeps), plus end-to-end gRPC latency vs the modelled QPU access time;
#  2. trainer: real updates of each preset split into phases (wake, annealer call, sleep,
#     parameter updates), next to a numpy reference of the same step (annealer samples given);
#  3. embedding: K60 on the recorded Advantage2_system1.5 graph, full Zephyr Z12 and Pegasus
#     P16, qahm's native clique embedding vs minorminer's busclique and find_embedding.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash bench/sa_compare.sh

echo
echo "== trainer update: qahm vs numpy (bench/trainer_step.py: the same step, annealer samples given) =="
echo "   medians of ${STEP_REPEATS:-200 (default), 50 (paper)} updates. Real updates (in-process annealer) are split"
echo "   into phases; the wake phase runs alongside the annealer call. 'alone' is the update with the"
echo "   samples given and the cores free, as numpy's (plus the prior's update, which numpy leaves out)."
echo "   The ratio is the median over ${STEP_ROUNDS:-5} paired rounds, ours then numpy's back to back: this"
echo "   machine's speed drifts by a third over minutes, which a single pair would read as a ratio."
cargo build -q --release -p trainer --example step_bench
PY=bench/.venv/bin/python
# A default update takes about a millisecond, so 200 of them cost little and steady the median.
for preset in default paper; do
    repeats="${STEP_REPEATS:-$([ "$preset" = default ] && echo 200 || echo 50)}"
    ours=$(target/release/examples/step_bench "$preset" "$repeats")
    batch=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["batch"])' "$ours")
    dreams=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["dreams"])' "$ours")
    pairs=()
    for _ in $(seq "${STEP_ROUNDS:-5}"); do
        pairs+=("$(target/release/examples/step_bench "$preset" "$repeats" alone)")
        pairs+=("$("$PY" bench/trainer_step.py "$batch" "$dreams" "$repeats")")
    done
    "$PY" - "$preset" "$ours" "${pairs[@]}" <<'PY'
import json, statistics, sys
preset, ours = sys.argv[1], json.loads(sys.argv[2])
rounds = [(json.loads(a), json.loads(b)) for a, b in zip(sys.argv[3::2], sys.argv[4::2])]
print(f"{preset:>7}: batch {ours['batch']}, {ours['dreams']} reads at {ours['anneal_us']} us")
print(f"         real update {ours['step_ms']:.2f} ms: annealer call {ours['annealer_ms']:.2f} ms "
      f"alongside wake {ours['wake_ms']:.2f} ms, then sleep {ours['sleep_ms']:.2f} ms, "
      f"parameter updates {ours['update_ms']:.2f} ms")
print(f"         without the annealer: wake {ours['alone_wake_ms']:.2f} ms, sleep "
      f"{ours['alone_sleep_ms']:.2f} ms, parameter updates {ours['alone_update_ms']:.2f} ms")
pairs = [(q["compute_alone_ms"], n["seconds_per_step"] * 1e3) for q, n in rounds]
ratios = sorted(q / n for q, n in pairs)
print("         paired rounds, qahm | " + rounds[0][1]["tool"] + " (ms): "
      + ", ".join(f"{q:.2f} | {n:.2f}" for q, n in pairs))
print(f"         qahm/numpy without the annealer: median {statistics.median(ratios):.3f} "
      f"(rounds {ratios[0]:.3f}-{ratios[-1]:.3f})")
PY
done

echo
bash bench/embed_compare.sh
