#!/bin/bash
# The GPU check, in two steps (docs/gpu.md):
#   scripts/gpu-check.sh fetch   on a Debian 12 machine with its package registry: `apt-get download` the .debs moexp
#                                builds against into .cache/gpu-debs (git-ignored; carry it to the GPU machine)
#   scripts/gpu-check.sh [run]   on a machine with an NVIDIA GPU and a CUDA PyTorch but no registry: unpack the .debs
#                                into .cache/gpu-prefix with dpkg -x, build moexp against PyTorch's LibTorch, run the
#                                test suite, train a ResNet-18-MoE on CIFAR-shaped synthetic data on CUDA for a fixed
#                                number of steps, and print its images/s next to the same model in PyTorch eager mode
#                                (bench/train_reference.py) with an MFU estimate. Copies the summary to $OUT when set.
set -euo pipefail
cd "$(dirname "$0")/.."
DEBS=.cache/gpu-debs
PREFIX=$PWD/.cache/gpu-prefix
BUILD=build-gpu
PY=${PYTHON:-python3}
STEPS=${STEPS:-200}
PACKAGES="libcli11-dev libfmt-dev libfmt9 libtomlplusplus-dev libtomlplusplus3 libsqlite3-dev libsqlite3-0 sqlite3
  libboost1.74-dev libboost-filesystem1.74-dev libboost-filesystem1.74.0 doctest-dev zlib1g-dev ninja-build cmake
  cmake-data libjsoncpp25 librhash0 libuv1 libarchive13"

if [ "${1:-run}" = fetch ]; then
  mkdir -p "$DEBS"
  (cd "$DEBS" && apt-get download $PACKAGES)
  du -sh "$DEBS"
  exit 0
fi

log() { echo "gpu-check: $*" | tee -a "$BUILD.summary.txt"; }
: >"$BUILD.summary.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | sed 's/^/gpu-check: GPU /'
$PY -c 'import torch; assert torch.cuda.is_available(); print("gpu-check: PyTorch", torch.__version__, "CUDA",
  torch.version.cuda, "C++11 ABI", torch._C._GLIBCXX_USE_CXX11_ABI)' | tee -a "$BUILD.summary.txt"

# 1. Unpack the Debian packages into a private prefix (no root, no registry).
ls "$DEBS"/*.deb >/dev/null 2>&1 || { echo "gpu-check: no .debs in $DEBS; run 'scripts/gpu-check.sh fetch' first"; exit 1; }
mkdir -p "$PREFIX"
for deb in "$DEBS"/*.deb; do
  if command -v dpkg-deb >/dev/null; then dpkg-deb -x "$deb" "$PREFIX"
  else (cd "$PREFIX" && ar p "$OLDPWD/$deb" "$(ar t "$OLDPWD/$deb" | grep '^data.tar')" | tar -x --auto-compress 2>/dev/null ||
        ar p "$OLDPWD/$deb" data.tar.xz | tar -xJ); fi
done
export PATH="$PREFIX/usr/bin:$PATH"
export LD_LIBRARY_PATH="$PREFIX/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
CMAKE=$(command -v cmake)
log "cmake $($CMAKE --version | head -1), ninja $(ninja --version)"

# 2. Build against PyTorch's CUDA LibTorch (found by CMakeLists.txt through MOEXP_PYTHON).
start=$(date +%s)
"$CMAKE" -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMOEXP_PYTHON="$PY" \
  -DCMAKE_PREFIX_PATH="$PREFIX/usr;$PREFIX/usr/lib/x86_64-linux-gnu/cmake" \
  -DCMAKE_CXX_FLAGS="-isystem $PREFIX/usr/include" 2>&1 | grep -E "moexp:|Error|error" | tee -a "$BUILD.summary.txt"
"$CMAKE" --build "$BUILD" -j "$(nproc)" >"$BUILD.build.log" 2>&1 || { tail -30 "$BUILD.build.log"; exit 1; }
log "build: $(( $(date +%s) - start )) s"

# 3. The test suite (the Slurm fixture skips without root), then train and evaluate on CUDA through the binary.
(cd "$BUILD" && ctest -j "$(nproc)" -E slurm --output-on-failure >"../$BUILD.ctest.log" 2>&1) || true
log "ctest: $(grep -E 'tests passed|tests failed' "$BUILD.ctest.log")"
DB=$PWD/$BUILD/gpu-check.db
rm -f "$DB"
"$BUILD/moexp" train experiments/demo.toml --db "$DB" --device auto --set data.dataset=synthetic \
  --set data.synthetic_train=4096 --set data.synthetic_test=1000 --set train.epochs=2 | tail -3 | tee -a "$BUILD.summary.txt"
"$BUILD/moexp" evaluate 1 --db "$DB" --k all | head -8 | tee -a "$BUILD.summary.txt"

# 4. ResNet-18-MoE (stage 3, 16 experts, k=2) on CIFAR-shaped synthetic data: moexp vs PyTorch eager, same GPU.
N=$((STEPS * 128))
"$BUILD/moexp" train experiments/demo.toml --db "$DB" --device cuda --set model.arch=resnet18 \
  --set moe.position=[3] --set moe.num_experts=16 --set moe.k=2 --set data.dataset=synthetic \
  --set data.synthetic_channels=3 --set data.synthetic_image_size=32 --set data.synthetic_classes=100 \
  --set data.synthetic_train=$N --set data.synthetic_test=500 --set train.epochs=1 >"$BUILD.r18.log" 2>&1
moexp_ips=$(sqlite3 "$DB" "SELECT round(images_per_s, 1) FROM epochs WHERE run_id = (SELECT max(id) FROM runs)")
py_line=$($PY bench/train_reference.py --arch resnet18 --position 3 --experts 16 --k 2 --synthetic $N --steps $STEPS \
  --device cuda --bf16 --channels-last | tail -2 | head -1)
py_ips=$(echo "$py_line" | sed -E 's/.* ([0-9.]+) images\/s/\1/')
# MFU: ResNet-18 at 32x32 is about 0.56 GFLOP per image forward (x3 for forward + backward); the MoE stage 3 with
# 2 of 16 narrow experts about matches the dense stage. Peak: H200 bf16 dense 989 TFLOP/s (override with PEAK_TFLOPS).
peak=${PEAK_TFLOPS:-989}
mfu() { echo "scale=2; $1 * 0.56 * 3 / ($peak * 1000) * 100" | bc -l; }
log "ResNet-18-MoE(E=16,k=2,stage 3) bf16 channels-last, batch 128, $STEPS steps: moexp $moexp_ips img/s (MFU $(mfu "$moexp_ips") %), PyTorch eager $py_ips img/s (MFU $(mfu "$py_ips") %), ratio $(echo "scale=2; $moexp_ips / $py_ips" | bc -l)"
if [ -n "${OUT:-}" ]; then cp "$BUILD".*.txt "$BUILD".*.log "$OUT"/ 2>/dev/null || true; fi
