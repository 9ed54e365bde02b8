#!/usr/bin/env bash
# Runs one libFuzzer target for a while from its committed seed corpus, which
# it only reads: what the run discovers goes to WORK_DIR, crash inputs to
# WORK_DIR/crash-*, so a fuzz run never modifies the source tree. The seeds
# (and the regression inputs among them) are replayed first, so a
# regression fails at once.
#   usage: run_target.sh FUZZ_EXECUTABLE SEED_CORPUS_DIR SECONDS WORK_DIR [DICTIONARY]
set -euo pipefail
exe=$1 seeds=$2 seconds=$3 work=$4 dictionary=${5:-}
options=()
[ -z "$dictionary" ] || options+=(-dict="$dictionary")
[ -d "$seeds" ] || { echo "run_target: no seed corpus at $seeds" >&2; exit 1; }
mkdir -p "$work/corpus"
# -timeout: a single input taking this long is a hang, reported as a crash.
# -rss_limit_mb: far above what any parser of bounded input needs.
# -error_exitcode: libFuzzer's default, 77, is what meson takes for "skipped".
"$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -error_exitcode=1 \
    -timeout_exitcode=1 -print_final_stats=1 -artifact_prefix="$work/" "${options[@]}" \
    "$work/corpus" "$seeds"
