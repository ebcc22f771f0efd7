#!/usr/bin/env python3
"""Single-device allocations (the seed's test_ttnn_allocations.py): three DRAM tensors, one L1 tensor, an add, and
frees, each checked through the server's query API when tracking is on. Exit status 0 = pass."""

import argparse
import os
import sys

import numpy as np

import allocmon


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--socket", default=os.environ.get("TT_ALLOC_SERVER_SOCKET", allocmon._allocmon.default_socket))
    args = parser.parse_args()
    allocmon.configure(allocmon.tracking_enabled(), args.socket)
    failures = []

    def held(memory_type):
        if not allocmon.tracking_enabled() or allocmon.flush() != allocmon.FLUSH_OK:
            return None
        for process in allocmon.snapshot(args.socket)["processes"]:
            if process["pid"] == os.getpid():
                for device in process["devices"]:
                    if device["id"] == 0:
                        return device["memory"].get(memory_type, {}).get("allocated", 0)
        return 0

    def expect(memory_type, value, label):
        got = held(memory_type)
        if got is not None and got != value:
            failures.append(f"{label}: device 0 holds {got} B of {memory_type}, expected {value}")
            print(f"  ✗ {failures[-1]}")
        elif got is not None:
            print(f"  ✓ {label}: {memory_type} = {got} B")

    device = allocmon.open_mesh(1, 1)
    dram0, l10 = held("DRAM") or 0, held("L1") or 0
    rng = np.random.default_rng(0)
    shapes = [(1, 1, 1024, 1024), (1, 1, 2048, 1024), (1, 1, 512, 512)]
    tensors = [allocmon.from_numpy(rng.random(s, dtype=np.float32), device) for s in shapes]
    dram_bytes = sum(s[2] * s[3] * 2 for s in shapes)
    expect("DRAM", dram0 + dram_bytes, "three DRAM tensors")
    small = allocmon.from_numpy(rng.random((1, 1, 256, 256), dtype=np.float32), device, buffer_type="L1")
    expect("L1", l10 + 256 * 256 * 2, "one L1 tensor")
    total = allocmon.add(tensors[0], tensors[0])
    expect("DRAM", dram0 + dram_bytes + 1024 * 1024 * 2, "add output")
    for t in tensors + [small, total]:
        allocmon.deallocate(t)
    expect("DRAM", dram0, "after free")
    expect("L1", l10, "after free")
    device.close()
    print("PASSED" if not failures else f"FAILED: {len(failures)} check(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
