#!/usr/bin/env bash
# Build and run the compose stack on a machine that cannot pull images from any registry:
#
#   1. deploy/make-base-image.sh          -> qahm/debian:bookworm (debootstrap, once)
#   2. cargo build --release --locked      -> the two binaries on the host
#   3. stage a small build context         -> deploy/.context/{target/release/*,data,deploy/...}
#   4. docker compose build + up (deploy/Dockerfile.prebuilt), wait for the trainer to finish,
#      then docker compose down
#
# Usage (from anywhere):
#   deploy/up-local.sh                      # a full default training run into deploy/runs/latest
#   deploy/up-local.sh --iterations 20      # any extra `trainer train` arguments
#   QAHM_RUN_NAME=try2 deploy/up-local.sh --iterations 20
#
# Environment (besides the compose settings listed in deploy/docker-compose.yml):
#   CARGO_TARGET_DIR   where cargo builds (default <repo>/target); binaries are taken from
#                      $CARGO_TARGET_DIR/release unless QAHM_BINARY_DIR is set
#   QAHM_BINARY_DIR    take annealer-svc and trainer from this directory
#   QAHM_SKIP_CARGO=1  do not run cargo (use the binaries as they are)
#   QAHM_STRIP=0       keep debug info in the image binaries (default: strip --strip-debug)
#   QAHM_KEEP_UP=1     leave the annealer running after the trainer finishes (no `down`)
#   COMPOSE_PROJECT_NAME   default qahm
set -euo pipefail

DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$DEPLOY/.." && pwd)
log() { echo "up-local: $*" >&2; }

if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
else
    log "neither 'docker compose' nor 'docker-compose' is available"; exit 1
fi
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-qahm}"

# 1. Base image.
"$DEPLOY/make-base-image.sh"

# 2. Binaries.
if [[ ${QAHM_SKIP_CARGO:-0} != 1 && -z ${QAHM_BINARY_DIR:-} ]]; then
    log "cargo build --release --locked -p annealer-svc -p trainer (CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target})"
    (cd "$ROOT" && cargo build --release --locked -p annealer-svc -p trainer --bins)
fi
target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
[[ $target_dir = /* ]] || target_dir="$ROOT/$target_dir"
BIN_DIR="${QAHM_BINARY_DIR:-$target_dir/release}"
for bin in annealer-svc trainer; do
    [[ -x $BIN_DIR/$bin ]] || { log "missing $BIN_DIR/$bin (build it, or set QAHM_BINARY_DIR)"; exit 1; }
done

# 3. Staged context: the same layout as the repository root, holding only what
#    Dockerfile.prebuilt COPYs (the repository root itself is several GB of target*/ directories,
#    which the classic builder would send whole without a root .dockerignore).
CTX="$DEPLOY/.context"
rm -rf "$CTX"
mkdir -p "$CTX/target/release" "$CTX/deploy"
for bin in annealer-svc trainer; do
    if [[ ${QAHM_STRIP:-1} != 0 ]] && command -v strip >/dev/null 2>&1; then
        strip --strip-debug -o "$CTX/target/release/$bin" "$BIN_DIR/$bin"
    else
        cp "$BIN_DIR/$bin" "$CTX/target/release/$bin"
    fi
done
cp -a "$ROOT/data" "$CTX/data"
cp "$DEPLOY/Dockerfile.prebuilt" "$CTX/deploy/Dockerfile.prebuilt"
log "staged context: $(du -sh "$CTX" | cut -f1) ($BIN_DIR)"

export QAHM_DOCKERFILE=deploy/Dockerfile.prebuilt
export QAHM_RUNTIME_IMAGE="${QAHM_RUNTIME_IMAGE:-qahm/debian:bookworm}"
export QAHM_CONTEXT=.context   # relative to deploy/docker-compose.yml

# Runs directory on the host, writable by the trainer's user.
runs="${QAHM_RUNS_DIR:-./runs}"
[[ $runs = /* ]] || runs="$DEPLOY/${runs#./}"
mkdir -p "$runs"
export QAHM_RUNS_DIR="$runs"
if [[ -z ${QAHM_UID:-} ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        # Run as the invoking user so the run files belong to them.
        export QAHM_UID QAHM_GID
        QAHM_UID=$(id -u)
        QAHM_GID=$(id -g)
    else
        # Invoked as root: keep the image's non-root user and hand it the directory.
        chown 10001:10001 "$runs"
    fi
fi

if [[ $# -gt 0 ]]; then
    QAHM_TRAIN_ARGS="${QAHM_TRAIN_ARGS:-} $(printf '%q ' "$@")"
    export QAHM_TRAIN_ARGS
fi

# 4. Build, run, tear down.
compose=("${COMPOSE[@]}" -f "$DEPLOY/docker-compose.yml")
log "${compose[*]} build"
"${compose[@]}" build
rc=0
if [[ ${QAHM_KEEP_UP:-0} == 1 ]]; then
    "${compose[@]}" up -d annealer
    "${compose[@]}" run --rm trainer || rc=$?
    log "annealer left running; stop it with: ${compose[*]} down"
else
    log "${compose[*]} up --exit-code-from trainer"
    "${compose[@]}" up --exit-code-from trainer || rc=$?
    "${compose[@]}" down
fi
log "trainer exit code $rc; run directory: $runs/${QAHM_RUN_NAME:-latest}"
exit "$rc"
