# jwtgate: the single entry point. `make demo` runs the main job, `make test` runs every test.
# Both install what they need; nothing has to be set up by hand first.

CARGO ?= cargo
SHELL := /bin/bash

FACES := bindings-ffi bindings-python bindings-node

.PHONY: demo demo-rust test test-rust test-faces provider-deps fmt-check lint vectors bench bench-cross bench-fleet bench-border soak help \
	version-check notices notices-check dist dist-check dist-libs dist-python dist-node dist-c dist-go

help:
	@echo "make demo    - run the end-to-end demo (every face against a real provider; DEMO_KEEP=1 keeps the apps and their dashboards up)"
	@echo "make demo-rust - the core alone, with a local JWKS server"
	@echo "make test    - run every test (what CI runs)"
	@echo "make bench   - run the benchmarks and write benches/RESULTS.md"
	@echo "make bench-cross - only the one-run cross-language table (benches/RESULTS.md)"
	@echo "make bench-border - only the profile of each face's cache hit (benches/border/RESULTS.md)"
	@echo "make bench-fleet - only fleet mode on Redis: 4 instances, 2 faces (benches/fleet/RESULTS.md)"
	@echo "make soak    - every face at full speed with faults for SOAK_SECONDS (default 600; benches/soak/RESULTS.md; not in make test)"
	@echo "make dist    - every artifact into dist/: wheel + sdist, npm tarballs, C tarball, Go module proxy"
	@echo "make dist-check - install each artifact in an empty project without Rust and use it (runs make dist)"
	@echo "make vectors - regenerate tests/vectors/*.json from the committed test keys"
	@echo "make fuzz    - every cargo-fuzz target for FUZZ_SECONDS (default 60; nightly, not in make test)"
	@echo "make interop - the Python face against Keycloak, Ory Hydra and the test provider (downloads; not in make test)"

# The whole system end to end (examples/demo/run_demo.py): builds every face, starts the test
# OpenID provider and the FastAPI, Express and Go examples, runs the C example; then the fleet
# scene (a Python and a Node instance sharing one Redis) when redis-server is there or
# `make redis-deps` can install it (if it cannot, the demo says so and runs without it).
demo: provider-deps
	@$(MAKE) --no-print-directory redis-deps || echo "demo: redis-server could not be installed: the fleet scene will be skipped"
	$(MAKE) -C bindings-ffi build
	$(MAKE) -C examples/c
	$(MAKE) -C bindings-python build
	$(MAKE) -C bindings-node build
	cd examples/express_app && npm install --ignore-scripts --no-audit --no-fund --loglevel=error
	python3 examples/demo/run_demo.py

# The core alone: a JWKS server, minted tokens, results and cache stats (no other toolchain).
demo-rust:
	$(CARGO) run -q -p jwtgate-demo

# Cheap checks first: a formatting or lint failure ends the run in a minute, not after the suites.
# Then the packages as users install them (dist-check builds them once, in release).
test: fmt-check version-check lint test-rust test-faces test-fleet fuzz-smoke dist-check

fmt-check:
	$(CARGO) fmt --all -- --check

# Every manifest carries the workspace version (packaging/versions.py).
version-check:
	python3 packaging/versions.py

# Debug builds, one target dir. `cargo test` covers the workspace's default members: the core
# (unit, vectors, JWKS, introspection, provider, validator, Wycheproof tests), the vector
# generator and the FFI crate. The Python and Node crates are tested through their faces.
test-rust: provider-deps redis-deps
	$(CARGO) test --locked
	$(CARGO) run --locked -q -p jwtgate-vectorgen -- --check
	$(CARGO) run --locked -q -p jwtgate-differential

# redis-server and redis-cli (Debian's redis-server package) for the fleet tests, which start
# their own servers on free loopback ports and stop them by PID. Installed when missing.
.PHONY: redis-deps
redis-deps:
	@command -v redis-server >/dev/null && command -v redis-cli >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq redis-server >/dev/null; }

# The real OpenID provider (oidc-provider) the integration tests start on loopback.
provider-deps: tests/provider/node_modules/.installed

