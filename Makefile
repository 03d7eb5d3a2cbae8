# clawd-go. `make demo` plays a session through the example plugin;
# `make test` runs the tests (they compile their C plugins themselves).

GO ?= go
# CC defaults to cc (make's built-in); `make CC=clang examples` works.

HELLO_DIR := examples/c/hello
HELLO_LIB := $(HELLO_DIR)/libhello.so
GUARD_DIR := examples/c/guard
GUARD_LIB := $(GUARD_DIR)/libguard.so
# The plugin directories `make examples` builds; `make test` checks each.
EXAMPLE_PLUGINS := $(HELLO_DIR) $(GUARD_DIR)

# The examples in C++, Rust and Zig, each built by its own build file.
# `make examples` builds those whose toolchain is here; under
# REQUIRE_ALL_TOOLCHAINS (CI) all of them, so that a missing one fails.
# Zig: zig on PATH, else the one the Python package ziglang ships.
ZIG ?= $(shell command -v zig >/dev/null 2>&1 && echo zig || echo python3 -m ziglang)
REQUIRE_ALL := $(filter-out 0 false False FALSE,$(REQUIRE_ALL_TOOLCHAINS))
EXAMPLE_LANGS := $(strip \
	$(if $(or $(REQUIRE_ALL),$(shell command -v $(firstword $(CXX)))),cpp) \
	$(if $(or $(REQUIRE_ALL),$(shell command -v cargo)),rust) \
	$(if $(or $(REQUIRE_ALL),$(shell $(ZIG) version 2>/dev/null)),zig))
EXAMPLE_PLUGINS += $(foreach l,$(EXAMPLE_LANGS),examples/$(l)/hello)
# The WebAssembly examples (examples/wasm, a directory of plugin
# directories whose manifests say runtime = "wasm") build with Zig's
# toolchain, so they come with the Zig example.
WASM_DIR := examples/wasm
WASM_HELLO := $(WASM_DIR)/hello/hello.wasm
WASM_ZIG := $(WASM_DIR)/hello-zig/hello_zig.wasm
EXAMPLE_PLUGINS += $(if $(filter zig,$(EXAMPLE_LANGS)),$(WASM_DIR)/hello $(WASM_DIR)/hello-zig)
# The examples left out, and why: make test says so instead of dropping them.
SKIPPED_EXAMPLES := $(strip \
	$(if $(filter cpp,$(EXAMPLE_LANGS)),,cpp (no $(firstword $(CXX)) on PATH)) \
	$(if $(filter rust,$(EXAMPLE_LANGS)),,rust (no cargo on PATH)) \
	$(if $(filter zig,$(EXAMPLE_LANGS)),,zig and wasm (no $(ZIG) that runs)))

# staticcheck (release 2026.2.2) from the Go module proxy, pinned: a new
# release may add checks.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

BENCH_FLAGS := -run '^$$' -bench . -benchmem -count 3

CROSS_TARGETS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
# purego's fake cgo runtime needs the -std flag on FreeBSD.
FREEBSD_GCFLAGS := -gcflags=github.com/ebitengine/purego/internal/fakecgo=-std

.PHONY: all build examples demo test fuzz bench bench-lib bench-peers lint cross clean test-windows test-arm64 test-wasm-cxx test-cgocheck

all: build

build:
	$(GO) build ./...
	$(GO) build -o bin/clawd-plugin ./cmd/clawd-plugin

examples: $(HELLO_LIB) $(GUARD_LIB)

$(HELLO_LIB): $(HELLO_DIR)/hello.c include/clawd_plugin.h
	$(CC) -shared -fPIC -fvisibility=hidden -Iinclude $(CFLAGS) $(HELLO_DIR)/hello.c -o $@

$(GUARD_LIB): $(GUARD_DIR)/guard.c include/clawd_plugin.h
	$(CC) -shared -fPIC -fvisibility=hidden -Iinclude $(CFLAGS) $(GUARD_DIR)/guard.c -o $@

# More prerequisites of examples (and so of demo and test).
examples: $(addprefix example-,$(EXAMPLE_LANGS))

.PHONY: example-cpp example-rust example-zig clean-examples
example-cpp:
	$(MAKE) --no-print-directory -C examples/cpp/hello
example-rust:
	cd examples/rust/hello && cargo build --release --offline --quiet
example-zig: $(WASM_HELLO)
	$(MAKE) --no-print-directory -C examples/zig/hello ZIG="$(ZIG)"
	cp examples/zig/hello/zig-out/hello_zig.wasm $(WASM_ZIG)

