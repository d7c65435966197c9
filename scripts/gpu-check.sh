#!/bin/bash
# The GPU check, in two steps (docs/gpu.md):
#   scripts/gpu-check.sh fetch   on a Debian 12 machine with its package registry: `apt-get download` the .debs moexp
#                                builds against, with every library they need at run time except the C and C++
#                                runtimes, into .cache/gpu-debs (git-ignored; carry it to the GPU machine)
#   scripts/gpu-check.sh [run]   on a machine with an NVIDIA GPU and a CUDA PyTorch but no registry: unpack the .debs
#                                into .cache/gpu-prefix with dpkg -x, build moexp against PyTorch's LibTorch, train and
#                                evaluate the demo on CUDA, train a ResNet-18-MoE on CIFAR-shaped synthetic data for a
#                                fixed number of steps next to the same model in PyTorch eager mode
#                                (bench/train_reference.py) with an MFU estimate, then run the test suite in the time
#                                that is left. Every stage has a time limit, so a summary always comes back; it and the
#                                logs are written to $OUT as they grow when OUT is set.
set -uo pipefail
cd "$(dirname "$0")/.."
DEBS=.cache/gpu-debs
PREFIX=$PWD/.cache/gpu-prefix
BUILD=build-gpu
PY=${PYTHON:-python3}
STEPS=${STEPS:-200}
BATCH=${BATCH:-128}
CTEST_SECONDS=${CTEST_SECONDS:-150}
# The build dependencies (Makefile PACKAGES, less the toolchain, LibTorch and the demo data) and bc for the figures.
PACKAGES="libcli11-dev libfmt-dev libtomlplusplus-dev libsqlite3-dev sqlite3 libboost1.74-dev libboost-filesystem1.74-dev
  doctest-dev zlib1g-dev libcurl4-openssl-dev libarchive-dev libssl-dev libsimdjson-dev libpng-dev libjpeg62-turbo-dev libjemalloc-dev bc"
# Left out of the closure: the C and C++ runtimes and toolchain, which the GPU machine has in newer versions.
EXCLUDE='^(dpkg|install-info|tar|gcc-12-base|libc6|libc6-dev|libc-dev-bin|libcrypt1|libcrypt-dev|libgcc-s1|libgcc-12-dev|libstdc\+\+6|libstdc\+\+-12-dev|libasan8|libatomic1|libgomp1|libitm1|liblsan0|libquadmath0|libtsan2|libubsan1|linux-libc-dev|libnsl-dev|libnsl2|libtirpc-common|libtirpc-dev|libtirpc3|rpcsvc-proto|libselinux1|libpcre2-8-0|libmd0)$'

if [ "${1:-run}" = fetch ]; then
  rm -rf "$DEBS" && mkdir -p "$DEBS"
  closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances $PACKAGES | grep -v '^[ <]' | sort -u | grep -Ev "$EXCLUDE")
  (cd "$DEBS" && apt-get download $closure) || exit 1
  echo "gpu-check fetch: $(ls "$DEBS" | wc -l) packages, $(du -sh "$DEBS" | cut -f1)"
  exit 0
fi

OUTDIR=${OUT:-$PWD}
SUMMARY=$OUTDIR/gpu-check.summary.txt
: >"$SUMMARY"
log() { echo "gpu-check: $*" | tee -a "$SUMMARY"; }
elapsed() { echo $(( $(date +%s) - T0 )); }
T0=$(date +%s)
log "host: $(. /etc/os-release && echo "$PRETTY_NAME"), $(nproc) cores, $(g++ --version | head -1)"
log "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader)"
log "$($PY -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "C++11 ABI", torch._C._GLIBCXX_USE_CXX11_ABI, "cuda available", torch.cuda.is_available())' 2>&1 | tail -1)"

