# frugal-operator: the commands a newcomer needs.
.PHONY: demo test build lint fmt crd emulator-setup api-server-setup e2e e2e-api-server bench bench-compare bench-compare-musl bench-binaries build-musl bench-scale bench-set-scale bench-org-compare profile

CARGO ?= cargo

build:
	$(CARGO) build --locked

## demo: start the AWS emulator, seed a messy account, then plan, apply and plan again.
demo: build emulator-setup
	bash scripts/demo.sh

## test: everything CI runs.
test: emulator-setup api-server-setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	for t in tests/emulator/test_*.py; do .venv/bin/python "$$t" || exit 1; done
	$(CARGO) test --locked
	$(MAKE) e2e-api-server

## e2e: the end-to-end suite against the cluster of FRUGAL_E2E_KUBECONFIG.
e2e: emulator-setup
	$(CARGO) test --locked --test e2e -- --ignored --test-threads=1

## e2e-api-server: the end-to-end suite without a cluster, on the API server of
## tests/api_server/ (never a cluster a developer's FRUGAL_E2E_KUBECONFIG names).
e2e-api-server: emulator-setup api-server-setup
	env -u FRUGAL_E2E_KUBECONFIG FRUGAL_E2E_API_SERVER=1 $(CARGO) test --locked --test e2e -- --ignored --test-threads=1

## crd: regenerate crds/ from the Rust types (one file per CRD, named by its singular).
crd: build
	./target/debug/frugal crd costpolicy > crds/costpolicy.yaml
	./target/debug/frugal crd notifier > crds/notifier.yaml
	./target/debug/frugal crd costpolicyset > crds/costpolicyset.yaml

emulator-setup:
	bash tests/emulator/setup.sh

## api-server-setup: the Kubernetes API server for CRDs that tests/api_server.rs runs against,
## built from Debian's sources into ~/.cache/frugal-operator/ once per machine (a no-op once built).
api-server-setup:
	python3 tests/api_server/build.py

fmt:
	$(CARGO) fmt --all

## bench: planner and end-to-end snapshot benchmarks, then the comparison with Cloud
## Custodian, and the controller with 500 policies (figures for docs/BENCHMARKS.md).
bench: emulator-setup
	$(CARGO) bench --locked --bench plan_snapshots
	$(CARGO) bench --locked --bench snapshots_e2e
	$(MAKE) bench-compare
	$(MAKE) bench-scale

## bench-compare: frugal vs Cloud Custodian (installed into .venv-c7n/) on the same seeded
## emulator accounts; rewrites docs/benchmarks.json and the generated part of docs/BENCHMARKS.md.
## BENCH_SIZES=small,large BENCH_RUNS=5 by default.
BENCH_SIZES ?= small,large
BENCH_RUNS ?= 5
bench-compare: emulator-setup
	$(CARGO) build --release --locked --bin frugal
	.venv/bin/python scripts/bench/compare.py --sizes $(BENCH_SIZES) --runs $(BENCH_RUNS)

## build-musl: the image's static binary (Rust's musl target with mimalloc, as the Dockerfile
## builds it; MIMALLOC_OPTIONS are the image's ENV, which the benches set).
## Needs the target's standard library (rustup) and musl-gcc (Debian's musl-tools), which
## compiles the C part (aws-lc).
MUSL_TARGET ?= $(shell uname -m)-unknown-linux-musl
MUSL_CC_VAR := CC_$(subst -,_,$(MUSL_TARGET))
FRUGAL_MUSL = $(or $(CARGO_TARGET_DIR),target)/$(MUSL_TARGET)/release/frugal
MIMALLOC_OPTIONS = MIMALLOC_ARENA_EAGER_COMMIT=0
build-musl:
	@command -v musl-gcc >/dev/null || { echo "musl-gcc missing: apt-get install musl-tools" >&2; exit 1; }
	rustup target list --installed | grep -qx $(MUSL_TARGET) || rustup target add $(MUSL_TARGET)
	$(MUSL_CC_VAR)=musl-gcc $(CARGO) build --release --locked --features mimalloc --bin frugal --target $(MUSL_TARGET)

