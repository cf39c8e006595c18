#!/usr/bin/env bash
# Ocean against the emulator: a venv with dwave-cloud-client and dwave-system from PyPI, and
# annealer-svc's SAPI front (debug build) on a loopback port; test_ocean.py changes nothing in
# the clients but the endpoint and token. Part of `make test`. Without PyPI it says SKIPPED
# (it never claims to have passed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/tests/python/.venv-ocean"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import dwave.cloud, dwave.system' 2>/dev/null; then
    if ! { "$PY" -m venv "$VENV" && "$VENV/bin/pip" install -q -r "$ROOT/tests/python/requirements-ocean.txt"; }; then
        echo "SKIPPED: Ocean test (cannot install dwave-cloud-client and dwave-system from PyPI)"
        exit 0
    fi
fi
# annealer-svc has no integration tests of its own, so `cargo test --workspace` does not build
# its binary: build it here, with exactly the command tests/docker/faults.sh's image build uses
# (deploy/build-local.sh --profile dev), so that the second finds everything built.
cargo build -q --locked -p annealer-svc -p trainer --bins --manifest-path "$ROOT/Cargo.toml"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/annealer-svc"
PORT="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
TOKEN="ocean-test-token"
LOG="$(mktemp)"
"$BIN" --sapi-listen "127.0.0.1:$PORT" --listen 127.0.0.1:0 --sapi-token "$TOKEN" --device-seed 7 \
    >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -f "$LOG"' EXIT
for _ in $(seq 100); do
    grep -q "sapi front listening" "$LOG" && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$LOG"; echo "FAILED: annealer-svc did not start"; exit 1; }
    sleep 0.1
done
# Only the endpoint and token: no dwave.conf, no environment of a real account.
unset DWAVE_API_TOKEN DWAVE_API_ENDPOINT DWAVE_API_REGION DWAVE_API_SOLVER DWAVE_CONFIG_FILE DWAVE_PROFILE
export HOME="$(mktemp -d)"
if ! "$VENV/bin/python" "$ROOT/tests/python/test_ocean.py" "http://127.0.0.1:$PORT/sapi/v2/" "$TOKEN"; then
    echo "--- annealer-svc log"; cat "$LOG"
    exit 1
fi
