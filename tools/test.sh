#!/usr/bin/env bash
# The CI command. Sets up and builds four times, with clang (g++ 12 is
# refused: docs/compilers.md) — warnings as errors; AddressSanitizer +
# UndefinedBehaviorSanitizer; ThreadSanitizer; and the libFuzzer targets
# (ASan + UBSan) — runs every test suite in the first three builds against
# real servers started on free loopback ports, then each fuzz target for a
# short time, prints how long each stage took, and ends with
# `N passed, N failed` over all builds.
#   usage: tools/test.sh [meson test arguments, e.g. --suite unit]
# With arguments, only the first three builds run them; the fuzz stage is
# skipped.
set -uo pipefail
cd "$(dirname "$0")/.."

timings=()
# Runs "$@" as the stage named $1 and records its duration.
stage() {
    local name=$1 start=$SECONDS status
    shift
    echo "== $name"
    "$@"
    status=$?
    timings+=("$(printf '%-28s %5d s' "$name" $((SECONDS - start)))")
    return $status
}
report_timings() {
    echo "== stage durations"
    printf '   %s\n' "${timings[@]}"
}
setup_failed() {
    report_timings
    echo "0 passed, 1 failed"
    exit 1
}

builds=(build-test build-sanitize build-tsan)
stage "build build-test" tools/setup.sh build-test -Dwerror=true || setup_failed
stage "build build-sanitize" tools/setup.sh build-sanitize -Dwerror=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false || setup_failed
stage "build build-tsan" tools/setup.sh build-tsan -Dwerror=true \
    -Db_sanitize=thread -Db_lundef=false -Dbenchmarks=false || setup_failed
fuzz=$(($# == 0))
if ((fuzz)); then
    stage "build build-fuzz" tools/fuzz.sh --build || setup_failed
fi
for b in "${builds[@]}" build-fuzz; do rm -f "$b"/meson-logs/testlog.*; done

# A guard: no test may fall back to the instance-metadata address off this
# machine (tests that exercise IMDS point it at loopback explicitly).
export AWS_EC2_METADATA_DISABLED=true
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1
# A data race or lock-order report fails the test that caused it.
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
export DYNALOCK_BUILDS="${builds[*]}"
status=0
stage "tests (all builds)" python3 tools/test_servers.py -- bash -c '
    status=0
    for b in $DYNALOCK_BUILDS; do
        start=$SECONDS
        echo "== meson test -C $b"
        meson test -C "$b" --print-errorlogs --num-processes 2 "$@" || status=1
        echo "== meson test -C $b took $((SECONDS - start)) s"
    done
    exit $status' _ "$@" || status=1
logs=("${builds[@]/%//meson-logs}")
if ((fuzz)); then
    # --no-rebuild: build-fuzz builds only the fuzz targets (tools/fuzz.sh --build).
    stage "fuzz smoke runs" meson test -C build-fuzz --suite fuzz --no-rebuild --print-errorlogs \
        --num-processes 2 || status=1
    logs+=(build-fuzz/meson-logs)
fi
report_timings
python3 tools/summarize_tests.py "${logs[@]}" || status=1
exit $status
