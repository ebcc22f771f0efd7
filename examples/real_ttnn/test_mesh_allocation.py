#!/usr/bin/env python3
"""The seed's 8-device mesh scenario on the REAL ttnn (tt-metal's own code, the PyPI wheel ttnn==0.81.1) on a
mock T3000 (2x4 mesh), watched by allocmon's server through the shared-memory regions tt-metal itself writes.

Run it through examples/real_ttnn/run_in_private_shm.sh (private /dev/shm, mock cluster, a server reading the
regions): scripts/demo-real-ttnn.sh does all of it. Six steps:

  1. open the 2x4 mesh                          every chip 0-7 appears (its region), at its baseline
  2. tensor A: 100 MiB per chip, sharded         (2, 4, 51200, 1024) bfloat16 tiles, ShardTensor2dMesh dims (0, 1)
  3. tensor B: 100 MiB per chip, replicated      (1, 1, 51190, 1000): tiles pad it to 51200 x 1024 on each chip
  4. deallocate A
  5. deallocate B                                every chip back at its baseline
  6. close the mesh                              nothing held by this process on any chip

After each step the server's view (after a SyncSources, so it has read the regions as they are now) must show,
on each of the 8 chips, exactly baseline + the bytes computed from tt-metal's rule for an interleaved tiled
buffer: pages x page size, a page being one 32x32 tile (2048 B in bfloat16) and the tensor padded to whole tiles.
(The per-bank rounding of the allocator -- pages spread over 12 DRAM banks -- does not show in the regions: tt-metal
counts the buffer's size there, not the bank space it reserves.) L1 must stay at its baseline throughout, the
regions must name this process, and each chip's asic_id must be the one the mock cluster descriptor gave it.
Only ops that need no kernel are used: the wheel has no kernel compiler (docs/real-ttnn.md). Exit status 0 = pass.
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import allocmon_query  # noqa: E402
from mock_cluster_desc import ASIC_BASE  # noqa: E402

MIB = 1 << 20
TILE = 32
CHIPS = list(range(8))
DTYPE_BYTES = {"bfloat16": 2, "float32": 4}


def tiled_bytes(shape, dtype="bfloat16"):
    """Bytes of an interleaved TILE-layout buffer holding `shape` per chip: whole 32x32 tiles (tt-metal pads the
    last two dims), one page per tile."""
    *batch, height, width = shape
    tiles = int(np.prod(batch, dtype=np.int64)) * -(-height // TILE) * -(-width // TILE)
    return tiles * TILE * TILE * DTYPE_BYTES[dtype]


def host_tensor(ttnn, array, mesh_mapper=None):
    """ttnn.from_torch's own call (ttnn/operations/core.py) with a numpy array: no torch needed."""
    if isinstance(mesh_mapper, ttnn.ReplicateTensorToMeshWrapper):
        mesh_mapper = mesh_mapper.unwrap()
    return ttnn.Tensor(tensor=array, data_type=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, mesh_mapper=mesh_mapper)


