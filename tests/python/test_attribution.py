"""What the bytes are, end to end through a real server: scopes, ops and call sites on buffers, holders, marks
and the diff between two marks, a server restart, and the ttnn facade's automatic op attribution."""

import inspect

import pytest

import allocmon
from allocmon.server import Server


def _buffers(socket):
    return [b for p in allocmon.leaks(socket=socket)["processes"] for b in p["buffers"]]


def test_scopes_nest_into_paths_and_ops_carry_their_site(server):
    allocmon.register_device(40, "wormhole_b0", {"DRAM": 1 << 30})
    with allocmon.scope("model"):
        with allocmon.scope("decoder.3"):
            with allocmon.op("my.op", "here.py:1"):
                allocmon.report_alloc(40, "DRAM", 4096, 0, 1)
        allocmon.report_alloc(40, "DRAM", 8192, 4096, 2)
    allocmon.report_alloc(40, "DRAM", 128, 12288, 3)
    assert allocmon.flush() == allocmon.FLUSH_OK
    by_id = {b["buffer_id"]: b for b in _buffers(server.socket)}
    assert (by_id[1]["scope"], by_id[1]["op"], by_id[1]["site"]) == ("model/decoder.3", "my.op", "here.py:1")
    assert (by_id[2]["scope"], by_id[2]["op"]) == ("model", "")
    assert by_id[3]["scope"] == ""
    assert allocmon.holders("scope", socket=server.socket) == [("model", 8192), ("model/decoder.3", 4096)]
    assert allocmon.holders("op", socket=server.socket, device=40, memory_type="DRAM") == [("my.op", 4096)]
    for i in (1, 2, 3):
        allocmon.report_free(40, i)
    allocmon.unregister_device(40)


def test_scope_is_also_a_decorator(server):
    allocmon.register_device(41, "wormhole_b0", {"L1": 1 << 20})

    @allocmon.scope("step")
    def step():
        allocmon.report_alloc(41, "L1", 2048, 0, 7)

    step()
    allocmon.report_alloc(41, "L1", 2048, 2048, 8)
    assert allocmon.flush() == allocmon.FLUSH_OK
    scopes = {b["buffer_id"]: b.get("scope") for b in _buffers(server.socket)}
    assert scopes == {7: "step", 8: ""}
    allocmon.report_free(41, 7)
    allocmon.report_free(41, 8)
    allocmon.unregister_device(41)


def test_a_restarted_server_gets_every_buffers_attribution_back(tmp_path):
    socket = str(tmp_path / "s.sock")
    with Server(socket):
        allocmon.configure(True, socket)
        allocmon.register_device(42, "wormhole_b0", {"DRAM": 1 << 30})
        with allocmon.scope("kept"), allocmon.op("ttnn.from_torch", "x.py:3"):
            allocmon.report_alloc(42, "DRAM", 65536, 0, 1)
        assert allocmon.flush() == allocmon.FLUSH_OK
    with Server(socket):  # the client reconnects and re-sends its live buffers with their contexts
        assert allocmon.flush(10000) == allocmon.FLUSH_OK
        (buffer,) = [b for b in _buffers(socket) if b["device"] == 42]
        assert (buffer["scope"], buffer["op"], buffer["site"]) == ("kept", "ttnn.from_torch", "x.py:3")
        allocmon.report_free(42, 1)
        allocmon.unregister_device(42)
        allocmon.flush()


