#!/usr/bin/env python3
"""Builds a user's program against dynalock as users get it, and runs it.

--consumer names how the out-of-tree user project finds dynalock:
  pkgconfig   the given build installed into a temporary root (`meson install
              --destdir`); a meson project finds it through dynalock.pc (whose
              prefix is pointed at the root), with the given sanitizers.
  cmake       the same installed tree, untouched; a CMake project finds it
              through find_package(dynalock CONFIG) with the root's prefix in
              CMAKE_PREFIX_PATH (the package computes every path from its own
              location).
  subproject  a temporary meson project whose subprojects/dynalock is a link
              to the source tree; only the program's target is built (which
              compiles the library again, in the user's build).
Each builds natural_program.cpp with the given compiler and runs it against the
test dynalite (DYNALOCK_TEST_DYNALITE_URL): it must take and release a lock
twice, with fences 1 and 2.

usage: check_installed.py --consumer pkgconfig --build DIR [--sanitize LIST] -- COMPILER...
       check_installed.py --consumer cmake --build DIR -- COMPILER...
       check_installed.py --consumer subproject --source DIR -- COMPILER...
"""

import argparse
import glob
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, **kw):
    print("+ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    return subprocess.run(cmd, **kw)


def install(build, root):
    """Installs `build` under `root`; returns its prefix, or None."""
    if run(["meson", "install", "-C", build, "--destdir", root, "--no-rebuild",
            "--quiet"]).returncode != 0:
        print("FAIL: meson install")
        return None
    options = run(["meson", "introspect", "--buildoptions", build], capture_output=True, text=True)
    return next(o["value"] for o in json.loads(options.stdout) if o["name"] == "prefix")


def build_pkgconfig(args, tmp, env):
    """Returns (program, its library directory) or None."""
    root = os.path.join(tmp, "root")
    if install(args.build, root) is None:
        return None
    pcs = glob.glob(os.path.join(root, "**", "dynalock.pc"), recursive=True)
    if len(pcs) != 1:
        print(f"FAIL: expected one installed dynalock.pc, found {pcs}")
        return None
    # The files were installed under a temporary root: point the prefix
    # there, as if dynalock had been installed with that prefix.
    with open(pcs[0]) as f:
        pc = f.read()
    prefix = re.search(r"^prefix=(.*)$", pc, re.M).group(1)
    with open(pcs[0], "w") as f:
        f.write(pc.replace("prefix=" + prefix, "prefix=" + root + prefix, 1))
    env["PKG_CONFIG_PATH"] = os.path.dirname(pcs[0])
    build = os.path.join(tmp, "build")
    setup = ["meson", "setup", build, os.path.join(HERE, "pkgconfig"),
             f"-Db_sanitize={args.sanitize}"]
    if args.sanitize != "none":
        setup.append("-Db_lundef=false")
    if run(setup, env=env).returncode != 0 or run(["ninja", "-C", build], env=env).returncode != 0:
        return None
    return os.path.join(build, "natural_program"), os.path.dirname(os.path.dirname(pcs[0]))


def build_cmake(args, tmp, env):
    root = os.path.join(tmp, "root")
    prefix = install(args.build, root)
    if prefix is None:
        return None
    configs = glob.glob(os.path.join(root, "**", "dynalockConfig.cmake"), recursive=True)
    if len(configs) != 1:
        # Otherwise CMake could find another installed dynalock.
        print(f"FAIL: expected one installed dynalockConfig.cmake, found {configs}")
        return None
    build = os.path.join(tmp, "build")
    if run(["cmake", "-S", os.path.join(HERE, "cmake"), "-B", build, "-G", "Ninja",
            "-DCMAKE_PREFIX_PATH=" + root + prefix], env=env).returncode != 0 \
            or run(["cmake", "--build", build], env=env).returncode != 0:
        return None
    # The program finds the library through the RUNPATH CMake gave it.
    return os.path.join(build, "natural_program"), None


def build_subproject(args, tmp, env):
    project = os.path.join(tmp, "project")
    os.makedirs(os.path.join(project, "subprojects"))
    shutil.copy(os.path.join(HERE, "subproject", "meson.build"), project)
    shutil.copy(os.path.join(HERE, "natural_program.cpp"), project)
    os.symlink(os.path.abspath(args.source), os.path.join(project, "subprojects", "dynalock"))
    build = os.path.join(tmp, "build")
    # The subproject, even if a dynalock is installed on this machine.
    setup = ["meson", "setup", build, project, "--force-fallback-for=dynalock",
             "-Ddynalock:tests=false", "-Ddynalock:benchmarks=false"]
    # No more compile jobs than cores (ninja's default is more): other tests
    # run beside this one.
    jobs = str(os.cpu_count() or 1)
    if run(setup, env=env).returncode != 0 \
            or run(["ninja", "-C", build, "-j", jobs, "natural_program"], env=env).returncode != 0:
        return None
    return os.path.join(build, "natural_program"), None


BUILDERS = {"pkgconfig": build_pkgconfig, "cmake": build_cmake, "subproject": build_subproject}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--consumer", required=True, choices=sorted(BUILDERS))
    ap.add_argument("--build", help="the dynalock build directory to install (pkgconfig, cmake)")
    ap.add_argument("--source", help="the dynalock source tree (subproject)")
    ap.add_argument("--sanitize", default="none",
                    help="meson b_sanitize for the consumer (pkgconfig only)")
    ap.add_argument("cxx", nargs="+", help="the compiler command of the consumer")
    args = ap.parse_args()
    if args.consumer == "subproject" and not args.source:
        ap.error("--consumer subproject needs --source")
    if args.consumer != "subproject" and not args.build:
        ap.error(f"--consumer {args.consumer} needs --build")
    if args.consumer != "pkgconfig" and args.sanitize != "none":
        ap.error("--sanitize is for the pkgconfig consumer only")
    url = os.environ.get("DYNALOCK_TEST_DYNALITE_URL")
    if not url:
        print("DYNALOCK_TEST_DYNALITE_URL is not set: run through tools/test_servers.py")
        return 1
    env = dict(os.environ, CXX=" ".join(shlex.quote(c) for c in args.cxx))
    with tempfile.TemporaryDirectory(prefix="dynalock-consumer-") as tmp:
        built = BUILDERS[args.consumer](args, tmp, env)
        if built is None:
            print(f"FAIL: the {args.consumer} consumer did not build")
            return 1
        program, libdir = built
        table = f"consumer-{random.getrandbits(48):x}"
        program_env = dict(os.environ, AWS_REGION="us-east-1", AWS_ENDPOINT_URL_DYNAMODB=url,
                           AWS_ACCESS_KEY_ID="consumer", AWS_SECRET_ACCESS_KEY="consumer")
        if libdir:
            program_env["LD_LIBRARY_PATH"] = libdir
        done = run([program, table], env=program_env, capture_output=True, text=True, timeout=120)
        print(done.stdout + done.stderr)
        if done.returncode != 0 or "fence 1" not in done.stdout or "fence 2" not in done.stdout:
            print(f"FAIL: natural_program exited {done.returncode}")
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
