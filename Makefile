# Everything a fresh Debian/Ubuntu machine needs: `make run` opens the app, `make test` runs
# every test. Both install missing packages through scripts/install-deps.sh first.
BUILD_DIR ?= build
NOGUI_BUILD_DIR ?= build-nogui
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CXX ?= clang++
SOAK_SECONDS ?= 600
SANITIZERS ?= address thread

.PHONY: all deps build run test test-nogui package fuzz sanitize soak bench bench-smoke format \
	clean

all: build

deps:
	@bash scripts/install-deps.sh all

build: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) --parallel $(JOBS)

run: build
	$(BUILD_DIR)/bin/wstunnel

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 --parallel $(JOBS)

# The server side on its own: a build with WSTUNNEL_GUI=OFF builds and passes its tests, and
# neither its binaries nor the GUI build's wstunnel-remote load Widgets, Gui, QtKeychain or D-Bus.
test-nogui: build
	cmake -S . -B $(NOGUI_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DWSTUNNEL_GUI=OFF \
		$(CMAKE_FLAGS)
	cmake --build $(NOGUI_BUILD_DIR) --parallel $(JOBS)
	bash scripts/check-server-deps.sh $(NOGUI_BUILD_DIR)/bin/wstunnel \
		$(NOGUI_BUILD_DIR)/bin/wstunnel-remote $(BUILD_DIR)/bin/wstunnel-remote
	cd $(NOGUI_BUILD_DIR) && ctest --output-on-failure --timeout 600 --parallel $(JOBS)

# The two Debian packages, wstunnel and wstunnel-remote, into $(BUILD_DIR)/packages.
package: build
	bash packaging/debian/build-debs.sh $(BUILD_DIR) $(BUILD_DIR)/packages

# Only the libFuzzer targets (fuzz/), in a clang build of their own, each run FUZZ_SECONDS from its
# corpus. `make sanitize` runs them too, from its ASan build.
fuzz: deps
	cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_COMPILER=$(FUZZ_CXX) -DWSTUNNEL_FUZZ=ON -DWSTUNNEL_GUI=OFF -DWSTUNNEL_TESTS=OFF
	cmake --build $(FUZZ_BUILD_DIR) --parallel $(JOBS) --target fuzzers
	bash fuzz/run.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS)

# The hardening step, which replaces test-nogui and fuzz in CI (scripts/sanitize.sh), all without
# the GUI: one clang build with ASan, UBSan and fuzzer coverage checks the server binaries'
# libraries as test-nogui does, runs the unit, integration and e2e tests and every fuzz target for
# FUZZ_SECONDS (0: none); then TSan over the engine's thread. SANITIZERS=address leaves TSan out.
sanitize: deps
	JOBS=$(JOBS) BUILD_TYPE=$(BUILD_TYPE) BUILD_DIR=$(BUILD_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS) \
		FUZZ_CXX=$(FUZZ_CXX) bash scripts/sanitize.sh $(SANITIZERS)

# Not in CI: the real binaries under transfers, bursts, cuts and bad input for SOAK_SECONDS.
soak: build
	python3 tests/soak/soak.py --bin-dir $(BUILD_DIR)/bin --seconds $(SOAK_SECONDS)

bench:
	bash bench/run.sh

bench-smoke:
	bash bench/run.sh --smoke

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(NOGUI_BUILD_DIR) $(FUZZ_BUILD_DIR) build-asan build-tsan