def test_the_diff_of_two_marks_names_the_tensor_that_leaks_each_iteration(server):
    import torch

    from allocmon import ttnn

    mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    kept = []
    leak_line = None
    allocmon.mark("iter-0")
    for i in range(3):
        with allocmon.scope("model"), allocmon.scope(f"layer.{i}"):
            x = ttnn.from_torch(torch.randn(1, 1, 64, 256), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT,
                                device=mesh, mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=3))
            leak_line = inspect.currentframe().f_lineno + 1
            y = ttnn.multiply(x, x)
            kept.append(y)  # the leak: one output per iteration stays alive
            ttnn.deallocate(x)
        allocmon.mark(f"iter-{i + 1}")
    assert allocmon.flush() == allocmon.FLUSH_OK
    rows = allocmon.diff("iter-1", "iter-2", socket=server.socket)
    assert len(rows) == 1, rows
    (row,) = rows
    assert row["op"] == "ttnn.multiply"
    assert row["site"] == f"test_attribution.py:{leak_line}"
    assert row["scope"] == "model/layer.1"
    assert sorted(row["devices"]) == sorted(mesh.get_device_ids())  # the tensor spans the mesh
    per_device = {d: t["DRAM"] for d, t in row["devices"].items()}
    assert len(set(per_device.values())) == 1 and row["bytes"] == sum(per_device.values())
    # Grouped by what the tensor is as well: the output's description (global shape, sharded over the mesh).
    (described,) = allocmon.diff("iter-1", "iter-2", socket=server.socket, by=("scope", "op", "site", "tensor"))
    assert described["tensor"] == "bfloat16 TILE [1, 1, 64, 256] DRAM interleaved, sharded dim 3 over 8"
    assert described["bytes"] == row["bytes"]
    with pytest.raises(KeyError, match="no mark named 'iter-9'"):
        allocmon.diff("iter-1", "iter-9", socket=server.socket)
    ttnn.close_mesh_device(mesh)


def test_a_tensor_sharded_over_the_mesh_is_one_row_that_says_what_it_is(server):
    import torch

    from allocmon import ttnn

    mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    with allocmon.scope("model"):
        line = inspect.currentframe().f_lineno + 1
        x = ttnn.from_torch(torch.zeros(1, 1, 1024, 1024), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT,
                            device=mesh, mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=3))
        y = ttnn.from_torch(torch.zeros(1, 1, 64, 64), dtype=ttnn.float32, layout=ttnn.ROW_MAJOR_LAYOUT,
                            device=mesh, memory_config=ttnn.L1_MEMORY_CONFIG,
                            mesh_mapper=ttnn.ReplicateTensorToMesh(mesh))
    assert allocmon.flush() == allocmon.FLUSH_OK
    described = "bfloat16 TILE [1, 1, 1024, 1024] DRAM interleaved, sharded dim 3 over 8"
    rows = [r for r in allocmon.tensors(socket=server.socket) if r["scope"] == "model"]
    assert [r["tensor"] for r in rows] == [described, "float32 ROW_MAJOR [1, 1, 64, 64] L1 interleaved, replicated"]
    row = rows[0]
    assert row["devices"] == sorted(mesh.get_device_ids()) == list(range(8))  # one row across the mesh
    assert row["per_device"] == 1024 * 128 * 2 and row["bytes"] == 8 * row["per_device"]  # a 1024x128 shard each
    assert row["buffers"] == 8 and row["type"] == "DRAM"
    assert (row["op"], row["site"]) == ("ttnn.from_torch", f"test_attribution.py:{line}")
    # The same description on every buffer of the leak report, and by description in the holders.
    mine = [b for b in _buffers(server.socket) if b.get("scope") == "model" and b["type"] == "DRAM"]
    assert len(mine) == 8 and {b["tensor"] for b in mine} == {described}
    assert (described, 8 * 1024 * 128 * 2) in allocmon.holders("tensor", socket=server.socket)
    # An op's output says the same of itself (its shape from the per-device one).
    z = ttnn.add(x, x)
    assert allocmon.flush() == allocmon.FLUSH_OK
    outputs = [r for r in allocmon.tensors(socket=server.socket) if r["op"] == "ttnn.add" and r["type"] == "DRAM"]
    assert [r["tensor"] for r in outputs] == [described], outputs
    for t in (x, y, z):
        ttnn.deallocate(t)
    ttnn.close_mesh_device(mesh)


def test_a_tensor_description_by_hand_nests_and_is_cut_at_1_kib(server):
    allocmon.register_device(43, "wormhole_b0", {"DRAM": 1 << 30})
    with allocmon.tensor("outer"):
        with allocmon.tensor("inner"):
            allocmon.report_alloc(43, "DRAM", 4096, 0, 1)
        allocmon.report_alloc(43, "DRAM", 4096, 4096, 2)
        with allocmon.tensor("x" * 5000):
            allocmon.report_alloc(43, "DRAM", 4096, 8192, 3)
    allocmon.report_alloc(43, "DRAM", 4096, 12288, 4)
    with allocmon.scope("s"), allocmon.tensor("t"):
        with allocmon.scope("inside"):
            allocmon.report_alloc(43, "DRAM", 4096, 16384, 5)
        allocmon.report_alloc(43, "DRAM", 4096, 20480, 6)
    allocmon.report_alloc(43, "DRAM", 4096, 24576, 7)
    assert allocmon.flush() == allocmon.FLUSH_OK
    by_id = {b["buffer_id"]: b for b in _buffers(server.socket) if b["device"] == 43}
    assert by_id[1]["tensor"] == "inner" and by_id[2]["tensor"] == "outer"  # the innermost wins
    assert by_id[3]["tensor"] == "x" * 1024
    assert by_id[4]["tensor"] == ""  # outside any: none
    assert [(by_id[i]["scope"], by_id[i]["tensor"]) for i in (5, 6, 7)] == [("s/inside", "t"), ("s", "t"), ("", "")]
    for i in range(1, 8):
        allocmon.report_free(43, i)
    allocmon.unregister_device(43)


