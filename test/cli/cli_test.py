#!/usr/bin/env python3
"""End-to-end tests of the dynalock program against a real server, as processes.

usage: cli_test.py PATH_TO_DYNALOCK dynalite|moto PATH_TO_SESSION_HOLDER
Run through tools/test_servers.py (or tools/test.sh), which starts the servers
and sets DYNALOCK_TEST_DYNALITE_URL, or DYNALOCK_TEST_MOTO_URL with the key of
a user moto checks signatures for.

moto evaluates a condition and applies the update without a lock, so two
racing conditional writes can both succeed there: tests where writers race
(a holder heartbeating while its row is changed underneath or released by
force) run against dynalite only. Every process started here is stopped
before the script exits.

Locks held under a session are held by a real process, session_holder
(test/support/session_holder.cpp), with a 10-minute session lease: its first
heartbeat comes minutes after it took its locks (the library jitters it by at
most half of its 2.5-minute period), so no heartbeat races the
`release --end-session` these tests make, whose refusal on such a race is a
separate outcome (checked in cli_session_state on the judging function).
"""

import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import time

import botocore.session

DYNALOCK = os.path.abspath(sys.argv[1])
SERVER = sys.argv[2] if len(sys.argv) > 2 else ""
SESSION_HOLDER = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else ""
SETTINGS = {
    "dynalite": ("DYNALOCK_TEST_DYNALITE_URL", None, None),
    "moto": ("DYNALOCK_TEST_MOTO_URL", "DYNALOCK_TEST_MOTO_ACCESS_KEY_ID",
             "DYNALOCK_TEST_MOTO_SECRET_ACCESS_KEY"),
}
if SERVER not in SETTINGS or not SESSION_HOLDER:
    print("usage: cli_test.py PATH_TO_DYNALOCK dynalite|moto PATH_TO_SESSION_HOLDER",
          file=sys.stderr)
    sys.exit(2)
missing = [v for v in SETTINGS[SERVER] if v and not os.environ.get(v)]
if missing:
    print(f"{', '.join(missing)} not set: run through tools/test_servers.py "
          f"(or tools/test.sh), which starts {SERVER}", file=sys.stderr)
    sys.exit(1)
URL = os.environ[SETTINGS[SERVER][0]]
KEY_ID = os.environ[SETTINGS[SERVER][1]] if SETTINGS[SERVER][1] else "cli-test"
SECRET = os.environ[SETTINGS[SERVER][2]] if SETTINGS[SERVER][2] else "cli-test"

TABLE = f"cli-{random.randrange(10**9)}"
BASE_ENV = {k: v for k, v in os.environ.items()
            if not k.startswith("AWS_") and not k.startswith("DYNALOCK_")}
BASE_ENV.update(AWS_REGION="us-east-1", AWS_ENDPOINT_URL_DYNAMODB=URL,
                AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET,
                AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
                AWS_EC2_METADATA_DISABLED="true", DYNALOCK_TABLE=TABLE)
# The same server through botocore: to look at items and change them underneath.
DB = botocore.session.get_session().create_client(
    "dynamodb", region_name="us-east-1", endpoint_url=URL,
    aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)
started = []
failures = []


def env(**changes):
    e = dict(BASE_ENV)
    for k, v in changes.items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return e