tests/provider/node_modules/.installed: tests/provider/package-lock.json
	cd tests/provider && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Each face has its own Makefile whose `test` target installs what it needs (venv, npm
# packages, valgrind) and runs that face's tests.
test-faces:
	@set -e; for face in $(FACES); do \
		if [ -f $$face/Makefile ]; then $(MAKE) -C $$face test; else echo "$$face: not present"; fi; \
	done

# Fleet mode across processes and faces (tests/fleet/run.py): Python and Node instances share
# a real Redis, then a 3-master Redis Cluster, and one counting provider.
.PHONY: test-fleet
test-fleet: redis-deps
	$(MAKE) -C bindings-python build
	$(MAKE) -C bindings-node build
	.venv/bin/python tests/fleet/run.py

# Clippy on every crate and target, warnings as errors (part of `make test`, so it cannot rot).
lint:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

vectors:
	$(CARGO) run -q -p jwtgate-vectorgen

# The core's pure-Rust unit tests under Miri (undefined behaviour, aliasing, leaks): parsing,
# the HTTP edge, claims, configuration and revocation. Tests that reach aws-lc (signatures,
# the keyed hashes of the result cache, sealing) or do I/O cannot run there. Needs the nightly
# miri and rust-src components (added with rustup when missing); not in `make test`, since the
# first build of the dependencies under Miri takes several minutes. Results: fuzz/README.md.
MIRI_TESTS := token:: json:: edge:: claims:: config:: cache::revocation::
.PHONY: miri
miri:
	rustup component list --toolchain nightly --installed | grep -q '^miri' \
		|| rustup component add --toolchain nightly miri rust-src
	CARGO_TARGET_DIR=target/miri $(CARGO) +nightly miri test -p jwtgate --lib -- $(MIRI_TESTS)

# cargo-fuzz targets (fuzz/README.md): nightly Rust, cargo-fuzz installed from crates.io when
# missing; every target runs FUZZ_SECONDS (default 60) from corpora seeded from tests/vectors.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := validate validate_structured issuers jwks introspection config
.PHONY: fuzz
fuzz: fuzz-deps
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		cargo +nightly fuzz run -O $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 || exit 1; \
	done

# cargo-fuzz from crates.io when missing (pinned: it generates nothing committed, but a new
# release must not change what `make test` runs), the seed corpora, one build of every target.
CARGO_FUZZ_VERSION := 0.13.2
.PHONY: fuzz-deps fuzz-smoke
fuzz-deps:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked --version $(CARGO_FUZZ_VERSION)
	python3 fuzz/seed.py
	cd fuzz && cargo +nightly fuzz build -O

# Part of `make test`: every target for FUZZ_SMOKE_SECONDS (default 5) from the seed corpora, so
# the targets cannot rot and a crash on a seed fails the run. The long runs are `make fuzz`.
FUZZ_SMOKE_SECONDS ?= 5
fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)

# Real providers on loopback, driven through the Python face (tests/interop/run.py, recipes in
# docs/providers.md): Keycloak from Maven Central, Ory Hydra built from the Go module proxy, the
# test provider. Not part of `make test`: the first run downloads ~180 MB and builds Hydra for
# minutes (cached in target/interop/). Writes target/interop/results.md;
# `make interop INTEROP_ARGS=--docs` also puts the table at the end of docs/providers.md.
.PHONY: interop
interop: provider-deps
	python3 tests/interop/run.py $(INTEROP_ARGS)

# One interleaved run: jwtgate from Rust, Python, Node, C and Go against each language's
# validators, five algorithms, hit and cold (benches/cross/README.md). Release builds only.
bench-cross:
	$(CARGO) build --release -q -p jwtgate-benches --bin cross_driver
	$(CARGO) build --release -q -p jwtgate-ffi
	$(MAKE) -C benches/cross/c
	cd benches/go && go build -tags jwtgate_release -o ../../target/cross-driver-go ./cross_driver
	$(MAKE) -C bindings-python build-release pyjwt-legacy
	$(MAKE) -C bindings-node release
	cd benches/node && npm ci --no-audit --no-fund --loglevel=error
	python3 benches/cross/run.py

