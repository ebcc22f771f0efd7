#!/usr/bin/env python3
"""How much of tt-metal's own ttnn unit tests run unchanged on allocmon's emulated mesh.

Runs every test file listed in a manifest (tools/ttmetal_breadth_manifest.tsv: path, family, commit, arch) from a
tt-metal checkout (or the partial copy of one that holds those files and their harness) with
`python -m allocmon.emulate --arch ARCH --devices 8 -m pytest FILE` (ARCH: the manifest's arch column, wormhole_b0 for
a T3000 unless a file's every test needs a Blackhole), one file at a time, and prints the share of files that
pass per family (a file passes when pytest exits 0 having passed at least one test), with the most common
errors. docs/ttnn.md records the result.

    .venv/bin/python tools/ttmetal_breadth.py --checkout /path/to/tt-metal [--family eltwise] [--json out.json]
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)")


def read_manifest(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            file, family, commit = fields[:3]
            arch = fields[3] if len(fields) > 3 and fields[3] else "wormhole_b0"
            if file != "path":
                rows.append((file, family, commit, arch))
    return rows


def run_file(checkout, build, file, timeout, arch="wormhole_b0"):
    env = dict(os.environ, PYTHONPATH=os.path.join(build, "python"), PYTHONUNBUFFERED="1")
    env.pop("TT_ALLOC_TRACKING_ENABLED", None)
    command = [sys.executable, "-m", "allocmon.emulate", "--arch", arch, "--devices", "8", "-m", "pytest", "-q",
               "-p", "no:cacheprovider", "-o", "addopts=", "--timeout", "120", file]
    start = time.monotonic()
    try:
        done = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, timeout=timeout)
        out, rc = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as expired:
        out = (expired.stdout or b"").decode(errors="replace") if isinstance(expired.stdout, bytes) else (
            expired.stdout or "")
        rc = "timeout"
    counts = collections.Counter()
    for line in out.splitlines()[-5:]:
        for number, what in SUMMARY.findall(line):
            counts["errors" if what.startswith("error") else what] += int(number)
    errors = collections.Counter()
    for line in out.splitlines():
        if line.startswith("E   ") and ("Error" in line or "Exception" in line or "assert" in line):
            errors[re.sub(r"0x[0-9a-f]+", "0x…", line[1:].strip())[:200]] += 1
    passed = rc == 0 and counts["passed"] > 0
    return {"file": file, "rc": rc, "passed": passed, "counts": dict(counts), "seconds": time.monotonic() - start,
            "errors": errors.most_common(3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkout", required=True, help="tt-metal checkout (or the partial copy)")
    parser.add_argument("--manifest", default=os.path.join(HERE, "ttmetal_breadth_manifest.tsv"))
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--family", action="append", help="only these families (repeatable)")
    parser.add_argument("--match", help="only files whose path contains this")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per file")
    parser.add_argument("--json", help="write every file's result here")
    args = parser.parse_args()
    rows = [r for r in read_manifest(args.manifest) if (not args.family or r[1] in args.family)
            and (not args.match or args.match in r[0])]
    results = []
    for file, family, commit, arch in rows:
        result = run_file(os.path.abspath(args.checkout), os.path.abspath(args.build), file, args.timeout, arch)
        result.update(family=family, commit=commit, arch=arch)
        results.append(result)
        mark = "pass" if result["passed"] else "FAIL"
        where = "" if arch == "wormhole_b0" else f" [{arch}]"
        print(f"{mark} {file}{where} {result['counts']} {result['seconds']:.1f}s"
              + ("" if result["passed"] else f"  {result['errors'][:1]}"), flush=True)
    by_family = collections.defaultdict(list)
    for result in results:
        by_family[result["family"]].append(result["passed"])
    print("\nfamily               files  pass   share")
    for family in sorted(by_family):
        passed = by_family[family]
        print(f"{family:20s} {len(passed):5d} {sum(passed):5d} {100 * sum(passed) / len(passed):6.1f} %")
    total = [r["passed"] for r in results]
    if total:
        print(f"{'all':20s} {len(total):5d} {sum(total):5d} {100 * sum(total) / len(total):6.1f} %")
    errors = collections.Counter()
    for result in results:
        for line, count in result["errors"]:
            errors[line] += 1
    print("\nmost common errors (files):")
    for line, count in errors.most_common(15):
        print(f"{count:4d}  {line}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
