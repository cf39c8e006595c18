#!/usr/bin/env bash
# `make calibrate`: the anneal-time calibration through the public gRPC API. Starts
# annealer-svc (device seed 7; the profile and any other flags from the arguments, e.g.
# `--solver Advantage2_system1.5`) on a free loopback port, runs
# trainer/examples/calibrate.rs against it (ring kink densities vs the chip, K60 chain
# breaks, 1000-read wall time vs modelled QPU time), and stops the server.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
cargo build -q --release --locked -p annealer-svc
cargo build -q --release --locked -p trainer --example calibrate
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
target/release/annealer-svc --listen "127.0.0.1:$PORT" --device-seed 7 "$@" >/dev/null 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done
target/release/examples/calibrate --annealer "http://127.0.0.1:$PORT"
