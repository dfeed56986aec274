#!/usr/bin/env bash
# Build statestore and run its main job on the embedded default: a
# windowed aggregation (`statestore run`) over the bundled clickstream in
# data/sample/, with the memory provider and a local checkpoint folder
# (./statestore-demo/checkpoint); results go to ./statestore-demo/output.
# Running it again resumes from the checkpoint.  -q: no per-batch lines.
# Other arguments go to `statestore run` (e.g. --provider rocksdb).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
-h | --help)
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
    echo
    echo "The default query:"
    echo "  statestore run --input data/sample --checkpoint statestore-demo/checkpoint \\"
    echo "    --output statestore-demo/output --event-time ts --window 1m \\"
    echo "    --group-by page --agg count,sum:bytes,avg:latency_ms,max:latency_ms \\"
    echo "    --watermark 30s --dedup event_id --max-files 1"
    exit 0
    ;;
esac
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSS_BUILD_TESTS=OFF \
      -DSS_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target statestore
out=statestore-demo/output
mkdir -p statestore-demo
./build/cli/statestore run --input data/sample \
    --checkpoint statestore-demo/checkpoint --output "$out" \
    --event-time ts --window 1m \
    --group-by page --agg count,sum:bytes,avg:latency_ms,max:latency_ms \
    --watermark 30s --dedup event_id --max-files 1 \
    --metrics-json statestore-demo/metrics.jsonl "$@"
files=$(find "$out" -name 'part-*' | sort)
if [ -z "$files" ]; then
    echo "no output yet"
    exit 0
fi
rows=$(cat $files | wc -l)
last=$(echo "$files" | tail -1)
echo
echo "results: $rows window rows in $(echo "$files" | wc -l) files under $out/"
echo "the last batch's first rows ($last):"
head -5 "$last"
