#!/usr/bin/env python3
"""Three shard_workers processes share 24 shards through dynalock's shard
group; one is killed midway.

Creates the table with the dynalock tool, starts the workers, waits until they
share the shards fairly (8 each), kills one with SIGKILL, waits until the two
others have taken its shards over (12 each), prints what happened and who
holds what (read from DynamoDB with `dynalock list`), then stops the workers
and checks:

  * every shard the killed worker held is held by a live worker again, with a
    higher fence than the killed worker's;
  * nobody took them before the killed worker's session had stood still;
  * no shard was believed by two workers at once (their event logs, one clock);
  * the survivors hand everything back when stopped (exit status 0);
  * worker-1's /metrics (--metrics-port) parses as Prometheus text and counts
    the shards it holds.

usage: shard_demo.py --worker PATH --cli PATH [--table NAME] [--shards N]
Region, endpoint and credentials come from the AWS environment variables.
Exits 0 when every check holds, 1 otherwise. Stops every process it started.
"""
import argparse
import collections
import json
import os
import pathlib
import subprocess
import sys
import urllib.request

# python3-prometheus-client (Debian): tools/demo.sh and the test run this with
# a python3 that has it.
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tools" / "harness"))
import shard_fleet  # noqa: E402

WORKERS = ["worker-1", "worker-2", "worker-3"]
VICTIM = "worker-2"
LEASE_MS = 3000
ROUND_MS = 500


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--table", default=f"dynalock-demo-{os.getpid()}")
    parser.add_argument("--shards", type=int, default=24)
    args = parser.parse_args()
    failed = []

    def check(ok, what):
        print(("  ok    " if ok else "  FAIL  ") + what)
        if not ok:
            failed.append(what)

    shard_fleet.create_table(args.cli, args.table)
    fleet = shard_fleet.Fleet(args.worker, args.table, args.shards, LEASE_MS, ROUND_MS)
    t0 = shard_fleet.now_ms()

    def story(since_ms, until_ms):
        """One line per worker and kind of event in the window."""
        seen = collections.Counter()
        for e in fleet.snapshot():
            if since_ms <= e["t_ms"] <= until_ms and e.get("event") not in ("stats", None):
                kind = e["event"] + (" (taken over)" if e.get("takeover") else "") + \
                    (" (handed over)" if e.get("handoff") else "")
                seen[(e["worker"], kind)] += 1
        for (worker, kind), n in sorted(seen.items()):
            print(f"    {worker:9} {kind:28} x{n}")

    try:
        print(f"starting {len(WORKERS)} workers over {args.shards} shards "
              f"(session lease {LEASE_MS} ms)")
        for w in WORKERS:
            fleet.start(w, ["--metrics-port", "0"] if w == WORKERS[0] else [])
        t = fleet.wait_until(lambda ev: shard_fleet.balanced(ev, WORKERS, args.shards), 120)
        check(t is not None, f"shared fairly after {((t or t0) - t0) / 1000:.1f} s")
        story(t0, t or shard_fleet.now_ms())
        url = next((e["url"] for e in fleet.snapshot()
                    if e.get("event") == "metrics" and e["worker"] == WORKERS[0]), None)
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                families = {f.name: f for f in text_string_to_metric_families(r.read().decode())}
            owned = families["dynalock_group_shards_owned"].samples[0].value
            held_locks = families["dynalock_locks_held"].samples[0].value
            print(f"    {WORKERS[0]} /metrics: {owned:.0f} shards owned, {held_locks:.0f} locks held "
                  f"(its shards and its member item)")
            check(owned == args.shards // len(WORKERS) and held_locks > owned,
                  f"{WORKERS[0]}'s /metrics parses as Prometheus text and counts its shards")
        except Exception as e:  # noqa: BLE001 -- any failure of the scrape is the check failing
            check(False, f"{WORKERS[0]}'s /metrics at {url}: {e!r}")
        held = shard_fleet.holdings(fleet.snapshot())
        victim_fences = {}
        for e in fleet.snapshot():
            if e.get("event") == "assigned" and e["worker"] == VICTIM and held.get(e["shard"]) == VICTIM:
                victim_fences[e["shard"]] = e["fence"]

        print(f"\nSIGKILL {VICTIM} (holding {len(victim_fences)} shards)")
        t_kill = fleet.kill(VICTIM)
        live = [w for w in WORKERS if w != VICTIM]
        t = fleet.wait_until(lambda ev: shard_fleet.balanced(ev, live, args.shards), 120)
        check(t is not None, f"{len(live)} workers hold every shard "
              f"{((t or t_kill) - t_kill) / 1000:.1f} s after the kill")
        story(t_kill, t or shard_fleet.now_ms())
        taken = {e["shard"]: e for e in fleet.snapshot()
                 if e.get("event") == "assigned" and e["t_ms"] > t_kill and e["shard"] in victim_fences}
        check(len(taken) == len(victim_fences) and
              all(e["fence"] > victim_fences[s] for s, e in taken.items()),
              "each of its shards taken over with a higher fence")
        first = min((e["t_ms"] for e in taken.values()), default=t_kill)
        check(first - t_kill >= LEASE_MS - LEASE_MS / 3 - 1000,
              f"none before its session stood still (first after {(first - t_kill) / 1000:.1f} s)")

        print("\nwho holds what (dynalock list --json):")
        listing = subprocess.run([args.cli, "list", "--json", "--table", args.table,
                                  "--sort-key-name", "sk"], capture_output=True, text=True,
                                 timeout=60)
        owners = collections.Counter()
        for line in listing.stdout.splitlines():
            row = json.loads(line)
            if row.get("key") == "shards/shards" and not row.get("released"):
                owners[row.get("owner")] += 1
        for owner, n in sorted(owners.items()):
            print(f"    {owner:9} {n} shards")
        check(sum(owners.values()) == args.shards and VICTIM not in owners,
              "the table agrees: every shard held by a live worker")
    finally:
        codes = fleet.stop_all()
        bad = shard_fleet.overlaps(fleet.snapshot(), shard_fleet.now_ms())
        check(not bad, "no shard believed by two workers at once")
        check(all(codes[w] == 0 for w in WORKERS if w != VICTIM),
              "the survivors hand everything back and exit 0")
    print("\nall checks hold" if not failed else f"\n{len(failed)} checks failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
