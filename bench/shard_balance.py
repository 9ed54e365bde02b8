#!/usr/bin/env python3
"""shard_balance: a shard group of worker processes (examples/shard_workers),
measured. Prints one JSON line:

  converged_s          start to every worker within its fair share (⌊S/W⌋..⌈S/W⌉)
                       with every shard held
  moves_steady         shards granted in the steady window (membership unchanged)
  failover_s           SIGKILL of --kill workers to every shard held by a live one
  failover_first_s     ... to the first of their shards taken
  rejoin_converged_s   the killed workers restarted (same names) to converged again
  overlaps             intervals in which two workers believed one shard (checker
                       over the workers' event logs, one host clock): must be 0
  store_reads_per_s, store_writes_per_s
                       all workers together in the steady window, from each
                       worker's lock_client_stats (every request to the store)
  per_lease_reads_per_s, per_lease_writes_per_s
                       the same computed for per-lease renewal (KCL's way) at the
                       same lease and heartbeat period: every shard's lease
                       renewed each heartbeat period (lease / 3), and every worker
                       listing the whole lease table every two leases
  writes_ratio         per_lease_writes_per_s / store_writes_per_s

  shard_balance --workers 16 --shards 1024 --seconds 90 --kill 2
                [--endpoint-url URL] [--lease-ms 10000] [--round-ms 1000]

Without --endpoint-url it uses DYNALOCK_TEST_DYNALITE_URL, or starts a
dynalite of its own (through tools/test_servers.py). Region and credentials:
the AWS environment, or test values for a local endpoint. Progress on stderr.
"""
import argparse
import json
import os
import pathlib
import sys
import uuid

HERE = pathlib.Path(__file__).resolve().parent


def find_harness():
    # Meson fills SOURCE_ROOT in the copy it makes as build/bench/shard_balance;
    # run from the source tree, the harness is beside it.
    root = "@SOURCE_ROOT@"
    for base in (pathlib.Path(root), HERE.parent):
        if (base / "tools" / "harness" / "shard_fleet.py").exists():
            return base / "tools" / "harness"
    sys.exit("shard_balance: cannot find tools/harness/shard_fleet.py")


sys.path.insert(0, str(find_harness()))
import shard_fleet  # noqa: E402


def log(*a):
    print("shard_balance:", *a, file=sys.stderr, flush=True)


