#!/usr/bin/env python3
"""Emulator figures beside their baselines (part of bench/run):
  - the seed demo, `scripts/demo.sh`, against its 10 s target;
  - a ttnn MLP traced with `allocmon.emulate --no-data` against the same run holding data: wall time and peak
    memory, as ratios; and the same model at Galaxy size, which only the memory-only run can hold.
Each run is a fresh process; its peak RSS comes from wait4. Results are merged into bench/results.json."""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def run(command, env=None):
    """(wall seconds, peak RSS in MB) of one command; it must succeed."""
    started = time.monotonic()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - started
    stderr = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench/emulator.py: {' '.join(command)} failed:\n{stderr[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results.json"))
    parser.add_argument("--build", default=os.environ.get("ALLOCMON_BUILD_DIR", os.path.join(ROOT, "build")))
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    env = dict(os.environ, PYTHONPATH=os.path.join(build, "python"), ALLOCMON_BIN_DIR=build,
               NUMPY_MADVISE_HUGEPAGE="0")
    env.pop("TT_ALLOC_TRACKING_ENABLED", None)  # the emulator's own cost; the demo starts its own server
    python = sys.executable  # bench/run starts this file with .venv/bin/python
    model = os.path.join("bench", "models", "mlp.py")

    print("\nEmulator (wall seconds, peak RSS of the process)", flush=True)
    demo_wall, _ = run(["bash", "scripts/demo.sh"], env)
    print(f"  scripts/demo.sh (server, monitor frames, the seed's steps, replay): {demo_wall:5.1f} s   "
          f"target <= 10 s: {'met' if demo_wall <= 10 else 'MISSED'}")

    t3k = ["--mesh", "2x4", "--layers", "8", "--width", "2048"]
    with_data = run([python, "-m", "allocmon.emulate", model, *t3k], env)
    memory_only = run([python, "-m", "allocmon.emulate", "--no-data", model, *t3k], env)
    print(f"  MLP on a 2x4 mesh, 8 layers of 4 x 2048^2 bf16 weights: with data {with_data[0]:5.1f} s "
          f"{with_data[1]:6.0f} MB; --no-data {memory_only[0]:5.1f} s {memory_only[1]:6.0f} MB; "
          f"{with_data[0] / memory_only[0]:.1f}x faster, {with_data[1] / memory_only[1]:.1f}x less memory")
    galaxy = ["--mesh", "4x8", "--layers", "40", "--width", "4096"]
    galaxy_run = run([python, "-m", "allocmon.emulate", "--no-data", model, *galaxy], env)
    print(f"  MLP on a 4x8 Galaxy, 40 layers of 4 x 4096^2 (160 GiB of weights over the mesh), --no-data: "
          f"{galaxy_run[0]:5.1f} s {galaxy_run[1]:6.0f} MB (with data it cannot be held)")

    results = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            results = json.load(f)
    results["emulator"] = {
        "demo_seconds": demo_wall,
        "mlp_t3k": {"args": t3k, "with_data_seconds": with_data[0], "with_data_peak_mb": with_data[1],
                    "memory_only_seconds": memory_only[0], "memory_only_peak_mb": memory_only[1]},
        "mlp_galaxy_memory_only": {"args": galaxy, "seconds": galaxy_run[0], "peak_mb": galaxy_run[1]},
    }
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
