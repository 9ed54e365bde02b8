#!/usr/bin/env python3
"""Fails when a public header includes Beast, OpenSSL or nlohmann_json, or a
header under lib/: users must be able to compile against include/ alone."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
forbidden = re.compile(r'#\s*include\s*[<"](boost/beast|openssl/|nlohmann/|lib/|http/|aws/|dynamodb/|lock/|sigv4/)')
bad = []
headers = sorted((root / "include" / "dynalock").glob("*.hpp"))
for h in headers:
    for n, line in enumerate(h.read_text().splitlines(), 1):
        if forbidden.search(line):
            bad.append(f"{h.relative_to(root)}:{n}: {line.strip()}")
if not headers:
    print("no public headers found under", root / "include" / "dynalock")
    sys.exit(1)
for b in bad:
    print(b)
print(f"{len(headers)} public headers checked, {len(bad)} forbidden includes")
sys.exit(1 if bad else 0)
