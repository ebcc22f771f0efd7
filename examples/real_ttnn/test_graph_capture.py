#!/usr/bin/env python3
"""Per-buffer and per-op records from the REAL, unmodified ttnn (the PyPI wheel ttnn==0.81.1, mock T3000), through
ttnn's graph capture and allocmon.tt_metal (python/allocmon/tt_metal.py): the seed's steps, checked on the
server's leak report, holders and totals, and against tt-metal's own shared-memory counters.

Run it through examples/real_ttnn/run_in_private_shm.sh (private /dev/shm, mock cluster, a server reading the
regions): tests/real_ttnn/run_graph_capture.sh and scripts/demo-real-ttnn.sh do. Two passes over the same steps:

  reference (no capture)   open the 2x4 mesh; A: 100 MiB per chip, ShardTensor2dMesh; B: 100 MiB per chip,
                           replicated; C: a 128 KiB-per-chip L1 tensor (ttnn.allocate_tensor_on_device); the
                           server reads tt-metal's regions after each; deallocate all, close
  captured                 the same inside `allocmon.tt_metal.capture(mesh)`, the regions read again before
                           anything is sent (they must match the reference: the capture changes no allocation);
                           plus ttnn.add(B, B), which fails here (no kernel compiler) after allocating and freeing
                           its output; then cap.send(): the server must list, per chip, A, B and C at their
                           sizes, addresses and types with the op that allocated them, agree with the regions'
                           totals, and show the failed add's output in the process's peak; deallocate A, send:
                           A's 8 records gone; B and C freed; a tensor on the second 1x4 submesh (mesh id 2):
                           records on chips 4-7, not on chip 2; leaving the capture: nothing left anywhere.

Exit status 0 = pass. --record-fixture PATH writes the captured graphs (as ttnn returned them) and the mesh for
tests/real_ttnn/test_graph_translation.py, which replays them without ttnn. --overhead N measures instead: N small
to_device + deallocate pairs without and with a capture, and what forwarding them costs (ending the capture,
translating, handing the events to liballocmon and the server's flush).
"""

import argparse
import importlib.util
import json
import os
import struct
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import allocmon_query  # noqa: E402
from test_mesh_allocation import host_tensor, tiled_bytes  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
MIB = 1 << 20
CHIPS = list(range(8))


