# oci-genai-proxy: the two commands a new machine needs are `make run` and `make test`.
SHELL := /bin/bash
BUILD ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc)
# ctest runs one more test than there are cores: most end-to-end tests wait (tokens that expire,
# paced streams, deadlines), so the extra slot fills idle CPU.
TEST_JOBS ?= $(shell echo $$(( $$(nproc) + 1 )))
CONFIG ?= config/demo.yaml

.PHONY: all deps build run test test-release test-asan fuzz fuzz-ci bench format format-check clean

all: build

deps:
	@scripts/install-deps

# Release build of the daemon and the mock.
build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS) --target oci-genai-proxy oci-genai-mock

# Start the daemon on the bundled demo configuration.
run: build
	@if [ -x scripts/run-demo ]; then scripts/run-demo $(BUILD) $(CONFIG); \
	else exec $(BUILD)/oci-genai-proxy --config $(CONFIG); fi

# Normal and ASan+UBSan builds of the whole suite, each run through ctest; then every fuzz
# target briefly, so that a new crash fails.
test: format-check test-release test-asan fuzz-ci

test-release: deps
	@scripts/install-deps --test
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS) --timeout 300

test-asan: deps
	@scripts/install-deps --test
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DOGP_SANITIZE=ON \
		-DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1"
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(TEST_JOBS) --timeout 600

# libFuzzer (clang, ASan+UBSan): each target for FUZZ_SECONDS; FUZZ_TARGETS=fuzz_x to pick.
# New inputs go to $(BUILD_FUZZ)/work/<target>/corpus, crashes to .../artifacts.
fuzz:
	@scripts/fuzz --build $(BUILD_FUZZ) --seconds $(FUZZ_SECONDS) --jobs $(JOBS) $(FUZZ_TARGETS)

fuzz-ci:
	@scripts/fuzz --build $(BUILD_FUZZ) --seconds 15 --jobs $(JOBS)

# Micro-benchmarks (Release, Google Benchmark).
bench:
	@scripts/install-deps --bench
	cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DOGP_BENCH=ON -DOGP_TESTS=OFF
	cmake --build build-bench -j $(JOBS)
	@if [ -x scripts/bench ]; then scripts/bench build-bench; \
	else for b in build-bench/bench/bench_*; do [ -x "$$b" ] && "$$b"; done; fi

# Soak test of the Release build against the mock: mixed traffic for MINUTES, the daemon's RSS
# and fds every minute, PASS/FAIL (scripts/soak --help for the rate and the other options).
MINUTES ?= 30
.PHONY: soak
soak: build
	scripts/soak --minutes $(MINUTES) --build $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

# Fails (never skips) without clang-format: install-deps --test installs it (Debian's, v14).
format-check:
	@scripts/install-deps --test
	@command -v clang-format >/dev/null || \
		{ echo "format: clang-format not found (scripts/install-deps --test installs it)" >&2; exit 1; }
	@clang-format --dry-run --Werror $$(git ls-files '*.cpp' '*.hpp') && echo "format: OK"

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) build-bench
