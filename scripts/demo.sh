#!/usr/bin/env bash
# Build statestore and run its main job on the embedded default: the
# memory provider, a local checkpoint folder (./statestore-demo), the
# built-in generated batches.  Extra arguments go to `statestore demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSS_BUILD_TESTS=OFF \
      -DSS_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target statestore
exec ./build/cli/statestore demo "$@"
