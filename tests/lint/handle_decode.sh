#!/usr/bin/env bash
# Invariant 5 of src/store/store.c (header convention 9): every public
# function that takes a provider, store or iterator handle turns it into
# its object with SS_DECODE_* (src/store/handles.h).  A function that
# forgot would dereference a checked token.  Checks each definition
#
#     <return type>
#     ss_name(... ss_store *s ...)
#     {
#         ...
#     }
#
# of the files given (clang-format's layout, STYLE.md).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 file.c..." >&2; exit 2; }
awk '
/^ss_[a-z0-9_]+\(/ {
    name = $0; sub(/\(.*/, "", name); sig = $0; state = 1; next
}
state == 1 { sig = sig " " $0; if ($0 == "{") { state = 2; body = "" } next }
state == 2 {
    if ($0 != "}") { body = body "\n" $0; next }
    state = 0
    if (sig !~ /ss_(provider|store|iter) \*[a-z_]/)
        next
    checked++
    if (body !~ /SS_DECODE_(PROVIDER|STORE|ITER)\(/) {
        printf "%s: %s takes a handle but does not decode it with SS_DECODE_*\n",
               FILENAME, name
        bad++
    }
}
END {
    if (checked == 0) { print "no function taking a handle found"; exit 1 }
    printf "%d functions taking a handle, %d without SS_DECODE_*\n",
           checked, bad
    exit bad > 0
}' "$@"