def main():
    p = argparse.ArgumentParser(prog="shard_balance", description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--shards", type=int, default=1024)
    p.add_argument("--seconds", type=float, default=90, help="budget for the whole run")
    p.add_argument("--kill", type=int, default=2)
    p.add_argument("--lease-ms", type=int, default=10000)
    p.add_argument("--round-ms", type=int, default=1000)
    p.add_argument("--steady-s", type=float, default=20, help="steady window before the kill")
    p.add_argument("--endpoint-url")
    p.add_argument("--worker", default=str(HERE.parent / "examples" / "shard_workers"))
    p.add_argument("--cli", default=str(HERE.parent / "tools" / "cli" / "dynalock"))
    a = p.parse_args()
    if a.workers < 1 or a.shards < 1 or not 0 <= a.kill < a.workers or a.lease_ms < 3 \
            or a.round_ms < 10 or a.seconds <= 0:
        p.error("need workers >= 1, shards >= 1, 0 <= kill < workers, lease >= 3 ms, "
                "round >= 10 ms, seconds > 0")
    url = a.endpoint_url or os.environ.get("DYNALOCK_TEST_DYNALITE_URL")
    if not url:
        # Like the other benches, a dynalite of its own: run again under
        # tools/test_servers.py, which starts one, sets the URL and stops it.
        servers = find_harness().parent / "test_servers.py"
        os.execvp(sys.executable, [sys.executable, str(servers), "--only", "dynalite", "--",
                                   sys.executable, os.path.abspath(sys.argv[0]), *sys.argv[1:]])
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = url
    if url.startswith("http://127.") or url.startswith("http://localhost"):
        for k, v in (("AWS_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "test"),
                     ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_EC2_METADATA_DISABLED", "true")):
            os.environ.setdefault(k, v)

    table = "shard-balance-" + uuid.uuid4().hex[:10]
    shard_fleet.create_table(a.cli, table)
    fleet = shard_fleet.Fleet(a.worker, table, a.shards, a.lease_ms, a.round_ms)
    names = [f"w{i:02d}" for i in range(1, a.workers + 1)]
    victims = names[a.workers - a.kill:]
    survivors = names[:a.workers - a.kill]
    result = {"workers": a.workers, "shards": a.shards, "kill": a.kill,
              "lease_ms": a.lease_ms, "round_ms": a.round_ms}
    end_by = shard_fleet.now_ms() + a.seconds * 1000

    def left_s():
        return max(0.0, (end_by - shard_fleet.now_ms()) / 1000)

    def balanced(live):
        return lambda ev: shard_fleet.balanced(ev, live, a.shards)

    codes = {}
    try:
        t0 = shard_fleet.now_ms()
        for n in names:
            fleet.start(n)
        log(f"{a.workers} workers started on {table}")
        t = fleet.wait_until(balanced(names), left_s())
        result["converged_s"] = None if t is None else round((t - t0) / 1000, 3)
        log("converged", result["converged_s"])
        if t is None:
            return result

        steady_from = t
        before = sum(1 for e in fleet.snapshot() if e.get("event") == "assigned")
        fleet.wait_until(lambda ev: False, min(a.steady_s, left_s()))
        steady_to = shard_fleet.now_ms()
        events = fleet.snapshot()
        result["moves_steady"] = sum(1 for e in events if e.get("event") == "assigned") - before
        # The first stats line of each worker after convergence starts the window.
        reads, writes = shard_fleet.steady_rates(events, steady_from, steady_to)
        result["steady_window_s"] = round((steady_to - steady_from) / 1000, 1)
        result["store_reads_per_s"] = round(reads, 1)
        result["store_writes_per_s"] = round(writes, 1)
        heartbeat_s = a.lease_ms / 3 / 1000
        result["per_lease_writes_per_s"] = round(a.shards / heartbeat_s, 1)
        result["per_lease_reads_per_s"] = round(a.workers * a.shards / (2 * a.lease_ms / 1000), 1)
        result["writes_ratio"] = round(result["per_lease_writes_per_s"] / writes, 1) \
            if writes > 0 else None
        log("steady", result)

        if a.kill:
            t_kill = None
            for v in victims:
                t = fleet.kill(v)
                t_kill = t_kill or t
            t = fleet.wait_until(balanced(survivors), left_s())
            result["failover_s"] = None if t is None else round((t - t_kill) / 1000, 3)
            # Kill to the first shard taken: the session's lease and the rounds
            # that notice it; the rest of failover_s is taking the shards.
            first = min((e["t_ms"] for e in fleet.snapshot()
                         if e.get("event") == "assigned" and e["t_ms"] > t_kill), default=None)
            result["failover_first_s"] = None if first is None else round((first - t_kill) / 1000, 3)
            log("failover", result["failover_s"])
            t_restart = shard_fleet.now_ms()
            for v in victims:
                fleet.start(v)
            t = fleet.wait_until(balanced(names), left_s())
            result["rejoin_converged_s"] = None if t is None else round((t - t_restart) / 1000, 3)
            log("rejoined", result["rejoin_converged_s"])
        return result
    finally:
        codes = fleet.stop_all()
        result["overlaps"] = len(shard_fleet.overlaps(fleet.snapshot(), shard_fleet.now_ms()))
        result["worker_exit_failures"] = sum(1 for c in codes.values() if c != 0)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    r = main()
    sys.exit(0 if r.get("overlaps") == 0 and r.get("worker_exit_failures") == 0 else 1)
