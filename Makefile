# Everything a fresh Debian/Ubuntu machine needs: `make run` opens the app, `make test` runs
# every test. Both install missing packages through scripts/install-deps.sh first.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)

.PHONY: all deps build run test bench bench-smoke format clean

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

bench:
	bash bench/run.sh

bench-smoke:
	bash bench/run.sh --smoke

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
