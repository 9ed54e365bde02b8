#!/usr/bin/env python3
"""Parses what dynalock renders for Prometheus with Prometheus's own parser
(Debian's python3-prometheus-client) and checks every family's name, type and
values: first stats with known values (metrics_fixture render), then a live
lock client's, scraped from the examples' metrics server (metrics_fixture
serve), which must also refuse what it does not serve.

usage: metrics_test.py METRICS_FIXTURE
Stops the process it started, also when a check fails."""

import subprocess
import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

fixture = sys.argv[1]
failures = []


def check(ok, what):
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failures.append(what)


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(fams, name, sample=None, **labels):
    """The value of the one sample of family `name` named `sample` with
    `labels` (besides the common ones)."""
    found = [s.value for s in fams[name].samples
             if s.name == (sample or name) and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, f"{sample or name} {labels}: {len(found)} samples"
    return found[0]


# --- known values ---------------------------------------------------------------
text = subprocess.run([fixture, "render"], check=True, capture_output=True, text=True,
                      timeout=60).stdout
fams = families(text)
worker = 'w"1\\\n'
expected = {
    "dynalock_locks_held": ("gauge", 3),
    "dynalock_sessions_open": ("gauge", 1),
    "dynalock_lease_requests_in_flight": ("gauge", 2),
    "dynalock_lease_requests_in_flight_limit": ("gauge", 32),
    "dynalock_locks_acquired": ("counter", 7),
    "dynalock_locks_released": ("counter", 4),
    "dynalock_sessions_opened": ("counter", 1),
    "dynalock_sessions_lost": ("counter", 8),
    "dynalock_sessions_killed": ("counter", 5),
    "dynalock_heartbeats_sent": ("counter", 100),
    "dynalock_heartbeats_failed": ("counter", 3),
    "dynalock_requests_throttled": ("counter", 6),
    "dynalock_heartbeat_gap_max_seconds": ("gauge", 1.5),
    # A shard group member's stats, written into the same text.
    "dynalock_group_members": ("gauge", 4),
    "dynalock_group_shards_owned": ("gauge", 16),
    "dynalock_group_rounds": ("counter", 40),
    "dynalock_group_full_rounds": ("counter", 9),
    "dynalock_group_handoffs": ("counter", 2),
    "dynalock_group_shards_lost": ("counter", 1),
    "dynalock_group_handoff_requests": ("counter", 4),
    "dynalock_group_members_ended": ("counter", 1),
}
for name, (typ, v) in expected.items():
    f = fams.get(name)
    check(f is not None and f.type == typ, f"{name} is a {typ}")
    if f is None:
        continue
    check(bool(f.documentation), f"{name} has a HELP text")
    sample = name + "_total" if typ == "counter" else name
    check(value(fams, name, sample) == v, f"{sample} = {v}")
    check(all(s.labels.get("worker") == worker for s in f.samples),
          f"{name} carries the worker label, escaped and read back")
check(fams.get("dynalock_locks_lost") is not None and fams["dynalock_locks_lost"].type == "counter",
      "dynalock_locks_lost is a counter")
check(value(fams, "dynalock_locks_lost", "dynalock_locks_lost_total", reason="stolen") == 1 and
      value(fams, "dynalock_locks_lost", "dynalock_locks_lost_total", reason="expired") == 2,
      "dynalock_locks_lost_total by reason: stolen 1, expired 2")

h = fams.get("dynalock_heartbeat_latency_seconds")
check(h is not None and h.type == "histogram", "dynalock_heartbeat_latency_seconds is a histogram")
latencies_us = [100, 1000, 5000, 5000, 5000, 30_000_000, 3 * 3600 * 1_000_000]
buckets = [(s.labels["le"], s.value) for s in h.samples if s.name.endswith("_bucket")]
edges = [2 ** k for k in range(7, 33)]
check([le for le, _ in buckets] == [f"{e / 1e6:.6f}".rstrip("0").rstrip(".") for e in edges] + ["+Inf"],
      "le edges: every power of two of microseconds from 128 us to 2^32 us, then +Inf")
check([v for _, v in buckets] == [sum(1 for x in latencies_us if x < e) for e in edges] +
      [len(latencies_us)], "cumulative bucket counts")
check(value(fams, "dynalock_heartbeat_latency_seconds", "dynalock_heartbeat_latency_seconds_count")
      == len(latencies_us), "_count")
check(abs(value(fams, "dynalock_heartbeat_latency_seconds", "dynalock_heartbeat_latency_seconds_sum")
          - sum(latencies_us) / 1e6) < 1e-6, "_sum in seconds")
check(value(fams, "dynalock_store_requests", "dynalock_store_requests_total", kind="read") == 11
      and value(fams, "dynalock_store_requests", "dynalock_store_requests_total", kind="write") == 12,
      "dynalock_store_requests_total by kind: read 11, write 12")
check(value(fams, "dynalock_group_shards_assigned", "dynalock_group_shards_assigned_total",
            how="free") == 12 and
      value(fams, "dynalock_group_shards_assigned", "dynalock_group_shards_assigned_total",
            how="handoff") == 3 and
      value(fams, "dynalock_group_shards_assigned", "dynalock_group_shards_assigned_total",
            how="takeover") == 5,
      "dynalock_group_shards_assigned_total by how: free 12, handoff 3, takeover 5")
check(len(fams) == len(expected) + 4, f"{len(fams)} families, none unexpected: {sorted(fams)}")

# --- a live client, scraped -----------------------------------------------------
server = subprocess.Popen([fixture, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True)
try:
    port = int(server.stdout.readline())
    url = f"http://127.0.0.1:{port}"
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        check(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"),
              "served as text/plain; version=0.0.4")
        live = families(r.read().decode())
    check(value(live, "dynalock_locks_held") == 2, "live: 2 locks held (the session not counted)")
    check(value(live, "dynalock_sessions_open") == 1, "live: 1 session open")
    check(value(live, "dynalock_locks_acquired", "dynalock_locks_acquired_total") == 2,
          "live: 2 locks acquired")
    check(value(live, "dynalock_sessions_opened", "dynalock_sessions_opened_total") == 1,
          "live: 1 session opened")
    for path, method, status in [("/", "GET", 404), ("/metrics", "POST", 405)]:
        try:
            urllib.request.urlopen(urllib.request.Request(url + path, method=method, data=None),
                                   timeout=10)
            got = 200
        except urllib.error.HTTPError as e:
            got = e.code
        check(got == status, f"{method} {path} answers {status}")
    server.stdin.close()
    check(server.wait(timeout=30) == 0, "the server stops when told and exits 0")
finally:
    if server.poll() is None:
        server.kill()
        server.wait()

print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
