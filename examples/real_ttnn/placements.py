#!/usr/bin/env python3
"""Tensor placements that need no kernel, run under the REAL ttnn (the wheel, mock T3000) or under allocmon's
emulator (`python -m allocmon.emulate --devices 8 placements.py`): the same ttnn calls on both, and a record of
every device buffer each placement allocated (device, memory type, size, address, page size) in order, as JSON.

  real ttnn:  tt-metal's graph capture (C++ API, RunMode.NORMAL) around each placement: its buffer_allocate nodes.
              A mesh buffer is one node (device_id = the mesh), allocated in lock-step on every chip: it is
              listed once per chip of the mesh (tt-metal's regions count it on every chip, as the scenario shows).
  emulator:   what allocmon's server received (the leak report of this process: per device, size, address,
              page size), and the count of events the server applied beyond those buffers' Allocs (the emulated
              mesh sends one allocator-statistics event per device after each allocation; a buffer allocated and
              freed inside a placement would add two more).

A placement: host tensor (float32 values, zeros) -> ttnn.to_device(mesh, memory_config) with a mesh mapper.
tools/compare_real_ttnn.py runs both and compares them. Usage: placements.py --out FILE.json [--families a,b]
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import ttnn

REAL = not ttnn.__name__.startswith("allocmon")  # the wheel; under allocmon.emulate `ttnn` is allocmon.ttnn
MESH = (2, 4)
CHIPS = MESH[0] * MESH[1]

# Per-chip shapes from the seed, the ttnn tutorials (32x32 add, 1024x1024 matmul, the multi-device guide's
# (1, 1, 32, 256) sharded over 8) and a few that need tile padding or odd row sizes.
REPLICATED_SHAPES = [(32, 32), (64, 128), (1024, 1024), (1, 1, 32, 256), (1, 1, 100, 1000), (3, 5, 33, 65)]
SHARD_1D = [((1, 1, 32, 256), 3), ((1, 1, 64, 512), 3), ((1, 1, 100, 8000), 3), ((2, 3, 33, 520), 3),
            ((8, 1, 30, 70), 0)]
SHARD_2D = [((1, 1, 64, 256), (2, 3)), ((2, 4, 32, 32), (0, 1)), ((1, 1, 200, 4000), (2, 3)),
            ((2, 4, 33, 65), (0, 1)), ((2, 1, 30, 280), (0, 3))]
LAYOUTS = ("TILE", "ROW_MAJOR")
DTYPES = ("bfloat16", "float32")


def families():
    out = {}
    for memory in ("DRAM", "L1"):
        out[f"replicate/{memory}"] = [("replicate", s, None, memory) for s in REPLICATED_SHAPES]
        out[f"no-mapper/{memory}"] = [("none", s, None, memory) for s in REPLICATED_SHAPES]
        out[f"shard/{memory}"] = [("shard", s, d, memory) for s, d in SHARD_1D]
        out[f"shard2d/{memory}"] = [("shard2d", s, d, memory) for s, d in SHARD_2D]
    expanded = {}
    for name, items in out.items():
        expanded[name] = [(m, s, d, mem, lay, dt) for m, s, d, mem in items for lay in LAYOUTS for dt in DTYPES]
    # Holes: free some tensors, then place others (first fit? the lowest hole? L1 from the top?).
    for memory in ("DRAM", "L1"):
        expanded[f"reuse/{memory}"] = [
            ("replicate", (1, 1, 256, 256), None, memory, "TILE", "bfloat16"),    # 0: 128 KiB
            ("replicate", (1, 1, 64, 64), None, memory, "TILE", "bfloat16"),      # 1: 8 KiB
            ("replicate", (1, 1, 512, 256), None, memory, "TILE", "bfloat16"),    # 2: 256 KiB
            ("replicate", (1, 1, 64, 64), None, memory, "TILE", "float32"),       # 3: 16 KiB
            ("free", 0), ("free", 2),
            ("replicate", (1, 1, 32, 32), None, memory, "TILE", "bfloat16"),      # a small one: which hole?
            ("replicate", (1, 1, 256, 512), None, memory, "TILE", "bfloat16"),    # 256 KiB: fits 2's hole only
            ("replicate", (1, 1, 100, 1000), None, memory, "ROW_MAJOR", "float32"),
            ("free", 1),
            ("replicate", (1, 1, 64, 64), None, memory, "TILE", "bfloat16"),
        ]
    # The seed's two tensors: 100 MiB per chip, sharded over the 2x4 mesh, then replicated (DRAM, bfloat16 tiles).
    expanded["seed/DRAM"] = [("shard2d", (2, 4, 51200, 1024), (0, 1), "DRAM", "TILE", "bfloat16"),
                             ("replicate", (1, 1, 51190, 1000), None, "DRAM", "TILE", "bfloat16")]
    return expanded


def mapper_of(mesh, kind, dims):
    if kind == "replicate":
        return ttnn.ReplicateTensorToMesh(mesh)
    if kind == "shard":
        return ttnn.ShardTensorToMesh(mesh, dim=dims)
    if kind == "shard2d":
        return ttnn.ShardTensor2dMesh(mesh, mesh_shape=MESH, dims=dims)
    return None


def host_tensor(array, dtype, layout, mapper):
    if not REAL:
        return ttnn.from_torch(array, dtype=dtype, layout=layout, mesh_mapper=mapper)
    # ttnn.from_torch's own call (ttnn/operations/core.py), with a numpy array: the wheel needs no torch then.
    if isinstance(mapper, ttnn.ReplicateTensorToMeshWrapper):
        mapper = mapper.unwrap()
    return ttnn.Tensor(tensor=array, data_type=dtype, layout=layout, mesh_mapper=mapper)


def first_line(error):
    lines = [l for l in str(error).splitlines() if l.strip() and not l.startswith(" ---")]
    text = " / ".join(lines[:3])
    return f"{type(error).__name__}: {text.split('backtrace:')[0].strip()}"[:400]


class RealRecorder:
    def allocator(self, mesh):
        """Each memory type's banks, bytes per bank, lowest free address, and what is allocated at open."""
        out = {}
        for name in ("DRAM", "L1"):
            view = ttnn.get_memory_view(mesh, getattr(ttnn.BufferType, name))
            blocks = [dict(b) if not isinstance(b, dict) else b for b in view.block_table]
            out[name] = {"banks": view.num_banks, "bank_size": view.total_bytes_per_bank,
                         "base": min(int(b["address"]) for b in blocks) if blocks else None,
                         "allocated_per_bank_at_open": view.total_bytes_allocated_per_bank}
        return out

    def begin(self):
        ttnn._ttnn.graph.begin_graph_capture(ttnn.graph.RunMode.NORMAL)

    def end(self, mesh, tensor):
        graph = ttnn._ttnn.graph.end_graph_capture()
        buffers, frees = [], 0
        for node in graph:
            p = node.get("params") or {}
            if node["node_type"] == "buffer_allocate":
                for chip in range(CHIPS):
                    buffers.append({"device": chip, "type": p["type"], "size": int(p["size"]),
                                    "address": int(p["address"]), "page_size": int(p["page_size"]),
                                    "max_size_per_bank": int(p["max_size_per_bank"]), "layout": p.get("layout")})
            elif node["node_type"] == "buffer_deallocate":
                frees += 1
        info = {}
        if tensor is not None:
            info = {"address": tensor.buffer_address(), "page_size": tensor.buffer_page_size(),
                    "aligned_page_size": tensor.buffer_aligned_page_size(), "num_pages": tensor.buffer_num_pages(),
                    "shape": list(tensor.shape), "padded_shape": list(tensor.padded_shape)}
        return buffers, frees, info


