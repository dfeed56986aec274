#!/usr/bin/env bash
# Build statestore and run every test under CTest.
#   bash scripts/test.sh              optimised build in build-test/
#   SANITIZE=1 bash scripts/test.sh   ASan+UBSan build in build-asan/
#   CC=clang bash scripts/test.sh     the same with clang
#   TSAN=1 bash scripts/test.sh       ThreadSanitizer build in build-tsan/,
#                                     the concurrency tests only
# The optimised build then runs statestore-spark's suites too
# (scripts/spark-test.sh; SS_SPARK_TESTS=0 skips them).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/deps.sh
targets=()
ctest_args=()
if [ "${TSAN:-0}" = 1 ]; then
  dir=${BUILD_DIR:-build-tsan}
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSS_BUILD_CLI=OFF
         -DSS_BUILD_BENCHMARKS=OFF "-DCMAKE_C_FLAGS=-fsanitize=thread"
         "-DCMAKE_CXX_FLAGS=-fsanitize=thread"
         "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread"
         "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread")
  # librocksdb is not TSan-instrumented: see tests/concurrency/tsan.supp.
  export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/concurrency/tsan.supp}
  export SS_CONC_VERSIONS=${SS_CONC_VERSIONS:-150}
  targets=(--target readers_vs_maintenance handle_threads)
  ctest_args=(-L concurrency)
elif [ "${SANITIZE:-0}" = 1 ]; then
  dir=${BUILD_DIR:-build-asan}
  flags=(-DCMAKE_BUILD_TYPE=Debug -DSS_SANITIZE=ON)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
else
  dir=${BUILD_DIR:-build-test}
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
cmake -S . -B "$dir" "${flags[@]}" -DSS_ENABLE_WERROR=ON -DSS_WITH_ROCKSDB=ON >/dev/null
cmake --build "$dir" -j"$(nproc)" "${targets[@]}"
cd "$dir"
ctest --output-on-failure -j"$(nproc)" "${ctest_args[@]}"
cd "$root"
if [ "${TSAN:-0}" != 1 ] && [ "${SANITIZE:-0}" != 1 ] && [ "${SS_SPARK_TESTS:-1}" = 1 ]; then
  echo "== statestore-spark (scripts/spark-test.sh)"
  bash scripts/spark-test.sh
fi