# Fleet mode on Redis (benches/fleet/run.py): four instances, two Python and two Node processes,
# with and without one redis-server (started on a free loopback port, stopped by PID): provider
# calls, revocation propagation, L2 lookups against a bare GET and local verifies (plus a Go
# instance for the latency table). Release builds, copied to target/bench-fleet/faces so that a
# debug build made meanwhile (make test) does not end up in the figures. redis-py and PyJWT in
# benches/fleet/.venv, ioredis by npm ci, go-redis by go.sum, all pinned.
BENCH_FLEET_FACES := target/bench-fleet/faces
bench-fleet: redis-deps
	$(MAKE) -C bindings-python build-release
	$(MAKE) -C bindings-node release
	$(CARGO) build --release -q -p jwtgate-ffi
	rm -rf $(BENCH_FLEET_FACES) && mkdir -p $(BENCH_FLEET_FACES)/python $(BENCH_FLEET_FACES)/node
	cp -r bindings-python/python/jwtgate $(BENCH_FLEET_FACES)/python/
	cp bindings-node/package.json bindings-node/index.js bindings-node/jwtgate.*.node $(BENCH_FLEET_FACES)/node/
	cd benches/fleet/go && go build -tags jwtgate_release -o ../../../$(BENCH_FLEET_FACES)/go/instance .
	echo "$$(git rev-parse --short HEAD) $$(git status --porcelain --untracked-files=no -- core bindings-python bindings-node bindings-ffi | wc -l)" > $(BENCH_FLEET_FACES)/BUILD
	test -x benches/fleet/.venv/bin/python || python3 -m venv benches/fleet/.venv
	benches/fleet/.venv/bin/python -m pip install --quiet --disable-pip-version-check -r benches/fleet/requirements.txt
	cd benches/fleet && npm ci --no-audit --no-fund --loglevel=error
	benches/fleet/.venv/bin/python benches/fleet/run.py

# Release builds. Each part writes its table: benches/RESULTS.md (the cross-language run),
# benches/CORE.md, benches/LOAD.md (by hand from the two bins' output), benches/{python,node,go,http,fleet}/RESULTS.md.
bench: bench-cross bench-fleet bench-border
	$(CARGO) bench -p jwtgate-benches --bench core -- --warm-up-time 1 --measurement-time 3 2>&1 | tee target/bench-core.log
	python3 benches/report.py --log target/bench-core.log
	$(CARGO) run --release -q -p jwtgate-benches --bin memory | tee target/bench-memory.txt
	$(CARGO) run --release -q -p jwtgate-benches --bin provider_load | tee target/bench-provider-load.txt
	$(MAKE) -C bindings-python bench
	$(MAKE) -C bindings-node bench
	$(MAKE) -C bindings-ffi bench
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	cd examples/express_app && npm install --ignore-scripts --no-audit --no-fund --loglevel=error
	python3 benches/http/run.py

# Where a face's validation spends its time: each face's hit and cold loops under `perf record`
# (software sampling), the samples sorted into core / face glue / allocator / runtime
# (benches/border/RESULTS.md). perf is Debian's linux-perf.
bench-border:
	command -v perf >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq linux-perf >/dev/null; }
	command -v wrk >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk >/dev/null; }
	$(MAKE) -C bindings-python build-release
	$(MAKE) -C bindings-node release
	$(CARGO) build --release -q -p jwtgate-ffi
	cd examples/express_app && npm install --ignore-scripts --no-audit --no-fund --loglevel=error
	python3 benches/border/run.py

