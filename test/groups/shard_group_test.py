#!/usr/bin/env python3
"""A shard group of real worker processes (examples/shard_workers) on dynalite:
four workers share 64 shards; one is SIGKILLed, one stopped with SIGTERM, one
joins again. An independent checker reads every worker's events on one host
clock and proves that no shard was ever believed by two workers at once.

usage: shard_group_test.py SHARD_WORKERS DYNALOCK_CLI TOOLS_HARNESS_DIR
(run under tools/test_servers.py, which sets DYNALOCK_TEST_DYNALITE_URL)
"""
import os
import sys
import uuid

sys.path.insert(0, sys.argv[3])
import shard_fleet  # noqa: E402

SHARDS = 64
LEASE_MS = 4000
HEARTBEAT_MS = LEASE_MS // 3  # what shard_workers sets
ROUND_MS = 500
failures = []


def check(ok, what, *detail):
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": {detail}"), flush=True)
    if not ok:
        failures.append(what)


def counts(events, live):
    held = shard_fleet.holdings(events)
    return {w: sum(1 for h in held.values() if h == w) for w in live}


def last_stats(events, worker):
    lines = [e for e in events if e.get("event") == "stats" and e["worker"] == worker]
    return lines[-1] if lines else {}


def checker_sees_overlaps():
    """The checker against made-up logs: it must find what it is for."""
    a = {"event": "assigned", "shard": "7", "worker": "a", "fence": 1, "t_ms": 100}
    b = {"event": "assigned", "shard": "7", "worker": "b", "fence": 2, "t_ms": 150}
    rel = {"event": "released", "shard": "7", "worker": "a", "fence": 1, "t_ms": 200}
    lost = {"event": "lost", "shard": "7", "worker": "a", "fence": 1, "t_ms": 900,
            "deadline_ms": 140}
    kill = {"event": "killed", "worker": "a", "t_ms": 160}
    check(shard_fleet.overlaps([a, b, rel], 1000) != [], "checker: a release after a grant")
    check(shard_fleet.overlaps([a, rel, dict(b, t_ms=250)], 1000) == [], "checker: handoff")
    check(shard_fleet.overlaps([a, lost, b], 1000) == [], "checker: lost at its deadline")
    check(shard_fleet.overlaps([a, kill, b], 1000) != [], "checker: killed after a grant")
    check(shard_fleet.overlaps([a, b], 1000) != [], "checker: two still holding")
    # One worker granted the shard again while its older grant's loss is
    # still to be told: the newer grant stays open until its own end.
    a2 = dict(a, fence=3, t_ms=200)
    lost1 = dict(lost, t_ms=300, deadline_ms=150)
    x = {"event": "assigned", "shard": "7", "worker": "x", "fence": 4, "t_ms": 500}
    rel2 = dict(rel, fence=3, t_ms=1000)
    check(shard_fleet.overlaps([a, a2, lost1, x, rel2], 2000) != [],
          "checker: a regrant's interval survives the older grant's loss")
    check(shard_fleet.overlaps([rel], 1000) != [], "checker: an end without its grant fails")
    # Who holds what, from the same replay of the events.
    check(shard_fleet.holdings([a, rel, dict(b, t_ms=250)]) == {"7": "b"}, "holdings: handoff")
    check(shard_fleet.holdings([a, kill]) == {}, "holdings: a killed worker holds nothing")
    check(shard_fleet.holdings([a, a2, lost1]) == {"7": "a"},
          "holdings: a regrant is held after the older grant's loss")


def main():
    checker_sees_overlaps()
    url = os.environ.get("DYNALOCK_TEST_DYNALITE_URL")
    if not url:
        print("DYNALOCK_TEST_DYNALITE_URL is not set: run under tools/test_servers.py")
        return 1
    os.environ.update(AWS_ENDPOINT_URL_DYNAMODB=url, AWS_REGION="us-east-1",
                      AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                      AWS_EC2_METADATA_DISABLED="true")
    table = "groups-" + uuid.uuid4().hex[:12]
    shard_fleet.create_table(sys.argv[2], table)
    fleet = shard_fleet.Fleet(sys.argv[1], table, SHARDS, LEASE_MS, ROUND_MS)
    try:
        return run(fleet)
    finally:
        codes = fleet.stop_all()
        check(all(c == 0 for c in codes.values()),
              "every worker still running ends with status 0 on SIGTERM", codes)
        end = shard_fleet.now_ms()
        bad = shard_fleet.overlaps(fleet.snapshot(), end)
        check(not bad, "no shard believed by two workers at once (whole run)", bad[:3])
        for name, w in fleet.workers.items():
            if w.stderr.strip():
                print(f"{name} stderr: {w.stderr.strip()[:2000]}")


