#!/usr/bin/env bash
# Build the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined)
# and run each for a bounded time on a copy of its checked-in corpus.
#   bash scripts/fuzz.sh                 every target, FUZZ_SECONDS each (25)
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh frame      a longer run of one
#   FUZZ_EXTRA_FLAGS=-fno-sanitize=...               more compiler flags
# New inputs go to $BUILD_DIR/fuzz-corpus/<target>/ (not the repository);
# a crash leaves crash-* files there and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build-fuzz}
secs=${FUZZ_SECONDS:-25}
san="-fsanitize=fuzzer-no-link,address,undefined"
san="$san -fno-sanitize-recover=undefined ${FUZZ_EXTRA_FLAGS:-}"
CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S . -B "$dir" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSS_BUILD_FUZZERS=ON \
  -DSS_BUILD_CLI=OFF -DSS_BUILD_BENCHMARKS=OFF -DSS_WITH_ROCKSDB=ON \
  -DSS_ENABLE_WERROR=ON "-DCMAKE_C_FLAGS=$san" "-DCMAKE_CXX_FLAGS=$san" \
  "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" >/dev/null
targets=${*:-frame options}
for t in $targets; do
  cmake --build "$dir" -j"$(nproc)" --target "fuzz_$t" >/dev/null
done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in $targets; do
  work="$dir/fuzz-corpus/$t"
  mkdir -p "$work"
  cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  echo "== fuzz_$t for ${secs}s"
  (cd "$work" && "$OLDPWD/$dir/tests/fuzz/fuzz_$t" -max_total_time="$secs" \
     -max_len=65536 -print_final_stats=1 -artifact_prefix=./ . 2>&1) |
    grep -E '^(#[0-9]+.*DONE|stat::|==[0-9]+==ERROR|SUMMARY|Done)' || true
  bad=$(find "$work" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' \
        -o -name 'timeout-*' -o -name 'oom-*' \))
  if [ -n "$bad" ]; then
    echo "fuzz_$t found failing inputs" \
      "(replay: $dir/tests/fuzz/fuzz_$t FILE):" $bad >&2
    exit 1
  fi
done
