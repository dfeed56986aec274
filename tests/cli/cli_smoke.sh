#!/usr/bin/env bash
# The statestore command end to end: demo writes and re-checks a
# checkpoint; verify and inspect read it; a flipped byte makes verify fail
# naming the file; usage errors exit 2.  Usage: cli_smoke.sh STATESTORE
set -u
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
pass=0

check() { # description, then the condition's exit status in $?
    if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else
        echo "FAIL: $1"; fails=$((fails + 1)); fi
}

"$bin" demo --dir "$dir/ck" --batches 12 --keys 2000 --updates 500 \
    -o min_deltas_for_snapshot=5 -o min_versions_to_retain=4 >"$dir/out" 2>&1
check "demo exits 0" $?
grep -q "^verified: version 12 " "$dir/out"; check "demo verifies v12" $?
grep -c "^batch " "$dir/out" | grep -qx 12; check "one line per batch" $?

"$bin" demo --dir "$dir/ck" --batches 3 --keys 2000 --updates 500 -q \
    >"$dir/out" 2>&1
check "demo resumes" $?
grep -q "starting at version 12 (resumed)" "$dir/out"
check "resume starts at 12" $?

"$bin" verify "$dir/ck" >"$dir/out" 2>&1; check "verify exits 0" $?
grep -q "versions verified" "$dir/out"; check "verify summary" $?

"$bin" inspect "$dir/ck" --dump >"$dir/out" 2>&1; check "inspect exits 0" $?
grep -q "^version 15: " "$dir/out"; check "inspect shows newest" $?
grep -q "^user:" "$dir/out"; check "inspect --dump prints keys" $?

f="$dir/ck/15.delta"
printf '\x00' | dd of="$f" bs=1 seek=40 conv=notrunc status=none
"$bin" verify "$dir/ck" >"$dir/out" 2>&1
[ $? -eq 1 ]; check "verify fails on a flipped byte" $?
grep -q "15.delta" "$dir/out"; check "verify names the file" $?

"$bin" inspect >/dev/null 2>&1; [ $? -eq 2 ]; check "inspect needs DIR" $?
"$bin" inspect "$dir/ck" --version x >/dev/null 2>&1
[ $? -eq 2 ]; check "bad --version" $?
"$bin" nosuch >/dev/null 2>&1; [ $? -eq 2 ]; check "unknown command" $?
"$bin" demo --dir "$dir/x" -o no_such_option=1 >"$dir/out" 2>&1
[ $? -eq 1 ]; check "bad option exits 1" $?
grep -q "no_such_option" "$dir/out"; check "bad option named" $?
"$bin" demo --help | grep -q "usage: statestore demo"
check "demo --help" $?

echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