# Soak (benches/soak/README.md): a Python, a Node and a Go (C ABI) instance at full speed for
# SOAK_SECONDS with mixed traffic, while the test provider restarts with a rotated key, the
# introspection endpoint hangs and Redis is killed; checks that memory, threads and fds stay flat
# and every error is explained. A benchmark, so not in `make test`. Debug builds (the faces other
# sessions test with; copied to target/soak before the run). matplotlib (pinned in
# benches/soak/requirements.txt) goes to target/soak-plot with pip --target, for the PNG only.
SOAK_SECONDS ?= 600
SOAK_COMMAND ?= make soak SOAK_SECONDS=$(SOAK_SECONDS)
SOAK_PLOT := target/soak-plot
soak: redis-deps provider-deps
	$(MAKE) -C bindings-ffi lib
	$(MAKE) -C bindings-python build
	$(MAKE) -C bindings-node build
	mkdir -p target/soak
	cd benches/soak/go && go build -ldflags=-X=github.com/jwtgate/jwtgate-go.linkedLibrary=$$(stat -c %.9Y ../../../target/debug/libjwtgate_ffi.a) -o ../../../target/soak/go-instance .
	test -f $(SOAK_PLOT)/.installed -a $(SOAK_PLOT)/.installed -nt benches/soak/requirements.txt || { \
		.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade --target $(SOAK_PLOT) -r benches/soak/requirements.txt \
		&& touch $(SOAK_PLOT)/.installed; }
	.venv/bin/python benches/soak/run.py --seconds $(SOAK_SECONDS) --command "$(SOAK_COMMAND)"

# ---- packages (packaging/README.md) ----
# `make dist` writes every artifact into dist/ (git-ignored) with one release build each:
#   dist/jwtgate-VERSION-cp39-abi3-manylinux_2_17_x86_64...whl, dist/jwtgate-VERSION.tar.gz (sdist)
#   dist/npm/jwtgate-VERSION.tgz, dist/npm/jwtgate-linux-x64-gnu-VERSION.tgz
#   dist/libjwtgate-VERSION-x86_64-linux-gnu.tar.gz (the `make -C bindings-ffi install` tree)
#   dist/goproxy/ (GOPROXY=file://... layout: github.com/jwtgate/jwtgate-go and any nested module)
# Every binary targets glibc 2.17 (manylinux2014's floor; a build against this machine's glibc
# would need 2.34) with zig as C compiler and linker, from PyPI, no Docker: the C library and the
# Node addon in one `cargo zigbuild` (one build of the core for both), the wheel by maturin --zig.
# Each has a target dir of its own under target/dist-build/: zig makes every crate a different
# build from the development ones (and maturin's zig set-up differs from cargo-zigbuild's), so a
# shared dir would rebuild each time one of them ran.
VERSION = $(shell python3 packaging/versions.py --print)
HOST = $(shell rustc -vV | sed -n 's/^host: //p')
DIST := $(CURDIR)/dist
STAGE := $(CURDIR)/target/dist-stage
DIST_VENV := $(CURDIR)/target/dist-tools/venv
LIBS_TARGET_DIR := $(CURDIR)/target/dist-build/libs
WHEEL_TARGET_DIR := $(CURDIR)/target/dist-build/wheel
# DIST_AARCH64=1 adds the linux aarch64 artifacts, cross-built with the same zig: a
# manylinux_2_17_aarch64 wheel, jwtgate-linux-arm64-gnu, the aarch64 C tarball and lib/linux_arm64
# in the Go module. Not in `make test`: two more release builds, and dist-check has no aarch64
# machine to run them on (glibc_floor.py and auditwheel still check them).
DIST_AARCH64 ?=
ARCHS := x86_64 $(if $(DIST_AARCH64),aarch64)
libs_dir = $(LIBS_TARGET_DIR)/$(1)-unknown-linux-gnu/release
c_tree = $(STAGE)/c/libjwtgate-$(VERSION)-$(1)-linux-gnu
npm_platform = linux-$(if $(filter x86_64,$(1)),x64,arm64)-gnu
go_platform = linux_$(if $(filter x86_64,$(1)),amd64,arm64)
# GNU strip here reads x86_64 objects only; llvm-strip reads every architecture.
strip_for = $(if $(filter x86_64,$(1)),strip,llvm-strip)
C_TREE = $(call c_tree,x86_64)

notices:
	python3 packaging/notices.py

notices-check:
	python3 packaging/notices.py --check

$(DIST_VENV)/.installed: packaging/requirements.txt
	@test -x $(DIST_VENV)/bin/python || python3 -m venv $(DIST_VENV)
	$(DIST_VENV)/bin/pip install --quiet --disable-pip-version-check -r packaging/requirements.txt
	touch $@