# 1. Unpack the Debian packages into a private prefix (no root, no registry).
ls "$DEBS"/*.deb >/dev/null 2>&1 || { log "no .debs in $DEBS; run 'scripts/gpu-check.sh fetch' first"; exit 1; }
mkdir -p "$PREFIX"
for deb in "$DEBS"/*.deb; do dpkg-deb -x "$deb" "$PREFIX"; done
# Absolute links (zlib1g-dev's libz.so -> /lib/x86_64-linux-gnu/libz.so.1.2.13) point inside the prefix instead.
find "$PREFIX" -type l -lname '/*' | while read -r link; do
  target=$(readlink "$link"); [ -e "$PREFIX$target" ] && ln -sfn "$PREFIX$target" "$link"
done
LIBDIRS="$PREFIX/usr/lib/x86_64-linux-gnu:$PREFIX/lib/x86_64-linux-gnu"
# Only moexp's own processes see the Debian libraries; Python and the build tools keep the machine's.
with_debian_libs() { LD_LIBRARY_PATH="$LIBDIRS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
export PATH="$PATH:$PREFIX/usr/bin"   # bc and sqlite3 from the prefix only where the machine lacks them
# The machine's CMake when it has one (a CMake that knows its CUDA), else Debian's from the prefix.
CMAKE=$(command -v cmake || true)
[ -n "$CMAKE" ] || { log "no cmake on the machine"; exit 1; }
log "$($CMAKE --version | head -1), ninja $(ninja --version), nvcc $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*')"

# 2. Build against PyTorch's CUDA LibTorch (found by CMakeLists.txt through MOEXP_PYTHON): moexp first, the tests after.
start=$(date +%s)
rm -f "$BUILD/CMakeCache.txt"  # a fresh configure: a library found in an earlier run is looked for again
CMAKE_POLICY_VERSION_MINIMUM=3.5 "$CMAKE" -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMOEXP_PYTHON="$PY" \
  -DCMAKE_PREFIX_PATH="$PREFIX/usr;$PREFIX/usr/lib/x86_64-linux-gnu/cmake" -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DCMAKE_CXX_FLAGS="-I$PREFIX/usr/include -I$PREFIX/usr/include/x86_64-linux-gnu" \
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$LIBDIRS -Wl,--disable-new-dtags,-rpath,$LIBDIRS" \
  -DCMAKE_SHARED_LINKER_FLAGS="-Wl,-rpath-link,$LIBDIRS -Wl,--disable-new-dtags,-rpath,$LIBDIRS" \
  >"$OUTDIR/gpu-check.configure.log" 2>&1
configured=$?
grep -E "moexp:|Error|error" "$OUTDIR/gpu-check.configure.log" | head -20 | tee -a "$SUMMARY"
[ $configured = 0 ] || { log "configure failed (exit $configured): gpu-check.configure.log"; tail -40 "$OUTDIR/gpu-check.configure.log"; exit 1; }
"$CMAKE" --build "$BUILD" -j "$(nproc)" --target moexp moexp_torch -- -k 0 >"$OUTDIR/gpu-check.build.log" 2>&1 ||
  { log "build of moexp failed: gpu-check.build.log"; grep -E "error" "$OUTDIR/gpu-check.build.log" | sort -u | head -40; exit 1; }
log "build of moexp: $(( $(date +%s) - start )) s"

# 3. Train and evaluate the demo on CUDA through the binary (DEMO=0 leaves it out).
DB=$PWD/$BUILD/gpu-check.db
rm -f "$DB"
if [ "${DEMO:-1}" = 1 ]; then
with_debian_libs timeout 180 "$BUILD/moexp" train experiments/demo.toml --db "$DB" --device auto \
  --set data.dataset=synthetic --set data.synthetic_train=4096 --set data.synthetic_test=1000 --set train.epochs=2 \
  >"$OUTDIR/gpu-check.demo.log" 2>&1; rc=$?
log "demo train (exit $rc): $(tail -2 "$OUTDIR/gpu-check.demo.log" | tr '\n' ' ')"
with_debian_libs timeout 120 "$BUILD/moexp" evaluate 1 --db "$DB" --k all >>"$OUTDIR/gpu-check.demo.log" 2>&1; rc=$?
log "demo evaluate (exit $rc)"; grep -iE "acc|k=" "$OUTDIR/gpu-check.demo.log" | tail -6 | sed 's/^/  /' | tee -a "$SUMMARY"
fi

# 4. ResNet-18-MoE (stage 3, 16 experts, k=2) on CIFAR-shaped synthetic data: moexp vs PyTorch eager, same GPU.
N=$((STEPS * BATCH))
# r18_train LOG [--set ...]: one epoch of N images through moexp on CUDA, its output in $OUTDIR/LOG; sets rc.
r18_train() {
  local log_file=$1; shift
  with_debian_libs timeout 240 "$BUILD/moexp" train experiments/demo.toml --db "$DB" --device cuda \
    --set model.arch=resnet18 --set moe.position=[3] --set moe.num_experts=16 --set moe.k=2 \
    --set data.dataset=synthetic --set data.synthetic_channels=3 --set data.synthetic_image_size=32 \
    --set data.synthetic_classes=100 --set data.synthetic_train=$N --set data.limit_train=0 --set data.synthetic_test=500 \
    --set train.batch_size=$BATCH --set train.epochs=1 "$@" >"$OUTDIR/$log_file" 2>&1; rc=$?
}
images_per_s() { grep -E '^epoch +1/1 ' "$OUTDIR/$1" | grep -oE '[0-9.]+ img/s' | cut -d' ' -f1; }
r18_train gpu-check.r18.log
log "moexp ResNet-18-MoE (exit $rc): $(tail -1 "$OUTDIR/gpu-check.r18.log")"
moexp_ips=$(images_per_s gpu-check.r18.log)
# The same with the experts run as one grouped computation (moe.dispatch = "grouped"; issue 17).
r18_train gpu-check.r18-grouped.log --set moe.dispatch=grouped
grouped_ips=$(images_per_s gpu-check.r18-grouped.log)
log "moexp ResNet-18-MoE grouped experts (exit $rc): ${grouped_ips:-?} img/s against ${moexp_ips:-?} per expert"
timeout 240 $PY bench/train_reference.py --arch resnet18 --position 3 --experts 16 --k 2 --synthetic $N --steps $STEPS \
  --batch-size $BATCH --device cuda --bf16 --channels-last >"$OUTDIR/gpu-check.reference.log" 2>&1; rc=$?
log "PyTorch eager reference (exit $rc): $(grep 'steps:' "$OUTDIR/gpu-check.reference.log")"
py_ips=$(grep 'steps:' "$OUTDIR/gpu-check.reference.log" | sed -E 's/.* ([0-9.]+) images\/s.*/\1/')
# MFU: ResNet-18 at 32x32 is about 0.56 G multiply-adds per image forward, 1.12 GFLOP (1 MAC = 2 FLOPs), x3 for
# forward + backward; the MoE stage 3 with 2 of 16 narrow experts about matches the dense stage. Peak: H100 / H200
# bf16 dense 989 TFLOP/s (override with PEAK_TFLOPS).
peak=${PEAK_TFLOPS:-989}
mfu() { [ -n "$1" ] && echo "scale=3; $1 * 0.56 * 2 * 3 / ($peak * 1000) * 100" | bc -l; }
ratio=$([ -n "$moexp_ips" ] && [ -n "$py_ips" ] && echo "scale=2; $moexp_ips / $py_ips" | bc -l)
log "ResNet-18-MoE(E=16,k=2,stage 3) bf16 channels-last, batch $BATCH, $STEPS steps: moexp ${moexp_ips:-?} img/s (MFU $(mfu "$moexp_ips") %), PyTorch eager ${py_ips:-?} img/s (MFU $(mfu "$py_ips") %), ratio ${ratio:-?}"

