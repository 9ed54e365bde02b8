#!/usr/bin/env bash
# Sets up, builds (warnings are errors) and runs every test suite against real
# servers started on free loopback ports, then prints `N passed, N failed`.
#   usage: tools/test.sh [meson test arguments, e.g. --suite unit]
set -uo pipefail
cd "$(dirname "$0")/.."
build=build-test
tools/setup.sh "$build" -Dwerror=true || { echo "0 passed, 1 failed"; exit 1; }
rm -f "$build"/meson-logs/testlog.*
python3 tools/test_servers.py -- \
    meson test -C "$build" --print-errorlogs --num-processes 2 "$@"
status=$?
python3 tools/summarize_tests.py "$build/meson-logs" || status=1
exit $status
