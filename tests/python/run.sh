#!/usr/bin/env bash
# The Python client test: a venv with grpcio from PyPI, stubs generated from the .proto files
# alone, and a run driven through them against `trainer serve`. Part of `make test`. Without
# PyPI it says SKIPPED (it never claims to have passed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/tests/python/.venv"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import grpc, grpc_tools' 2>/dev/null; then
    if ! { "$PY" -m venv "$VENV" && "$VENV/bin/pip" install -q -r "$ROOT/tests/python/requirements.txt"; }; then
        echo "SKIPPED: python client test (cannot install grpcio from PyPI)"
        exit 0
    fi
fi
STUBS="$(mktemp -d)"
trap 'rm -rf "$STUBS"' EXIT
"$VENV/bin/python" -m grpc_tools.protoc -I "$ROOT/proto" --python_out="$STUBS" \
    --grpc_python_out="$STUBS" qahm/trainer/v1/trainer.proto qahm/trainer/v1/config.proto
for d in qahm qahm/trainer qahm/trainer/v1; do touch "$STUBS/$d/__init__.py"; done
# The binaries exactly as `cargo test --workspace` (run before this in `make test`) builds
# them, so nothing is built twice: `cargo build -p` of one package would unify the
# dependencies' features differently (no dev-dependencies, one package) and rebuild half the
# tree.
cargo test -q --workspace --locked --no-run --manifest-path "$ROOT/Cargo.toml"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/trainer"
"$VENV/bin/python" "$ROOT/tests/python/test_trainer_service.py" "$BIN" "$STUBS" "$ROOT/data/mnist-10k"
