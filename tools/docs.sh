#!/usr/bin/env bash
# Generates the API reference (HTML) from the public headers with Doxygen
# (Debian package doxygen) and fails on any warning: an undocumented public
# name, a broken reference or a malformed command; and, checked by
# tools/reference_check.py, an undocumented enumerator or a header without a
# `/// \file` comment (doxygen 1.9 lets those pass).
#   usage: tools/docs.sh [BUILD_DIR [OUTPUT_DIR]]
# BUILD_DIR (default build) is a configured build: it holds the generated
# include/dynalock/version.hpp. The reference lands in OUTPUT_DIR (default
# build-docs, ignored by git as every build*/): open OUTPUT_DIR/html/index.html.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# Paths given are relative to where the script is called from; the defaults
# are in the source tree.
build=$(realpath -m "${1:-$root/build}")
out=$(realpath -m "${2:-$root/build-docs}")
cd "$root"

if ! command -v doxygen >/dev/null; then
    echo "docs: doxygen not found: install the Debian package doxygen (tools/setup.sh does)" >&2
    exit 1
fi
version_header=$build/include/dynalock/version.hpp
if ! [ -f "$version_header" ]; then
    echo "docs: $version_header not found: configure a build first (tools/setup.sh), or name" \
        "its directory: tools/docs.sh BUILD_DIR" >&2
    exit 1
fi
version=$(sed -n 's/^#define DYNALOCK_VERSION_STRING "\(.*\)"$/\1/p' "$version_header")

# Pages of names that no longer exist must not linger (nor be checked).
rm -rf "$out/html" "$out/xml"
mkdir -p "$out"
# The Doxyfile holds the settings; the paths are this run's. Doxygen prints
# each warning and, with WARN_AS_ERROR=FAIL_ON_WARNINGS, exits non-zero after
# the whole run, so that every warning is seen at once.
{
    cat docs/Doxyfile
    echo "PROJECT_NUMBER = \"$version\""
    echo "INPUT = include/dynalock \"$version_header\""
    echo "STRIP_FROM_PATH = include \"$build/include\""
    echo "STRIP_FROM_INC_PATH = include \"$build/include\""
    echo "OUTPUT_DIRECTORY = \"$out\""
} | doxygen - && python3 tools/reference_check.py "$out/xml" || {
    echo "docs: failed: warnings are errors; every public name needs a /// comment, every" \
        "header a /// \\file comment" >&2
    exit 1
}
echo "docs: the reference is in $out/html/index.html"
