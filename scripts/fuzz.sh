#!/bin/sh
# Run the libFuzzer targets of build-fuzz (all, or the TARGETs named) for SECONDS each (`make fuzz-ci`: 30; `make fuzz`: 600), from its seed
# corpus in tests/fuzz/corpus/<target> (read only) plus a scratch corpus that keeps what earlier runs found.
# Prints one line per target: executions, coverage, corpus size. Exits 1 on the first crash, leak or timeout; its
# input is kept as FUZZ_DIR/<target>/crash-* for `build-fuzz/tests/fuzz/<target> <file>` to replay.
set -eu
build=${1:?usage: fuzz.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:?usage: fuzz.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
targets=${*:-fuzz_experiment fuzz_sweep_spec fuzz_filter fuzz_idx fuzz_cifar fuzz_coco}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${FUZZ_DIR:-$build/fuzz-work}
# The targets' scratch files (a spec per input, an empty database) in memory when there is a tmpfs for it.
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
for target in $targets; do
  mkdir -p "$work/$target/corpus"
  dict=""
  [ -f "$root/tests/fuzz/$target.dict" ] && dict="-dict=$root/tests/fuzz/$target.dict"
  # CIFAR records are 3,073 bytes: room for a few.
  max_len=4096
  [ "$target" = fuzz_cifar ] && max_len=16384
  log="$work/$target/log.txt"
  if ! (cd "$work/$target" && "$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=$max_len -print_final_stats=1 $dict corpus "$root/tests/fuzz/corpus/$target") >"$log" 2>&1; then
    echo "fuzz: $target FAILED (log: $log)"; tail -n 40 "$log"; exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -n 1)
  echo "fuzz: $target: $runs executions in ${seconds}s, $cov, corpus $(ls "$work/$target/corpus" | wc -l) new inputs, 0 crashes"
done
