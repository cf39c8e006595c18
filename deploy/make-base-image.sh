#!/usr/bin/env bash
# Build the local base image `qahm/debian:bookworm` from Debian packages, for machines that
# cannot pull images from a registry but can reach a Debian mirror (directly or through apt's
# configured mirror/proxy).
#
#   deploy/make-base-image.sh            # build it if it does not exist yet (idempotent)
#   deploy/make-base-image.sh --force    # rebuild it even if it exists
#
# Environment:
#   QAHM_BASE_IMAGE      image to create (default qahm/debian:bookworm)
#   QAHM_DEBIAN_MIRROR   Debian mirror URL (default: the first bookworm `deb`/`URIs:` entry found
#                        in /etc/apt/sources.list{,.d/*}, else http://deb.debian.org/debian)
#   QAHM_BASE_INCLUDE    extra packages, comma-separated (e.g. ca-certificates). The qahm
#                        binaries only need glibc and libgcc-s (both in minbase) and speak
#                        plaintext gRPC, so nothing is added by default.
#
# Needs root (debootstrap) and a Docker engine. Installs debootstrap with apt-get if missing.
set -euo pipefail

IMAGE="${QAHM_BASE_IMAGE:-qahm/debian:bookworm}"
SUITE=bookworm
FORCE=0
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "make-base-image: unknown argument: $arg" >&2; exit 64 ;;
    esac
done

log() { echo "make-base-image: $*" >&2; }

if [[ $FORCE -eq 0 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "$IMAGE already exists ($(docker image inspect -f '{{.Id}}' "$IMAGE")); nothing to do (--force rebuilds)"
    exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else log "must run as root (debootstrap)"; exit 1; fi
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap with apt-get"
    "${SUDO[@]}" apt-get update
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap
fi

# The mirror apt already uses (so proxies/mirrors configured for this machine keep working).
detect_mirror() {
    local f uri
    # deb822 (.sources): a stanza with `URIs:` and a `Suites:` line containing plain "bookworm".
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -r $f ]] || continue
        uri=$(awk -v suite="$SUITE" '
            BEGIN { RS = ""; FS = "\n" }
            {
                u = ""; ok = 0
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/)   { split($i, a, /[ \t]+/); u = a[2] }
                    if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok = 1 }
                }
                if (ok && u != "") { print u; exit }
            }' "$f")
        if [[ -n $uri ]]; then echo "$uri"; return; fi
    done
    # One-line format: `deb [opts] URI bookworm main`.
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r $f ]] || continue
        uri=$(awk -v suite="$SUITE" '
            $1 == "deb" {
                i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite) { print $i; exit }
            }' "$f")
        if [[ -n $uri ]]; then echo "$uri"; return; fi
    done
    echo "http://deb.debian.org/debian"
}
MIRROR="${QAHM_DEBIAN_MIRROR:-$(detect_mirror)}"

KEYRING_OPT=()
if [[ -r /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
    KEYRING_OPT=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
fi
INCLUDE_OPT=()
if [[ -n ${QAHM_BASE_INCLUDE:-} ]]; then
    INCLUDE_OPT=(--include="$QAHM_BASE_INCLUDE")
fi

ROOTFS=$(mktemp -d /var/tmp/qahm-rootfs.XXXXXX)
cleanup() {
    # debootstrap mounts proc/sys inside the target; make sure nothing is mounted before rm -rf.
    local m
    for m in proc sys dev/pts dev; do
        mountpoint -q "$ROOTFS/$m" 2>/dev/null && "${SUDO[@]}" umount -l "$ROOTFS/$m" || true
    done
    "${SUDO[@]}" rm -rf --one-file-system "$ROOTFS"
}
trap cleanup EXIT

log "debootstrap --variant=minbase $SUITE from $MIRROR into $ROOTFS"
"${SUDO[@]}" debootstrap --variant=minbase "${KEYRING_OPT[@]}" "${INCLUDE_OPT[@]}" \
    "$SUITE" "$ROOTFS" "$MIRROR"

# Trim what a container never needs (in the spirit of debian:*-slim).
"${SUDO[@]}" chroot "$ROOTFS" apt-get clean
"${SUDO[@]}" rm -rf \
    "$ROOTFS"/var/lib/apt/lists/* \
    "$ROOTFS"/var/cache/apt/*.bin \
    "$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/* \
    "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
    "$ROOTFS"/usr/share/locale/* \
    "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/*
"${SUDO[@]}" find "$ROOTFS"/usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
# The image talks to the mirror it was built from, as debian:* images do.
echo "deb $MIRROR $SUITE main" | "${SUDO[@]}" tee "$ROOTFS/etc/apt/sources.list" >/dev/null

log "importing into docker as $IMAGE"
"${SUDO[@]}" tar --numeric-owner -C "$ROOTFS" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    --message "debootstrap --variant=minbase $SUITE $MIRROR (qahm deploy/make-base-image.sh)" \
    - "$IMAGE" >/dev/null

docker run --rm "$IMAGE" sh -c '. /etc/os-release && echo "make-base-image: $PRETTY_NAME, glibc $(ldd --version | head -n1 | awk "{print \$NF}")"' >&2
log "done: $(docker image ls --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}' "$IMAGE")"
