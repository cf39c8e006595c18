#!/usr/bin/env bash
# deploy/k8s offline: every overlay builds with kustomize (`kubectl kustomize`), every object it
# yields validates against the Kubernetes API schemas (kubernetes-validate from PyPI, --strict:
# unknown fields are errors), and check_manifests.py asserts what the deployment relies on
# (headless annealer Service, gRPC probes, the HPA's target, the trainer's dns:/// pool, Secrets
# referenced and never committed). No cluster needed. Part of `make test`; says SKIPPED for
# what it cannot do (no kubectl on the machine, no PyPI), never that it passed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/tests/k8s/.venv"
PY="${PYTHON:-python3}"
# The Kubernetes version whose schemas the manifests must satisfy: native gRPC probes are GA
# from 1.27; 1.30 is the oldest release still in the big clouds' standard support.
K8S_VERSION=1.30.0
if [ ! -x "$VENV/bin/kubernetes-validate" ]; then
    if ! { "$PY" -m venv "$VENV" && "$VENV/bin/pip" install -q -r "$ROOT/tests/k8s/requirements.txt"; }; then
        echo "SKIPPED: k8s manifests (cannot install kubernetes-validate from PyPI)"
        exit 0
    fi
fi
if ! command -v kubectl >/dev/null || ! kubectl kustomize --help >/dev/null 2>&1; then
    echo "SKIPPED: k8s manifests (no kubectl with kustomize on this machine; Debian has none recent enough)"
    exit 0
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# A copy, so that the hardware overlay's token file (never committed) can be a dummy.
cp -r "$ROOT/deploy/k8s" "$WORK/k8s"
printf 'DEV-dummy-token-for-validation\n' > "$WORK/k8s/overlays/hardware/dwave-token"
status=0
for overlay in emulator hardware; do
    out="$WORK/$overlay.yaml"
    kubectl kustomize "$WORK/k8s/overlays/$overlay" > "$out"
    # One document per file: kubernetes-validate reports per document anyway, but names files.
    if "$VENV/bin/kubernetes-validate" --strict -k "$K8S_VERSION" "$out" > "$WORK/$overlay.log" 2>&1; then
        echo "k8s: overlay $overlay: $(grep -c '^kind:' "$out") objects valid against Kubernetes $K8S_VERSION (strict)"
    else
        cat "$WORK/$overlay.log"
        echo "FAILED: k8s overlay $overlay does not validate"
        status=1
    fi
    "$VENV/bin/python" "$ROOT/tests/k8s/check_manifests.py" "$overlay" "$out" || status=1
done
exit $status