# 4a. The dense ResNet-18 and the MoE configuration of issue 17's goal (stage 1, E=4, k=2), same data and steps:
#     the MoE models' training images/s as a ratio to the dense model's (DENSE_RATIO=0 leaves it out).
if [ "${DENSE_RATIO:-1}" = 1 ]; then
r18_train gpu-check.r18-dense.log --set moe.enabled=false
dense_ips=$(images_per_s gpu-check.r18-dense.log)
r18_train gpu-check.r18-stage1.log --set moe.position=[1] --set moe.num_experts=4
stage1_ips=$(images_per_s gpu-check.r18-stage1.log)
over_dense() { [ -n "$1" ] && [ -n "$dense_ips" ] && echo "scale=3; $1 / $dense_ips" | bc -l; }
log "ResNet-18 dense ${dense_ips:-?} img/s; MoE / dense: stage 3 E=16 k=2 $(over_dense "$moexp_ips") (grouped" \
  "$(over_dense "$grouped_ips")), stage 1 E=4 k=2 $(over_dense "$stage1_ips") (${stage1_ips:-?} img/s)"
fi

# 4b. RetinaNet on CUDA (issue 15; DETECTION=0 leaves it out): a generated shapes set at 320 px, one epoch of the dense
#     ResNet-50 detector, then one of MoE heads (both, E=4, k=2) on its frozen backbone + FPN; training images/s.
if [ "${DETECTION:-1}" = 1 ]; then
SHAPES=$PWD/$BUILD/gpu-check-shapes
rm -rf "$SHAPES"
with_debian_libs timeout 60 "$BUILD/moexp" data shapes --out "$SHAPES" --train 1024 --val 128 --size 320 \
  >"$OUTDIR/gpu-check.detection.log" 2>&1
