# Kiln's entry points. `make demo` and `make test` each set up, build and run;
# nothing else needs to be typed on a fresh machine.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
MLIR_DIR ?= /usr/lib/llvm-22/lib/cmake/mlir
CMAKE_BUILD_TYPE ?= Release

# ccache hits across clones: hash paths relative to the checkout.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
export CCACHE_COMPILERCHECK := content

.PHONY: all setup configure build test demo bench docs install clean format fuzz test-asan test-tsan

all: build

setup:
	@scripts/setup.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -G Ninja -S . -B $(BUILD_DIR) \
	  -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE) -DMLIR_DIR=$(MLIR_DIR)

configure: setup $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

demo: build
	@examples/run_demo.sh $(BUILD_DIR)

# Kiln against onnxruntime 1.30 (npm's onnxruntime-node, installed into
# $(BUILD_DIR)/bench on first use) on the CPU, same models, inputs and thread
# counts, in one run; prints a Markdown table (docs/benchmarks.md records
# one), also written to $(BUILD_DIR)/bench/results.md. About 4 minutes on
# 2 cores; BENCH_ARGS="--quick" for a short run, "--filter moe-decoder" for
# a subset (test/bench/bench_cpu.py --help).
BENCH_ARGS ?=
bench: build
	@scripts/bench.sh $(BUILD_DIR) $(BENCH_ARGS)

# Installs the Python module `kiln` (with libkiln_runtime.so beside it) where
# Debian's /usr/bin/python3 finds it: site.getsitepackages()[0], normally
# /usr/local/lib/python3.11/dist-packages (override with
# cmake -DKILN_PYTHON_INSTALL_DIR=...).
install: build
	cmake --install $(BUILD_DIR) --component python

# Regenerates docs/generated/ (op and pass reference) from the ODS files.
docs: configure
	cmake --build $(BUILD_DIR) --target mlir-doc
	mkdir -p docs/generated
	cp $(BUILD_DIR)/docs/Dialects/KilnOps.md docs/generated/KilnOps.md
	cp $(BUILD_DIR)/docs/Dialects/KilnPipelineOps.md docs/generated/KilnPipelineOps.md
	cp $(BUILD_DIR)/docs/Dialects/KilnBoundedOps.md docs/generated/KilnBoundedOps.md
	rm -f docs/generated/KilnPasses.md
	cp $(BUILD_DIR)/docs/Passes/*.md docs/generated/

# Fuzzing (test/fuzz, docs/ARCHITECTURE.md's Tests): builds the libFuzzer
# targets with clang-22, ASan and UBSan in $(FUZZ_BUILD_DIR) (never in
# $(BUILD_DIR)), runs each for FUZZ_SECONDS and prints each target's run
# count; fails on any crash, leak, sanitizer report or hang (inputs saved
# under $(FUZZ_BUILD_DIR)/findings/<target>/). FUZZ_TARGETS picks some of
# artifact npy onnx-tensor onnx-import mlir:
#   make fuzz FUZZ_SECONDS=20 FUZZ_TARGETS="npy onnx-tensor"
# `make test` replays the checked-in seeds and regressions of every target
# (ctest fuzz-replay.<target>), without sanitizers. More: scripts/fuzz.sh -h.
FUZZ_SECONDS ?= 60
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_TARGETS ?=
FUZZ_JOBS ?= 2
fuzz: setup
	@scripts/fuzz.sh -s $(FUZZ_SECONDS) -j $(FUZZ_JOBS) -d $(FUZZ_BUILD_DIR) $(FUZZ_TARGETS)

# The runtime under ASan (+ LeakSanitizer) and UBSan: clang-22 builds the
# runtime, its GoogleTest suite, kiln-run and the runtime fuzz targets'
# replays in $(ASAN_BUILD_DIR) (no compiler), and ctest runs them all (the
# tests take 2 minutes on 2 cores; the cold build took 12 on 2 busy ones).
# ASAN_TESTS="Npy|OnnxTensor" runs a subset (a ctest -R regex). More:
# scripts/test-asan.sh -h.
ASAN_BUILD_DIR ?= build-asan
ASAN_TESTS ?=
test-asan: setup
	@scripts/test-asan.sh -j $(FUZZ_JOBS) -d $(ASAN_BUILD_DIR) '$(ASAN_TESTS)'

# The runtime under ThreadSanitizer: clang-22 builds the runtime, its tests
# and kiln-run in $(TSAN_BUILD_DIR) (no compiler) and ctest runs them,
# including test/runtime/concurrency_test.cpp's threaded tests (and the
# Mixtral example from several threads when build/bin/kiln-compile exists).
# TSAN_TESTS="Concurrency" runs a subset. More: scripts/test-tsan.sh -h.
TSAN_BUILD_DIR ?= build-tsan
TSAN_TESTS ?=
test-tsan: setup
	@scripts/test-tsan.sh -j $(FUZZ_JOBS) -d $(TSAN_BUILD_DIR) '$(TSAN_TESTS)'

format:
	git ls-files '*.cpp' '*.h' '*.c' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
