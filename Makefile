# moexp: the two commands for a fresh machine are `make demo` (the main job) and `make test`.
BUILD    ?= build
JOBS     ?= $(shell nproc)
DB       ?= results/moexp.db
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Exactly what moexp needs from Debian. libboost-filesystem-dev: Boost.Process
# 1.74 links boost_filesystem. libopenblas0-pthread: the reference BLAS is 57x slower for linear layers. libcurl,
# libarchive and libssl (MD5): `moexp data fetch`. libjemalloc-dev: the heap allocator of the training binaries
# (CMakeLists.txt, moexp_allocator).
PACKAGES := g++ make cmake ninja-build ccache libtorch-dev libcli11-dev libfmt-dev libtomlplusplus-dev \
            libsqlite3-dev sqlite3 libboost-dev libboost-filesystem-dev doctest-dev zlib1g-dev libopenblas0-pthread \
            libcurl4-openssl-dev libarchive-dev libssl-dev libsimdjson-dev libpng-dev libjpeg62-turbo-dev \
            libjemalloc-dev dataset-fashion-mnist chromium

export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_DIR ?= $(CURDIR)/.cache/ccache

.PHONY: deps configure build test test-asan fuzz fuzz-build fuzz-ci demo bench format format-check clean

# Only for `make bench`: the side-by-side references (the same LibTorch 1.13 from Python, and Optuna).
BENCH_PACKAGES := python3-torch python3-optuna bc

# Install the Debian packages in $(1) that are missing. Idempotent: a quick no-op when all are installed. Never
# purges anything (purging libhwloc15 removes LibTorch).
define install_missing
	@missing=$$(for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make: installing" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps:
	$(call install_missing,$(PACKAGES))
	@test -f /usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake || \
	  { echo "make deps: LibTorch's CMake config is missing; reinstall libtorch-dev"; exit 1; }

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DMOEXP_WERROR=ON \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=$$(command -v ccache || true)

configure: $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: deps
	$(MAKE) build
	ctest --test-dir $(BUILD) -j $(JOBS) --output-on-failure
	$(MAKE) test-asan
	$(MAKE) fuzz-ci

# libFuzzer targets (tests/fuzz) over the Torch-free parsers, built with clang + ASan + UBSan in $(FUZZ_BUILD).
# `make fuzz-ci`: 30 s per target (part of `make test`); `make fuzz`: 10 minutes each (FUZZ_SECONDS=...).
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_PACKAGES := clang-14 libclang-rt-14-dev

$(FUZZ_BUILD)/build.ninja:
	CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g1" \
	  -DMOEXP_FUZZ=ON -DMOEXP_SANITIZE=address,undefined,fuzzer-no-link -DMOEXP_WERROR=ON \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=$$(command -v ccache || true)

fuzz-build: deps
	$(call install_missing,$(FUZZ_PACKAGES))
	$(MAKE) $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

fuzz-ci: fuzz-build
	scripts/fuzz.sh $(CURDIR)/$(FUZZ_BUILD) 30

fuzz: fuzz-build
	scripts/fuzz.sh $(CURDIR)/$(FUZZ_BUILD) $(FUZZ_SECONDS)

# The whole suite again, built with AddressSanitizer + UndefinedBehaviorSanitizer (any report fails its test). -O1
# with line tables keeps it fast enough for CI and its stack traces readable. LeakSanitizer suppressions (LibTorch's
# own leaks only, each explained): tests/sanitizers/lsan.supp. The binaries the e2e tests start run without the
# exit-time leak check (LeakSanitizer's tracer crashes now and then at exit: tests/e2e/process.cpp says more).
ASAN_BUILD ?= build-asan
export ASAN_OPTIONS  := detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_odr_violation=1
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS  := suppressions=$(CURDIR)/tests/sanitizers/lsan.supp:print_suppressions=0

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g1" \
	  -DMOEXP_SANITIZE=address,undefined -DMOEXP_BUILD_BENCH=OFF -DMOEXP_WERROR=ON \
	  -DMOEXP_SLURM_DIR=/tmp/moexp-slurm-asan -DCMAKE_CXX_COMPILER_LAUNCHER=$$(command -v ccache || true)

test-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) -j $(JOBS) --output-on-failure

# The benchmarks (bench/RESULTS.md): each prints its own reference measured in the same run. About 28 minutes on
# 2 cores (the report bench generates a 1,000-run database once, 1 minute, kept in $(BUILD)/bench-report.db).
bench: deps
	$(call install_missing,$(BENCH_PACKAGES))
	$(MAKE) build
	cmake --build $(BUILD) --target moexp_bench_moe_stage moexp_bench_model_step moexp_bench_norm_relu moexp_bench_store moexp_bench_journal moexp_bench_report \
	  moexp_bench_coco_eval moexp_bench_nms moexp_bench_detection_loader moexp_bench_batches
	@echo "== 1. training throughput: moexp vs PyTorch-Python =="; bench/train_throughput.sh $(BUILD)/moexp
	@echo "== 2a. MoE stage cost vs the dense stage (channels-last, as moexp trains) =="; \
	  MOEXP_CHANNELS_LAST=1 $(BUILD)/bench/moexp_bench_moe_stage 2 5
	@echo "== 2b. ResNet-18 training step, MoE at stage 1 vs dense (channels-last) =="; \
	  MOEXP_CHANNELS_LAST=1 $(BUILD)/bench/moexp_bench_model_step resnet18 1 4 2 2 5
	@echo "== 2c. fused batch norm + ReLU vs LibTorch's =="; $(BUILD)/bench/moexp_bench_norm_relu 2 5
	@echo "== 2d. training batches: host gather vs a resident split (data.on_device) =="; \
	  $(BUILD)/bench/moexp_bench_batches 2 15
	@echo "== 3a. store ingest: moexp vs Optuna =="; bench/store_ingest.sh $(BUILD)/bench/moexp_bench_store
	@echo "== 3b. report and runs latency =="; $(BUILD)/bench/moexp_bench_report $(BUILD)/bench-report.db
	@echo "== 3c. journal ingest vs direct store writes =="; $(BUILD)/bench/moexp_bench_journal $(BUILD)/bench-journal
	@echo "== 4. sweep occupancy and overhead =="; bench/sweep_occupancy.sh $(BUILD)/moexp
	@echo "== 5. COCO evaluation, 5,000 images x 100 detections =="; $(BUILD)/bench/moexp_bench_coco_eval
	@echo "== 6. NMS, 5,000 candidates =="; $(BUILD)/bench/moexp_bench_nms
	@echo "== 7. detection input: decode, resize, batch =="; $(BUILD)/bench/moexp_bench_detection_loader

# The README's first command. It builds only the binary and its Torch plugin (not the tests or benchmarks), trains
# experiments/demo.toml and shows what was recorded (scripts/demo.sh). DEMO_EPOCHS=N overrides its epochs (CI: 1).
DEMO_EPOCHS ?=
demo: deps configure
	cmake --build $(BUILD) -j $(JOBS) --target moexp
	scripts/demo.sh ./$(BUILD)/moexp $(DB) $(DEMO_EPOCHS)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

# Every tracked C++ file formatted as .clang-format says (CI runs this; `make format` fixes what it finds).
format-check:
	$(call install_missing,clang-format)
	clang-format --dry-run --Werror $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