def test_without_tracking_scopes_cost_nothing_and_change_nothing():
    allocmon.configure(False, None)
    with allocmon.scope("off"), allocmon.op("x", "y"), allocmon.tensor("z"):
        allocmon.mark("off")
    assert not allocmon.tracking_enabled()


def test_an_l1_out_of_memory_names_the_op_holding_the_most_l1(server):
    import torch

    from allocmon import ttnn

    device = ttnn.open_device(device_id=0)
    held = []
    with pytest.raises(allocmon.OutOfMemoryError) as failure:
        for _ in range(200):  # 1 MiB L1 tensors until the 1.3 MiB-per-bank L1 of 64 banks is full
            held.append(ttnn.from_torch(torch.zeros(512, 1024), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT,
                                        device=device, memory_config=ttnn.L1_MEMORY_CONFIG))
    message = str(failure.value)
    assert "Out of Memory" in message
    assert "largest holders of L1 on device 0 now:" in message
    by_op = next(line for line in message.splitlines() if line.strip().startswith("by op:"))
    assert by_op.split(":", 1)[1].split()[0] == "ttnn.from_torch", message  # the op holding the most L1
    assert "test_attribution.py:" in message  # and the line that called it
    for t in held:
        ttnn.deallocate(t)
    ttnn.close_device(device)


def test_allocmon_report_diff_finds_the_leak_in_a_recording(tmp_path):
    import subprocess

    import torch

    from allocmon import ttnn
    from allocmon.server import find_binary

    socket, recording = str(tmp_path / "s.sock"), str(tmp_path / "run.sqlite")
    with Server(socket, extra_args=["--record", recording]):
        allocmon.configure(True, socket)
        device = ttnn.open_device(device_id=0)
        kept = []
        allocmon.mark("iter-0")
        for i in range(3):
            with allocmon.scope(f"step.{i}"):
                x = ttnn.from_torch(torch.ones(64, 64), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device)
                line = inspect.currentframe().f_lineno + 1
                kept.append(ttnn.exp(x))
                ttnn.deallocate(x)
            allocmon.mark(f"iter-{i + 1}")
        assert allocmon.flush() == allocmon.FLUSH_OK
        ttnn.close_device(device)  # frees everything, kept included, at the very end
        assert allocmon.flush() == allocmon.FLUSH_OK
    report = find_binary("allocmon-report")
    out = subprocess.run([report, recording, "--diff", "iter-1", "iter-2"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    # Still alive at the end? No: closing the device freed it. Up to the close, the leak is step.1's exp.
    assert "nothing" in out.stdout, out.stdout
    # The same question about a run cut before the close: the recording without the closing frees.
    import sqlite3

    with sqlite3.connect(recording) as db:
        last_mark = db.execute("SELECT after_seq FROM marks WHERE name='iter-3'").fetchone()[0]
        db.execute("DELETE FROM events WHERE seq > ?", (last_mark,))
    out = subprocess.run([report, recording, "--diff", "iter-1", "iter-2"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "scope step.1  op ttnn.exp  site test_attribution.py:%d" % line in out.stdout, out.stdout
    assert "8.0 KiB in 1 buffer on devices 0 (DRAM 8.0 KiB)" in out.stdout, out.stdout  # 64x64 bfloat16
    assert "\n    tensor bfloat16 TILE [64, 64] DRAM interleaved\n" in out.stdout, out.stdout  # what it is
    bad = subprocess.run([report, recording, "--diff", "iter-1", "nope"], capture_output=True, text=True)
    assert bad.returncode == 1 and "no mark named 'nope'" in bad.stderr and "iter-0" in bad.stderr
