#!/usr/bin/env python3
"""A longer-running single-device workload (the seed's test_persistent_memory.py): phases that allocate L1 and
DRAM buffers, free part of them, and keep the rest, for a bounded time. After every phase the server's totals must
equal what this process holds by its own count; at the end everything is freed. Exit status 0 = pass."""

import argparse
import os
import sys
import time

import numpy as np

import allocmon


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--socket", default=os.environ.get("TT_ALLOC_SERVER_SOCKET", allocmon._allocmon.default_socket))
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to run")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between phases (for watching)")
    args = parser.parse_args()
    allocmon.configure(allocmon.tracking_enabled(), args.socket)
    device = allocmon.open_mesh(1, 1)
    rng = np.random.default_rng(1)
    live = []
    failures = 0
    phase = 0
    deadline = time.monotonic() + args.seconds

    def server_view():
        if not allocmon.tracking_enabled() or allocmon.flush() != allocmon.FLUSH_OK:
            return None
        for process in allocmon.snapshot(args.socket)["processes"]:
            if process["pid"] == os.getpid():
                memory = process["devices"][0]["memory"] if process["devices"] else {}
                return {t: memory.get(t, {}).get("allocated", 0) for t in ("DRAM", "L1")}
        return {"DRAM": 0, "L1": 0}

    baseline = server_view()
    while time.monotonic() < deadline:
        phase += 1
        for _ in range(int(rng.integers(2, 6))):
            kind = "L1" if rng.random() < 0.4 else "DRAM"
            rows = int(rng.integers(1, 9)) * 32
            live.append(allocmon.from_numpy(np.ones((rows, 256), np.float32), device, buffer_type=kind))
        for t in list(live):
            if rng.random() < 0.5:
                allocmon.deallocate(t)
                live.remove(t)
        view = server_view()
        if view is not None:
            mine = {"DRAM": baseline["DRAM"], "L1": baseline["L1"]}
            for t in live:
                mine[t.buffer_type] += t.buffer_size
            ok = view == mine
            failures += 0 if ok else 1
            print(f"phase {phase}: {len(live)} live tensors, server DRAM {view['DRAM']} L1 {view['L1']} "
                  f"{'✓' if ok else '✗ expected ' + str(mine)}")
        if args.pause:
            time.sleep(args.pause)
    for t in live:
        allocmon.deallocate(t)
    end = server_view()
    if end is not None and end != baseline:
        failures += 1
        print(f"✗ not back to baseline: {end} != {baseline}")
    device.close()
    print(f"{'PASSED' if not failures else 'FAILED'}: {phase} phases")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
