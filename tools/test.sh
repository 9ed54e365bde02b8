#!/usr/bin/env bash
# Sets up and builds twice — warnings as errors, then with AddressSanitizer and
# UndefinedBehaviorSanitizer — and runs every test suite in both builds against
# real servers started on free loopback ports; prints `N passed, N failed`.
#   usage: tools/test.sh [meson test arguments, e.g. --suite unit]
set -uo pipefail
cd "$(dirname "$0")/.."
builds=(build-test build-sanitize)
tools/setup.sh build-test -Dwerror=true || { echo "0 passed, 1 failed"; exit 1; }
tools/setup.sh build-sanitize -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbenchmarks=false || { echo "0 passed, 1 failed"; exit 1; }
for b in "${builds[@]}"; do rm -f "$b"/meson-logs/testlog.*; done
# A guard: no test may fall back to the instance-metadata address off this
# machine (tests that exercise IMDS point it at loopback explicitly).
export AWS_EC2_METADATA_DISABLED=true
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1
export DYNALOCK_BUILDS="${builds[*]}"
python3 tools/test_servers.py -- bash -c '
    status=0
    for b in $DYNALOCK_BUILDS; do
        echo "== meson test -C $b"
        meson test -C "$b" --print-errorlogs --num-processes 2 "$@" || status=1
    done
    exit $status' _ "$@"
status=$?
python3 tools/summarize_tests.py "${builds[@]/%//meson-logs}" || status=1
exit $status
