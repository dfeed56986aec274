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

# Issue 9, finding 18: empty paths are usage errors, not a crash.
"$bin" run "${q[@]}" --checkpoint "" >"$dir/log" 2>&1; [ $? -eq 2 ]
check "--checkpoint \"\" is a usage error" $?
grep -q -- "--checkpoint needs a path" "$dir/log"; check "empty path named" $?
"$bin" run "${q[@]}" --output "" >/dev/null 2>&1; [ $? -eq 2 ]
check "--output \"\" is a usage error" $?

# Issue 9, finding 24.
"$bin" run "${q[@]}" --input "$dir/nope" >"$dir/log" 2>&1
[ $? -eq 1 ]; check "missing input folder exits 1" $?
! grep -q "no new input" "$dir/log"; check "a failure is not 'no new input'" $?
"$bin" run "${q[@]}" --window 0s >/dev/null 2>&1; [ $? -eq 2 ]
check "--window 0s is a usage error" $?
"$bin" run "${q[@]}" --agg count,count >"$dir/log" 2>&1; [ $? -eq 2 ]
check "--agg count,count is a usage error" $?
grep -q "given twice" "$dir/log"; check "duplicate aggregate named" $?
"$bin" run "${q[@]}" --group-by page,page >/dev/null 2>&1; [ $? -eq 2 ]
check "--group-by page,page is a usage error" $?
"$bin" run "${q[@]}" --input "$sample/" >"$dir/log" 2>&1
check "--input DIR/ is the same query as --input DIR" $?
grep -q "no new input" "$dir/log"; check "DIR/ resumes" $?
mkdir -p "$dir/in" && cp "$sample"/* "$dir/in/"
"$bin" run "${q[@]}" --input "$dir/in" --output "$dir/in/" \
    --checkpoint "$dir/ck-same" >"$dir/log" 2>&1
[ $? -eq 2 ]; check "--output equal to --input is a usage error" $?
! ls "$dir/in" | grep -q part-; check "nothing written into the input" $?
"$bin" run "${q[@]}" --agg count,sum:nope --checkpoint "$dir/ck-nope" \
    --output "$dir/out-nope" >"$dir/log" 2>&1
check "sum:nope runs" $?
[ "$(grep -c "warning: no record of batch [0-9]* has a field 'nope'" \
    "$dir/log")" -eq 1 ]
check "sum:nope warned once" $?

# SIGTERM stops at a batch boundary, says so, exits 128+15.
"$bin" run "${q[@]}" --checkpoint "$dir/ck-term" --output "$dir/out-term" \
    --follow --poll-ms 50 >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 100); do
    grep -q "^batch 0: " "$dir/log" && break
    sleep 0.1
done
kill -TERM $pid
wait $pid
[ $? -eq 143 ]; check "SIGTERM exits 143" $?
grep -q "stopped by SIGTERM at a batch boundary" "$dir/log"
check "SIGTERM stop is reported" $?
"$bin" run "${q[@]}" --checkpoint "$dir/ck-term" --output "$dir/out-term" \
    >"$dir/log" 2>&1
check "run after SIGTERM exits 0" $?
cat "$dir/out-term"/part-* | cmp -s - "$dir/first"
check "output after SIGTERM and restart unchanged" $?

finish