## bench-compare-musl: `make bench-compare` with the image's static binary instead of the
## glibc build (rewrites the same figures, which then name the musl build).
bench-compare-musl: emulator-setup build-musl
	.venv/bin/python scripts/bench/compare.py --sizes $(BENCH_SIZES) --runs $(BENCH_RUNS) \
		--frugal $(FRUGAL_MUSL) $(addprefix --frugal-env ,$(MIMALLOC_OPTIONS)) --reproduce "make bench-compare-musl"

## bench-binaries: the glibc build, the musl build with musl's allocator, and the image's
## (musl with mimalloc and its options) side by side on the large account, audit and steady
## state (no Custodian; its CPU comes from the last bench-compare); rewrites
## docs/binaries.json and its part of docs/BENCHMARKS.md. The musl builds share every dependency.
BENCH_BINARY_RUNS ?= 3
BENCH_BINARIES_DIR = $(or $(CARGO_TARGET_DIR),target)/bench-binaries
bench-binaries: emulator-setup build-musl
	$(CARGO) build --release --locked --bin frugal
	mkdir -p $(BENCH_BINARIES_DIR)
	cp $(FRUGAL_MUSL) $(BENCH_BINARIES_DIR)/frugal-musl-mimalloc
	$(MUSL_CC_VAR)=musl-gcc $(CARGO) build --release --locked --bin frugal --target $(MUSL_TARGET)
	cp $(FRUGAL_MUSL) $(BENCH_BINARIES_DIR)/frugal-musl
	.venv/bin/python scripts/bench/binaries.py --size large --runs $(BENCH_BINARY_RUNS) --phases audit,steady \
		glibc=$(or $(CARGO_TARGET_DIR),target)/release/frugal musl=$(BENCH_BINARIES_DIR)/frugal-musl \
		musl+mimalloc=$(BENCH_BINARIES_DIR)/frugal-musl-mimalloc $(addprefix --env musl+mimalloc:,$(MIMALLOC_OPTIONS))

## profile: where frugal's CPU goes on the large account (perf, Cargo's `profiling` profile:
## release code with symbols); rewrites docs/profile.json and its part of docs/BENCHMARKS.md.
profile: emulator-setup
	$(CARGO) build --profile profiling --locked --bin frugal
	.venv/bin/python scripts/bench/profile.py --size large

## bench-scale: `frugal run` with 500 CostPolicies on one emulator account, against an
## in-memory API server; rewrites docs/controller-scale.json and its part of docs/BENCHMARKS.md.
BENCH_POLICIES ?= 500
bench-scale: emulator-setup
	$(CARGO) build --release --locked --bin frugal
	.venv/bin/python scripts/bench/controller_scale.py --policies $(BENCH_POLICIES)

## bench-set-scale: `frugal run` with one CostPolicySet of 500 accounts × 3 regions (1,500
## generated policies) on the real API server of tests/api_server/; rewrites
## docs/set-scale.json and its part of docs/BENCHMARKS.md.
BENCH_SET_ACCOUNTS ?= 500
bench-set-scale: emulator-setup api-server-setup
	$(CARGO) build --release --locked --bin frugal
	.venv/bin/python scripts/bench/set_scale.py --accounts $(BENCH_SET_ACCOUNTS)

## bench-org-compare: `frugal plan|apply` of two CostPolicySets vs c7n-org (installed into
## .venv-c7n-org/) over 50 accounts × 3 regions of the emulator; rewrites
## docs/org-compare.json and its part of docs/BENCHMARKS.md.
BENCH_ORG_ACCOUNTS ?= 50
bench-org-compare: emulator-setup
	$(CARGO) build --release --locked --bin frugal
	.venv/bin/python scripts/bench/org_compare.py --accounts $(BENCH_ORG_ACCOUNTS)
