"""allocmon: who holds device memory, on which device, in which memory type, right now.

This package is the Python face of allocmon:
  * the tracking client (report, flush) that every runtime uses,
  * queries to the allocation server (snapshot, leaks) as Python objects,
  * the emulated device mesh (open_mesh, from_numpy, add, matmul, deallocate, to_numpy), a runtime like any other
    that reports every buffer with the physical id of its device,
  * what-if replay (replay): would a trace or a recorded run fit on another architecture, grid or region size?
"""

import json as _json

from . import _allocmon
from ._allocmon import (  # noqa: F401  (re-exported API)
    MeshDevice,
    MeshTensor,
    OutOfMemoryError,
    add,
    client_stats,
    deallocate,
    flush,
    binary,
    matmul,
    memory_types,
    relocate,
    relu,
    sum,
    open_mesh,
    register_device,
    report_alloc,
    report_free,
    sync_sources,
    tracking_enabled,
    unregister_device,
)

from .replay import ReplayResult, replay  # noqa: F401,E402

_configured_socket = None


def configure(enabled, socket=None):
    """Turn tracking on/off and choose the server socket (overrides TT_ALLOC_TRACKING_ENABLED); queries that
    name no socket then ask that server too."""
    global _configured_socket
    _allocmon.configure(enabled, socket)
    if socket is not None:
        _configured_socket = socket
from .attribution import call_site, diff, holders, mark, op, scope, tensor, tensors  # noqa: F401,E402

__version__ = _allocmon.__version__

FLUSH_OK, FLUSH_DISABLED, FLUSH_NO_SERVER, FLUSH_TIMEOUT = 0, 1, -1, -2


def _dims(dims):
    """(row_dim, col_dim) with None for 'replicate along that mesh axis', as the C++ side takes it (-1)."""
    if dims is None:
        return None
    row, col = dims
    return (-1 if row is None else int(row), -1 if col is None else int(col))


def from_numpy(array, mesh, dtype="bfloat16", layout="tile", buffer_type="DRAM", shard_dims=None, flat_dim=-1,
               shards=0):
    """Distribute a host array over `mesh`: shard_dims=(row_dim, col_dim) splits tensor dims over mesh rows and
    columns (None in either place replicates along that axis); flat_dim splits one dim over every device in
    row-major mesh order; neither replicates. shards > 0: each device's buffer is sharded over that many cores
    (banks) instead of interleaved over all of them."""
    import numpy as np

    return _allocmon.from_numpy(np.ascontiguousarray(array, dtype=np.float32), mesh, dtype, layout, buffer_type,
                                _dims(shard_dims), flat_dim, shards)


def to_numpy(tensor, concat_dims=None, flat_dim=-1):
    """Gather a distributed tensor back to the host, concatenating shards along concat_dims=(row_dim, col_dim)
    or along flat_dim over every device; neither returns the first device's shard."""
    return _allocmon.to_numpy(tensor, _dims(concat_dims), flat_dim)


def read_shard(tensor, device_index, start=0, count=None):
    """One device's shard (mesh row-major index) as float32, as the device holds it; with count, only the flat
    values [start, start + count), so a large tensor can be checked a slice at a time."""
    return _allocmon.read_shard(tensor, device_index, start, count)


def snapshot(socket=None, timeout_ms=5000):
    """The server's state (schema allocmon.snapshot/1, docs/snapshot.md) as a dict."""
    return _json.loads(_allocmon.snapshot_json(socket or _configured_socket, timeout_ms))


def leaks(device=-1, socket=None, timeout_ms=5000):
    """Live buffers per process (schema allocmon.leaks/1), optionally for one device."""
    return _json.loads(_allocmon.leaks_json(device, socket or _configured_socket, timeout_ms))


def device_bytes(snap, memory_type=None):
    """{device id: allocated bytes} from a snapshot, for one memory type or all of them."""
    out = {}
    for device in snap["devices"]:
        if memory_type is None:
            out[device["id"]] = device["allocated"]
        else:
            out[device["id"]] = device["memory"][memory_type]["allocated"]
    return out
