#!/usr/bin/env bash
# The baselines table (issue 15 §3): the default preset with each prior, same networks, data,
# schedule and seeds, then `trainer eval` on each run; writes docs/compare/README.md (mean ± std
# over the seeds of every figure, plus wall time) and copies seed 1's generated digits beside it.
#
#   make compare                 # seeds 1 2 3 and the long twin of seed 1 (≈ 45 min on a 2-core
#                                # Zen 5, 12 of them the long twin; 55 without it on an Ice Lake Xeon)
#   SEEDS="1" make compare       # a quick look
#   DATA=~/usps-gpml DOCS=docs/compare-usps OUT=target/compare-usps \
#     VARIANTS="annealer boltzmann factorized" make compare   # another data set
#   EVAL_ONLY=1 make compare     # re-evaluate the runs already under target/compare (after a
#                                # change to `trainer eval`) and rewrite the table
#   TRAIN_ARGS="--wake-samples 1 --wake-recognition 0" DOCS=docs/compare-plain-wake \
#     OUT=target/compare-plain-wake make compare   # every variant with other training flags
#
# Variants: annealer at the preset's anneal time and at 5 µs (paper), annealer with ICE noise
# off (annealer-svc with --sigma-h 0 --sigma-j 0 and the in-process default's device seed 7,
# so only the noise differs), the annealer on the Advantage2 profile, Gibbs-Boltzmann and
# factorized priors; and the Boltzmann twin trained 20 times longer (1000 epochs, seed LONG_SEEDS:
# the first of SEEDS unless set; about 7 min a seed), which shows how far training length alone
# takes the samples.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-"1 2 3"}
OUT=${OUT:-target/compare}
DOCS=${DOCS:-docs/compare}
PORT=${PORT:-50071}
DATA=${DATA:-}
DATA_ARGS=()
if [ -n "$DATA" ]; then DATA_ARGS=(--data "$DATA"); fi
# Flags added to every training run (after the variant's own).
TRAIN_ARGS=${TRAIN_ARGS:-}
cargo build --release --locked -q -p trainer --bin trainer -p annealer-svc --bin annealer-svc
EVAL_ONLY=${EVAL_ONLY:-}
if [ -z "$EVAL_ONLY" ]; then rm -rf "$OUT"; fi
mkdir -p "$OUT" "$DOCS"

target/release/annealer-svc --listen "127.0.0.1:$PORT" --device-seed 7 --sigma-h 0 --sigma-j 0 \
  > "$OUT/annealer-quiet.log" 2>&1 &
quiet=$!
trap 'kill $quiet 2>/dev/null || true' EXIT

variant_args() {
  case "$1" in
    annealer) echo "--prior quantum" ;;
    annealer-5us) echo "--prior quantum --annealing-time 5" ;;
    annealer-noise-off) echo "--prior quantum --annealer http://127.0.0.1:$PORT" ;;
    annealer-advantage2) echo "--prior quantum --solver Advantage2_system1.5" ;;
    boltzmann) echo "--prior boltzmann" ;;
    factorized) echo "--prior factorized" ;;
    boltzmann-long) echo "--prior boltzmann --epochs 1000" ;;
  esac
}
FIRST_SEED=$(echo "$SEEDS" | awk '{print $1}')
LONG_SEEDS=${LONG_SEEDS:-$FIRST_SEED}
variant_seeds() {
  case "$1" in
    boltzmann-long) echo "$LONG_SEEDS" ;;
    *) echo "$SEEDS" ;;
  esac
}
ALL_VARIANTS="annealer annealer-5us annealer-noise-off annealer-advantage2 boltzmann factorized boltzmann-long"
VARIANTS=${VARIANTS:-$ALL_VARIANTS}
for v in $VARIANTS; do
  for s in $(variant_seeds "$v"); do
    run="$OUT/$v/s$s"
    if [ -z "$EVAL_ONLY" ]; then
      # shellcheck disable=SC2046,SC2086
      target/release/trainer train --preset default --seed "$s" $(variant_args "$v") \
        $TRAIN_ARGS "${DATA_ARGS[@]}" --run "$run" --quiet > "$OUT/$v-s$s.log" 2>&1
    fi
    target/release/trainer eval --run "$run" > "$run/eval.txt"
    echo "compare: $v seed $s: $(tail -1 "$OUT/$v-s$s.log")"
  done
  cp "$OUT/$v/s$(variant_seeds "$v" | awk '{print $1}')/pictures/generated.png" "$DOCS/$v-generated.png"
done
REGEN="SEEDS=\"$SEEDS\" make compare"
if [ -n "$DATA" ] || [ -n "$TRAIN_ARGS" ] || [ "$DOCS" != docs/compare ] ||
  [ "$VARIANTS" != "$ALL_VARIANTS" ]; then
  REGEN="DOCS=$DOCS OUT=$OUT VARIANTS=\"$VARIANTS\" $REGEN"
fi
if [ -n "$DATA" ]; then REGEN="DATA=$DATA $REGEN"; fi
if [ -n "$TRAIN_ARGS" ]; then REGEN="TRAIN_ARGS=\"$TRAIN_ARGS\" $REGEN"; fi
DATA_NAME=${DATA:-data/mnist-10k (shipped)} REGEN=$REGEN \
  python3 bench/compare_table.py "$OUT" "$DOCS" "$SEEDS" $VARIANTS
echo "compare: wrote $DOCS/README.md"
