#!/usr/bin/env python3
"""Builds a user's program against an installed dynalock, and runs it.

Installs the given build into a temporary root (`meson install --destdir`),
builds the out-of-tree consumer project named by --consumer as a user would
(its own meson or CMake project finding dynalock through the installed files),
with the given compiler and sanitizers, and runs natural_program.cpp against
the test dynalite (DYNALOCK_TEST_DYNALITE_URL): it must take and release a
lock twice, with fences 1 and 2.

usage: check_installed.py --build DIR --consumer pkgconfig [--sanitize LIST] -- COMPILER...
"""

import argparse
import glob
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, **kw):
    print("+ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    return subprocess.run(cmd, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="the dynalock build directory to install")
    ap.add_argument("--consumer", required=True, choices=["pkgconfig"])
    ap.add_argument("--sanitize", default="none", help="meson b_sanitize for the consumer")
    ap.add_argument("cxx", nargs="+", help="the compiler command of the consumer")
    args = ap.parse_args()
    url = os.environ.get("DYNALOCK_TEST_DYNALITE_URL")
    if not url:
        print("DYNALOCK_TEST_DYNALITE_URL is not set: run through tools/test_servers.py")
        return 1
    with tempfile.TemporaryDirectory(prefix="dynalock-consumer-") as tmp:
        root = os.path.join(tmp, "root")
        if run(["meson", "install", "-C", args.build, "--destdir", root, "--no-rebuild",
                "--quiet"]).returncode != 0:
            print("FAIL: meson install")
            return 1
        pcs = glob.glob(os.path.join(root, "**", "dynalock.pc"), recursive=True)
        if len(pcs) != 1:
            print(f"FAIL: expected one installed dynalock.pc, found {pcs}")
            return 1
        libdir = os.path.dirname(os.path.dirname(pcs[0]))
        # The files were installed under a temporary root: point the prefix
        # there, as if dynalock had been installed with that prefix.
        with open(pcs[0]) as f:
            pc = f.read()
        prefix = re.search(r"^prefix=(.*)$", pc, re.M).group(1)
        with open(pcs[0], "w") as f:
            f.write(pc.replace("prefix=" + prefix, "prefix=" + root + prefix, 1))
        env = dict(os.environ,
                   CXX=" ".join(shlex.quote(c) for c in args.cxx),
                   PKG_CONFIG_PATH=os.path.dirname(pcs[0]))
        build = os.path.join(tmp, "build")
        setup = ["meson", "setup", build, os.path.join(HERE, args.consumer),
                 f"-Db_sanitize={args.sanitize}"]
        if args.sanitize != "none":
            setup.append("-Db_lundef=false")
        if run(setup, env=env).returncode != 0 or run(["ninja", "-C", build], env=env).returncode != 0:
            print("FAIL: the consumer did not build")
            return 1
        table = f"consumer-{random.getrandbits(48):x}"
        program_env = dict(os.environ, AWS_REGION="us-east-1", AWS_ENDPOINT_URL_DYNAMODB=url,
                           AWS_ACCESS_KEY_ID="consumer", AWS_SECRET_ACCESS_KEY="consumer",
                           LD_LIBRARY_PATH=libdir)
        done = run([os.path.join(build, "natural_program"), table], env=program_env,
                   capture_output=True, text=True, timeout=120)
        print(done.stdout + done.stderr)
        if done.returncode != 0 or "fence 1" not in done.stdout or "fence 2" not in done.stdout:
            print(f"FAIL: natural_program exited {done.returncode}")
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
