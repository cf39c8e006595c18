#!/usr/bin/env bash
# Build a local stand-in for `rust:1-bookworm`, `qahm/rust:bookworm`, for machines that cannot
# pull images: qahm/debian:bookworm (deploy/make-base-image.sh) + gcc/libc6-dev/ca-certificates
# from the Debian mirror + the host's own Rust toolchain (`rustc --print sysroot`, docs left out).
# With it, the source-building deploy/Dockerfile works unchanged:
#
#   deploy/make-builder-image.sh
#   docker build -f deploy/Dockerfile --target annealer \
#       --build-arg BUILDER_IMAGE=qahm/rust:bookworm --build-arg RUNTIME_IMAGE=qahm/debian:bookworm \
#       -t qahm/annealer .          # (mind the build context: see deploy/README.md)
#
# Idempotent (--force rebuilds). Containers need to reach the Debian mirror and, for the cargo
# build itself, crates.io. The toolchain must be a glibc x86_64/aarch64 Linux one (rustup's are).
# Locally added CA certificates of the host (/usr/local/share/ca-certificates/*.crt, e.g. of a
# TLS-intercepting proxy in front of crates.io) are trusted in the image too, as on the host;
# QAHM_HOST_CAS=0 leaves them out.
# Environment: QAHM_BUILDER_IMAGE_NAME (default qahm/rust:bookworm), QAHM_BASE_IMAGE.
set -euo pipefail

DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGE="${QAHM_BUILDER_IMAGE_NAME:-qahm/rust:bookworm}"
BASE="${QAHM_BASE_IMAGE:-qahm/debian:bookworm}"
log() { echo "make-builder-image: $*" >&2; }

if [[ ${1:-} != --force ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "$IMAGE already exists; nothing to do (--force rebuilds)"
    exit 0
fi

QAHM_BASE_IMAGE="$BASE" "$DEPLOY/make-base-image.sh"

SYSROOT=$(rustc --print sysroot)
log "toolchain: $(rustc --version) from $SYSROOT"
CTX=$(mktemp -d /var/tmp/qahm-builder-ctx.XXXXXX)
trap 'rm -rf "$CTX"' EXIT
mkdir -p "$CTX/rust"
for d in bin lib libexec etc; do
    [[ -d $SYSROOT/$d ]] && cp -a "$SYSROOT/$d" "$CTX/rust/"
done
mkdir -p "$CTX/ca"
if [[ ${QAHM_HOST_CAS:-1} != 0 ]]; then
    for crt in /usr/local/share/ca-certificates/*.crt; do
        [[ -r $crt ]] && cp "$crt" "$CTX/ca/" && log "trusting host CA $(basename "$crt")"
    done
fi
cat >"$CTX/Dockerfile" <<EOF
FROM $BASE
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
        gcc libc6-dev binutils ca-certificates pkg-config make \\
 && rm -rf /var/lib/apt/lists/*
COPY ca /usr/local/share/ca-certificates/
RUN update-ca-certificates
COPY rust /usr/local/rust
ENV CARGO_HOME=/usr/local/cargo \\
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /usr/local/cargo && chmod 1777 /usr/local/cargo && rustc --version && cargo --version
EOF
docker build -t "$IMAGE" "$CTX"
log "done: $(docker image ls --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}' "$IMAGE")"
