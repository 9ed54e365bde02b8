#!/usr/bin/env python3
"""Prints `N passed, N failed[, N skipped]` from meson's test logs.

Counts GoogleTest cases (meson's JUnit log lists them for `protocol: 'gtest'`
tests) and counts as failed every meson test that failed without a failing
case to show for it (a crash, a timeout, a non-gtest test). Exits 1 when the
logs are missing or nothing ran, so that an empty run never looks green.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET

logs = sys.argv[1]
junit = os.path.join(logs, "testlog.junit.xml")
jsonlog = os.path.join(logs, "testlog.json")
if not os.path.exists(junit) or not os.path.exists(jsonlog):
    print("summarize_tests: meson wrote no test log: no test ran", file=sys.stderr)
    print("0 passed, 1 failed")
    sys.exit(1)

# meson names a gtest suite "<project>.<meson test name>.<gtest suite>"; a
# test without gtest protocol is one testcase named after the meson test.
passed = failed = skipped = 0
failing_suites = []
for suite in ET.parse(junit).getroot().iter("testsuite"):
    for case in suite.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
            failing_suites.append(suite.get("name", "") + "." + case.get("name", ""))
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1

with open(jsonlog) as f:
    tests = [json.loads(line) for line in f if line.strip()]
for t in tests:
    if t["result"] in ("OK", "SKIP", "EXPECTEDFAIL"):
        continue
    print(f"summarize_tests: {t['name']}: {t['result']}", file=sys.stderr)
    if not any(f".{t['name']}." in n or n.endswith(f".{t['name']}") for n in failing_suites):
        failed += 1  # it failed without a failing case to show (crash, timeout)

if passed + failed == 0:
    print("summarize_tests: no test case ran", file=sys.stderr)
    failed = 1
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
