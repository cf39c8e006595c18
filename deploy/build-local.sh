#!/usr/bin/env bash
# Build the compose images without pulling any image: the images compose.yaml names
# (qahm/annealer, qahm/trainer, qahm/sapi-proxy), from host-built binaries on a debootstrapped
# Debian base. Afterwards `docker compose up -d` (or `docker-compose up -d`) runs them as they
# are: compose builds only what is missing.
#
#   1. deploy/make-base-image.sh             -> qahm/debian:bookworm (debootstrap, once)
#   2. cargo build --locked [--release]      -> annealer-svc, trainer, sapi-proxy on the host
#   3. a small staged build context          -> deploy/.context/ (binaries, data/, CA bundle)
#   4. docker build -f deploy/Dockerfile.prebuilt --target <each> -t <prefix>/<each>:<tag>
#
# Usage (from anywhere):
#   deploy/build-local.sh                    # release binaries (what users run)
#   deploy/build-local.sh --profile dev      # the debug profile (what tests/docker uses: no
#                                            # release build; same Dockerfile, same stages)
#
# Environment:
#   CARGO_TARGET_DIR   where cargo builds (default <repo>/target)
#   QAHM_BINARY_DIR    take the binaries from this directory instead (no cargo)
#   QAHM_SKIP_CARGO=1  do not run cargo (use the binaries as they are)
#   QAHM_STRIP=0       keep debug info in the image binaries (default: strip --strip-debug)
#   QAHM_IMAGE_PREFIX, QAHM_TAG   image names <prefix>/<name>:<tag> (default qahm, latest)
#   QAHM_IMAGES        which images (default "annealer trainer sapi-proxy")
#   QAHM_RUNTIME_IMAGE base image (default qahm/debian:bookworm, made by step 1)
set -euo pipefail

DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$DEPLOY/.." && pwd)
log() { echo "build-local: $*" >&2; }

PROFILE=release
while [[ $# -gt 0 ]]; do
    case "$1" in
        --profile) PROFILE="${2:?--profile needs release or dev}"; shift 2 ;;
        --profile=*) PROFILE="${1#--profile=}"; shift ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) log "unknown argument: $1"; exit 64 ;;
    esac
done
case "$PROFILE" in
    release) cargo_profile=(--release); profile_dir=release ;;
    dev|debug) cargo_profile=(); profile_dir=debug ;;
    *) log "--profile $PROFILE: expected release or dev"; exit 64 ;;
esac

PREFIX="${QAHM_IMAGE_PREFIX:-qahm}"
TAG="${QAHM_TAG:-latest}"
RUNTIME_IMAGE="${QAHM_RUNTIME_IMAGE:-qahm/debian:bookworm}"
read -r -a IMAGES <<< "${QAHM_IMAGES:-annealer trainer sapi-proxy}"
binary_of() { case "$1" in annealer) echo annealer-svc ;; *) echo "$1" ;; esac; }

# 1. Base image (only ours: a runtime image given by the caller is used as it is).
if [[ $RUNTIME_IMAGE == qahm/debian:bookworm ]]; then
    "$DEPLOY/make-base-image.sh"
fi

# 2. Binaries.
bins=()
for image in "${IMAGES[@]}"; do bins+=("$(binary_of "$image")"); done
if [[ ${QAHM_SKIP_CARGO:-0} != 1 && -z ${QAHM_BINARY_DIR:-} ]]; then
    packages=()
    for bin in "${bins[@]}"; do packages+=(-p "$bin"); done
    log "cargo build --locked ${cargo_profile[*]} ${packages[*]} --bins"
    (cd "$ROOT" && cargo build --locked "${cargo_profile[@]}" "${packages[@]}" --bins)
fi
target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
[[ $target_dir = /* ]] || target_dir="$ROOT/$target_dir"
BIN_DIR="${QAHM_BINARY_DIR:-$target_dir/$profile_dir}"
for bin in "${bins[@]}"; do
    [[ -x $BIN_DIR/$bin ]] || { log "missing $BIN_DIR/$bin (build it, or set QAHM_BINARY_DIR)"; exit 1; }
done

# 3. Staged context, laid out as the repository root, holding only what Dockerfile.prebuilt
#    COPYs (the root itself holds GBs of target*/ directories).
CTX="$DEPLOY/.context"
rm -rf "$CTX"
mkdir -p "$CTX/target/release" "$CTX/deploy"
for bin in "${bins[@]}"; do
    if [[ ${QAHM_STRIP:-1} != 0 ]] && command -v strip >/dev/null 2>&1; then
        strip --strip-debug -o "$CTX/target/release/$bin" "$BIN_DIR/$bin"
    else
        cp "$BIN_DIR/$bin" "$CTX/target/release/$bin"
    fi
done
cp -a "$ROOT/data" "$CTX/data"
cp "$DEPLOY/Dockerfile.prebuilt" "$CTX/deploy/Dockerfile.prebuilt"
# The sapi-proxy stage COPYs a CA bundle, and the classic builder runs every stage before the
# target: stage it whichever images are built.
bundle="${QAHM_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
if [[ -r $bundle ]]; then
    cp "$bundle" "$CTX/deploy/ca-certificates.crt"
elif [[ " ${IMAGES[*]} " == *" sapi-proxy "* ]]; then
    log "no CA bundle at $bundle for sapi-proxy (QAHM_CA_BUNDLE names one)"; exit 1
else
    : >"$CTX/deploy/ca-certificates.crt"
fi
log "staged context: $(du -sh "$CTX" | cut -f1) ($PROFILE binaries from $BIN_DIR)"

# 4. The images. Each is built separately, its target named (the classic builder builds every
#    stage up to the target, and all of them are cheap here).
for image in "${IMAGES[@]}"; do
    name="$PREFIX/$image:$TAG"
    log "docker build --target $image -t $name"
    docker build -q -f "$CTX/deploy/Dockerfile.prebuilt" --target "$image" \
        --build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" -t "$name" "$CTX" >/dev/null
done
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^$PREFIX/($(IFS='|'; echo "${IMAGES[*]}")):$TAG " >&2 || true
log "done; run them with: docker compose up -d   (docker-compose v1: docker-compose up -d)"
