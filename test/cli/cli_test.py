#!/usr/bin/env python3
"""End-to-end tests of the dynalock program against dynalite, as processes.

usage: cli_test.py PATH_TO_DYNALOCK   (DYNALOCK_TEST_DYNALITE_URL must be set:
run through tools/test_servers.py, which starts dynalite)

Every process started here is stopped before the script exits.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time

DYNALOCK = os.path.abspath(sys.argv[1])
URL = os.environ.get("DYNALOCK_TEST_DYNALITE_URL")
if not URL:
    print("DYNALOCK_TEST_DYNALITE_URL is not set: run through tools/test_servers.py "
          "(or tools/test.sh), which starts dynalite", file=sys.stderr)
    sys.exit(1)

TABLE = f"cli-{random.randrange(10**9)}"
BASE_ENV = {k: v for k, v in os.environ.items()
            if not k.startswith("AWS_") and not k.startswith("DYNALOCK_")}
BASE_ENV.update(AWS_REGION="us-east-1", AWS_ENDPOINT_URL_DYNAMODB=URL,
                AWS_ACCESS_KEY_ID="cli-test", AWS_SECRET_ACCESS_KEY="cli-test",
                AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
                DYNALOCK_TABLE=TABLE)
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


def start(*args):
    p = subprocess.Popen([DYNALOCK, *args], env=env(), stdout=subprocess.PIPE,
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


def test_usage_errors():
    rc, _, err = dynalock("list", DYNALOCK_TABLE=None)
    check(rc == 64 and "DYNALOCK_TABLE" in err, "no table: 64 naming DYNALOCK_TABLE", rc, err)
    rc, _, err = dynalock("run", "k", "--lease", "20", "--", "true")
    check(rc == 64 and "unit" in err, "bad duration: 64", rc, err)
    rc, _, err = dynalock("frobnicate")
    check(rc == 64 and "unknown subcommand" in err, "unknown subcommand: 64", rc, err)
    rc, _, err = dynalock("run", "k", "--lease", "2s", "--heartbeat", "2s", "--", "true")
    check(rc == 64 and "heartbeat" in err, "heartbeat not below lease: 64", rc, err)
    rc, out, _ = dynalock("run", "--help")
    check(rc == 0 and "--grace" in out, "run --help: 0 with the options", rc, out)
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


def main():
    tests = [test_usage_errors, test_unavailable, test_create_table, test_fence_and_environment,
             test_exit_status_passed_through, test_contention_list_and_forced_release,
             test_signals_forwarded]
    try:
        for t in tests:
            print(f"--- {t.__name__}", flush=True)
            t()
    finally:
        for p in started:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    print(f"{len(tests)} tests, {len(failures)} failed checks")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
