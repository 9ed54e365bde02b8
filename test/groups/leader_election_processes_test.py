#!/usr/bin/env python3
"""Leader election with three real processes (examples/leader_election) on
dynalite: exactly one leader at a time, terms strictly increasing, a new
leader after the leader is SIGKILLed (after its lease has run, not before)
and at once after the leader is stopped with SIGTERM (it resigns).

usage: leader_election_processes_test.py PATH_TO_LEADER_ELECTION
Run through tools/test_servers.py, which starts dynalite and sets
DYNALOCK_TEST_DYNALITE_URL.

The checker is independent of the library: it reads the JSON lines the
processes print, whose t_ms is the host's CLOCK_MONOTONIC, the clock Python's
time.monotonic() reads too. A leader believes it leads from its
started_leading line to its stopped_leading line (printed before its
resignation is sent), or to its death when killed; those intervals must not
overlap.

Timing bounds. The lower bound after a kill is exact and is the safety
property: the killed leader still believed it led at the kill, so its last
successful renewal was sent at most a renew deadline earlier, and a
contender takes over only after that renewal's record stood still for a lease
(timed from a read that returned after the renewal): the new leader starts
no earlier than kill + lease − renew deadline. The upper bounds only tell a
takeover apart from none and a resignation from a lease running out; they
are generous (tens of seconds after a kill, a whole lease after a SIGTERM)
because dynalite and these processes share a loaded 2-core machine that can
delay any of them by seconds. The delays measured are printed.

Every process started here is stopped before the script exits.
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

if len(sys.argv) != 2:
    print("usage: leader_election_processes_test.py PATH_TO_LEADER_ELECTION", file=sys.stderr)
    sys.exit(2)
PROGRAM = os.path.abspath(sys.argv[1])
URL = os.environ.get("DYNALOCK_TEST_DYNALITE_URL")
if not URL:
    print("DYNALOCK_TEST_DYNALITE_URL is not set: run through tools/test_servers.py",
          file=sys.stderr)
    sys.exit(1)

LEASE_MS = 8000
RENEW_DEADLINE_MS = LEASE_MS * 2 // 3  # as the example derives it
RETRY_MS = LEASE_MS // 8
TAKEOVER_SLACK_MS = 30000
STARTUP_LIMIT_S = 120

TABLE = f"leader-{random.randrange(10**9)}"
ENV = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
ENV.update(AWS_REGION="us-east-1", AWS_ENDPOINT_URL_DYNAMODB=URL,
           AWS_ACCESS_KEY_ID="leader-test", AWS_SECRET_ACCESS_KEY="leader-test")


def now_ms():
    return time.monotonic() * 1000


class Worker:
    def __init__(self, name, log):
        self.name = name
        self.proc = subprocess.Popen(
            [PROGRAM, "--name", "leader", "--table", TABLE, "--lease", f"{LEASE_MS}ms",
             "--identity", name],
            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.died_ms = None  # when a SIGKILL had surely taken effect
        self.stderr = ""
        self.reader = threading.Thread(target=self._read, args=(log,), daemon=True)
        self.reader.start()
        self.err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.err_reader.start()

    def _read(self, log):
        for line in self.proc.stdout:
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                e = {"unparsable": line}
            log.add(e)

    def _read_stderr(self):
        self.stderr = self.proc.stderr.read()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.died_ms = now_ms()

    def terminate(self, limit_s=60):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=limit_s)


class Log:
    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def add(self, e):
        with self.cond:
            self.events.append(e)
            self.cond.notify_all()

    def wait_for(self, predicate, limit_s, what):
        deadline = time.monotonic() + limit_s
        with self.cond:
            while True:
                found = [e for e in self.events if predicate(e)]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    fail(f"no {what} within {limit_s} s")
                self.cond.wait(left)

    def snapshot(self):
        with self.cond:
            return list(self.events)


log = Log()
workers = {}


def fail(message):
    print("FAIL:", message, file=sys.stderr)
    for e in log.snapshot():
        print("  ", json.dumps(e), file=sys.stderr)
    for w in workers.values():
        if w.stderr:
            print(f"  {w.name} stderr: {w.stderr}", file=sys.stderr)
    raise SystemExit(1)


def started(name=None, after_ms=0.0):
    return lambda e: (e.get("event") == "started_leading" and e["t_ms"] >= after_ms
                      and (name is None or e["worker"] == name))


def check(condition, message):
    if not condition:
        fail(message)


def check_usage_errors():
    """Bad flags: exit 64 and one line saying what to fix, before any request."""
    cases = [
        ([], "--name and --table are required"),
        (["--name", "x"], "--name and --table are required"),
        (["--name", "x", "--table", "t", "--lease", "4x"], "from 100ms to a day"),
        (["--name", "x", "--table", "t", "--lease", "99ms"], "from 100ms to a day"),
        (["--name", "x", "--table", "t", "--lease", "2000m"], "from 100ms to a day"),
        (["--name", "x", "--table", "t", "--bogus", "1"], "unknown option --bogus"),
        (["--name"], "missing its value"),
    ]
    for args, expected in cases:
        r = subprocess.run([PROGRAM, *args], env=ENV, capture_output=True, text=True, timeout=60)
        check(r.returncode == 64 and expected in r.stderr and not r.stdout,
              f"leader_election {' '.join(args)}: exit {r.returncode}, stderr {r.stderr!r}, "
              f"expected 64 and {expected!r}")
    r = subprocess.run([PROGRAM, "--help"], env=ENV, capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and r.stdout.startswith("usage: leader_election --name NAME"),
          f"--help: exit {r.returncode}, {r.stdout!r}")


def run():
    # The first creates the table; the others join once it leads.
    workers["w1"] = Worker("w1", log)
    first = log.wait_for(started("w1"), STARTUP_LIMIT_S, "started_leading of w1")
    for name in ("w2", "w3"):
        workers[name] = Worker(name, log)
    for name in ("w2", "w3"):
        log.wait_for(lambda e, n=name: e.get("event") == "new_leader" and e["worker"] == n
                     and e["leader"] == "w1" and e["fence"] == first["fence"],
                     STARTUP_LIMIT_S, f"new_leader w1 seen by {name}")

    # SIGKILL: the lease must run out first.
    killed_at = now_ms()
    workers["w1"].kill()
    second = log.wait_for(started(after_ms=killed_at),
                          (LEASE_MS + RETRY_MS + TAKEOVER_SLACK_MS) / 1000,
                          "new leader after the SIGKILL of w1")
    takeover_ms = second["t_ms"] - killed_at
    check(takeover_ms >= LEASE_MS - RENEW_DEADLINE_MS,
          f"{second['worker']} led {takeover_ms:.0f} ms after w1 was killed: before w1's "
          f"lease ({LEASE_MS} ms) since its last renewal could have run")
    check(second["fence"] > first["fence"], "the new leader's term is not higher")

    # SIGTERM: the leader resigns and the last one leads at once.
    leader = second["worker"]
    last = "w3" if leader == "w2" else "w2"
    terminated_at = now_ms()
    rc = workers[leader].terminate()
    check(rc == 0, f"{leader} exited with {rc} on SIGTERM")
    third = log.wait_for(started(last, terminated_at), (LEASE_MS + TAKEOVER_SLACK_MS) / 1000,
                         f"started_leading of {last} after the SIGTERM of {leader}")
    resign_ms = third["t_ms"] - terminated_at
    check(resign_ms < LEASE_MS, f"{last} led {resign_ms:.0f} ms after {leader} was stopped: "
          f"it waited for a lease ({LEASE_MS} ms) instead of taking the resigned leadership")
    check(third["fence"] > second["fence"], "the third leader's term is not higher")
    log.wait_for(lambda e: e.get("event") == "new_leader" and e["worker"] == last
                 and e["leader"] == last, LEASE_MS / 1000, f"{last} observing itself lead")

    rc = workers[last].terminate()
    check(rc == 0, f"{last} exited with {rc} on SIGTERM")
    return takeover_ms, resign_ms


def check_log():
    events = log.snapshot()
    bad = [e for e in events if "unparsable" in e or
           set(e) != {"t_ms", "worker", "event", "leader", "fence"}]
    check(not bad, f"lines that are not the documented JSON: {bad}")
    # Believed intervals, from each started_leading to its stopped_leading or
    # the death of its process.
    intervals = []
    for s in (e for e in events if e["event"] == "started_leading"):
        check(s["leader"] == s["worker"], f"started_leading names another leader: {s}")
        stops = [e for e in events if e["event"] == "stopped_leading"
                 and e["worker"] == s["worker"] and e["fence"] == s["fence"]]
        if stops:
            end = stops[0]["t_ms"]
        else:
            died = workers[s["worker"]].died_ms
            check(died is not None, f"{s['worker']} never stopped leading term {s['fence']}")
            end = died
        intervals.append((s["t_ms"], end, s["worker"], s["fence"]))
    intervals.sort()
    # Three at least: a leader the load kept from renewing in time steps
    # down and campaigns again, which is a term more, not a failure.
    check(len(intervals) >= 3, f"expected three terms at least, got {intervals}")
    for (s1, e1, w1, f1), (s2, e2, w2, f2) in zip(intervals, intervals[1:]):
        check(s2 >= e1, f"{w1} (term {f1}) led until {e1} and {w2} (term {f2}) from {s2}")
        check(f2 > f1, f"terms not strictly increasing: {f1} then {f2}")
    # What observers saw: real terms, each observer's strictly increasing.
    terms = {(w, f) for (_, _, w, f) in intervals}
    for name in workers:
        seen = [e for e in events if e["event"] == "new_leader" and e["worker"] == name]
        for e in seen:
            check((e["leader"], e["fence"]) in terms, f"{name} observed a leader never elected: {e}")
        fences = [e["fence"] for e in seen]
        check(fences == sorted(set(fences)), f"{name} observed terms out of order: {fences}")
    return intervals


def main():
    check_usage_errors()
    try:
        takeover_ms, resign_ms = run()
        intervals = check_log()
    finally:
        for w in workers.values():
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait()
    for w in workers.values():
        w.reader.join(timeout=10)
    for e in sorted(log.snapshot(), key=lambda e: e["t_ms"]):
        print(json.dumps(e, separators=(",", ":")))
    print(json.dumps({"lease_ms": LEASE_MS, "takeover_after_kill_ms": round(takeover_ms),
                      "takeover_after_sigterm_ms": round(resign_ms),
                      "terms": [f for (_, _, _, f) in intervals]}))
    print("leader election across processes: OK")


if __name__ == "__main__":
    main()
