# qahm: common tasks. `make test` is the test command CI runs.
CARGO ?= cargo

.PHONY: test test-docker test-k8s lint fmt compare bench bench-sampler bench-service bench-embedding bench-load bench-proxy calibrate run-annealer build release clean

test:
	$(CARGO) test --workspace --locked
	bash tests/python/run.sh
	bash tests/python/ocean.sh
	bash tests/k8s/validate.sh
	bash tests/docker/faults.sh

# The compose stack under faults (annealer and trainer killed, the annealer cut off the
# network): images through the no-pull path, runs bit-identical to an uninterrupted one. Says
# SKIPPED without a Docker engine.
test-docker:
	bash tests/docker/faults.sh

# deploy/k8s offline: both overlays built by kustomize, validated against the Kubernetes API
# schemas (kubernetes-validate from PyPI) and checked for their wiring.
test-k8s:
	bash tests/k8s/validate.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

build:
	$(CARGO) build --workspace --locked

release:
	$(CARGO) build --workspace --release --locked

# Sampler throughput against dwave-samplers (installed from PyPI into bench/.venv), the
# end-to-end latency of a 1000-read request over gRPC, training updates against numpy, and
# clique embeddings against minorminer, all in one run.
bench:
	bash bench/run.sh

# The trainer service against the command line's path: wall time and parameters of a default
# run both ways, the cost of 10 watchers, Generate's latency while a run trains.
bench-service:
	$(CARGO) run --release -p trainer --example service_bench

# sapi-proxy's added latency on loopback: N (default 200) identical seeded 100-read requests,
# straight to annealer-svc's gRPC and through sapi-proxy in front of its SAPI front; p50/p99
# of each and of the difference. make bench-proxy N=500
N ?= 200
bench-proxy:
	$(CARGO) run --release --locked -p sapi-proxy --example proxy_latency -- $(N)

# Only the clique embeddings against minorminer's busclique and find_embedding (K60 on the
# recorded Advantage2_system1.5 graph, full Z12 and P16).
bench-embedding:
	bash bench/embed_compare.sh

# The emulator's anneal time against the chip: ring kink densities (King et al. 2022), K60 chain
# breaks, 1000-read wall time against the modelled QPU time, all through the gRPC API. One
# profile per run: make calibrate SOLVER=Advantage2_system1.5 (default DW_2000Q_5).
SOLVER ?= DW_2000Q_5
calibrate:
	bash bench/calibrate.sh --solver $(SOLVER)

# 64 Sample streams × 2 requests in flight against annealer-svc for 60 s on loopback:
# throughput, p50 / p99 latency, statuses (OK and RESOURCE_EXHAUSTED only), peak RSS.
compare:
	bash bench/compare.sh

bench-load:
	$(CARGO) build --release --locked -p annealer-svc --bin annealer-svc --example load_test
	target/release/examples/load_test $(LOAD_ARGS)

# Criterion micro-benchmarks of the sampler kernel alone.
bench-sampler:
	$(CARGO) bench -p qahm-emulator --bench sampler

run-annealer:
	$(CARGO) run --release -p annealer-svc -- --listen 127.0.0.1:50051

clean:
	$(CARGO) clean