class EmulatorRecorder:
    def __init__(self):
        import allocmon

        self.allocmon = allocmon
        self.socket = os.environ.get("TT_ALLOC_SERVER_SOCKET")
        if not (allocmon.tracking_enabled() and self.socket):
            sys.exit("placements.py under the emulator needs TT_ALLOC_TRACKING_ENABLED=1 and TT_ALLOC_SERVER_SOCKET")
        self.seen = set()

    def allocator(self, mesh):
        self.allocmon.flush(5000)
        snap = self.allocmon.snapshot(self.socket)
        first = mesh.get_device_ids()[0]
        device = next(d for d in snap["devices"] if d["id"] == first)
        out = {}
        for name in ("DRAM", "L1"):
            region = device["memory"][name].get("region") or {}
            out[name] = {"banks": region.get("banks"), "bank_size": region.get("bank_size"),
                         "base": region.get("base"), "allocated_at_open": device["memory"][name]["allocated"]}
        return out

    def _state(self):
        if self.allocmon.flush(5000) != self.allocmon.FLUSH_OK:
            sys.exit("the allocation server did not confirm the events")
        leaks = self.allocmon.leaks(socket=self.socket)
        mine = [b for p in leaks["processes"] if p["pid"] == os.getpid() for b in p["buffers"]]
        applied = self.allocmon.snapshot(self.socket)["counters"]["events_applied"]
        return mine, applied

    def begin(self):
        mine, self.applied = self._state()
        self.seen |= {(b["device"], b["buffer_id"]) for b in mine}

    def end(self, mesh, tensor):
        mine, applied = self._state()
        new = [b for b in mine if (b["device"], b["buffer_id"]) not in self.seen]
        new.sort(key=lambda b: (b["buffer_id"], b["device"]))
        native = tensor._device if tensor is not None else None
        page = native.page_size if native is not None else None
        order = {d: i for i, d in enumerate(mesh.get_device_ids())}  # device id -> mesh row-major index
        buffers = [{"device": order.get(b["device"], b["device"]), "type": b["type"], "size": b["size"],
                    "address": b["address"], "page_size": b.get("page_size", page), "tensor_page_size": page,
                    "buffer_id": b["buffer_id"], "layout": b.get("layout")} for b in new]
        buffers.sort(key=lambda b: (b["buffer_id"], b["device"]))
        info = {}
        if native is not None:
            info = {"address": native.address, "page_size": native.page_size, "buffer_size": native.buffer_size,
                    "shape": list(tensor.shape), "padded_shape": list(tensor.padded_shape)}
        # Every event the server applied in this placement: one Alloc per buffer and device unless something was
        # allocated and freed inside it (or other events, e.g. allocator statistics, were sent).
        return buffers, applied - self.applied - len(new), info


