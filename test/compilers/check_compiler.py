#!/usr/bin/env python3
"""Checks what docs/compilers.md says of one C++ compiler, on this machine.

Builds the plain C++ reproducers beside this script with the compiler (with
AddressSanitizer), runs them, and compiles a translation unit that includes a
dynalock header. For g++ before 13 every reproducer must show its bug and the
header must refuse the compiler with its message; for any other compiler every
reproducer must pass and the header must compile. A compiler that behaves
otherwise fails the check: then either the compiler changed or
include/dynalock/compiler.hpp is wrong.

usage: check_compiler.py --include DIR -- COMPILER [ARGS...]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = ["aggregate", "lambda", "conditional"]
REFUSAL = "g++ 12 and older destroy temporaries of co_await expressions twice"


def identify(cxx):
    out = subprocess.run(cxx + ["-x", "c++", "-E", "-dM", "-"], input="", capture_output=True,
                         text=True, check=True).stdout
    macros = dict(re.findall(r"#define (\w+) (.*)", out))
    if "__clang__" in macros:
        return "clang", int(macros["__clang_major__"])
    return "gcc", int(macros["__GNUC__"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--include", required=True, help="dynalock's public include directory")
    ap.add_argument("cxx", nargs="+", help="the compiler command")
    args = ap.parse_args()
    family, major = identify(args.cxx)
    broken = family == "gcc" and major < 13
    name = f"{family} {major}"
    print(f"{name}: expected {'broken (refused by dynalock)' if broken else 'correct'}")
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "coroutine_temporaries")
        build = subprocess.run(args.cxx + ["-std=c++20", "-g", "-O1", "-fsanitize=address",
                                           os.path.join(HERE, "coroutine_temporaries.cpp"),
                                           "-o", exe], capture_output=True, text=True)
        if build.returncode != 0:
            print(build.stderr)
            problems.append("the reproducers do not compile")
        else:
            env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
            for case in CASES:
                run = subprocess.run([exe, case], capture_output=True, text=True, env=env,
                                     timeout=60)
                ok = run.returncode == 0
                print(f"  {case}: {'ok' if ok else 'miscompiled'}")
                if ok == broken:
                    problems.append(f"{case}: expected {'miscompiled' if broken else 'ok'}")

        braced = subprocess.run(args.cxx + ["-std=c++20", "-fsyntax-only",
                                            os.path.join(HERE, "initializer_list_in_co_await.cpp")],
                                capture_output=True, text=True)
        accepted = braced.returncode == 0
        print(f"  initializer list in co_await: {'compiles' if accepted else 'refused'}")
        if accepted == broken:
            problems.append("initializer list: expected " + ("refused" if broken else "compiles"))

        tu = os.path.join(tmp, "user.cpp")
        with open(tu, "w") as f:
            f.write("#include <dynalock/lock_client.hpp>\nint main() {}\n")
        header = subprocess.run(args.cxx + ["-std=c++20", "-fsyntax-only", "-I", args.include, tu],
                                capture_output=True, text=True)
        refused = header.returncode != 0 and REFUSAL in header.stderr
        print(f"  #include <dynalock/lock_client.hpp>: {'refused' if refused else 'compiles' if header.returncode == 0 else 'fails otherwise'}")
        if broken and not refused:
            problems.append("dynalock's headers do not refuse this compiler")
        if not broken and header.returncode != 0:
            print(header.stderr[-4000:])
            problems.append("dynalock's headers do not compile")
    for p in problems:
        print(f"FAIL: {name}: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
