#!/usr/bin/env bash
# Installs everything dynalock needs on a fresh Debian 12 machine, then
# configures and builds it. Idempotent: a second run only rebuilds.
#   usage: tools/setup.sh [BUILD_DIR] [extra meson options...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true

# clang-14 is the compiler (docs/compilers.md); g++ is kept for the check
# that dynalock's headers refuse it. libclang-rt-14-dev holds clang's
# sanitizer and libFuzzer runtimes (only recommended by clang-14, so not
# installed without it being named). cmake writes the CMake package's version
# file at configure time and builds the CMake consumer test. doxygen makes the
# API reference (tools/docs.sh), which the test reference_docs checks.
# python3-prometheus-client parses the metrics text in test/metrics and the demo.
packages=(g++ meson ninja-build pkg-config ccache libboost1.81-dev libssl-dev openssl
          nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev stunnel4 python3
          python3-prometheus-client clang-14 libclang-rt-14-dev cmake doxygen)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from another package source that bundles npm: ask for the
# commands, not for Debian's package names.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo_=""
    [ "$(id -u)" -eq 0 ] || sudo_=sudo
    $sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# dynalite, pinned by package-lock.json, into the ignored node_modules/.
if ! [ -e node_modules/dynalite/cli.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi

if ! [ -e "$build/build.ninja" ]; then
    # clang unless told otherwise: Debian 12's g++ 12 compiles coroutine code
    # wrongly and is refused (docs/compilers.md).
    CC=${CC:-clang-14} CXX=${CXX:-clang++-14} meson setup "$build" "$@"
fi
ninja -C "$build"