# The C example's same source as a WebAssembly module, for the wasm
# runtime (with Zig's toolchain, so it is built where the Zig example is).
$(WASM_HELLO): $(HELLO_DIR)/hello.c include/clawd_plugin.h include/clawd_plugin_wasm.c
	$(ZIG) cc -target wasm32-wasi -mexec-model=reactor -O2 -Iinclude $(HELLO_DIR)/hello.c \
		include/clawd_plugin_wasm.c -Wl,-z,stack-size=65536 -Wl,--strip-debug -o $@

# demo first publishes the C example to a local index under build/ (with
# throwaway keys) and installs it from there by name, then plays a session
# through the installed copy, which must still match build/demo/plugins/clawd.lock.
# Then the example host (in process, then in the process sandbox), the C
# examples from their directory, and the WebAssembly examples
# (examples/wasm: the C and the Zig source as .wasm, in the wasm runtime).
# Each part starts with a "== " heading. A cold run (a fresh clone, every
# cache empty: Zig's, Cargo's target, Go's build cache) took 169 s on 2
# free cores, most of it Zig compiling the C libraries and compiler-rt of
# the native and the wasm32 target once and Go compiling the command's
# dependencies; a warm run takes seconds.
DEMO_COLD := about 90 seconds on 2 cores with every cache empty (downloads aside)
DEMO := build/demo
DEMO_CMD := $(DEMO)/clawd-plugin
demo: demo-heading examples
	@echo "== the clawd-plugin command and the example host ($(DEMO))"
	@rm -rf $(DEMO) && mkdir -p $(DEMO)/index
	$(GO) build -o $(DEMO_CMD) ./cmd/clawd-plugin
	$(GO) build -o $(DEMO)/host ./examples/host
	@echo "== publish the C example to a local index (throwaway keys), install it by name"
	@$(DEMO_CMD) keygen --out $(DEMO)/publisher >/dev/null
	@$(DEMO_CMD) keygen --out $(DEMO)/index-key >/dev/null
	$(DEMO_CMD) pack --key $(DEMO)/publisher.key $(HELLO_DIR) -o $(DEMO)/index/hello-1.0.0.tar.gz
	$(DEMO_CMD) index build --key $(DEMO)/index-key.key $(DEMO)/index
	$(DEMO_CMD) install --index $(DEMO)/index --index-key $(DEMO)/index-key.pub --dir $(DEMO)/plugins --yes hello
	$(DEMO_CMD) list --dir $(DEMO)/plugins
	@echo "== a session (examples/scripts/session.jsonl) through the installed plugin"
	$(DEMO_CMD) run --plugins $(DEMO)/plugins --events examples/scripts/session.jsonl
	@echo "== the example host (examples/host): the plugin in process, then in the process sandbox"
	$(DEMO)/host -plugin $(HELLO_LIB)
	$(DEMO)/host -plugin $(HELLO_LIB) -sandbox
	@echo "== the C examples from their directory: the session, then a guard that blocks a tool call"
	$(DEMO_CMD) run --plugins examples/c --events examples/scripts/session.jsonl
	$(DEMO_CMD) run --plugins examples/c --events examples/scripts/guard.jsonl
	@$(if $(filter zig,$(EXAMPLE_LANGS)),echo "== the WebAssembly examples (examples/wasm) in the wasm runtime",echo "== the WebAssembly examples: left out (no $(ZIG) that runs, to build them)")
	$(if $(filter zig,$(EXAMPLE_LANGS)),$(DEMO_CMD) run --plugins $(WASM_DIR) --events examples/scripts/session.jsonl)
	@echo "== done"

# Printed before the examples build, which is most of a cold run.
.PHONY: demo-heading
demo-heading:
	@echo "== make demo: the examples build first ($(strip c $(EXAMPLE_LANGS))); a cold run takes $(DEMO_COLD), a warm one seconds"

