#!/usr/bin/env python3
"""Runs a command with dynalock's test servers up, on free loopback ports.

Starts dynalite (from the project's node_modules), moto_server with SigV4
signature checking switched on (and a second one without, for the one call it
cannot serve with checking on), and stunnel (TLS) in front of dynalite; exports
their addresses as DYNALOCK_TEST_* environment variables; runs the command; and
always stops every server it started, also when the command fails or this
script is interrupted.

usage: tools/test_servers.py [--only dynalite,moto,tls] -- COMMAND [ARGS...]
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
started = []


def fail(msg):
    print(f"test_servers: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name, argv, **kw):
    log = open(os.path.join(workdir, f"{name}.log"), "wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True, **kw)
    started.append((name, proc))
    return proc


def wait_listening(name, proc, port, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(os.path.join(workdir, f"{name}.log"), errors="replace") as f:
                fail(f"{name} exited with {proc.returncode} before listening:\n{f.read()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    fail(f"{name} did not listen on 127.0.0.1:{port} within {seconds} s")


def stop_all():
    for name, proc in reversed(started):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for name, proc in reversed(started):
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    started.clear()


def start_dynalite(env):
    js = os.path.join(ROOT, "node_modules", "dynalite", "cli.js")
    if not os.path.exists(js):
        fail("dynalite is not installed: run `npm ci` in the project root (tools/setup.sh does)")
    port = free_port()
    proc = start("dynalite", ["node", js, "--host", "127.0.0.1", "--port", str(port),
                              "--createTableMs", "0", "--deleteTableMs", "0",
                              "--updateTableMs", "0"])
    wait_listening("dynalite", proc, port)
    env["DYNALOCK_TEST_DYNALITE_URL"] = f"http://127.0.0.1:{port}"
    return port


def start_moto(env):
    exe = shutil.which("moto_server")
    if exe is None:
        fail("moto_server is not installed; install it with: pip install 'moto[server]'")
    try:
        import botocore.session
    except ImportError:
        fail("python3 cannot import botocore, needed to create moto's IAM user")
    port = free_port()
    proc = start("moto", [exe, "-H", "127.0.0.1", "-p", str(port)])
    wait_listening("moto", proc, port)
    url = f"http://127.0.0.1:{port}"

    # While auth is off, create a user allowed to do everything and give it a key.
    iam = botocore.session.get_session().create_client(
        "iam", region_name="us-east-1", endpoint_url=url,
        aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    iam.create_user(UserName="dynalock-test")
    iam.put_user_policy(UserName="dynalock-test", PolicyName="all",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="dynalock-test")["AccessKey"]
    # Temporary credentials (with a session token) from an assumed role.
    iam.create_role(RoleName="dynalock-test", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": "*"}}]}))
    iam.put_role_policy(RoleName="dynalock-test", PolicyName="all",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    sts = botocore.session.get_session().create_client(
        "sts", region_name="us-east-1", endpoint_url=url,
        aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    session = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/dynalock-test",
                              RoleSessionName="dynalock-test")["Credentials"]
    # From now on every request must carry a valid signature by a known key.
    req = urllib.request.Request(f"{url}/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(req, timeout=10).read()

    # moto 5.2 answers HTTP 500 to an unsigned AssumeRoleWithWebIdentity once
    # auth is on: it tries to authenticate a call that AWS (and every SDK)
    # sends without a signature. Web identity is tested on a second moto that
    # never checks signatures; everything else uses the checking one.
    open_port = free_port()
    open_proc = start("moto-open", [exe, "-H", "127.0.0.1", "-p", str(open_port)])
    wait_listening("moto-open", open_proc, open_port)
    env["DYNALOCK_TEST_MOTO_OPEN_URL"] = f"http://127.0.0.1:{open_port}"

    env["DYNALOCK_TEST_MOTO_URL"] = url
    env["DYNALOCK_TEST_MOTO_ACCESS_KEY_ID"] = key["AccessKeyId"]
    env["DYNALOCK_TEST_MOTO_SECRET_ACCESS_KEY"] = key["SecretAccessKey"]
    env["DYNALOCK_TEST_MOTO_SESSION_ACCESS_KEY_ID"] = session["AccessKeyId"]
    env["DYNALOCK_TEST_MOTO_SESSION_SECRET_ACCESS_KEY"] = session["SecretAccessKey"]
    env["DYNALOCK_TEST_MOTO_SESSION_TOKEN"] = session["SessionToken"]


def start_tls(env, backend_port):
    exe = shutil.which("stunnel4") or shutil.which("stunnel")
    if exe is None:
        fail("stunnel is not installed: apt-get install stunnel4 (tools/setup.sh does)")
    d = os.path.join(workdir, "tls")
    os.mkdir(d)

    def run(*argv):
        subprocess.run(argv, cwd=d, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=dynalock test CA", "-keyout", "ca.key", "-out", "ca.pem")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem")
    port = free_port()
    with open(os.path.join(d, "stunnel.conf"), "w") as f:
        f.write(f"foreground = yes\npid =\n[dynalite]\naccept = 127.0.0.1:{port}\n"
                f"connect = 127.0.0.1:{backend_port}\ncert = {d}/server.pem\n"
                f"key = {d}/server.key\n")
    proc = start("stunnel", [exe, os.path.join(d, "stunnel.conf")])
    wait_listening("stunnel", proc, port)
    env["DYNALOCK_TEST_TLS_URL"] = f"https://localhost:{port}"
    env["DYNALOCK_TEST_TLS_CA"] = os.path.join(d, "ca.pem")
    # The certificate names only `localhost`: https://127.0.0.1:PORT is the
    # same server under a name the certificate does not cover.
    env["DYNALOCK_TEST_TLS_WRONG_NAME_URL"] = f"https://127.0.0.1:{port}"


def main():
    global workdir
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="dynalite,moto,tls")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        fail("no command given")
    wanted = set(args.only.split(","))

    def on_signal(signum, frame):
        stop_all()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    with tempfile.TemporaryDirectory(prefix="dynalock-servers-") as workdir:
        env = dict(os.environ)
        try:
            if "dynalite" in wanted or "tls" in wanted:
                dynalite_port = start_dynalite(env)
            if "moto" in wanted:
                start_moto(env)
            if "tls" in wanted:
                start_tls(env, dynalite_port)
            for k in sorted(k for k in env if k.startswith("DYNALOCK_TEST_")):
                print(f"test_servers: {k}={env[k]}", file=sys.stderr, flush=True)
            return subprocess.call(command, env=env)
        finally:
            stop_all()


if __name__ == "__main__":
    sys.exit(main())
