"""What the ttnn tests share: a tensor put on a device, and the bytes the server says this process holds."""

import os

import allocmon
from allocmon import ttnn


def on_device(device, values, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, memory_config=None):
    return ttnn.from_torch(values, dtype=dtype, layout=layout, device=device, memory_config=memory_config)


def held(server, memory_type, device=0):
    """Bytes of one memory type this process holds on one device, per the server (after a flush barrier)."""
    assert allocmon.flush(5000) == allocmon.FLUSH_OK
    for process in allocmon.snapshot(server.socket)["processes"]:
        if process["pid"] == os.getpid():
            for d in process["devices"]:
                if d["id"] == device:
                    return d["memory"].get(memory_type, {}).get("allocated", 0)
    return 0
