#!/usr/bin/env python3
"""What saying each tensor costs (docs/attribution.md, "Tensors across the mesh"): allocate_tensor + deallocate
of memory-only tensors on a 2x4 emulated mesh, inside a scope and an op as the ttnn facade runs them, with tracking
off (the description is never built: one branch) and on (a server of its own; every mesh buffer said with
allocmon_tensor_begin/end). Prints the median microseconds per tensor, wall and the calling thread's CPU.

  PYTHONPATH=build/python ALLOCMON_BIN_DIR=build .venv/bin/python bench/tensor_attribution.py [N] [REPEATS]

Each mode runs in a fresh process (tracking is chosen at process start)."""

import os
import statistics
import subprocess
import sys
import tempfile
import time


def child(n, repeats):
    import allocmon
    from allocmon import _allocmon

    mesh = allocmon.open_mesh(2, 4, hold_data=False)
    shapes = [([1, 1, 1024, 1024], 3), ([1, 1, 32, 4096], 3), ([8, 128, 1024], -1)]  # sharded, replicated

    def loop():
        t0, c0 = time.perf_counter(), time.thread_time()
        for i in range(n):
            shape, flat_dim = shapes[i % 3]
            allocmon.deallocate(_allocmon.allocate_tensor(mesh, shape, "bfloat16", "tile", "DRAM", 0, None, flat_dim))
        return (time.perf_counter() - t0) / n * 1e6, (time.thread_time() - c0) / n * 1e6

    with allocmon.scope("model"), allocmon.op("ttnn.matmul", "model.py:1"):
        loop()  # warm
        runs = [loop() for _ in range(repeats)]
    if allocmon.tracking_enabled():
        assert allocmon.flush(30000) == allocmon.FLUSH_OK
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    mode = "on " if allocmon.tracking_enabled() else "off"
    print(f"tracking {mode}: {wall:.2f} us per tensor wall, {cpu:.2f} us CPU of the calling thread "
          f"(median of {repeats} x {n})", flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(int(sys.argv[2]), int(sys.argv[3]))
    n = sys.argv[1] if len(sys.argv) > 1 else "20000"
    repeats = sys.argv[2] if len(sys.argv) > 2 else "7"
    from allocmon.server import Server

    command = [sys.executable, os.path.abspath(__file__), "--child", n, repeats]
    env = {k: v for k, v in os.environ.items() if k != "TT_ALLOC_TRACKING_ENABLED"}
    subprocess.run(command, env=env, check=True)
    socket = os.path.join(tempfile.gettempdir(), f"allocmon-tensor-bench-{os.getpid()}.sock")
    with Server(socket):
        subprocess.run(command, env=dict(env, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=socket),
                       check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