def dynalock(*args, timeout=60, **env_changes):
    p = subprocess.run([DYNALOCK, *args], env=env(**env_changes), capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def start(*args, program=DYNALOCK):
    p = subprocess.Popen([program, *args], env=env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    started.append(p)
    return p


def finish(p, timeout):
    """The exit status and output of `p`, or status None if it did not end in time."""
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return None, out, err


def check(condition, what, *details):
    if not condition:
        failures.append(what)
        print(f"FAIL: {what}", *details, sep="\n    ", flush=True)


def holder(key):
    rc, out, err = dynalock("show", key, "--json")
    if rc != 0:
        return None
    return json.loads(out)


def wait_held_by(key, owner, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        h = holder(key)
        if h and h["owner"] == owner and not h["released"]:
            return h
        time.sleep(0.1)
    return None


SESSION_LEASE_MS = 600_000


def hold_under_session(*keys, table=TABLE, sort=None):
    """A session_holder holding `keys` of `table` under one session of its
    own (`sort`: the sort key's "NAME=VALUE" of the locks and the session):
    (process, session key, epoch), the key None if it did not say so in time."""
    p = start(*(["--sort", sort] if sort else []), table, str(SESSION_LEASE_MS), *keys,
              program=SESSION_HOLDER)
    line = ""
    ready, _, _ = select.select([p.stdout], [], [], 60)
    if ready:
        line = p.stdout.readline()
    said = line.split()
    if len(said) == 4 and said[:2] == ["held", str(len(keys))]:
        return p, said[2], int(said[3])
    stop(p)
    check(False, f"session_holder holds {keys} under a session", line, p.stderr.read())
    return p, None, None


def stop(p):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait()


def item(key):
    return DB.get_item(TableName=TABLE, Key={"key": {"S": key}}, ConsistentRead=True).get("Item")


def listed():
    """`list --json` as the exit status, the rows by key, and stderr."""
    rc, out, err = dynalock("list", "--json")
    return rc, {r["key"]: r for r in map(json.loads, out.splitlines())} if rc == 0 else {}, err


def test_usage_errors():
    rc, _, err = dynalock("list", DYNALOCK_TABLE=None)
    check(rc == 64 and "DYNALOCK_TABLE" in err, "no table: 64 naming DYNALOCK_TABLE", rc, err)
    rc, _, err = dynalock("run", "k", "--lease", "20", "--", "true")
    check(rc == 64 and "unit" in err, "bad duration: 64", rc, err)
    rc, _, err = dynalock("frobnicate")
    check(rc == 64 and "unknown subcommand" in err, "unknown subcommand: 64", rc, err)
    rc, _, err = dynalock("run", "k", "--lease", "2s", "--heartbeat", "2s", "--", "true")
    check(rc == 64 and "heartbeat" in err, "heartbeat not below lease: 64", rc, err)
    rc, _, err = dynalock("run", "k", "--lease", "99999999999h", "--", "true")
    check(rc == 64 and "--lease 99999999999h" in err and "168h (7 days)" in err,
          "a lease beyond 7 days: 64 naming --lease and the limit", rc, err)
    rc, _, err = dynalock("run", "k", "--wait", "10081m", "--", "true")
    check(rc == 64 and "--wait" in err and "168h" in err, "a wait beyond 7 days: 64", rc, err)
    rc, _, err = dynalock("create-table", "--provisioned", "1,99999999999")
    check(rc == 64 and "--provisioned" in err and "1000000" in err,
          "provisioned units beyond the bound: 64 naming the limit", rc, err)
    rc, out, _ = dynalock("run", "--help")
    check(rc == 0 and "--grace" in out, "run --help: 0 with the options", rc, out)
    rc, out, err = dynalock("--version", DYNALOCK_TABLE=None)
    check(rc == 0 and re.fullmatch(r"dynalock \d+\.\d+\.\d+\n", out) is not None,
          "--version: 0, the version, no table needed", rc, out, err)
    rc, _, err = dynalock("release", "k", "--end-session")
    check(rc == 64 and "--force" in err, "--end-session without --force: 64", rc, err)
    check(len(err.strip().splitlines()) <= 1, "an error is one line", err)


def test_unavailable():
    rc, _, err = dynalock("list")
    check(rc == 69 and TABLE in err and "create-table" in err,
          "missing table: 69 naming the table and create-table", rc, err)
    rc, _, err = dynalock("list", "--endpoint-url", "http://127.0.0.1:1")
    check(rc == 69, "unreachable endpoint: 69", rc, err)


def test_create_table():
    rc, out, err = dynalock("create-table")
    check(rc == 0 and "created" in out, "create-table: 0", rc, out, err)
    rc, out, err = dynalock("create-table")
    check(rc == 0 and "exists" in out, "create-table again: 0, exists", rc, out, err)
    rc, out, err = dynalock("create-table", "--partition-key-name", "other")
    check(rc == 64, "create-table on a table with another key schema: 64", rc, out, err)


def test_fence_and_environment():
    cmd = ["sh", "-c", 'echo "$DYNALOCK_FENCE $DYNALOCK_KEY $DYNALOCK_OWNER"']
    rc, out, err = dynalock("run", "fenced", "--owner", "tester", "--", *cmd)
    check(rc == 0 and out == "1 fenced tester\n", "first run: fence 1 in the environment", rc, out, err)
    rc, out, err = dynalock("run", "fenced", "--owner", "tester", "--", *cmd)
    check(rc == 0 and out == "2 fenced tester\n", "second run: fence 2", rc, out, err)
    h = holder("fenced")
    check(h is not None and h["released"] and h["fence"] == 2, "released after the run, fence kept", h)


def test_exit_status_passed_through():
    rc, _, err = dynalock("run", "status", "--", "sh", "-c", "exit 3")
    check(rc == 3, "command's exit status passed through", rc, err)
    rc, _, err = dynalock("run", "status", "--", "sh", "-c", "kill -KILL $$")
    check(rc == 128 + signal.SIGKILL, "command killed by a signal: 128+N", rc, err)
    rc, _, err = dynalock("run", "status", "--", "/nonexistent/command")
    check(rc == 127 and "/nonexistent/command" in err, "command not found: 127", rc, err)
    h = holder("status")
    check(h is not None and h["released"], "released after each", h)


def test_contention_list_and_forced_release():
    trap = "trap 'echo got-term; kill $!; exit 0' TERM; sleep 60 & wait"
    a = start("run", "held", "--owner", "a", "--lease", "3s", "--heartbeat", "1s",
              "--", "sh", "-c", trap)
    h = wait_held_by("held", "a")
    check(h is not None, "run a holds the lock")
    if h is None:
        return
    rc, _, err = dynalock("run", "held", "--owner", "b", "--wait", "1s", "--", "true")
    check(rc == 75 and "not granted" in err, "held lock, --wait 1s: 75", rc, err)

    rc, out, err = dynalock("list", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    row = next((r for r in rows if r["key"] == "held"), None)
    check(rc == 0 and row is not None and row["owner"] == "a" and row["fence"] == h["fence"]
          and row["released"] is False and row["lease_ms"] == 3000 and row["record_version"],
          "list --json shows the held row", rc, out, err)
    rc, out, _ = dynalock("list")
    check(rc == 0 and "held" in out and "OWNER" in out, "list as a table", out)

    rc, _, err = dynalock("release", "held")
    check(rc == 64 and "--force" in err and "a" in err, "release without --force refuses: 64", rc, err)

    waiter = start("run", "held", "--owner", "c", "--wait", "30s", "--",
                   "sh", "-c", 'echo "$DYNALOCK_FENCE"')
    time.sleep(1)
    released_at = time.monotonic()
    rc, out, err = dynalock("release", "held", "--force")
    check(rc == 0 and "a" in out, "release --force: 0, names the previous holder", rc, out, err)

    rc, out, err = finish(waiter, 30)
    check(rc == 0 and out.strip() == str(h["fence"] + 1),
          "a waiting run proceeds after the forced release, next fence", rc, out, err)
    check(time.monotonic() - released_at < 5, "the waiting run proceeded at once")

    rc, out, err = finish(a, 30)
    check(rc == 76 and "got-term" in out and "lost" in err,
          "the holder's run sees its lease stolen: SIGTERM to the command, exit 76", rc, out, err)


def test_forced_release_races_heartbeats():
    """A stuck holder's heartbeats still run: each moves the row's version, here
    every 2 ms, so the forced release's write often lands after one that
    followed its read. It is released all the same, every time."""
    for i in range(5):
        p = start("run", "busy", "--owner", f"busy-{i}", "--lease", "2s", "--heartbeat", "2ms",
                  "--", "sleep", "60")
        h = wait_held_by("busy", f"busy-{i}")
        check(h is not None, f"run busy-{i} holds the lock")
        if h is None:
            return
        rc, out, err = dynalock("release", "busy", "--force")
        check(rc == 0 and f"busy-{i}" in out,
              f"release --force of a lock heartbeated every 2 ms, round {i}: 0", rc, out, err)
        rc, _, err = finish(p, 30)
        check(rc == 76, f"holder busy-{i} lost its lease: 76", rc, err)


def test_signals_forwarded():
    p = start("run", "signalled", "--owner", "s", "--", "sh", "-c",
              "trap 'echo forwarded; kill $!; exit 7' TERM; sleep 60 & wait")
    check(wait_held_by("signalled", "s") is not None, "run s holds the lock")
    time.sleep(0.3)  # the shell sets its trap
    p.send_signal(signal.SIGTERM)
    rc, out, err = finish(p, 30)
    check(rc == 7 and "forwarded" in out, "SIGTERM forwarded, the command's status", rc, out, err)
    h = holder("signalled")
    check(h is not None and h["released"], "released after the forwarded signal", h)


def test_bad_signature():
    rc, _, err = dynalock("list", AWS_SECRET_ACCESS_KEY="not-the-secret")
    check(rc == 69 and "signature" in err.lower(), "a request moto's signature check refuses: 69",
          rc, err)


def test_command_not_executable():
    rc, _, err = dynalock("run", "status", "--", "/dev/null")
    check(rc == 126 and "/dev/null" in err, "command not executable: 126", rc, err)


def test_show_and_list_agree():
    rc, _, err = dynalock("run", "listed", "--owner", "lister", "--lease", "9s", "--heartbeat", "3s",
                          "--", "true")
    check(rc == 0, "run listed: 0", rc, err)
    rc, out, err = dynalock("show", "listed", "--json")
    shown = json.loads(out) if rc == 0 else None
    check(shown is not None and shown["key"] == "listed" and shown["owner"] == "lister"
          and shown["lease_ms"] == 9000 and shown["released"] is True and shown["fence"] >= 1,
          "show --json: the row's fields", rc, out, err)
    rc, out, err = dynalock("list", "--json")
    listed = [json.loads(line) for line in out.splitlines()]
    check(rc == 0 and shown in listed, "list --json has the row show --json gave", rc, out, err)
    rc, out, err = dynalock("show", "listed")
    lines = out.splitlines()
    check(rc == 0 and len(lines) == 2 and lines[0].split()[:3] == ["KEY", "OWNER", "FENCE"]
          and lines[1].split()[:5] == ["listed", "lister", str(shown and shown["fence"]), "9s",
                                       "yes"], "show as a table: the same fields", rc, out, err)
    item = DB.get_item(TableName=TABLE, Key={"key": {"S": "listed"}},
                       ConsistentRead=True).get("Item", {})
    check(item and item["ownerName"] == {"S": "lister"} and item["leaseDuration"] == {"S": "9000"}
          and item["isReleased"] == {"S": "1"} and item["recordVersionNumber"]["S"] ==
          (shown and shown["record_version"]), "the item in DynamoDB is what show said", item)


def test_missing_lock():
    rc, _, err = dynalock("show", "never-taken")
    check(rc == 1 and "never-taken" in err, "show of a missing lock: 1", rc, err)
    rc, _, err = dynalock("release", "never-taken", "--force")
    check(rc == 1 and "never-taken" in err, "release of a missing lock: 1", rc, err)


def test_provisioned_table():
    table = TABLE + "-provisioned"
    rc, out, err = dynalock("create-table", "--table", table, "--provisioned", "2,3")
    desc = DB.describe_table(TableName=table)["Table"] if rc == 0 else {}
    throughput = desc.get("ProvisionedThroughput", {})
    check(rc == 0 and desc.get("TableStatus") == "ACTIVE"
          and throughput.get("ReadCapacityUnits") == 2
          and throughput.get("WriteCapacityUnits") == 3,
          "create-table --provisioned 2,3: ACTIVE with that throughput", rc, out, err, desc)


def test_ttl_attribute():
    table = TABLE + "-ttl"
    rc, out, err = dynalock("create-table", "--table", table, "--ttl-attribute", "expiresAt")
    if SERVER == "moto":
        ttl = DB.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        check(rc == 0 and ttl.get("AttributeName") == "expiresAt"
              and ttl.get("TimeToLiveStatus") == "ENABLED",
              "create-table --ttl-attribute: TTL enabled on it", rc, out, err, ttl)
    else:
        check(rc == 69 and "expiresAt" not in out,
              "create-table --ttl-attribute on dynalite (no UpdateTimeToLive): 69", rc, out, err)
    started_at = time.time()
    rc, out, err = dynalock("run", "ttl", "--ttl-attribute", "expiresAt", "--", "true")
    item = DB.get_item(TableName=TABLE, Key={"key": {"S": "ttl"}},
                       ConsistentRead=True).get("Item", {})
    expires = int(item.get("expiresAt", {}).get("N", "0"))
    horizon = 20 + 7 * 24 * 3600  # the default lease, then a week
    check(rc == 0 and started_at + horizon - 1 <= expires <= time.time() + horizon + 1,
          "run --ttl-attribute: the row's TTL a week past the lease", rc, err, item)


def test_stuck_lock():
    """A holder killed with its command leaves the lock held until its lease runs out."""
    p = start("run", "stuck", "--owner", "gone", "--lease", "30s", "--heartbeat", "5s",
              "--", "sleep", "60")
    h = wait_held_by("stuck", "gone")
    check(h is not None, "run gone holds the lock")
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    if h is None:
        return
    rc, _, err = dynalock("run", "stuck", "--wait", "1s", "--", "true")
    check(rc == 75 and "not granted" in err, "stuck lock, --wait 1s: 75", rc, err)
    rc, _, err = dynalock("release", "stuck")
    check(rc == 64 and "--force" in err and "gone" in err,
          "release without --force refuses and names the holder: 64", rc, err)
    rc, out, err = dynalock("release", "stuck", "--force", "--json")
    row = json.loads(out) if rc == 0 else {}
    check(rc == 0 and row.get("previous_owner") == "gone" and row.get("released") is True
          and row.get("fence") == h["fence"],
          "release --force --json: 0, the previous holder and the kept fence", rc, out, err)
    rc, out, err = dynalock("release", "stuck", "--force")
    check(rc == 0 and "released already" in out, "release of a released lock: 0", rc, out, err)
    started_at = time.monotonic()
    rc, out, err = dynalock("run", "stuck", "--", "sh", "-c", 'echo "$DYNALOCK_FENCE"')
    check(rc == 0 and out.strip() == str(h["fence"] + 1) and time.monotonic() - started_at < 5,
          "after the forced release a run gets the lock at once, next fence", rc, out, err)


def test_lease_lost_when_row_changes():
    p = start("run", "changed", "--owner", "victim", "--lease", "3s", "--heartbeat", "1s",
              "--", "sh", "-c", "trap 'echo got-term; kill $!; exit 0' TERM; sleep 60 & wait")
    h = wait_held_by("changed", "victim")
    check(h is not None, "run victim holds the lock")
    if h is None:
        return
    time.sleep(0.3)  # the shell sets its trap
    DB.update_item(TableName=TABLE, Key={"key": {"S": "changed"}},
                   UpdateExpression="SET ownerName = :o, recordVersionNumber = :v",
                   ExpressionAttributeValues={":o": {"S": "intruder"}, ":v": {"S": "intruder-1"}})
    changed_at = time.monotonic()
    rc, out, err = finish(p, 30)
    check(rc == 76 and "got-term" in out and "stolen" in err and
          time.monotonic() - changed_at < 4,
          "row changed underneath: SIGTERM to the command within a heartbeat, exit 76",
          rc, out, err)


def test_grace_then_sigkill():
    p = start("run", "stubborn", "--owner", "stubborn", "--lease", "3s", "--heartbeat", "1s",
              "--grace", "1s", "--", "sh", "-c", "trap '' TERM; exec sleep 60")
    h = wait_held_by("stubborn", "stubborn")
    check(h is not None, "run stubborn holds the lock")
    if h is None:
        return
    DB.update_item(TableName=TABLE, Key={"key": {"S": "stubborn"}},
                   UpdateExpression="SET recordVersionNumber = :v",
                   ExpressionAttributeValues={":v": {"S": "intruder-2"}})
    changed_at = time.monotonic()
    rc, out, err = finish(p, 30)
    elapsed = time.monotonic() - changed_at
    check(rc == 76 and "SIGKILL after 1s" in err and 1 <= elapsed < 6,
          "a command ignoring SIGTERM gets SIGKILL after --grace; exit 76", rc, elapsed, err)


def test_bad_rows():
    """Rows another tool wrote badly: named errors, a listing that survives them."""
    table = TABLE + "-rows"
    rc, out, err = dynalock("create-table", DYNALOCK_TABLE=table)
    check(rc == 0, "create-table for the bad rows: 0", rc, out, err)
    if rc != 0:
        return

    def put(key, **attrs):
        row = {"key": {"S": key}, "ownerName": {"S": "other-tool"},
               "leaseDuration": {"S": "20000"}, "recordVersionNumber": {"S": "r1"}}
        for name, value in attrs.items():
            if value is None:
                row.pop(name)
            else:
                row[name] = value
        DB.put_item(TableName=table, Item=row)
        return row

    def item(key):
        return DB.get_item(TableName=table, Key={"key": {"S": key}},
                           ConsistentRead=True).get("Item")

    put("good")
    bad = {
        "lease-abc": (put("lease-abc", leaseDuration={"S": "abc"}),
                      ['lock "lease-abc"', 'leaseDuration is the string "abc"', "expected"]),
        "lease-huge": (put("lease-huge", leaseDuration={"S": "99999999999999999999999"}),
                       ['lock "lease-huge"', '"99999999999999999999999"', "expected"]),
        "no-owner": (put("no-owner", ownerName=None),
                     ['lock "no-owner"', "ownerName is missing, expected a string"]),
        # Released: without a fence check the update itself would fail on the server.
        "fence-string": (put("fence-string", fence={"S": "12"}, isReleased={"S": "1"}),
                         ['lock "fence-string"', 'fence is the string "12"', "expected a number"]),
    }
    for key, (row, said) in bad.items():
        started_at = time.monotonic()
        rc, out, err = dynalock("run", key, "--wait", "60s", "--", "echo", "ran",
                                DYNALOCK_TABLE=table, timeout=120)
        check(rc == 65 and "ran" not in out and all(part in err for part in said)
              and time.monotonic() - started_at < 30,
              f"run on a malformed row ({key}): 65 at once, naming key, attribute, value",
              rc, out, err)
        check(item(key) == row, f"the malformed row {key} is left as it was", item(key))
        rc, _, err = dynalock("show", key, DYNALOCK_TABLE=table)
        check(rc == 65 and said[1] in err, f"show of a malformed row ({key}): 65 saying why", rc, err)

    top = put("fence-top", fence={"N": "18446744073709551615"}, isReleased={"S": "1"})
    rc, out, err = dynalock("run", "fence-top", "--", "echo", "ran", DYNALOCK_TABLE=table)
    check(rc == 65 and "ran" not in out and "18446744073709551615" in err and "fence" in err,
          "run on a fence at its largest: 65 naming the fence", rc, out, err)
    check(item("fence-top") == top, "nothing written past the largest fence", item("fence-top"))

    put("bad-data", data={"S": "text"}, isReleased={"S": "1"}, fence={"N": "4"})
    rc, out, err = dynalock("run", "bad-data", "--owner", "me", "--", "echo", "ran",
                            DYNALOCK_TABLE=table)
    after = item("bad-data") or {}
    check(rc == 65 and "ran" not in out and 'data is the string "text"' in err
          and "released again" in err,
          "a grant that applied on a malformed row: 65, saying it was released again",
          rc, out, err)
    check(after.get("isReleased") == {"S": "1"} and after.get("ownerName") == {"S": "me"}
          and after.get("fence") == {"N": "5"},
          "the grant on the malformed row was released by its version", after)

    rc, out, err = dynalock("list", "--json", DYNALOCK_TABLE=table)
    rows = {r["key"]: r for r in map(json.loads, out.splitlines())} if rc == 0 else {}
    check(rc == 0 and rows.get("good", {}).get("owner") == "other-tool"
          and "malformed" not in rows.get("good", {})
          and rows.get("fence-top", {}).get("fence") == 18446744073709551615
          and all(rows.get(k, {}).get("malformed", "").startswith(attribute + " is ")
                  for k, attribute in [("lease-abc", "leaseDuration"),
                                       ("lease-huge", "leaseDuration"),
                                       ("no-owner", "ownerName"), ("fence-string", "fence")])
          and "data is the string" in rows.get("bad-data", {}).get("malformed", ""),
          "list --json: every row, the malformed ones with what is wrong", rc, out, err)
    rc, out, err = dynalock("list", DYNALOCK_TABLE=table)
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    check(rc == 0 and len(lines) == 7 and "other-tool" in lines.get("good", "")
          and 'MALFORMED: leaseDuration is the string "abc"' in lines.get("lease-abc", "")
          and "MALFORMED: ownerName is missing" in lines.get("no-owner", ""),
          "list: every row, the malformed ones marked MALFORMED with the reason", rc, out, err)
    rc, _, err = dynalock("release", "lease-abc", "--force", DYNALOCK_TABLE=table)
    check(rc == 65 and "leaseDuration" in err, "release of a malformed row: 65 saying why", rc, err)


def test_session_bound_locks():
    """Locks a live process holds under a session: marked in list and show,
    refused by release --force, freed all at once by --end-session."""
    keys = ["sess-a", "sess-b", "sess-c"]
    p, session, epoch = hold_under_session(*keys)
    if session is None:
        return
    held = {"key": session, "epoch": epoch, "state": "held", "owner": "session-holder"}
    rc, rows, err = listed()
    check(rc == 0 and all(rows.get(k, {}).get("session") == held
                          and rows[k]["lease_ms"] is None and rows[k]["released"] is False
                          and rows[k]["is_session"] is False for k in keys),
          "list --json: each lock names its session, epoch and state held", rc, rows, err)
    check(rows.get(session, {}).get("is_session") is True
          and rows[session].get("held_locks") == 3 and rows[session].get("session") is None
          and rows[session].get("fence") == epoch and rows[session].get("released") is False
          and rows[session].get("owner") == "session-holder",
          "list --json: the session's item marked as one, with its 3 locks",
          rows.get(session))
    rc, out, err = dynalock("list")
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    check(rc == 0 and out.splitlines()[0].split()[-1] == "SESSION"
          and all(lines.get(k, "").endswith(f"held {session} epoch {epoch}")
                  and lines[k].split()[3] == "session" for k in keys)
          and lines.get(session, "").endswith("session item, 3 locks held"),
          "list: the session, its epoch and state on each lock; the item with its locks",
          rc, out, err)
    rc, out, err = dynalock("show", "sess-a", "--json")
    check(rc == 0 and json.loads(out) == rows.get("sess-a"), "show --json: as list says",
          rc, out, err)
    rc, out, err = dynalock("show", session, "--json")
    shown = json.loads(out) if rc == 0 else {}
    check(rc == 0 and shown.get("is_session") is True and "held_locks" not in shown,
          "show --json of the session's item: marked, no count (that needs a scan)",
          rc, out, err)

    lock_before, session_before = item("sess-a"), item(session)
    rc, _, err = dynalock("release", "sess-a")
    check(rc == 64 and session in err and "--force --end-session" in err,
          "release without --force refuses naming the session: 64", rc, err)
    rc, _, err = dynalock("release", "sess-a", "--force")
    check(rc == 64 and session in err and f"epoch {epoch}, held, holder session-holder" in err
          and "--force --end-session" in err,
          "release --force refuses: 64, naming the session, its state and holder, and "
          "--end-session", rc, err)
    rc, _, err = dynalock("release", session, "--force")
    check(rc == 64 and f"session item '{session}'" in err and "--force --end-session" in err,
          "release --force of the session's item refuses too: 64", rc, err)
    check(item("sess-a") == lock_before and item(session) == session_before,
          "the refusals wrote nothing", item("sess-a"), item(session))

    rc, out, err = dynalock("release", "sess-a", "--force", "--end-session", "--json")
    ended = dict(held, state="ended")
    check(rc == 0 and json.loads(out) == {"key": "sess-a", "session": ended,
                                          "outcome": "session_ended", "freed_locks": 3},
          "release --force --end-session --json: the session ended, 3 locks freed",
          rc, out, err)
    after = item(session) or {}
    check(after.get("isReleased") == {"S": "1"} and after.get("fence") == {"N": str(epoch)}
          and item("sess-a") == lock_before,
          "one write: the session's item marked released, the lock's row untouched",
          after, item("sess-a"))
    rc, rows, err = listed()
    check(rc == 0 and all(rows.get(k, {}).get("session") == ended for k in keys)
          and rows.get(session, {}).get("released") is True
          and rows[session].get("held_locks") == 0,
          "list --json after: every lock's session ended", rc, rows, err)
    rc, out, err = dynalock("list")
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    check(rc == 0 and lines.get("sess-b", "").endswith(f"ended {session} epoch {epoch}")
          and lines.get(session, "").endswith("session item, ended"),
          "list after: the locks' session and the session's item ended", rc, out, err)
    rc, out, err = dynalock("release", "sess-b", "--force", "--end-session")
    check(rc == 0 and session in out and "has ended" in out and "free already" in out,
          "--end-session again: 0, the session has ended and the lock is free already",
          rc, out, err)
    rc, out, err = dynalock("release", session, "--force", "--end-session")
    check(rc == 0 and "released already" in out and "session has ended" in out,
          "--end-session of the ended session's item: 0, released already", rc, out, err)
    started_at = time.monotonic()
    rc, out, err = dynalock("run", "sess-c", "--wait", "5s", "--",
                            "sh", "-c", 'echo "$DYNALOCK_FENCE"')
    check(rc == 0 and out.strip() == "2" and time.monotonic() - started_at < 5,
          "a lock of the ended session is taken at once, with the next fence", rc, out, err)
    stop(p)


def test_end_session_by_its_item():
    p, session, epoch = hold_under_session("item-a", "item-b")
    if session is None:
        return
    rc, out, err = dynalock("release", session, "--force", "--end-session")
    check(rc == 0 and f"ended session '{session}' (epoch {epoch}, holder session-holder)" in out
          and "2 locks" in out,
          "release --force --end-session of the session's item: 0, its 2 locks freed",
          rc, out, err)
    rc, rows, err = listed()
    check(rc == 0 and all(rows.get(k, {}).get("session", {}).get("state") == "ended"
                          for k in ["item-a", "item-b"]),
          "list after: both locks' session ended", rc, rows, err)
    stop(p)


def test_session_item_deleted():
    p, session, epoch = hold_under_session("gone-a")
    if session is None:
        return
    DB.delete_item(TableName=TABLE, Key={"key": {"S": session}})
    rc, rows, err = listed()
    check(rc == 0 and rows.get("gone-a", {}).get("session")
          == {"key": session, "epoch": epoch, "state": "gone"},
          "list --json: a lock whose session item was deleted: gone", rc, rows, err)
    rc, out, err = dynalock("show", "gone-a")
    check(rc == 0 and out.splitlines()[-1].endswith(f"gone {session} epoch {epoch}"),
          "show: gone", rc, out, err)
    rc, out, err = dynalock("release", "gone-a", "--force")
    check(rc == 0 and "is gone" in out and "free already" in out,
          "release --force of it: 0, the lock is free already", rc, out, err)
    stop(p)


def test_sessions_with_a_sort_key():
    table = TABLE + "-sorted"
    rc, out, err = dynalock("create-table", "--sort-key-name", "sk", DYNALOCK_TABLE=table)
    check(rc == 0, "create-table with a sort key: 0", rc, out, err)
    if rc != 0:
        return
    p, session, epoch = hold_under_session("sorted-a", table=table, sort="sk=part-1")
    if session is None:
        return
    held = {"key": session, "sort_key": "part-1", "epoch": epoch, "state": "held",
            "owner": "session-holder"}
    rc, out, err = dynalock("list", "--json", "--sort-key-name", "sk", DYNALOCK_TABLE=table)
    rows = {(r["key"], r["sort_key"]): r for r in map(json.loads, out.splitlines())} if rc == 0 \
        else {}
    check(rc == 0 and rows.get(("sorted-a", "part-1"), {}).get("session") == held
          and rows.get((session, "part-1"), {}).get("held_locks") == 1,
          "list --json on a table with a sort key: the session's sort key too", rc, out, err)
    rc, out, err = dynalock("show", "sorted-a", "--sort-key", "part-1", "--sort-key-name", "sk",
                            DYNALOCK_TABLE=table)
    check(rc == 0 and out.splitlines()[-1].endswith(
        f"held {session} [sort key part-1] epoch {epoch}"), "show: the session's sort key",
        rc, out, err)
    rc, _, err = dynalock("release", "sorted-a", "--sort-key", "part-1", "--sort-key-name", "sk",
                          "--force", DYNALOCK_TABLE=table)
    check(rc == 64 and f"session '{session}' (sort key 'part-1')" in err,
          "release --force refuses naming the session with its sort key", rc, err)
    rc, out, err = dynalock("release", "sorted-a", "--sort-key", "part-1", "--sort-key-name",
                            "sk", "--force", "--end-session", "--json", DYNALOCK_TABLE=table)
    check(rc == 0 and json.loads(out) == {"key": "sorted-a", "sort_key": "part-1",
                                          "session": dict(held, state="ended"),
                                          "outcome": "session_ended", "freed_locks": 1},
          "release --force --end-session on a table with a sort key: 1 lock freed",
          rc, out, err)
    stop(p)


def test_malformed_session_item():
    """A lock whose session's item another tool wrote badly: named, not guessed at."""
    DB.put_item(TableName=TABLE, Item={
        "key": {"S": "session/bad"}, "ownerName": {"S": "other-tool"},
        "leaseDuration": {"S": "abc"}, "recordVersionNumber": {"S": "s1"},
        "fence": {"N": "4"}, "isSession": {"S": "1"}})
    lock = {"key": {"S": "under-bad"}, "ownerName": {"S": "other-tool"},
            "leaseDuration": {"S": "session"}, "recordVersionNumber": {"S": "l1"},
            "fence": {"N": "1"}, "sessionKey": {"S": "session/bad"}, "sessionEpoch": {"N": "4"}}
    DB.put_item(TableName=TABLE, Item=lock)
    rc, out, err = dynalock("show", "under-bad", "--json")
    check(rc == 0 and json.loads(out).get("session")
          == {"key": "session/bad", "epoch": 4, "state": "malformed"},
          "show --json: a lock whose session's item is malformed: state malformed", rc, out, err)
    rc, rows, err = listed()
    check(rc == 0 and rows.get("under-bad", {}).get("session", {}).get("state") == "malformed"
          and "leaseDuration" in rows.get("session/bad", {}).get("malformed", ""),
          "list --json: the same, the session's item listed as malformed", rc, rows, err)
    rc, _, err = dynalock("release", "under-bad", "--force", "--end-session")
    check(rc == 65 and "session/bad" in err and 'leaseDuration is the string "abc"' in err,
          "release of it: 65 naming the session's item and what is wrong", rc, err)
    check(item("under-bad") == lock, "nothing written", item("under-bad"))


def test_end_session_of_a_plain_lock():
    row = {"key": {"S": "plain-held"}, "ownerName": {"S": "someone"},
           "leaseDuration": {"S": "20000"}, "recordVersionNumber": {"S": "p1"},
           "fence": {"N": "1"}}
    DB.put_item(TableName=TABLE, Item=row)
    rc, _, err = dynalock("release", "plain-held", "--force", "--end-session")
    check(rc == 64 and "no session's" in err and "drop --end-session" in err,
          "--end-session on a lock with a lease of its own: 64", rc, err)
    check(item("plain-held") == row, "nothing written", item("plain-held"))


def main():
    both = [test_usage_errors, test_unavailable, test_create_table, test_fence_and_environment,
            test_exit_status_passed_through, test_command_not_executable,
            test_show_and_list_agree, test_missing_lock, test_provisioned_table,
            test_ttl_attribute, test_stuck_lock, test_signals_forwarded, test_bad_rows,
            test_session_bound_locks, test_end_session_by_its_item, test_session_item_deleted,
            test_sessions_with_a_sort_key, test_malformed_session_item,
            test_end_session_of_a_plain_lock]
    racing_writers = [test_contention_list_and_forced_release,
                      test_forced_release_races_heartbeats, test_lease_lost_when_row_changes,
                      test_grace_then_sigkill]
    tests = both + ({"dynalite": racing_writers, "moto": [test_bad_signature]}[SERVER])
    try:
        for t in tests:
            print(f"--- {t.__name__}", flush=True)
            try:
                t()
            except Exception as e:  # a broken test fails, and the others still run
                check(False, f"{t.__name__} raised {e!r}")
    finally:
        for p in started:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    print(f"{SERVER}: {len(tests)} tests, {len(failures)} failed checks")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
