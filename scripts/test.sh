#!/usr/bin/env bash
# Build statestore and run every test under CTest.
#   bash scripts/test.sh              optimised build in build-test/
#   SANITIZE=1 bash scripts/test.sh   ASan+UBSan build in build-asan/
#   CC=clang bash scripts/test.sh     the same with clang
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
if [ "${SANITIZE:-0}" = 1 ]; then
  dir=${BUILD_DIR:-build-asan}
  flags=(-DCMAKE_BUILD_TYPE=Debug -DSS_SANITIZE=ON)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
else
  dir=${BUILD_DIR:-build-test}
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
cmake -S . -B "$dir" "${flags[@]}" -DSS_ENABLE_WERROR=ON -DSS_WITH_ROCKSDB=ON >/dev/null
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
ctest --output-on-failure -j"$(nproc)"
