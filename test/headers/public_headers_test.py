#!/usr/bin/env python3
"""Fails when a public header includes Beast, OpenSSL or nlohmann_json, or a
header under lib/: users must be able to compile against include/ alone. Fails
too when the umbrella dynalock.hpp leaves a public header out. A header meson
generates (version.hpp) is checked as its template, NAME.hpp.in."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
forbidden = re.compile(
    r'#\s*include\s*[<"](boost/beast|openssl/|nlohmann/|lib/|http/|aws/|dynamodb/|lock/|sigv4/'
    r'|credential_providers/|process/|groups/)')
bad = []
public = root / "include" / "dynalock"
headers = sorted([*public.glob("*.hpp"), *public.glob("*.hpp.in")])
for h in headers:
    for n, line in enumerate(h.read_text().splitlines(), 1):
        if forbidden.search(line):
            bad.append(f"{h.relative_to(root)}:{n}: {line.strip()}")
if not headers:
    print("no public headers found under", root / "include" / "dynalock")
    sys.exit(1)
umbrella = root / "include" / "dynalock" / "dynalock.hpp"
umbrella_text = umbrella.read_text()
for h in headers:
    name = h.name.removesuffix(".in")
    if h != umbrella and f"#include <dynalock/{name}>" not in umbrella_text:
        bad.append(f"{umbrella.relative_to(root)}: does not include {name}")
for b in bad:
    print(b)
print(f"{len(headers)} public headers checked, {len(bad)} problems")
sys.exit(1 if bad else 0)
