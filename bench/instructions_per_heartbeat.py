#!/usr/bin/env python3
"""Instructions per heartbeat of the lock client, counted by callgrind.

CPU time per heartbeat moves by a tenth between runs on these noisy 2-core
machines; the instructions a heartbeat executes do not. This runs
`hold_many --store dynalite` under callgrind with a small paced hold, counts
only a window of the hold (from its 10 s progress line), and prints one JSON
line: instructions per heartbeat, those in OpenSSL apart (valgrind's CPU
is not the machine's, so OpenSSL may take another code path under it), and
with --top N the N functions with the most instructions of their own.

Cache misses and system calls are not counted: compare builds with this,
and quote CPU time from hold_many itself.

  usage: bench/instructions_per_heartbeat.py [--build DIR] [--leases N]
                                             [--window SECONDS] [--top N]
Needs valgrind (Debian package `valgrind`).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

# Called once for every heartbeat's completion.
PER_HEARTBEAT = "dynalock::lock::lease_scheduler::on_write("


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def copy_without_debug_info(build, into):
    # Valgrind 3.19 cannot read the DWARF 5 that clang 14 writes; the symbol
    # tables are enough to name functions. hold_many finds the library at
    # $ORIGIN/.., as in the build tree.
    os.makedirs(os.path.join(into, "bench"))
    run(["objcopy", "--strip-debug", os.path.join(build, "libdynalock.so"),
         os.path.join(into, "libdynalock.so")])
    run(["objcopy", "--strip-debug", os.path.join(build, "bench", "hold_many"),
         os.path.join(into, "bench", "hold_many")])
    return os.path.join(into, "bench", "hold_many")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--leases", type=int, default=200)
    ap.add_argument("--window", type=float, default=12.0)
    ap.add_argument("--top", type=int, default=0)
    args = ap.parse_args()
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate", "objcopy"):
        if shutil.which(tool) is None:
            sys.exit(f"instructions_per_heartbeat: {tool} not found (Debian: valgrind, binutils)")

    with tempfile.TemporaryDirectory() as tmp:
        bench = copy_without_debug_info(args.build, tmp)
        out = os.path.join(tmp, "callgrind.out")
        err_path = os.path.join(tmp, "stderr")
        hold_s = 10 + args.window + 10
        with open(err_path, "w") as err:
            proc = subprocess.Popen(
                ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                 f"--callgrind-out-file={out}", bench, "--store", "dynalite",
                 "--leases", str(args.leases), "--lease-ms", "10000", "--heartbeat-ms", "3000",
                 "--seconds", str(int(hold_s)), "--floor-seconds", "1"],
                stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 300
            while "10 s: held" not in open(err_path).read():
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit("instructions_per_heartbeat: the hold did not start:\n" +
                             open(err_path).read()[-2000:])
                time.sleep(0.5)
            run(["callgrind_control", "-i", "on", str(proc.pid)])
            time.sleep(args.window)
            run(["callgrind_control", "-i", "off", str(proc.pid)])
            if proc.wait(timeout=600) != 0:
                sys.exit("instructions_per_heartbeat: hold_many failed:\n" +
                         open(err_path).read()[-2000:])
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

        own = run(["callgrind_annotate", "--inclusive=no", "--threshold=100", out])
        calls = run(["callgrind_annotate", "--tree=calling", out])

    total = None
    per_function = []
    for line in own.splitlines():
        m = re.match(r"\s*([0-9,]+)\s+(?:\(\s*[0-9.]+%\)\s+)?(\S.*)$", line)
        if not m:
            continue
        count = int(m.group(1).replace(",", ""))
        if m.group(2).startswith("PROGRAM TOTALS"):
            total = count
        else:
            per_function.append((count, m.group(2)))
    heartbeats = 0
    for line in calls.splitlines():
        if ">" in line and PER_HEARTBEAT in line:
            m = re.search(r"\(([0-9,]+)x\)", line)
            heartbeats += int(m.group(1).replace(",", "")) if m else 0
    if not total or not heartbeats:
        sys.exit("instructions_per_heartbeat: nothing counted (is valgrind working here?)")
    openssl = sum(c for c, f in per_function if "libcrypto" in f)
    result = {
        "bench": "instructions_per_heartbeat",
        "leases": args.leases,
        "window_s": args.window,
        "heartbeats": heartbeats,
        "instructions_per_heartbeat": round(total / heartbeats),
        "openssl_instructions_per_heartbeat": round(openssl / heartbeats),
        "other_instructions_per_heartbeat": round((total - openssl) / heartbeats),
    }
    if args.top:
        result["top"] = [
            {"function": re.sub(r"^\?\?\?:", "", f).split(" [")[0][:160],
             "per_heartbeat": round(c / heartbeats)}
            for c, f in sorted(per_function, reverse=True)[:args.top]
        ]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