def load_tt_metal():
    """allocmon.tt_metal from this checkout. `import allocmon` cannot work under the ttnn wheel's Python (allocmon's
    compiled module is built for the checkout's .venv), and the module needs nothing of the package: load the file."""
    path = os.path.join(ROOT, "python", "allocmon", "tt_metal.py")
    spec = importlib.util.spec_from_file_location("allocmon_tt_metal", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def leaks(socket):
    """The server's leak report (QueryLeaks, all devices, every buffer): schema allocmon.leaks/1."""
    body = allocmon_query._ask(socket, 8, struct.pack("=iI", -1, 0), 102, 10.0)
    return json.loads(body)


class Check:
    def __init__(self):
        self.failures = []

    def __call__(self, condition, message):
        if not condition:
            self.failures.append(message)
            print(f"   ✗ {message}")
        return condition


def region_view(socket):
    """Per chip DRAM and L1 bytes the server reads from tt-metal's regions (this process not reporting yet)."""
    snap = allocmon_query.synced_snapshot(socket)
    return {d["id"]: (d["memory"]["DRAM"]["allocated"], d["memory"]["L1"]["allocated"]) for d in snap["devices"]}


def my_buffers(socket):
    out = [b for p in leaks(socket)["processes"] if p["pid"] == os.getpid() for b in p["buffers"]]
    return sorted(out, key=lambda b: (b["device"], b["address"], b["type"]))


def run_steps(ttnn, mesh, rows, socket, check, on_step=lambda label: None):
    """Allocate A, B and C as the seed does; after each, the server's reading of the regions. Returns the
    tensors, their addresses and the readings."""
    readings = {}
    host = np.zeros((2, 4, rows, 1024), dtype=np.float32)
    host_a = host_tensor(ttnn, host, ttnn.ShardTensor2dMesh(mesh, mesh_shape=(2, 4), dims=(0, 1)))
    del host
    a = ttnn.to_device(host_a, mesh, memory_config=ttnn.DRAM_MEMORY_CONFIG)
    del host_a
    readings["A"] = region_view(socket)
    on_step("A")
    host_b = host_tensor(ttnn, np.zeros((1, 1, rows - 10, 1000), dtype=np.float32), ttnn.ReplicateTensorToMesh(mesh))
    b = ttnn.to_device(host_b, mesh, memory_config=ttnn.DRAM_MEMORY_CONFIG)
    del host_b
    readings["B"] = region_view(socket)
    on_step("B")
    c = ttnn.allocate_tensor_on_device(ttnn.Shape([1, 1, 256, 256]), ttnn.bfloat16, ttnn.TILE_LAYOUT, mesh,
                                       ttnn.L1_MEMORY_CONFIG)
    readings["C"] = region_view(socket)
    on_step("C")
    addresses = {"A": a.buffer_address(), "B": b.buffer_address(), "C": c.buffer_address()}
    return (a, b, c), addresses, readings


def overhead(ttnn, tt_metal, lib, socket, n):
    """Per-op cost of a capture and of forwarding it, on n (1, 1, 32, 32) to_device + deallocate pairs."""
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    host = host_tensor(ttnn, np.zeros((1, 1, 32, 32), dtype=np.float32))
    graph_api = ttnn._ttnn.graph

    def pairs():
        t0 = time.perf_counter()
        for _ in range(n):
            ttnn.deallocate(ttnn.to_device(host, mesh, memory_config=ttnn.DRAM_MEMORY_CONFIG))
        return (time.perf_counter() - t0) / n * 1e6

    pairs()  # warm up
    for round_ in range(3):
        plain = pairs()
        graph_api.begin_graph_capture(graph_api.RunMode.NORMAL)
        captured = pairs()
        t0 = time.perf_counter()
        graph = graph_api.end_graph_capture()
        t1 = time.perf_counter()
        translator = tt_metal.Translator(tt_metal.describe_mesh(mesh, ttnn))
        events = translator.translate(graph)
        t2 = time.perf_counter()
        lib.configure(socket)
        lib.apply(events)
        t3 = time.perf_counter()
        status = lib.flush(30000)
        t4 = time.perf_counter()
        print(f"round {round_ + 1}: to_device + deallocate {plain:.1f} us without a capture, {captured:.1f} us in one "
              f"(+{captured - plain:.1f} us); forwarding {len(graph)} nodes -> {len(events)} events: "
              f"end_graph_capture {1e3 * (t1 - t0):.0f} ms, translate {1e3 * (t2 - t1):.0f} ms, liballocmon calls "
              f"{1e3 * (t3 - t2):.0f} ms, server flush {1e3 * (t4 - t3):.0f} ms (status {status}); "
              f"{1e6 * (t4 - t0) / n:.0f} us per pair in all")
    ttnn.close_mesh_device(mesh)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", default=os.environ.get("ALLOCMON_REAL_TTNN_SOCKET"))
    parser.add_argument("--mib-per-device", type=int, default=100)
    parser.add_argument("--record-fixture", metavar="PATH", help="write the captured graphs and the mesh as JSON")
    parser.add_argument("--overhead", type=int, metavar="N", help="measure the capture's cost on N op pairs instead")
    args = parser.parse_args()
    if not args.socket:
        print("no server socket: run me through examples/real_ttnn/run_in_private_shm.sh", file=sys.stderr)
        return 2
    if not os.environ.get("TT_METAL_MOCK_CLUSTER_DESC_PATH"):
        print("TT_METAL_MOCK_CLUSTER_DESC_PATH is not set: this scenario runs on a mock cluster only", file=sys.stderr)
        return 2
    started = time.monotonic()
    tt_metal = load_tt_metal()
    lib = tt_metal.load_library()
    print(f"allocmon.tt_metal from {tt_metal.__file__}; liballocmon {lib.path}")

    import importlib.metadata

    import ttnn

    print(f"ttnn {importlib.metadata.version('ttnn')} (tt-metal, mock cluster "
          f"{os.path.basename(os.environ['TT_METAL_MOCK_CLUSTER_DESC_PATH'])})")
    if args.overhead:
        return overhead(ttnn, tt_metal, lib, args.socket, args.overhead)
    check = Check()
    rows = args.mib_per_device * MIB // (2 * 1024)
    size_a = tiled_bytes((1, 1, rows, 1024))
    size_b = tiled_bytes((1, 1, rows - 10, 1000))
    size_c = tiled_bytes((1, 1, 256, 256))
    print(f"per chip: A {size_a} B, B {size_b} B (DRAM), C {size_c} B (L1)")

    # ---- reference: no capture; the server reads tt-metal's regions ----
    print("\n[Reference] the steps without a capture (the server reads tt-metal's regions)")
    pass_started = time.monotonic()
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    baseline = region_view(args.socket)
    tensors, ref_addresses, ref_readings = run_steps(ttnn, mesh, rows, args.socket, check)
    for t in tensors:
        ttnn.deallocate(t)
    ref_after = region_view(args.socket)
    ttnn.close_mesh_device(mesh)
    for step, want in (("A", (size_a, 0)), ("B", (size_a + size_b, 0)), ("C", (size_a + size_b, size_c))):
        got = {chip: (v[0] - baseline[chip][0], v[1] - baseline[chip][1]) for chip, v in ref_readings[step].items()}
        check(got == {chip: want for chip in CHIPS}, f"reference {step}: regions say {got}, expected {want} per chip")
    check(ref_after == baseline, f"reference: after deallocation the regions say {ref_after}, baseline {baseline}")
    print(f"   addresses {ref_addresses}; regions per chip after C: DRAM {ref_readings['C'][0][0]} B, "
          f"L1 {ref_readings['C'][0][1]} B ({time.monotonic() - pass_started:.1f} s)")

    # ---- captured ----
    print("\n[Captured] the same steps inside allocmon.tt_metal.capture(mesh)")
    pass_started = time.monotonic()
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    print(f"   mesh id {mesh.id()} (what the graph's buffer nodes call device_id), chips {mesh.get_device_ids()}")
    cap = tt_metal.capture(mesh, socket=args.socket, library=lib, keep_graphs=bool(args.record_fixture), ttnn=ttnn)
    with cap:
        (a, b, c), addresses, readings = run_steps(ttnn, mesh, rows, args.socket, check)
        check(addresses == ref_addresses, f"captured addresses {addresses}, without capture {ref_addresses}")
        check(readings == ref_readings, "the regions differ with the capture: "
              f"{ {s: readings[s][0] for s in readings} } vs { {s: ref_readings[s][0] for s in ref_readings} }")
        print(f"   the capture changed no allocation: addresses {addresses} and the regions' per-chip totals after "
              f"each step are those of the reference: "
              f"{'yes' if addresses == ref_addresses and readings == ref_readings else 'NO'}")
        try:
            ttnn.add(b, b)
            check(False, "ttnn.add ran: expected it to fail without a kernel compiler")
        except RuntimeError as error:
            print(f"   ttnn.add(B, B) failed as expected here: {str(error).splitlines()[0][:100]}")
        region_before_send = region_view(args.socket)
        print(f"   server before send (regions): chip 0 DRAM {region_before_send[0][0]} B; records of this process: "
              f"{len(my_buffers(args.socket))}")

        print("\n[send] cap.send(): what was captured so far goes to the server")
        result = cap.send()
        check(result["flush"] == tt_metal.FLUSH_OK, f"flush after send: {result}")
        records = my_buffers(args.socket)
        print(f"   {result['events']} events; the server lists {len(records)} buffers of this process:")
        for r in records[:3] + [None] + records[-3:] if len(records) > 6 else records:
            print("     ..." if r is None else f"     device {r['device']} {r['type']:4} {r['size']:>10} B at "
                  f"{r['address']:>8}  op {r.get('op')!r}")
        want = sorted([{"device": chip, "type": "DRAM", "size": size_a, "address": addresses["A"],
                        "op": "Tensor::to_device"} for chip in CHIPS] +
                      [{"device": chip, "type": "DRAM", "size": size_b, "address": addresses["B"],
                        "op": "Tensor::to_device"} for chip in CHIPS] +
                      [{"device": chip, "type": "L1", "size": size_c, "address": addresses["C"],
                        "op": "tt::tt_metal::create_device_tensor"} for chip in CHIPS],
                      key=lambda r: (r["device"], r["address"], r["type"]))
        got = [{k: r.get(k) for k in ("device", "type", "size", "address", "op")} for r in records]
        check(got == want, f"per-buffer records after send: {got}, expected {want}")
        snap = allocmon_query.synced_snapshot(args.socket)
        events_view = {d["id"]: (d["memory"]["DRAM"]["allocated"], d["memory"]["L1"]["allocated"])
                       for d in snap["devices"]}
        check(events_view == region_before_send,
              f"the server's totals from the events {events_view} differ from tt-metal's regions {region_before_send}")
        print(f"   per-chip totals from the events = tt-metal's own counters before the send: "
              f"{'yes' if events_view == region_before_send else 'NO'} (DRAM {events_view[0][0]} B, "
              f"L1 {events_view[0][1]} B on chip 0)")
        mine = next(p for p in snap["processes"] if p["pid"] == os.getpid())
        peaks = {d["id"]: d["memory"]["DRAM"]["peak"] for d in mine["devices"]}
        check(peaks == {chip: size_a + 2 * size_b for chip in CHIPS},
              f"DRAM peak per chip {peaks}: expected A + B + the failed add's output = {size_a + 2 * size_b}")
        print(f"   the failed add's output (allocated and freed inside BinaryNgDeviceOperation) is in the peak: "
              f"{peaks.get(0)} B per chip = A + 2 B")
        check(not mine.get("problems"), f"server problems for this process: {mine.get('problems')}")
        holders = {h["name"]: h for h in snap["holders"]["op"]}
        print("   holders by op (snapshot):")
        for name, h in holders.items():
            print(f"     {name:38} {h['bytes']:>12} B  {h['buffers']} buffers on {len(h['devices'])} devices")
        check(set(holders) == {"Tensor::to_device", "tt::tt_metal::create_device_tensor"},
              f"holders by op: {sorted(holders)}")
        if "Tensor::to_device" in holders:
            check(holders["Tensor::to_device"]["bytes"] == 8 * (size_a + size_b),
                  f"Tensor::to_device holds {holders['Tensor::to_device']['bytes']} B")

        print("\n[Step 4] deallocate A, send")
        ttnn.deallocate(a)
        check(cap.send()["flush"] == tt_metal.FLUSH_OK, "flush")
        left = my_buffers(args.socket)
        check(sorted((r["device"], r["size"]) for r in left) ==
              sorted([(chip, size_b) for chip in CHIPS] + [(chip, size_c) for chip in CHIPS]),
              f"after deallocating A: {[(r['device'], r['size']) for r in left]}")
        print(f"   {len(left)} records left: B and C on each chip")

        print("\n[Step 5] deallocate B and C; a tensor on the second 1x4 submesh (chips 4-7), send")
        ttnn.deallocate(b)
        ttnn.deallocate(c)
        submesh = mesh.create_submeshes(ttnn.MeshShape(1, 4))[1]
        sub_host = host_tensor(ttnn, np.zeros((1, 1, 64, 64), dtype=np.float32))
        d = ttnn.to_device(sub_host, submesh, memory_config=ttnn.DRAM_MEMORY_CONFIG)
        check(cap.send()["flush"] == tt_metal.FLUSH_OK, "flush")
        left = my_buffers(args.socket)
        print(f"   submesh id {submesh.id()}, chips {submesh.get_device_ids()}: records on devices "
              f"{[r['device'] for r in left]}, {left[0]['size'] if left else 0} B each")
        check([(r["device"], r["size"], r.get("op")) for r in left] ==
              [(chip, tiled_bytes((1, 1, 64, 64)), "Tensor::to_device") for chip in submesh.get_device_ids()],
              f"the submesh tensor's records: {left}")
        ttnn.deallocate(d)
    print("\n[Step 6] left the capture (its last events sent)")
    check(cap.last["flush"] == tt_metal.FLUSH_OK, f"flush at exit: {cap.last}")
    left = my_buffers(args.socket)
    snap = allocmon_query.synced_snapshot(args.socket)
    totals = {d["id"]: (d["memory"]["DRAM"]["allocated"], d["memory"]["L1"]["allocated"]) for d in snap["devices"]}
    check(not left, f"records left after deallocating everything: {left}")
    check(totals == baseline, f"server totals after the capture {totals}, baseline {baseline}")
    print(f"   records of this process: {len(left)}; every chip back at its baseline: {totals == baseline} "
          f"({time.monotonic() - pass_started:.1f} s for the captured pass)")
    print(f"   translation: {cap.stats}")
    check(cap.stats["frees_unseen"] == 0 and cap.stats["frees_inferred"] == 0, f"stats {cap.stats}")
    check(cap.stats["allocs"] == 5 and cap.stats["frees"] == 5, f"5 buffers (A, B, C, add's output, D): {cap.stats}")
    ttnn.close_mesh_device(mesh)

    if args.record_fixture:
        fixture = {
            "about": "ttnn graph captures (RunMode.NORMAL, C++ entry ttnn._ttnn.graph) recorded by "
                     "examples/real_ttnn/test_graph_capture.py --record-fixture: ttnn "
                     f"{importlib.metadata.version('ttnn')} on a mock T3000 (2x4), the seed's steps, one graph per "
                     "cap.send() and one at the end of the capture, as end_graph_capture() returned them",
            "meshes": [{"mesh_id": info.mesh_id, "chips": list(info.chips), "shape": list(info.shape),
                        "architecture": info.architecture, "capacity": info.capacity, "grid": list(info.grid)}
                       for info in cap.translator.meshes.values()],
            "expected": {"size_a": size_a, "size_b": size_b, "size_c": size_c, "addresses": addresses,
                         "submesh": {"id": submesh.id(), "chips": list(submesh.get_device_ids())}},
            "graphs": cap.graphs,
        }
        with open(args.record_fixture, "w") as f:
            json.dump(fixture, f, separators=(",", ":"))
            f.write("\n")
        print(f"wrote {args.record_fixture} ({os.path.getsize(args.record_fixture)} B, {len(cap.graphs)} graphs)")

    elapsed = time.monotonic() - started
    if check.failures:
        print(f"\nFAILED: {len(check.failures)} check(s) ({elapsed:.1f} s)")
        return 1
    print(f"\nPASSED: real ttnn's buffers and ops through its graph capture, per chip on the server ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