# det_train ARGS...: one detection run on CUDA, appended to gpu-check.detection.log; sets rc.
det_train() {
  with_debian_libs timeout 180 "$BUILD/moexp" train "$@" --db "$DB" --device cuda --set data.path="$SHAPES" \
    --set model.backbone=resnet50 --set model.width=1 --set detection.fixed_size=320 --set detection.fpn_channels=256 \
    --set detection.workers=8 --set train.epochs=1 --set train.batch_size=16 \
    >>"$OUTDIR/gpu-check.detection.log" 2>&1; rc=$?
}
# det_figures: the AP and images/s of the last epoch line in gpu-check.detection.log.
det_figures() {
  grep -E '^epoch +1/1 ' "$OUTDIR/gpu-check.detection.log" | tail -1 | grep -oE 'ap [0-9.e-]+|[0-9.]+ img/s' | tr '\n' ' '
}
det_train experiments/shapes_retinanet_dense.toml --set name=gpu-det-dense
dense_id=$(grep -oE '^run [0-9]+: finished' "$OUTDIR/gpu-check.detection.log" | tail -1 | grep -oE '[0-9]+')
log "RetinaNet ResNet-50 dense, 320 px (exit $rc): $(det_figures)"
det_train experiments/shapes_retinanet_moe_heads.toml --set name=gpu-det-moe --set model.init_from="${dense_id:-1}" \
  --set moe.head=both
log "RetinaNet MoE heads (both, E=4, k=2) on its frozen backbone (exit $rc): $(det_figures)"
fi

# 5. The test suite in the time that is left (the Slurm fixture is left out; it needs a Slurm install). GDB_TEST names
#    one test case of moexp_ml_tests to run under cuda-gdb for a backtrace (the machine has no gdb).
if [ -n "${GDB_TEST:-}" ]; then
  "$CMAKE" --build "$BUILD" -j "$(nproc)" --target moexp_ml_tests -- -k 0 >>"$OUTDIR/gpu-check.build.log" 2>&1
  (cd "$BUILD/tests" && timeout 120 cuda-gdb -batch -ex run -ex bt -ex "info sharedlibrary" \
    --args ./moexp_ml_tests -tc="$GDB_TEST" >"$OUTDIR/gpu-check.gdb.log" 2>&1)
  log "cuda-gdb on '$GDB_TEST': gpu-check.gdb.log"; grep -E "^#[0-9]" "$OUTDIR/gpu-check.gdb.log" | head -12 | tee -a "$SUMMARY"
fi
[ "$CTEST_SECONDS" -gt 0 ] || { log "done in $(elapsed) s"; exit 0; }
start=$(date +%s)
if timeout 240 "$CMAKE" --build "$BUILD" -j "$(nproc)" -- -k 0 >>"$OUTDIR/gpu-check.build.log" 2>&1; then
  log "build of the tests: $(( $(date +%s) - start )) s"
  (cd "$BUILD" && with_debian_libs timeout "$CTEST_SECONDS" ctest -j "$(nproc)" -E slurm --output-on-failure \
    >"$OUTDIR/gpu-check.ctest.log" 2>&1); rc=$?
  log "ctest (exit $rc, limit ${CTEST_SECONDS} s): $(grep -E 'tests passed|tests failed' "$OUTDIR/gpu-check.ctest.log")"
  grep -E "^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess)" "$OUTDIR/gpu-check.ctest.log" | head -20 | tee -a "$SUMMARY"
else
  log "build of the tests failed or ran out of time: gpu-check.build.log"
  grep -E "error" "$OUTDIR/gpu-check.build.log" | head -20 | tee -a "$SUMMARY"
fi
log "done in $(elapsed) s"
