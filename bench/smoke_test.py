#!/usr/bin/env python3
"""The benches run, answer --help, and hold_many's session mode keeps its
promise: one lock_client holding leases under its default session sends only
the session's heartbeats while holding (memory store: no server, so this is a
check of the client, not a measurement; margins are wide because the machine
may be loaded).

usage: smoke_test.py HOLD_MANY FLOOR DYNAMODB_THROUGHPUT
"""

import json
import subprocess
import sys


def main():
    hold_many = sys.argv[1]
    failures = []
    for bench in sys.argv[1:]:
        done = subprocess.run([bench, "--help"], capture_output=True, text=True, timeout=30)
        if done.returncode != 0 or not done.stdout.startswith("usage: "):
            failures.append(f"{bench} --help: exit {done.returncode}, {done.stdout[:80]!r}")
        bad = subprocess.run([bench, "--no-such-flag", "1"], capture_output=True, text=True,
                             timeout=30)
        if bad.returncode == 0 or "unknown flag" not in bad.stderr:
            failures.append(f"{bench} --no-such-flag: exit {bad.returncode}, {bad.stderr[:80]!r}")

    seconds, heartbeat_ms, leases = 3, 1000, 2000
    for session in (False, True):
        cmd = [hold_many, "--store", "memory", "--leases", str(leases), "--lease-ms", "10000",
               "--heartbeat-ms", str(heartbeat_ms), "--seconds", str(seconds)]
        if session:
            cmd.append("--session")
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        print(done.stdout, end="")
        if done.returncode != 0:
            failures.append(f"{' '.join(cmd)}: exit {done.returncode}: {done.stderr[-300:]}")
            continue
        line = json.loads(done.stdout.strip().splitlines()[-1])
        if line["session"] != session or line["acquired"] != leases or line["lost"] != 0 \
                or line["released"] != leases:
            failures.append(f"{' '.join(cmd)}: expected {leases} acquired, released, 0 lost: "
                            f"{line}")
        periods = seconds * 1000 // heartbeat_ms
        if session:
            # The session's heartbeats alone: about one per period.
            if not 1 <= line["store_requests_during_hold"] <= 2 * periods + 2 or \
                    line["session_heartbeats"] < 1:
                failures.append(f"session mode sent {line['store_requests_during_hold']} "
                                f"requests in {periods} periods: {line}")
        elif line["store_requests_during_hold"] < leases:
            # Every lease heartbeats at least once in three periods.
            failures.append(f"per-lock mode sent only {line['store_requests_during_hold']} "
                            f"requests for {leases} leases: {line}")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