dist: version-check notices-check
	rm -rf $(DIST) $(STAGE)
	mkdir -p $(DIST) $(STAGE)
	$(MAKE) dist-c
	$(MAKE) dist-node
	$(MAKE) dist-python
	$(MAKE) dist-go
	cd $(DIST) && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum > SHA256SUMS
	python3 packaging/versions.py --dist $(DIST)
	python3 packaging/glibc_floor.py --max 2.17 $(foreach a,$(ARCHS),$(call c_tree,$(a))/lib/libjwtgate.so.$(VERSION) \
		$(STAGE)/node-addon/jwtgate.$(call npm_platform,$(a)).node) $(DIST)/jwtgate-*.whl
	@du -sh $(DIST)/* | sed 's|$(DIST)/|dist/|'

# The C library and the Node addon: one release build per architecture, glibc 2.17.
dist-libs: $(DIST_VENV)/.installed
	set -e; $(foreach a,$(ARCHS),PATH=$(DIST_VENV)/bin:$$PATH CARGO_TARGET_DIR=$(LIBS_TARGET_DIR) \
		cargo zigbuild --locked --release --target $(a)-unknown-linux-gnu.2.17 -p jwtgate-ffi -p jwtgate-node;)

dist-c: dist-libs
	set -e; $(foreach a,$(ARCHS),\
		$(MAKE) -C bindings-ffi install PREFIX=$(call c_tree,$(a)) RELOCATABLE_PC=1 \
			LIB_DIR=$(call libs_dir,$(a)) STRIP=$(call strip_for,$(a)); \
		tar -C $(STAGE)/c --owner=0 --group=0 --sort=name -czf $(DIST)/$(notdir $(call c_tree,$(a))).tar.gz \
			$(notdir $(call c_tree,$(a)));)

# The addon is the crate's cdylib under napi's name (what `napi build --platform` does on Linux).
dist-node: dist-libs
	mkdir -p $(STAGE)/node-addon
	set -e; $(foreach a,$(ARCHS),\
		cp $(call libs_dir,$(a))/libjwtgate_node.so $(STAGE)/node-addon/jwtgate.$(call npm_platform,$(a)).node; \
		$(call strip_for,$(a)) --strip-unneeded $(STAGE)/node-addon/jwtgate.$(call npm_platform,$(a)).node;)
	python3 packaging/npm_pack.py --out $(DIST)/npm --stage $(STAGE)/npm \
		$(foreach a,$(ARCHS),--addon $(call npm_platform,$(a))=$(STAGE)/node-addon/jwtgate.$(call npm_platform,$(a)).node)

dist-python: $(DIST_VENV)/.installed
	set -e; $(foreach a,$(ARCHS),\
		cd $(CURDIR)/bindings-python && PATH=$(DIST_VENV)/bin:$$PATH CARGO_TARGET_DIR=$(WHEEL_TARGET_DIR) \
			maturin build --locked --release --zig --target $(a)-unknown-linux-gnu --compatibility manylinux2014 \
			--out $(DIST) --quiet; \
		$(DIST_VENV)/bin/auditwheel show $(DIST)/jwtgate-*_$(a).whl | tee $(STAGE)/auditwheel-$(a).txt; \
		tr '\n' ' ' < $(STAGE)/auditwheel-$(a).txt | grep -q 'consistent with the following platform tag: *"manylinux_2_17_$(a)"' \
			|| { echo "auditwheel: the wheel is not manylinux_2_17_$(a)"; exit 1; };)
	cd bindings-python && PATH=$(DIST_VENV)/bin:$$PATH maturin sdist --out $(DIST)

dist-go:
	python3 packaging/goproxy.py --out $(DIST)/goproxy --version $(VERSION) \
		$(foreach a,$(ARCHS),--lib $(call go_platform,$(a))=$(call c_tree,$(a))/lib/libjwtgate.a)

# Each artifact installed the way its users install it, in an empty project, with cargo and rustc
# off PATH (packaging/dist_check.py).
dist-check: dist
	python3 packaging/dist_check.py --dist $(DIST) --work $(CURDIR)/target/dist-check --zig-cc "$(DIST_VENV)/bin/python-zig cc"
