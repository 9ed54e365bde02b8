#!/usr/bin/env python3
"""Prints `N passed, N failed[, N skipped]` from meson's test logs.

usage: summarize_tests.py BUILD_DIR/meson-logs [...]

Every build's log given counts in the one line (tools/test.sh passes all of
its builds, the fuzz build included); each build's share goes to stderr.

Counts GoogleTest cases (meson's JUnit log lists them for `protocol: 'gtest'`
tests; a test without that protocol is one case) over every log given, and
counts as failed every meson test that failed without a failing case to show
for it (a crash, a timeout). Exits 1 when a log is missing or nothing ran, so
that an empty run never looks green.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET


def summarize(logs):
    """(passed, failed, skipped) of one build's test log."""
    junit = os.path.join(logs, "testlog.junit.xml")
    jsonlog = os.path.join(logs, "testlog.json")
    if not os.path.exists(junit) or not os.path.exists(jsonlog):
        print(f"summarize_tests: no test log in {logs}: its tests did not run", file=sys.stderr)
        return 0, 1, 0
    passed = failed = skipped = 0
    # meson names a gtest suite "<project>.<meson test name>.<gtest suite>";
    # a test without gtest protocol is a case named after the meson test.
    failing = []
    for suite in ET.parse(junit).getroot().iter("testsuite"):
        for case in suite.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                failing.append(suite.get("name", "") + "." + case.get("name", ""))
            elif case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
    with open(jsonlog) as f:
        tests = [json.loads(line) for line in f if line.strip()]
    for t in tests:
        if t["result"] in ("OK", "SKIP", "EXPECTEDFAIL"):
            continue
        name = t["name"]
        print(f"summarize_tests: {logs}: {name}: {t['result']}", file=sys.stderr)
        if not any(f".{name}." in n or n.endswith(f".{name}") for n in failing):
            failed += 1  # no failing case to show for it: a crash or a timeout
    return passed, failed, skipped


def summarize_and_show(logs):
    """summarize(), and its counts on stderr so each build's share shows."""
    counts = summarize(logs)
    print(f"summarize_tests: {logs}: {counts[0]} passed, {counts[1]} failed", file=sys.stderr)
    return counts


totals = [sum(x) for x in zip(*(summarize_and_show(logs) for logs in sys.argv[1:]))] or [0, 0, 0]
passed, failed, skipped = totals
if passed + failed == 0:
    print("summarize_tests: no test case ran", file=sys.stderr)
    failed = 1
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
