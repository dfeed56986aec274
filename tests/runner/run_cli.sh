#!/usr/bin/env bash
# `statestore run` from the command line: the bundled sample end to end
# (progress lines, bad lines reported with file:line, output files), a
# second run resumes instead of starting over, a different query is
# refused, usage errors exit 2.  Usage: run_cli.sh STATESTORE SAMPLE_DIR
set -u
bin=$1
sample=$2
. "$(dirname "$0")/../cli/check.sh"

q=(--input "$sample" --checkpoint "$dir/ck" --output "$dir/out"
   --event-time ts --window 1m --group-by page
   --agg count,sum:bytes,avg:latency_ms --watermark 30s --dedup event_id
   --max-files 1 --metrics-json "$dir/m.jsonl")

"$bin" run "${q[@]}" >"$dir/log" 2>&1
check "run exits 0" $?
grep -c "^batch [0-9]*: " "$dir/log" | grep -qx 7
check "one progress line per batch (6 files + no-data batch)" $?
grep -q "rows/s, watermark .* window_agg state [0-9]* rows" "$dir/log"
check "progress line has rate, watermark and state" $?
grep -q "skipped .*clicks-2024-05-01T1010.jsonl:201: " "$dir/log"
check "bad line reported with file:line" $?
[ "$(wc -l <"$dir/m.jsonl")" -eq 7 ]; check "metrics json per batch" $?
[ "$(ls "$dir/out" | wc -l)" -eq 6 ]; check "one output file per batch" $?
cat "$dir/out"/part-* >"$dir/first"

"$bin" run "${q[@]}" >"$dir/log" 2>&1
check "second run exits 0" $?
grep -q "resuming from checkpoint" "$dir/log"; check "second run resumes" $?
grep -q "no new input" "$dir/log"; check "nothing re-read" $?
cat "$dir/out"/part-* | cmp -s - "$dir/first"; check "output unchanged" $?

"$bin" run "${q[@]}" --window 2m >"$dir/log" 2>&1
[ $? -eq 1 ]; check "different query exits 1" $?
grep -q "different query" "$dir/log"; check "different query named" $?

"$bin" run --help | grep -q "usage: statestore run"; check "run --help" $?
"$bin" run --input x >/dev/null 2>&1; [ $? -eq 2 ]
check "missing --checkpoint is a usage error" $?
"$bin" run "${q[@]}" --window 1parsec >/dev/null 2>&1; [ $? -eq 2 ]
check "bad duration is a usage error" $?
"$bin" run "${q[@]}" --agg median:bytes >/dev/null 2>&1; [ $? -eq 2 ]
check "unknown aggregate is a usage error" $?

finish
