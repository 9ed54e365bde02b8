#!/usr/bin/env python3
"""Three shard_workers processes share 24 shard leases; one is killed midway.

Creates the table with the dynalock tool, starts the workers, waits until they
share the shards fairly, kills one with SIGKILL, waits until the other two
have taken its shards over, prints a timeline of what the workers reported and
a table of who holds what (read from DynamoDB with `dynalock list`), then
stops the workers (they release their leases) and checks:

  * every shard ends up held by a live worker, and each shard the killed
    worker held is held with a higher fence than the killed worker's;
  * every holder in the table reported that grant with that fence;
  * the survivors released every lease when stopped;
  * a worker's /metrics (--metrics-port) parses as Prometheus text, with
    its locks held, grants and heartbeat latencies.

usage: shard_demo.py --worker PATH --cli PATH [--table NAME] [--shards N]
Region, endpoint and credentials come from the AWS environment variables.
Exits 0 when every check holds, 1 otherwise. Stops every process it started.
"""

import argparse
import collections
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families  # python3-prometheus-client

WORKERS = ["worker-1", "worker-2", "worker-3"]
VICTIM = "worker-2"
T0 = time.clock_gettime(time.CLOCK_MONOTONIC)  # shard_workers prints std::chrono::steady_clock
events = queue.Queue()
started = []
metrics_urls = {}  # worker -> its /metrics address, as it reported it


def now():
    return time.clock_gettime(time.CLOCK_MONOTONIC) - T0


def say(text):
    events.put((now(), "demo", text, "", ""))


def read_worker(proc, name):
    """Each line: <steady ms> <worker> <event> <key> <fence> [detail]."""
    for line in proc.stdout:
        parts = line.split(maxsplit=5)
        if len(parts) < 5:
            continue
        t = int(parts[0]) / 1000 - T0
        detail = parts[5].strip() if len(parts) > 5 else ""
        if parts[2] == "metrics":
            metrics_urls[parts[1]] = detail
        events.put((t, parts[1], parts[2], parts[3], parts[4], detail))


class Timeline:
    """Prints events as they come: one line per worker and kind of event for
    a burst of them (events less than QUIET apart)."""

    QUIET = 0.4

    def __init__(self):
        self.grants = []  # (worker, shard, fence) as the workers reported them
        self.pending = {}  # (worker, event) -> [first time, [(item, detail)]]
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.done = threading.Event()
        self.thread.start()

    def flush_all(self):
        for (worker, what), (t, items) in sorted(self.pending.items(), key=lambda kv: kv[1][0]):
            self.flush(t, worker, what, items)
        self.pending.clear()

    def run(self):
        while True:
            try:
                e = events.get(timeout=self.QUIET)
            except queue.Empty:
                self.flush_all()
                if self.done.is_set():
                    return
                continue
            if e[1] == "demo":
                self.flush_all()
                print(f"{e[0]:6.1f}s  {'demo':<9} {e[2]}", flush=True)
                continue
            t, worker, what, key, fence, detail = e
            if what in ("acquired", "took-over"):
                self.grants.append((worker, key, int(fence)))
            item = key if what in ("joined", "stopped", "noticed-gone", "metrics") else f"{key}@{fence}"
            self.pending.setdefault((worker, what), [t, []])[1].append((item, detail))

    @staticmethod
    def flush(t, worker, what, items):
        details = {d for _, d in items}
        if len(details) == 1:  # said once for the burst
            text = " ".join(i for i, _ in items) + (f"  ({details.pop()})" if items[0][1] else "")
        else:
            text = " ".join(f"{i}({d})" if d else i for i, d in items)
        print(f"{t:6.1f}s  {worker:<9} {what:<13} {text}".rstrip(" -"), flush=True)

    def close(self):
        self.done.set()
        self.thread.join()


