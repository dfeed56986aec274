# check.sh -- sourced by the command-line tests: a temp dir removed at
# exit, check DESCRIPTION STATUS, and finish (the summary and the exit
# status).
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
pass=0

check() { # description, then the condition's exit status in $?
    if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else
        echo "FAIL: $1"; fails=$((fails + 1)); fi
}

finish() {
    echo "$pass passed, $fails failed"
    [ "$fails" -eq 0 ]
}
