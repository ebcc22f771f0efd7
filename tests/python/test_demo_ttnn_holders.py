"""scripts/demo.sh --ttnn's holders frame: the seed's scenario as a plain ttnn script under allocmon.emulate, with
scripts/demo_ttnn_holders.py printing `allocation_monitor_client --holders` just before the script's first
ttnn.deallocate, against a real server."""

import os
import re
import subprocess
import sys


def test_the_ttnn_demo_shows_what_holds_the_memory_before_step_6(repo_root, server):
    env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=server.socket)
    result = subprocess.run([sys.executable, "-m", "allocmon.emulate", os.path.join("scripts", "demo_ttnn_holders.py"),
                             os.path.join("examples", "ttnn", "test_mesh_allocation.py"), "--mib-per-device", "8"],
                            cwd=repo_root, env=env, capture_output=True, text=True, timeout=180)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    frame = out[out.index("[Step 6]"):out.index("All tensors deallocated")]  # before the frees
    assert "┄┄ allocation_monitor_client --holders op ┄┄" in frame, out
    assert "┄┄ allocation_monitor_client --holders tensor -t DRAM ┄┄" in frame, out
    assert "What holds DRAM on all devices:" in frame, out
    # Each of the script's two input tensors: one row, 8 MiB on each of the 8 devices, saying what it is (the whole
    # [2, 4, 4096, 1024] bfloat16 tensor split over the mesh's rows and columns), named by its line.
    described = r"bfloat16 TILE \[2, 4, 4096, 1024\] DRAM interleaved, sharded dim 0 over 2 rows, dim 1 over 4 columns"
    rows = re.findall(r"^ +64\.0 MiB +[0-9.]+% +8 0-7 +8\.0 MiB " + described +
                      r" +ttnn\.from_torch test_mesh_allocation\.py:(\d+)$", frame, re.M)
    assert len(rows) == 2 and rows[0] != rows[1], frame
    assert re.search(r"^ +64\.0 MiB .* 8 0-7 +8\.0 MiB " + described + r" +ttnn\.add test_mesh_allocation\.py:\d+$",
                     frame, re.M), frame
    assert re.search(r" ttnn\.matmul$", frame, re.M), frame  # by op