def dynalock(cli, table, *args):
    p = subprocess.run([cli, "--table", table, *args], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError(f"dynalock {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def rows(cli, table):
    return {r["key"]: r for r in map(json.loads, dynalock(cli, table, "list", "--json").splitlines())}


def holders(table_rows, shards):
    """shard -> (owner, fence) for every shard held right now."""
    return {k: (r["owner"], r["fence"]) for k, r in table_rows.items()
            if k in shards and not r["released"]}


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    say(f"gave up waiting ({seconds} s) until {what}")
    return False


def scrape(url):
    """The families of one scrape of `url`, by name."""
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--table", default=f"dynalock-demo-{os.getpid()}")
    parser.add_argument("--shards", type=int, default=24)
    args = parser.parse_args()
    shards = [f"shard-{i:02d}" for i in range(args.shards)]
    failures = []

    def check(ok, what):
        print(f"  {'ok  ' if ok else 'FAIL'} {what}", flush=True)
        if not ok:
            failures.append(what)

    def count_by_owner(held):
        return collections.Counter(owner for owner, _ in held.values())

    timeline = Timeline()
    procs = {}
    try:
        dynalock(args.cli, args.table, "create-table")
        say(f"table {args.table} created; starting {', '.join(WORKERS)} "
            f"({args.shards} shards, lease 3 s, heartbeat 1 s)")
        for name in WORKERS:
            p = subprocess.Popen([args.worker, name, args.table, str(args.shards),
                                  "--metrics-port", "0"],
                                 stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
            started.append(p)
            procs[name] = p
            threading.Thread(target=read_worker, args=(p, name), daemon=True).start()

        def shared_fairly(workers):
            """Every shard held, by these workers only, none above its fair share."""
            held = holders(rows(args.cli, args.table), shards)
            counts = count_by_owner(held)
            return len(held) == args.shards and set(counts) == set(workers) and \
                max(counts.values()) <= -(-args.shards // len(workers))
        balanced = wait_until(lambda: shared_fairly(WORKERS), 30, "the shards are shared fairly")
        first = holders(rows(args.cli, args.table), shards)
        time.sleep(5)
        steady = holders(rows(args.cli, args.table), shards)
        moved = sum(1 for k in shards if first.get(k) != steady.get(k))
        say(f"5 s later {moved} shards changed hands or fence: heartbeats keep every lease"
            if moved == 0 else f"5 s later {moved} shards changed hands or fence")

        scraped = {}
        try:
            scraped = scrape(metrics_urls[WORKERS[0]])
            held = scraped["dynalock_locks_held"].samples[0]
            latency = {s.labels.get("le"): s.value
                       for s in scraped["dynalock_heartbeat_latency_seconds"].samples
                       if s.name.endswith("_bucket")}
            say(f"{WORKERS[0]} /metrics: {held.value:.0f} locks held (its shards and its "
                f"membership), {scraped['dynalock_heartbeats_sent'].samples[0].value:.0f} "
                f"heartbeats sent, {latency['+Inf']:.0f} latencies in the histogram")
        except (OSError, KeyError, ValueError, IndexError) as e:
            say(f"scraping {WORKERS[0]}'s metrics failed: {e!r}")

        procs[VICTIM].send_signal(signal.SIGKILL)
        procs[VICTIM].wait()
        before = holders(rows(args.cli, args.table), shards)
        victim_fences = {k: f for k, (o, f) in before.items() if o == VICTIM}
        say(f"SIGKILL {VICTIM}: it held {len(victim_fences)} shards; they stay locked "
            f"until their lease runs out")

        survivors = [w for w in WORKERS if w != VICTIM]
        took = wait_until(lambda: shared_fairly(survivors), 45, "the survivors hold every shard")
        if took:
            say("every shard is held by a live worker again")
        time.sleep(2)
        final = holders(rows(args.cli, args.table), shards)

        for name in survivors:
            procs[name].send_signal(signal.SIGTERM)
        stopped = all(procs[n].wait(timeout=20) == 0 for n in survivors)
        time.sleep(0.5)  # the last lines of the workers' output
        timeline.close()

        print("\nwho holds what (dynalock list, before the workers were stopped):")
        print(f"  {'shard':<9} {'owner':<9} {'fence':>5}   {VICTIM} held it with fence")
        for k in shards:
            owner, fence = final.get(k, ("-", 0))
            was = str(victim_fences[k]) if k in victim_fences else ""
            print(f"  {k:<9} {owner:<9} {fence:>5}   {was}")
        print("\nchecks:")
        check(balanced, "the three workers shared the shards fairly")
        check(took and len(final) == args.shards and all(o in survivors for o, _ in final.values()),
              "after the kill every shard is held by a live worker, shared fairly")
        check(bool(victim_fences) and all(final.get(k, ("", 0))[1] > f for k, f in victim_fences.items()),
              f"each of {VICTIM}'s {len(victim_fences)} shards is held with a higher fence than its own")
        reported = set(timeline.grants)
        check(all((o, k, f) in reported for k, (o, f) in final.items()),
              "every holder reported its grant with that fence")
        after = holders(rows(args.cli, args.table), shards)
        check(stopped and not after, "stopped workers exited 0 and released every shard")
        types = {n: f.type for n, f in scraped.items()}
        check(types.get("dynalock_locks_held") == "gauge"
              and types.get("dynalock_locks_acquired") == "counter"
              and types.get("dynalock_heartbeat_latency_seconds") == "histogram"
              and scraped["dynalock_locks_held"].samples[0].labels == {"worker": WORKERS[0]}
              and scraped["dynalock_locks_held"].samples[0].value >= 1,
              f"{WORKERS[0]}'s /metrics parsed as Prometheus text, with the locks it held")
    except Exception as e:  # any failure above still has to stop the workers
        timeline.close()
        print(f"shard_demo: {e}", file=sys.stderr)
        failures.append(str(e))
    finally:
        for p in started:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    print(f"\n{len(failures)} failed checks" if failures else "\nall checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
