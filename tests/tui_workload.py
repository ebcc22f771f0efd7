#!/usr/bin/env python3
"""A workload for the monitor's terminal tests: an emulated mesh (ROWS COLS) holding DRAM tensors and a fragmented
L1 (tensors freed between kept ones), reporting to the server in TT_ALLOC_SERVER_SOCKET. Prints "ready" once the
server has applied everything, then waits for a line on stdin and exits. A third argument "cb" adds a 12 KiB
circular buffer on every device."""

import sys

import numpy as np

import allocmon

rows, cols = int(sys.argv[1]), int(sys.argv[2])
allocmon.configure(True)
mesh = allocmon.open_mesh(rows, cols)
n = rows * cols
dram = [allocmon.from_numpy(np.ones((rows, cols, 256 * (i + 1), 1024), np.float32), mesh, shard_dims=(0, 1))
        for i in range(3)]
# L1: eight tensors, each on one core (so a bank holds 32-256 KiB of it, at the same address in every bank), every
# other one freed again: holes between live buffers, the fragmentation the address map shows.
l1 = [allocmon.from_numpy(np.ones((rows, cols, 64, 256 * (i + 1)), np.float32), mesh, buffer_type="L1",
                          shard_dims=(0, 1), shards=1) for i in range(8)]
for t in l1[::2]:
    allocmon.deallocate(t)
if sys.argv[3:] == ["cb"]:
    for device in range(n):
        allocmon.report_alloc(device, "CB", 12 * 1024, 0x10000, 900000 + device)
assert allocmon.flush() == allocmon.FLUSH_OK
print("ready", flush=True)
sys.stdin.readline()
mesh.close()