def run_family(name, items, recorder):
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(*MESH))
    results, live, placed = [], [], []
    allocator = recorder.allocator(mesh)
    for item in items:
        if item[0] == "free":
            ttnn.deallocate(placed[item[1]])
            results.append({"label": f"free #{item[1]}", "free": item[1]})
            continue
        kind, shape, dims, memory, layout, dtype = item
        label = f"{kind}{'' if dims is None else dims} {tuple(shape)} {layout} {dtype} {memory}"
        entry = {"label": label, "mapper": kind, "shape": list(shape), "dims": dims, "memory": memory,
                 "layout": layout, "dtype": dtype}
        config = ttnn.DRAM_MEMORY_CONFIG if memory == "DRAM" else ttnn.L1_MEMORY_CONFIG
        array = np.zeros(shape, dtype=np.float32)
        try:
            host = host_tensor(array, getattr(ttnn, dtype), getattr(ttnn, f"{layout}_LAYOUT"),
                               mapper_of(mesh, kind, dims))
        except Exception as error:  # noqa: BLE001 (recorded: a placement one side cannot make)
            entry["error"] = "host tensor: " + first_line(error)
            results.append(entry)
            placed.append(None)
            continue
        del array
        recorder.begin()
        device_tensor = None
        try:
            device_tensor = ttnn.to_device(host, mesh, memory_config=config)
        except Exception as error:  # noqa: BLE001
            entry["error"] = "to_device: " + first_line(error)
        buffers, extra, info = recorder.end(mesh, device_tensor)
        entry.update(buffers=buffers, extra_events=extra, tensor=info)
        results.append(entry)
        placed.append(device_tensor)
    for t in placed:
        if t is not None and t.is_allocated():
            ttnn.deallocate(t)
    ttnn.close_mesh_device(mesh)
    return {"allocator": allocator, "placements": results}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--families", default="", help="comma-separated family names (default: all)")
    args = parser.parse_args()
    chosen = [f for f in args.families.split(",") if f]
    recorder = RealRecorder() if REAL else EmulatorRecorder()
    report = {"implementation": "ttnn (real, mock cluster)" if REAL else "allocmon.emulate", "families": {}}
    if REAL:
        import importlib.metadata

        report["ttnn_version"] = importlib.metadata.version("ttnn")
    started = time.monotonic()
    for name, items in families().items():
        if chosen and name not in chosen:
            continue
        report["families"][name] = run_family(name, items, recorder)
    report["seconds"] = round(time.monotonic() - started, 2)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"{report['implementation']}: {sum(len(v['placements']) for v in report['families'].values())} steps in "
          f"{report['seconds']} s -> {args.out}")


if __name__ == "__main__":
    main()
