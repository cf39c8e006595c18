# qahm: common tasks. `make test` is the test command CI runs.
CARGO ?= cargo

.PHONY: test lint fmt bench bench-sampler run-annealer build release clean

test:
	$(CARGO) test --workspace --locked
	bash tests/python/run.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

build:
	$(CARGO) build --workspace --locked

release:
	$(CARGO) build --workspace --release --locked

# Sampler throughput against dwave-samplers (installed from PyPI into bench/.venv) and the
# end-to-end latency of a 1000-read request over gRPC, all in one run.
bench:
	bash bench/run.sh

# Criterion micro-benchmarks of the sampler kernel alone.
bench-sampler:
	$(CARGO) bench -p qahm-emulator --bench sampler

run-annealer:
	$(CARGO) run --release -p annealer-svc -- --listen 127.0.0.1:50051

clean:
	$(CARGO) clean
