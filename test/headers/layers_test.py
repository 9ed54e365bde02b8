#!/usr/bin/env python3
"""Fails when a file under lib/ includes a layer above its own, or when a
sans-io layer includes Asio, Beast or anything that does I/O: the folders are
the architecture (README "Layers"), and this keeps them honest."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
lib = root / "lib"

# Bottom to top. A file may include its own layer and those below it.
# (name, files, sans-io)
layers = [
    ("sigv4", lambda p: p.parts[0] == "sigv4", True),
    ("aws", lambda p: p.parts[0] == "aws", True),
    ("dynamodb protocol", lambda p: p.parts[0] == "dynamodb" and p.name != "client.cpp", True),
    ("http", lambda p: p.parts[0] == "http", False),
    ("process", lambda p: p.parts[0] == "process", False),
    ("credential_providers", lambda p: p.parts[0] == "credential_providers", False),
    ("dynamodb client", lambda p: p.parts[0] == "dynamodb" and p.name == "client.cpp", False),
    ("lock", lambda p: p.parts[0] == "lock", False),
    ("groups", lambda p: p.parts[0] == "groups", False),
]
# The layer an internal include belongs to, by its folder. Headers of
# lib/dynamodb are the protocol's: the client has none of its own.
include_layer = {
    "sigv4": "sigv4",
    "aws": "aws",
    "dynamodb": "dynamodb protocol",
    "http": "http",
    "process": "process",
    "credential_providers": "credential_providers",
    "lock": "lock",
    "groups": "groups",
}
rank = {name: i for i, (name, _, _) in enumerate(layers)}
include = re.compile(r'#\s*include\s*[<"]([^>"]+)[>"]')
# What sans-io code must not reach: the I/O libraries, our Asio helper, sockets
# and processes.
io_include = re.compile(
    r"^(boost/asio|boost/beast|openssl/ssl|spawn_op\.hpp|sys/socket|sys/wait|spawn\.h|unistd\.h)")

bad = []
checked = 0
for path in sorted(p for p in lib.rglob("*") if p.suffix in (".hpp", ".cpp")):
    relative = path.relative_to(lib)
    if len(relative.parts) < 2:
        continue  # asio_src.cpp, error.cpp, spawn_op.hpp: shared by every layer
    own = next((name for name, member, _ in layers if member(relative)), None)
    if own is None:
        bad.append(f"lib/{relative}: in no known layer (add its folder to {pathlib.Path(__file__).name})")
        continue
    checked += 1
    sans_io = layers[rank[own]][2]
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = include.search(line)
        if not m:
            continue
        target = m.group(1)
        folder = target.split("/", 1)[0]
        if "/" in target and folder in include_layer and rank[include_layer[folder]] > rank[own]:
            bad.append(f"lib/{relative}:{n}: layer {own} includes {target}, of the higher layer "
                       f"{include_layer[folder]}")
        if sans_io and io_include.search(target):
            bad.append(f"lib/{relative}:{n}: the sans-io layer {own} includes {target}")

for b in bad:
    print(b)
print(f"{checked} files of lib/ checked, {len(bad)} layering errors")
sys.exit(1 if bad or checked == 0 else 0)
