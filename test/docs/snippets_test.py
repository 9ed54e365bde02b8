#!/usr/bin/env python3
"""The code shown in README.md and docs/ is the code that builds and runs.

Every ```cpp block that follows a link to a file of examples/ (within the
paragraph before it) must appear in that file: its lines, stripped of
indentation, in the same order (the snippet may leave lines out). A block
that no longer matches fails with the first line that is not found.

usage: snippets_test.py SOURCE_ROOT
"""

import glob
import os
import re
import sys


def blocks(markdown):
    """(preceding text, code) of every cpp block."""
    for m in re.finditer(r"```cpp\n(.*?)```", markdown, re.S):
        before = markdown[max(0, m.start() - 600):m.start()]
        before = before.split("```")[-1]  # only the prose since the last block
        yield before, m.group(1)


def main():
    root = sys.argv[1]
    docs = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    checked = failures = 0
    for doc in docs:
        text = open(doc).read()
        for before, code in blocks(text):
            sources = re.findall(r"\((?:\.\./)?(examples/[\w./-]+\.cpp)\)", before)
            if not sources:
                continue
            source = os.path.join(root, sources[-1])
            lines = [l.strip() for l in open(source).read().splitlines()]
            at = 0
            missing = None
            for line in (l.strip() for l in code.splitlines()):
                if not line:
                    continue
                try:
                    at = lines.index(line, at) + 1
                except ValueError:
                    missing = line
                    break
            checked += 1
            if missing is not None:
                failures += 1
                print(f"FAIL {os.path.relpath(doc, root)}: a snippet of {sources[-1]} "
                      f"no longer matches it; first line not found in order: {missing!r}")
    print(f"{checked} snippets checked, {failures} out of date")
    if checked == 0:
        print("FAIL: no snippet found: the check itself is broken")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