class Watcher:
    def __init__(self, socket, monitor):
        self.socket = socket
        self.monitor = monitor
        self.failures = []
        self.baseline = None

    def expect(self, condition, message):
        if not condition:
            self.failures.append(message)
            print(f"   ✗ {message}")
        return condition

    def look(self, label):
        snap = allocmon_query.synced_snapshot(self.socket)
        if self.monitor:
            frame = subprocess.run([self.monitor, "--once", "--plain", "--socket", self.socket],
                                   capture_output=True, text=True, timeout=30).stdout
            print(f"   ┄┄ allocation_monitor_client --once --plain ({label}) ┄┄")
            print("   " + frame.rstrip().replace("\n", "\n   "))
        return snap

    @staticmethod
    def per_chip(snap, kind):
        return {d["id"]: d["memory"][kind]["allocated"] for d in snap["devices"]}

    @staticmethod
    def mine(snap):
        for process in snap["processes"]:
            if process["pid"] == os.getpid():
                return {d["id"]: d["memory"].get("DRAM", {}).get("allocated", 0) for d in process["devices"]}
        return {}

    def check(self, label, dram_above_baseline, process_holds=True):
        snap = self.look(label)
        devices = {d["id"]: d for d in snap["devices"]}
        self.expect(sorted(devices) == CHIPS, f"{label}: the server sees chips {sorted(devices)}, expected 0-7")
        dram, l1 = self.per_chip(snap, "DRAM"), self.per_chip(snap, "L1")
        if self.baseline is None:
            self.baseline = {"DRAM": dram, "L1": l1}
        for chip in CHIPS:
            d = devices.get(chip, {})
            self.expect(d.get("source") == "tt-metal-shm", f"{label}: chip {chip} source {d.get('source')}")
            self.expect(d.get("asic_id") == ASIC_BASE + 0x100 + chip,
                        f"{label}: chip {chip} asic_id {d.get('asic_id')}, expected {ASIC_BASE + 0x100 + chip}")
            want = self.baseline["DRAM"].get(chip, 0) + dram_above_baseline
            self.expect(dram.get(chip) == want, f"{label}: chip {chip} DRAM {dram.get(chip)} B, expected {want}")
            self.expect(l1.get(chip) == self.baseline["L1"].get(chip),
                        f"{label}: chip {chip} L1 {l1.get(chip)} B, baseline {self.baseline['L1'].get(chip)}")
            for kind in ("DRAM", "L1"):
                stale = d.get("memory", {}).get(kind, {}).get("stale", 0)
                self.expect(stale == 0, f"{label}: chip {chip} {kind} stale {stale} B")
        mine = self.mine(snap)
        if process_holds:
            held = {chip: mine.get(chip, 0) for chip in CHIPS}
            want = {chip: self.baseline["DRAM"].get(chip, 0) + dram_above_baseline for chip in CHIPS}
            self.expect(held == want, f"{label}: this process (pid {os.getpid()}) holds {held}, expected {want}")
        else:
            self.expect(not any(mine.values()), f"{label}: this process still holds DRAM {mine}")
        shown = sorted(set(dram.values()))
        print(f"📊 server (tt-metal's regions): DRAM per chip {' / '.join(f'{v} B' for v in shown)} "
              f"= baseline + {dram_above_baseline / MIB:.1f} MiB on each of {len(dram)} chips")
        return snap


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", default=os.environ.get("ALLOCMON_REAL_TTNN_SOCKET"))
    parser.add_argument("--mib-per-device", type=int, default=100)
    parser.add_argument("--no-monitor", action="store_true", help="no monitor frame after each step")
    args = parser.parse_args()
    if not args.socket:
        print("no server socket: run me through examples/real_ttnn/run_in_private_shm.sh", file=sys.stderr)
        return 2
    if not os.environ.get("TT_METAL_MOCK_CLUSTER_DESC_PATH"):
        print("TT_METAL_MOCK_CLUSTER_DESC_PATH is not set: this scenario runs on a mock cluster only", file=sys.stderr)
        return 2
    monitor = None if args.no_monitor else os.path.join(os.environ.get("ALLOCMON_BIN_DIR", "build"),
                                                        "allocation_monitor_client")
    watch = Watcher(args.socket, monitor)
    started = time.monotonic()

    import importlib.metadata

    import ttnn

    print(f"ttnn {importlib.metadata.version('ttnn')} from {os.path.dirname(ttnn.__file__)} (tt-metal, mock cluster "
          f"{os.path.basename(os.environ['TT_METAL_MOCK_CLUSTER_DESC_PATH'])})")

    print("\n[Step 1] Opening 8-Device Mesh (2x4 Topology)")
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    print(f"✓ Mesh device opened: {mesh}  device ids {mesh.get_device_ids()}")
    watch.expect(sorted(mesh.get_device_ids()) == CHIPS, f"device ids {mesh.get_device_ids()}")
    snap = watch.check("after open", 0)
    print(f"   baseline: DRAM {sorted(set(watch.baseline['DRAM'].values()))} B, "
          f"L1 {sorted(set(watch.baseline['L1'].values()))} B per chip")

    rows = args.mib_per_device * MIB // (2 * 1024)
    shape_a = (2, 4, rows, 1024)
    per_chip_a = tiled_bytes((1, 1, rows, 1024))
    print(f"\n[Step 2] Creating Distributed Tensor ({args.mib_per_device}MB per device)")
    print(f"   host (2, 4, {rows}, 1024) float32 -> bfloat16 tiles, ShardTensor2dMesh dims=(0, 1) -> to_device(DRAM)")
    host = np.zeros(shape_a, dtype=np.float32)
    host_a = host_tensor(ttnn, host, ttnn.ShardTensor2dMesh(mesh, mesh_shape=(2, 4), dims=(0, 1)))
    del host
    a = ttnn.to_device(host_a, mesh, memory_config=ttnn.DRAM_MEMORY_CONFIG)
    del host_a
    print(f"✓ Tensor distributed across mesh: per-chip shape {list(a.shape)}, address {a.buffer_address()}")
    print(f"📊 expected per chip: {per_chip_a} B (tt-metal: {per_chip_a // 2048} tiles x 2048 B)")
    watch.check("step 2", per_chip_a)

    shape_b = (1, 1, rows - 10, 1000)
    per_chip_b = tiled_bytes(shape_b)
    print(f"\n[Step 3] Creating Second Distributed Tensor ({args.mib_per_device}MB per device)")
    print(f"   host {shape_b} float32 ({int(np.prod(shape_b)) * 2} B in bfloat16) -> tiles padded to "
          f"{-(-shape_b[2] // TILE) * TILE} x {-(-shape_b[3] // TILE) * TILE}, ReplicateTensorToMesh -> to_device(DRAM)")
    host_b = host_tensor(ttnn, np.zeros(shape_b, dtype=np.float32), ttnn.ReplicateTensorToMesh(mesh))
    b = ttnn.to_device(host_b, mesh, memory_config=ttnn.DRAM_MEMORY_CONFIG)
    del host_b
    print(f"✓ Second tensor on every chip: shape {list(b.shape)}, address {b.buffer_address()}")
    # The bank rounding shows in the addresses: A's pages are spread over the DRAM banks, each bank reserving
    # ceil(pages / banks) pages, and B (allocated bottom-up) starts right after A's share of a bank.
    banks = ttnn.get_memory_view(mesh, ttnn.BufferType.DRAM).num_banks
    want_b = a.buffer_address() + -(-(per_chip_a // 2048) // banks) * 2048
    watch.expect(b.buffer_address() == want_b, f"B at {b.buffer_address()}, expected A's address + "
                 f"ceil({per_chip_a // 2048} pages / {banks} banks) x 2048 = {want_b}")
    print(f"   B starts at A + ceil({per_chip_a // 2048} / {banks} banks) x 2048 B = {want_b}: "
          f"{'as expected' if b.buffer_address() == want_b else 'NOT as expected'}")
    print(f"📊 expected per chip: {per_chip_a} + {per_chip_b} = {per_chip_a + per_chip_b} B")
    watch.check("step 3", per_chip_a + per_chip_b)

    print("\n[Step 4] Deallocating the first tensor")
    ttnn.deallocate(a)
    watch.expect(not a.is_allocated(), "tensor A still allocated after deallocate")
    print("✓ A deallocated")
    watch.check("step 4", per_chip_b)

    print("\n[Step 5] Deallocating Tensors - WATCH MEMORY DROP!")
    ttnn.deallocate(b)
    print("✓ All tensors deallocated - memory should be back to baseline!")
    watch.check("step 5", 0)

    print("\n[Step 6] Closing the mesh")
    ttnn.close_mesh_device(mesh)
    print("✓ Mesh closed")
    watch.check("after close", 0, process_holds=False)

    elapsed = time.monotonic() - started
    if watch.failures:
        print(f"\nFAILED: {len(watch.failures)} check(s) ({elapsed:.1f} s)")
        return 1
    print(f"\nPASSED: real ttnn on the mock T3000, every step exact on all 8 chips as the server reads tt-metal's "
          f"regions ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
