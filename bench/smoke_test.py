#!/usr/bin/env python3
"""The benches run, answer --help, and hold_many's session mode keeps its
promise: one lock_client holding leases under its default session sends only
the session's heartbeats while holding (memory store: no server, so this is a
check of the client, not a measurement; margins are wide because the machine
may be loaded). shard_balance runs once with a small fleet (3 workers, 12
shards, one killed and restarted) on dynalite: DYNALOCK_TEST_DYNALITE_URL, or
one it starts itself; it must converge, fail over, converge again, and its
checker must find no overlap.

usage: smoke_test.py HOLD_MANY FLOOR DYNAMODB_THROUGHPUT SHARD_BALANCE SHARD_WORKERS DYNALOCK_CLI
"""

import json
import subprocess
import sys


def main():
    hold_many, shard_balance = sys.argv[1], sys.argv[4]
    shard_workers, cli = sys.argv[5], sys.argv[6]
    failures = []
    for bench in sys.argv[1:5]:
        done = subprocess.run([bench, "--help"], capture_output=True, text=True, timeout=30)
        if done.returncode != 0 or not done.stdout.startswith("usage: "):
            failures.append(f"{bench} --help: exit {done.returncode}, {done.stdout[:80]!r}")
        bad = subprocess.run([bench, "--no-such-flag", "1"], capture_output=True, text=True,
                             timeout=30)
        # shard_balance parses with argparse, which says it in its own words.
        refused = "unrecognized arguments" if bench == shard_balance else "unknown flag"
        if bad.returncode == 0 or refused not in bad.stderr:
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

    cmd = [shard_balance, "--workers", "3", "--shards", "12", "--kill", "1", "--lease-ms", "2000",
           "--round-ms", "200", "--steady-s", "2", "--seconds", "90", "--worker", shard_workers,
           "--cli", cli]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    print(done.stdout, end="")
    lines = done.stdout.strip().splitlines()
    line = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    if done.returncode != 0 or any(line.get(k) is None for k in
                                   ("converged_s", "failover_s", "rejoin_converged_s")):
        failures.append(f"{' '.join(cmd)}: exit {done.returncode}, {line}: "
                        f"{done.stderr[-600:]}")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
