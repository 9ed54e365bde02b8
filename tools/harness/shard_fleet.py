"""Worker processes of a shard group (examples/shard_workers), started,
signalled and read as one fleet; and the independent checks of what they said.

Shared by bench/shard_balance.py, test/groups/shard_group_test.py and
examples/shard_demo.py. Every worker prints one JSON line per event with t_ms
on the steady clock (CLOCK_MONOTONIC), which this process reads too
(time.monotonic): one host clock for every interval.
"""
import json
import os
import signal
import subprocess
import threading
import time


def now_ms():
    return time.monotonic() * 1000.0


class Worker:
    def __init__(self, fleet, name, args):
        self.name = name
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.started_ms = now_ms()
        self.ended_ms = None  # when it was known dead (after the kill was reaped)
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, args=(fleet,), daemon=True)
        self._reader.start()

    def _read(self, fleet):
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                fleet.add({"t_ms": now_ms(), "worker": self.name, "event": "garbage",
                           "text": line[:200]})
                continue
            fleet.add(event)

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)
        self.stderr = self.proc.stderr.read()
        if self.ended_ms is None:
            self.ended_ms = now_ms()
        return self.proc.returncode


class Fleet:
    """Workers of one group on one table; `events` holds every line, in the
    order read."""

    def __init__(self, worker_binary, table, shards, lease_ms, round_ms, sort_key="sk"):
        self.binary = worker_binary
        self.table = table
        self.shards = shards
        self.lease_ms = lease_ms
        self.round_ms = round_ms
        self.sort_key = sort_key
        self.workers = {}   # name -> Worker (the latest incarnation)
        self.retired = []   # earlier incarnations
        self.events = []
        self.kills = []     # (name, t_ms after the process was reaped)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def add(self, event):
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def start(self, name, extra_args=()):
        args = [self.binary, name, self.table, str(self.shards), "--lease-ms",
                str(self.lease_ms), "--round-ms", str(self.round_ms), "--stats-ms", "1000",
                *extra_args]
        if self.sort_key:
            args += ["--sort-key", self.sort_key]
        if name in self.workers:
            self.retired.append(self.workers[name])
        self.workers[name] = Worker(self, name, args)

    def kill(self, name):
        """SIGKILL: the worker ends at once, believing nothing after that."""
        w = self.workers[name]
        w.signal(signal.SIGKILL)
        w.wait(30)
        self.kills.append((name, w.ended_ms))
        # Among the events, so that the checks end its intervals there.
        self.add({"t_ms": w.ended_ms, "worker": name, "event": "killed"})
        return w.ended_ms

    def terminate(self, name, timeout=60):
        w = self.workers[name]
        t = now_ms()
        w.signal(signal.SIGTERM)
        return t, w.wait(timeout)

    def live(self):
        return [n for n, w in self.workers.items() if w.proc.poll() is None]

    def stop_all(self, timeout=60):
        codes = {}
        for name in list(self.workers):
            if self.workers[name].proc.poll() is None:
                self.workers[name].signal(signal.SIGTERM)
        for name, w in self.workers.items():
            codes[name] = w.wait(timeout)
        return codes

    def snapshot(self):
        with self._lock:
            return list(self.events)

    def wait_until(self, predicate, timeout_s):
        """Waits until predicate(events) holds; returns the time it first
        held (ms) or None. Woken by every event, no polling sleeps."""
        deadline = now_ms() + timeout_s * 1000.0
        with self._changed:
            while True:
                if predicate(self.events):
                    return now_ms()
                left = deadline - now_ms()
                if left <= 0:
                    return None
                self._changed.wait(timeout=left / 1000.0)


def _replay(events):
    """One pass over the events, as each worker told them: the grants still
    open, (shard, worker, fence) -> start, the latest grant last; and per
    shard, the (worker, start, end) intervals that ended. A grant is known by
    its fence, so two grants of one shard to one worker (one lost while the
    other is granted) are two intervals. An interval ends at its released
    event (printed before the release is sent), at the lease's local deadline
    when lost, or at the moment a killed worker was reaped. Anomalies — an end
    without its grant, a grant opened twice — are intervals that overlap
    everything ((worker, -inf, inf)), so that the checks fail on them."""
    open_ = {}
    ended = {}
    broken = (float("-inf"), float("inf"))
    for e in events:
        kind = e.get("event")
        w = e.get("worker")
        if kind == "assigned":
            key = (e["shard"], w, e["fence"])
            if open_.pop(key, None) is not None:
                ended.setdefault(e["shard"], []).append((w, *broken))
            open_[key] = e["t_ms"]
        elif kind in ("released", "lost"):
            key = (e["shard"], w, e["fence"])
            if key not in open_:
                ended.setdefault(e["shard"], []).append((w, *broken))
                continue
            end = e["t_ms"]
            if kind == "lost" and e.get("deadline_ms") is not None:
                end = min(end, e["deadline_ms"])
            ended.setdefault(e["shard"], []).append((w, open_.pop(key), end))
        elif kind == "killed":
            for key in [k for k in open_ if k[1] == w]:
                ended.setdefault(key[0], []).append((w, open_.pop(key), e["t_ms"]))
    return open_, ended


def holdings(events):
    """Shard -> the worker that believes it holds the shard now (of two, the
    one granted it last; the checks fail on the two)."""
    open_, _ = _replay(events)
    return {shard: w for (shard, w, _) in open_}


def balanced(events, live, shards):
    """Every shard held by a live worker, each within the fair share."""
    held = holdings(events)
    if len(held) != shards or not live or any(w not in live for w in held.values()):
        return False
    low, high = shards // len(live), -(-shards // len(live))
    counts = {w: 0 for w in live}
    for w in held.values():
        counts[w] += 1
    return all(low <= c <= high for c in counts.values())


def believed_intervals(events, end_ms):
    """Per shard, the (worker, start, end) intervals each worker believed it
    held the shard (see _replay), those still open ending at `end_ms`."""
    open_, out = _replay(events)
    for (shard, w, _), start in open_.items():
        out.setdefault(shard, []).append((w, start, end_ms))
    return out


def overlaps(events, end_ms):
    """Pairs of intervals of one shard that overlap (every pair, not only
    neighbours in time)."""
    found = []
    for shard, intervals in believed_intervals(events, end_ms).items():
        intervals.sort(key=lambda i: i[1])
        for i, a in enumerate(intervals):
            if a[1] == float("-inf"):
                found.append((shard, a, a))  # a log that does not add up
            for b in intervals[i + 1:]:
                if b[1] >= a[2]:
                    break
                found.append((shard, a, b))
    return found


def steady_rates(events, since_ms, until_ms):
    """Store reads and writes per second of all workers together between two
    times, from their stats lines (the first and last line of each worker
    within the window)."""
    first, last = {}, {}
    for e in events:
        if e.get("event") != "stats" or not since_ms <= e["t_ms"] <= until_ms:
            continue
        first.setdefault(e["worker"], e)
        last[e["worker"]] = e
    reads = writes = 0.0
    for w, a in first.items():
        b = last[w]
        dt = (b["t_ms"] - a["t_ms"]) / 1000.0
        if dt > 0:
            reads += (b["store_reads"] - a["store_reads"]) / dt
            writes += (b["store_writes"] - a["store_writes"]) / dt
    return reads, writes


def create_table(cli, table, sort_key="sk"):
    args = [cli, "create-table", "--table", table]
    if sort_key:
        args += ["--sort-key-name", sort_key]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60, env=os.environ)
    if r.returncode != 0:
        raise RuntimeError(f"create-table {table}: {r.returncode} {r.stderr.strip()}")