# -race needs cgo; the CGO_ENABLED=0 run covers the purego path: the
# packages that reach purego run again without cgo (the others compile to
# the same code either way, and every file with a cgo build constraint
# is in a package that imports purego), but for the command line's and
# the installer's, which reach it only through host and conformance (run
# here) and whose tests are about files and flags;
# test-cgocheck (which CI runs) checks with cgocheck2 the Go pointers that
# cross into C: it rebuilds the runtime and every dependency, so make test
# leaves it out. bench/'s report
# generator is tested (make lint vets bench/ and otel/, each a module of
# its own), so that it cannot rot; its benchmarks run under make bench.
# Then every example must pass the conformance suite (a warning does not
# fail it).
#
# The tests that cross-compile for another platform with Zig (a cold Zig
# cache first builds that platform's C library: minutes for Windows) run
# under test-windows and test-arm64 instead (cbuild.RequireCross), which CI
# runs; make test says so. The tests' C builds are cached across test
# binaries and runs (internal/cbuild; CLAWD_CBUILD_CACHE moves the cache).
# Test binaries run TEST_P at a time (go test -p): four times the CPUs, as
# most of them spend their time waiting for the child processes and
# sandboxes they start (on 2 cores, -p 8 ran the race pass in 162 s where
# -p 4 took 265 s, for the same CPU time).
CPUS := $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)
TEST_P ?= $(shell echo $$((4 * $(CPUS))))
test: examples
	@$(if $(SKIPPED_EXAMPLES),echo "make test: skipping examples: $(SKIPPED_EXAMPLES); REQUIRE_ALL_TOOLCHAINS=1 makes that a failure")
	@echo "make test: leaving out the cross builds with Zig ($(WINDOWS_BUILD_TESTS) in $(WINDOWS_BUILD_PKGS): make test-windows; $(ARM64_BUILD_TESTS) in $(ARM64_BUILD_PKGS): make test-arm64; $(WASMCXX_BUILD_TESTS) in $(WASMCXX_BUILD_PKGS): make test-wasm-cxx)"
	CGO_ENABLED=1 $(GO) test -p $(TEST_P) -race -count=1 ./...
	@echo "cd otel && $(GO) test -race -count=1 ./... (beside the next pass; its output follows it)"
	@log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	(cd otel && $(GO) test -race -count=1 ./... >"$$log" 2>&1) & otel=$$!; \
	deps=$$(CGO_ENABLED=0 $(GO) list -f '{{.ImportPath}}{{range .Deps}} {{.}}{{end}}' ./...) && \
	pkgs=$$(echo "$$deps" | awk '/ github.com\/ebitengine\/purego( |$$)/ && $$1 !~ /\/(cmd\/clawd-plugin|install)$$/ { print $$1 }') && test -n "$$pkgs" && \
	echo CGO_ENABLED=0 $(GO) test -p $(TEST_P) -count=1 $$pkgs && CGO_ENABLED=0 $(GO) test -p $(TEST_P) -count=1 $$pkgs; \
	status=$$?; wait $$otel; ostatus=$$?; echo "(otel)"; cat "$$log"; \
	test $$status -eq 0 && test $$ostatus -eq 0
	@echo "make test: leaving out cgocheck2 (make test-cgocheck)"
	cd bench && $(GO) test -count=1 ./cmd/...
	$(GO) build -o bin/clawd-plugin ./cmd/clawd-plugin
	@set -e; for d in $(EXAMPLE_PLUGINS); do echo "bin/clawd-plugin check $$d"; bin/clawd-plugin check $$d; done

# fuzz runs every Fuzz target of the module for FUZZTIME each, one
# package and target per run (go test -fuzz takes no more). The targets
# are found with go test -list, so a new one needs no change here; their
# seed corpora (and testdata/fuzz) already run under make test. FUZZFLAGS
# adds flags, e.g. FUZZFLAGS=-parallel=1 on a shared machine.
FUZZTIME ?= 30s
FUZZFLAGS ?=
fuzz:
	@list=$$($(GO) test -list '^Fuzz' ./...) || { echo "$$list"; exit 1; }; \
	echo "$$list" | awk '/^Fuzz/ { names = names " " $$1; next } /^ok/ { if (names != "") print $$2 names; names = "" }' | \
	while read -r pkg names; do \
		for n in $$names; do \
			echo "fuzz: $$pkg $$n for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$n\$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) $$pkg || exit 1; \
		done; \
	done

# bench/ is a module of its own (its peers, hashicorp/go-plugin and gRPC,
# must not become our dependencies): bench-peers runs it in both cgo modes,
# keeps the raw output in bench/results and writes the peers table and
# chart there (bench/cmd/benchreport), printing the table.
# bench-lib runs the library's own benchmarks; the root package's
# BenchmarkRuntimeRatio puts the same plugin source side by side in every
# runtime (native, process, wasm with and without deadlines) in one run.
bench: bench-lib bench-peers

bench-lib:
	CGO_ENABLED=1 $(GO) test $(BENCH_FLAGS) . ./loader/... ./internal/clawctx/... ./host/... ./isolate/... ./wasm/...
	CGO_ENABLED=0 $(GO) test $(BENCH_FLAGS) . ./loader/... ./internal/clawctx/... ./host/... ./isolate/... ./wasm/...
	cd otel && $(GO) test $(BENCH_FLAGS) .

