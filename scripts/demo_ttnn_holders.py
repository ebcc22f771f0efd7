"""scripts/demo.sh --ttnn: runs a plain ttnn script under allocmon.emulate, unchanged, and just before its first
ttnn.deallocate (the seed's step 6, every tensor still alive) prints what holds the memory as the monitor's
holders view shows it: `allocation_monitor_client --holders op` and `--holders tensor -t DRAM`. The facade names
each op and the script's line that called it (docs/attribution.md), so a script with no allocmon in it still
says which of its lines hold the bytes.

    python3 -m allocmon.emulate scripts/demo_ttnn_holders.py SCRIPT [ARGS]
"""

import runpy
import subprocess
import sys

import ttnn

import allocmon
from allocmon.server import find_binary

_deallocate = ttnn.deallocate
_shown = False


def _show_holders():
    if allocmon.flush(5000) != allocmon.FLUSH_OK:  # the barrier: the server has every allocation so far
        print("   (no allocation server confirmed the events: no holders frame)")
        return
    for args in (["--holders", "op"], ["--holders", "tensor", "-t", "DRAM"]):
        frame = subprocess.run([find_binary("allocation_monitor_client"), *args], capture_output=True, text=True)
        print(f"   ┄┄ allocation_monitor_client {' '.join(args)} ┄┄")
        print("   " + (frame.stdout or frame.stderr).rstrip().replace("\n", "\n   "))


def deallocate(*args, **kwargs):
    global _shown
    if not _shown:
        _shown = True
        _show_holders()
    return _deallocate(*args, **kwargs)


ttnn.deallocate = deallocate
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
