#!/usr/bin/env bash
# Runs one libFuzzer target for as long as wanted (default: 10 minutes) in
# build-fuzz — clang, ASan+UBSan, the library compiled with
# -fsanitize=fuzzer-no-link so the fuzzer sees its coverage — configuring and
# building it on first use. The committed seeds in test/fuzz/corpus/TARGET are
# only read; what the run discovers is kept in build-fuzz/test/fuzz/TARGET/
# for the next run, and an input that crashes is written there as crash-*
# (once fixed, add it to the seed corpus as a regression input).
#   usage: tools/fuzz.sh TARGET [SECONDS]
#          tools/fuzz.sh --build      (configure and build every target only)
#   targets: http_response dynamodb_response dynamodb_error profile_file
#            credentials_json sigv4_canonical
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-fuzz
usage() { sed -n '9,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage

configure() {
    [ -e "$build/build.ninja" ] && return
    CC=clang-14 CXX=clang++-14 meson setup "$build" -Dfuzzing=true -Dbenchmarks=false \
        -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dcpp_args=-fsanitize=fuzzer-no-link
}

if [ "$1" = --build ]; then
    configure
    exec ninja -C "$build" fuzz
fi
target=$1
seconds=${2:-600}
[ -d "test/fuzz/corpus/$target" ] || { echo "fuzz: no target '$target'" >&2; usage; }
configure
ninja -C "$build" "test/fuzz/${target}_fuzz"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# The target's meson test command (test/fuzz/meson.build), for SECONDS.
mapfile -t command < <(meson introspect --tests "$build" | python3 -c '
import json, sys
test = next(t for t in json.load(sys.stdin) if t["name"] == "fuzz_" + sys.argv[1])
test["cmd"][3] = sys.argv[2]  # run_target.sh EXECUTABLE SEEDS SECONDS ...
print("\n".join(test["cmd"]))' "$target" "$seconds")
cd "$build"  # where meson runs its tests: the executable path is relative to it
exec "${command[@]}"