bench-peers:
	@set -e; cd bench; mkdir -p results; for m in cgo:1 purego:0; do \
		echo "CGO_ENABLED=$${m#*:} go test $(BENCH_FLAGS) . (bench/)"; \
		CGO_ENABLED=$${m#*:} $(GO) test $(BENCH_FLAGS) . > results/bench-$${m%:*}.txt || { cat results/bench-$${m%:*}.txt; exit 1; }; \
		cat results/bench-$${m%:*}.txt; \
	done; \
	$(GO) run ./cmd/benchreport -o results cgo=results/bench-cgo.txt purego=results/bench-purego.txt

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt -l: not formatted:"; echo "$$out"; exit 1; fi
	CGO_ENABLED=1 $(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./...
	CGO_ENABLED=1 $(GO) run $(STATICCHECK) ./...
	CGO_ENABLED=0 $(GO) run $(STATICCHECK) ./...
	cd otel && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	cd bench && $(GO) vet ./...

cross:
	@set -e; for t in $(CROSS_TARGETS); do \
		echo "CGO_ENABLED=0 GOOS=$${t%/*} GOARCH=$${t#*/} go build ./..."; \
		CGO_ENABLED=0 GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build ./...; \
	done
	CGO_ENABLED=0 GOOS=freebsd GOARCH=amd64 $(GO) build $(FREEBSD_GCFLAGS) ./...

# The tests for other platforms, under an emulator (internal/crosstest):
# windows/amd64 under Wine (wine64), linux/arm64 under qemu-user
# (qemu-aarch64, with libc6-arm64-cross). Test binaries are cross-compiled
# with CGO_ENABLED=0; the C plugins the tests need are built with Zig for
# the target as they ask for them. Each prints the tests it could not run
# there, with the reason.
#
# Each first runs, natively, the tests that cross-compile for its platform
# with Zig (those that call cbuild.RequireCross; make test leaves them out):
# a new one is added to the lists below, and internal/crosstest's
# TestCrossBuildTestsListed fails until it is.
WINDOWS_BUILD_TESTS := TestNewBuildsAWindowsDLL TestPESymbols TestPESymbolsHostile
WINDOWS_BUILD_PKGS := ./cmd/clawd-plugin/ ./conformance/
ARM64_BUILD_TESTS := TestMultiPlatformPackage
ARM64_BUILD_PKGS := ./install/
# C++ built for wasm32 links libc++, which a cold Zig cache first compiles
# for that target: no emulator, but the same reason to leave it out.
WASMCXX_BUILD_TESTS := TestNewWASMCxxBuildsAndPassesCheck
WASMCXX_BUILD_PKGS := ./cmd/clawd-plugin/
cross-run = ^($(subst $(eval) ,|,$(strip $(1))))$$

test-windows:
	CLAWD_CROSS_BUILDS=windows ZIG="$(ZIG)" $(GO) test -count=1 -run '$(call cross-run,$(WINDOWS_BUILD_TESTS))' $(WINDOWS_BUILD_PKGS)
	ZIG="$(ZIG)" $(GO) run ./internal/crosstest -target windows/amd64

test-arm64:
	CLAWD_CROSS_BUILDS=arm64 ZIG="$(ZIG)" $(GO) test -count=1 -run '$(call cross-run,$(ARM64_BUILD_TESTS))' $(ARM64_BUILD_PKGS)
	ZIG="$(ZIG)" $(GO) run ./internal/crosstest -target linux/arm64

test-cgocheck:
	CGO_ENABLED=1 GOEXPERIMENT=cgocheck2 $(GO) test -p $(TEST_P) -count=1 ./loader/... ./internal/clawctx/... ./internal/reentry/...

test-wasm-cxx:
	CLAWD_CROSS_BUILDS=wasm-cxx ZIG="$(ZIG)" $(GO) test -count=1 -run '$(call cross-run,$(WASMCXX_BUILD_TESTS))' $(WASMCXX_BUILD_PKGS)

clean:
	rm -rf bin tmp cmd/clawd-plugin/tmp build
	rm -f $(HELLO_LIB) $(GUARD_LIB) $(WASM_HELLO) $(WASM_ZIG)

clean: clean-examples
clean-examples:
	$(MAKE) -C examples/cpp/hello clean
	$(MAKE) -C examples/zig/hello clean
	rm -rf examples/rust/hello/target