def run(fleet):
    names = ["w1", "w2", "w3", "w4"]
    for n in names:
        fleet.start(n)
    # Generous bounds on waiting throughout: they only end a test that would
    # otherwise hang; what is checked is who holds what, from the events.
    t = fleet.wait_until(lambda ev: shard_fleet.balanced(ev, names, SHARDS), 120)
    check(t is not None, "4 workers over 64 shards converge to 16 each",
          counts(fleet.snapshot(), names))
    if t is None:
        return 1

    # Steady state: nothing moves while membership stays the same. Three
    # rounds of six are watched; this is an observation window, not a wait
    # for something to happen.
    before = len([e for e in fleet.snapshot() if e.get("event") == "assigned"])
    fleet.wait_until(lambda ev: False, 6 * ROUND_MS / 1000)
    after = len([e for e in fleet.snapshot() if e.get("event") == "assigned"])
    check(after == before, "steady state: no shard moves", after - before)

    # SIGKILL: the dead worker's shards go to the others once its session has
    # stood still for its lease, and not before.
    victim_shards = {s for s, w in shard_fleet.holdings(fleet.snapshot()).items() if w == "w4"}
    ended_before = sum(last_stats(fleet.snapshot(), n).get("members_ended", 0)
                       for n in names[:3])
    t_kill = fleet.kill("w4")
    live = names[:3]
    t = fleet.wait_until(lambda ev: shard_fleet.balanced(ev, live, SHARDS), 120)
    check(t is not None, "after SIGKILL: 3 workers hold all 64, 21 or 22 each",
          counts(fleet.snapshot(), live))
    takeovers = [e for e in fleet.snapshot()
                 if e.get("event") == "assigned" and e["shard"] in victim_shards
                 and e["t_ms"] > t_kill]
    earliest = min((e["t_ms"] for e in takeovers), default=None)
    # The session's last heartbeat came at most one heartbeat period before
    # the kill (plus a second of slack for a late heartbeat on a loaded
    # machine): a takeover before that heartbeat's lease ran out would be a
    # contender that did not wait.
    bound = t_kill + LEASE_MS - HEARTBEAT_MS - 1000
    check(len({e["shard"] for e in takeovers}) == len(victim_shards) and earliest is not None
          and earliest >= bound,
          "the killed worker's shards are taken, none before its session's lease",
          len(takeovers), len(victim_shards), earliest and earliest - t_kill)
    fleet.wait_until(lambda ev: all(last_stats(ev, n).get("t_ms", 0) > (t or 0) for n in live),
                     30)
    ended_after = sum(last_stats(fleet.snapshot(), n).get("members_ended", 0) for n in live)
    check(ended_after >= ended_before + 1,
          "SIGKILL: a member found its session stood still and ended it", ended_after,
          ended_before)
    if t is not None and earliest is not None:
        print(f"     failover: first shard {earliest - t_kill:.0f} ms after the kill, "
              f"all held {t - t_kill:.0f} ms after it (lease {LEASE_MS} ms)")

    # SIGTERM: the worker hands its shards back and closes its session: the
    # others take them at once, without ending a session that stood still.
    victim_shards = {s for s, w in shard_fleet.holdings(fleet.snapshot()).items() if w == "w3"}
    ended_before = sum(last_stats(fleet.snapshot(), n).get("members_ended", 0)
                       for n in names[:2])
    t_term, code = fleet.terminate("w3")
    check(code == 0, "SIGTERM: the worker exits with status 0", code)
    live = names[:2]
    t = fleet.wait_until(lambda ev: shard_fleet.balanced(ev, live, SHARDS), 120)
    check(t is not None, "after SIGTERM: 2 workers hold all 64, 32 each",
          counts(fleet.snapshot(), live))
    # Each remaining worker prints its counters every second: wait for a line
    # written after the takeover.
    fleet.wait_until(lambda ev: all(last_stats(ev, n).get("t_ms", 0) > (t or 0) for n in live),
                     30)
    ended_after = sum(last_stats(fleet.snapshot(), n).get("members_ended", 0) for n in live)
    check(ended_after == ended_before,
          "SIGTERM: its shards are taken without waiting out its session", ended_after,
          ended_before)
    if t is not None:
        print(f"     graceful: all held {t - t_term:.0f} ms after SIGTERM (lease {LEASE_MS} ms)")

    # A worker joins again (the killed one's name, whose old member item is
    # under the ended session): it gets its share, by handoff from the others.
    t_join = shard_fleet.now_ms()
    fleet.start("w4")
    live = ["w1", "w2", "w4"]
    t = fleet.wait_until(lambda ev: shard_fleet.balanced(ev, live, SHARDS), 120)
    check(t is not None, "a joining worker gets its share: 21 or 22 each",
          counts(fleet.snapshot(), live))
    events = fleet.snapshot()
    handed = [e for e in events if e.get("event") == "assigned" and e["worker"] == "w4"
              and e["t_ms"] > t_join]
    check(handed and all(e["handoff"] for e in handed),
          "the joiner's shards all came by handoff", [e["shard"] for e in handed
                                                       if not e["handoff"]])
    # How long each handed shard had no holder: from the release its holder
    # announced (before sending it) to the joiner's grant.
    released = {}
    gaps = []
    for e in events:
        if e["t_ms"] <= t_join:
            continue
        if e.get("event") == "released" and e["worker"] != "w4":
            released[e["shard"]] = e["t_ms"]
        elif e.get("event") == "assigned" and e["worker"] == "w4" and e["shard"] in released:
            gaps.append(e["t_ms"] - released[e["shard"]])
    # One round is the design; the bound is four rounds plus a second, for a
    # loaded machine (sanitizer builds): it fails only when handed shards
    # wait for something other than the joiner's next round.
    worst = max(gaps, default=None)
    check(worst is not None and worst <= 4 * ROUND_MS + 1000,
          "no handed shard is without a holder for long", worst)
    if worst is not None:
        print(f"     handoff: longest without a holder {worst:.0f} ms (round {ROUND_MS} ms)")
    return 0


if __name__ == "__main__":
    status = main() or 0
    print(f"{len(failures)} checks failed" if failures else "all checks passed")
    sys.exit(1 if failures or status else 0)
