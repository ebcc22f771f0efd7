"""allocmon.ttnn: ttnn's names and semantics on the emulated mesh, checked against torch and the server."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import allocmon
from allocmon import ttnn

TILE_BF16 = 2048


def held(server, memory_type):
    """{device: bytes} this process holds of one memory type, per the server."""
    assert allocmon.flush(5000) == allocmon.FLUSH_OK
    for process in allocmon.snapshot(server.socket)["processes"]:
        if process["pid"] == os.getpid():
            return {d["id"]: d["memory"].get(memory_type, {}).get("allocated", 0) for d in process["devices"]}
    return {}


@pytest.fixture
def mesh(server):
    device = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    device.enable_program_cache()
    yield device
    ttnn.close_mesh_device(device)


def test_mesh_device_api(mesh, server):
    assert repr(mesh) == "MeshDevice(2x4 grid, 8 devices)"
    assert mesh.get_num_devices() == 8
    assert tuple(mesh.shape) == (2, 4)
    assert mesh.get_device_ids() == [4, 0, 3, 7, 5, 1, 2, 6]
    assert sorted(held(server, "DRAM")) == list(range(8))


def test_single_device_open_and_close(server):
    device = ttnn.open_device(device_id=3)
    assert device.get_device_ids() == [3]
    t = ttnn.from_torch(torch.ones(64, 64), dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=device,
                        memory_config=ttnn.L1_MEMORY_CONFIG)
    assert t.memory_config() == ttnn.L1_MEMORY_CONFIG
    assert held(server, "L1")[3] == 22528 + 4 * 4096  # system buffer + four float32 tiles
    ttnn.close_device(device)
    assert held(server, "L1") == {}


def test_sharded_2d_tensor_round_trip_and_bytes(mesh, server):
    base = held(server, "DRAM")
    host = torch.randn(4, 8, 64, 96, dtype=torch.bfloat16)
    mapper = ttnn.create_mesh_mapper(mesh, ttnn.MeshMapperConfig([ttnn.PlacementShard(0), ttnn.PlacementShard(1)]))
    t = ttnn.from_torch(host, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh, mesh_mapper=mapper)
    assert t.shape == (2, 2, 64, 96) and repr(t.shape) == "Shape([2, 2, 64, 96])"  # each device's, as in ttnn
    assert (t.dtype, t.layout) == (ttnn.bfloat16, ttnn.TILE_LAYOUT)
    assert t.memory_config() == ttnn.DRAM_MEMORY_CONFIG and t.is_allocated()
    per_device = 2 * 2 * (64 // 32) * (96 // 32) * TILE_BF16  # shard (2, 2, 64, 96): 24 tiles
    assert held(server, "DRAM") == {d: base[d] + per_device for d in range(8)}
    composer = ttnn.create_mesh_composer(mesh, ttnn.MeshComposerConfig([0, 1]))
    assert torch.equal(ttnn.to_torch(t, mesh_composer=composer), host)
    with pytest.raises(RuntimeError, match="distributed over 8 devices; pass mesh_composer="):
        ttnn.to_torch(t)  # as ttnn: shards need a composer
    assert torch.equal(ttnn.to_torch(ttnn.get_device_tensors(t)[5]), host[2:4, 2:4])  # device (1, 1)
    ttnn.deallocate(t)
    assert not t.is_allocated()
    assert held(server, "DRAM") == base


def test_other_mappers_and_composers(mesh):
    host = torch.arange(8 * 32 * 32, dtype=torch.float32).reshape(8, 32, 32)
    flat = ttnn.from_torch(host, dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=mesh,
                           mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=0))
    assert torch.equal(ttnn.to_torch(flat, mesh_composer=ttnn.ConcatMeshToTensor(mesh, dim=0)), host)
    twod = ttnn.from_torch(host.reshape(2, 4, 32, 32), dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=mesh,
                           mesh_mapper=ttnn.ShardTensor2dMesh(mesh, mesh_shape=(2, 4), dims=(0, 1)))
    back = ttnn.to_torch(twod, mesh_composer=ttnn.ConcatMesh2dToTensor(mesh, mesh_shape=(2, 4), dims=(0, 1)))
    assert torch.equal(back, host.reshape(2, 4, 32, 32))
    replicated = ttnn.from_torch(host[:1], dtype=ttnn.float32, device=mesh,
                                 mesh_mapper=ttnn.ReplicateTensorToMesh(mesh))
    assert ttnn.to_torch(replicated, mesh_composer=ttnn.ConcatMeshToTensor(mesh, dim=0)).shape == (8, 32, 32)
    host_side = ttnn.from_torch(host[:2], dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT)
    # ttnn cuts 2 rows into 2 shards of 1 (torch.chunk), leaving 6 devices without one: not emulated
    with pytest.raises(ttnn.NotEmulatedError, match=r"shards of \[1, 1\] values"):
        ttnn.distribute_tensor(host_side, ttnn.ShardTensorToMesh(mesh, dim=0), mesh)
    gathered = ttnn.aggregate_tensor(flat, ttnn.ConcatMeshToTensor(mesh, dim=0))
    assert gathered.storage_type() == "HOST" and torch.equal(ttnn.to_torch(gathered), host)


def test_ops_match_torch_with_bfloat16_rounding(mesh):
    a = torch.randn(2, 4, 64, 64, dtype=torch.bfloat16)
    b = torch.randn(2, 4, 64, 64, dtype=torch.bfloat16)
    mapper = ttnn.ShardTensor2dMesh(mesh, dims=(0, 1))
    composer = ttnn.ConcatMesh2dToTensor(mesh, dims=(0, 1))
    ta = ttnn.from_torch(a, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh, mesh_mapper=mapper)
    tb = ttnn.from_torch(b, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh, mesh_mapper=mapper)

    def back(t):
        return ttnn.to_torch(t, mesh_composer=composer)

    # One bfloat16 rounding of an exact fp32 result: torch's bfloat16 ops round the same way.
    assert torch.equal(back(ttnn.add(ta, tb)), a + b)
    assert torch.equal(back(ttnn.subtract(ta, tb)), a - b)
    assert torch.equal(back(ttnn.multiply(ta, tb)), a * b)
    assert torch.equal(back(ttnn.multiply(ta, 0.5)), a * 0.5)
    assert torch.equal(back(ttnn.add(ta, 2.0)), a + 2.0)
    assert torch.equal(back(ttnn.relu(ta)), torch.relu(a))
    s = ttnn.sum(ta, dim=3, keepdim=True)
    assert s.shape == (1, 1, 64, 1)
    torch.testing.assert_close(back(s).float(), a.float().sum(dim=3, keepdim=True), rtol=1e-2, atol=5e-2)
    m = ttnn.matmul(ta, tb)
    want = torch.matmul(a.float(), b.float())
    torch.testing.assert_close(back(m).float(), want, rtol=2e-2, atol=5e-2)


def first(t):
    """What the first device holds (every device holds the same copy of a replicated tensor)."""
    return ttnn.to_torch(ttnn.get_device_tensors(t)[0])


def test_dtypes_and_layouts(mesh, server):
    x = torch.randn(1, 1, 32, 64)
    bfp8 = ttnn.from_torch(x, dtype=ttnn.bfloat8_b, layout=ttnn.TILE_LAYOUT, device=mesh)
    assert bfp8.buffer_address() is not None and bfp8._device.buffer_size == 2 * 1088
    torch.testing.assert_close(first(bfp8).float(), x, rtol=0, atol=x.abs().max().item() / 32)
    with pytest.raises(RuntimeError, match="bfloat8_b requires TILE_LAYOUT"):
        ttnn.from_torch(x, dtype=ttnn.bfloat8_b, layout=ttnn.ROW_MAJOR_LAYOUT)
    ints = torch.arange(64, dtype=torch.int32).reshape(1, 1, 1, 64)
    u = ttnn.from_torch(ints, dtype=ttnn.uint32, device=mesh)
    assert u.layout == ttnn.ROW_MAJOR_LAYOUT and u._device.buffer_size == 64 * 4  # one row-major page
    assert torch.equal(first(u), ints.to(torch.int64))
    rm = ttnn.from_torch(x, dtype=ttnn.float32, device=mesh)
    tiled = ttnn.to_layout(rm, ttnn.TILE_LAYOUT)
    assert tiled.layout == ttnn.TILE_LAYOUT and torch.equal(first(tiled), x)
    in_l1 = ttnn.to_memory_config(tiled, ttnn.L1_MEMORY_CONFIG)
    assert in_l1.memory_config().buffer_type == ttnn.BufferType.L1
    assert all(v >= 2 * 4096 for v in held(server, "L1").values())
    back = ttnn.from_device(in_l1)
    assert back.storage_type() == "HOST" and torch.equal(ttnn.to_torch(ttnn.get_device_tensors(back)[0]), x)
    assert torch.equal(torch.from_numpy(ttnn.to_numpy(tiled, mesh_composer=ttnn.ConcatMeshToTensor(mesh, dim=0))[:1]), x)


def test_program_cache_cb_kernel_and_return_to_baseline(server):
    device = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    base = {t: held(server, t) for t in ("DRAM", "L1", "CB", "KERNEL")}
    x = ttnn.from_torch(torch.ones(2, 4, 32, 32), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device,
                        mesh_mapper=ttnn.ShardTensor2dMesh(device, dims=(0, 1)))
    y = ttnn.add(x, x)
    z = ttnn.matmul(x, y)
    kernels = held(server, "KERNEL")
    assert all(v == 12 * 1024 + 24 * 1024 for v in kernels.values())
    assert all(v == 0 for v in held(server, "CB").values())
    assert device.num_program_cache_entries() == 2
    for t in (x, y, z):
        ttnn.deallocate(t)
    assert held(server, "DRAM") == base["DRAM"]
    device.disable_and_clear_program_cache()
    assert all(v == 0 for v in held(server, "KERNEL").values())
    ttnn.close_mesh_device(device)
    assert held(server, "DRAM") == {} and held(server, "L1") == {}


def test_unsupported_calls_fail_clearly(mesh):
    with pytest.raises(NotImplementedError, match="ttnn.conv2d is not part of the subset"):
        ttnn.conv2d
    with pytest.raises(NotImplementedError, match="a sharded memory config needs a shard_spec"):
        ttnn.from_torch(torch.ones(32, 32), device=mesh,
                        memory_config=ttnn.MemoryConfig(ttnn.TensorMemoryLayout.HEIGHT_SHARDED, ttnn.BufferType.L1))
    with pytest.raises(RuntimeError, match="the input tensor is on the host"):
        ttnn.add(ttnn.from_torch(torch.ones(32, 32)), 1.0)
    with pytest.raises(ttnn.OutOfMemoryError, match="Out of Memory"):
        ttnn.from_torch(torch.zeros(1, 4096, 8192), dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=mesh,
                        memory_config=ttnn.L1_MEMORY_CONFIG)


def test_l1_sharded_tensors_take_their_cores_only(mesh, server):
    base = held(server, "L1")
    config = ttnn.create_sharded_memory_config((1, 1, 1024, 256), ttnn.CoreGrid(y=2, x=4), ttnn.ShardStrategy.HEIGHT)
    assert config.is_sharded() and config.shard_spec.shape == (128, 256) and config.shard_spec.num_cores() == 8
    host = torch.randn(1, 1, 1024, 256)
    t = ttnn.from_torch(host, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh, memory_config=config)
    assert t.memory_config() == config
    # 256 tiles over 8 cores: 32 tiles (64 KiB) per core, top-down under the 2 KiB system buffer.
    assert t.buffer_address() == 1499136 - 2048 - 65536
    assert {d: b - base[d] for d, b in held(server, "L1").items()} == {d: 1024 * 256 * 2 for d in range(8)}
    out = ttnn.add(t, t)  # outputs follow the input's sharded config
    assert out.memory_config() == config and out.buffer_address() == t.buffer_address() - 65536
    spec = ttnn.ShardSpec(ttnn.CoreRangeSet({ttnn.CoreRange(ttnn.CoreCoord(0, 0), ttnn.CoreCoord(7, 7))}), (32, 256),
                          ttnn.ShardOrientation.ROW_MAJOR)
    wide = ttnn.MemoryConfig(ttnn.TensorMemoryLayout.HEIGHT_SHARDED, ttnn.BufferType.L1, spec)
    moved = ttnn.to_memory_config(out, wide)  # 64 cores: 4 tiles each
    assert moved.buffer_address() == out.buffer_address() - 4 * TILE_BF16
    back = ttnn.to_torch(ttnn.to_memory_config(moved, ttnn.DRAM_MEMORY_CONFIG),
                         mesh_composer=ttnn.ConcatMeshToTensor(mesh, dim=0))
    assert torch.equal(back[:1], (host.to(torch.bfloat16) * 2))
    too_many = ttnn.ShardSpec(ttnn.CoreRangeSet({ttnn.CoreRange(ttnn.CoreCoord(0, 0), ttnn.CoreCoord(8, 7))}),
                              (32, 256))
    with pytest.raises(ValueError, match="sharded over 72 cores, but there are only 64 L1 banks"):
        ttnn.from_torch(host, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh,
                        memory_config=ttnn.MemoryConfig(ttnn.TensorMemoryLayout.HEIGHT_SHARDED, ttnn.BufferType.L1,
                                                        too_many))
    for tensor in (t, out, moved):
        ttnn.deallocate(tensor)
    assert held(server, "L1") == base


def test_seed_scenario_as_plain_ttnn_script_under_emulate(repo_root, server):
    env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=server.socket)
    script = os.path.join(repo_root, "examples", "ttnn", "test_mesh_allocation.py")
    result = subprocess.run([sys.executable, "-m", "allocmon.emulate", script, "--mib-per-device", "8"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches torch: True" in result.stdout and "MeshDevice(2x4 grid, 8 devices)" in result.stdout
    server.stop()
    log = server.log_path.read_text()
    for device in range(8):
        assert f"Allocated 8388608 bytes of DRAM on device {device} " in log
        assert f"on device {device} (8388608 bytes)" in log
    assert "Active allocations: 0" in log


def test_what_if_the_script_ran_on_another_mesh_and_architecture(repo_root, server):
    """The seed's ttnn script, unchanged, on a 2x2 Blackhole mesh instead of its 2x4 Wormhole one: each device
    holds twice the shard, and the script's own 2x4 mappers mean the whole mesh."""
    env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=server.socket)
    script = os.path.join(repo_root, "examples", "ttnn", "test_mesh_allocation.py")
    result = subprocess.run([sys.executable, "-m", "allocmon.emulate", "--mesh-shape", "2x2", "--arch", "blackhole",
                             script, "--mib-per-device", "8"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "opening a 2x2 mesh where the script asks for 2x4 (ALLOCMON_MESH_SHAPE)" in result.stderr
    assert "MeshDevice(2x2 grid, 4 devices)" in result.stdout and result.stdout.count("matches torch: True") == 2
    server.stop()
    log = server.log_path.read_text()
    for device in range(4):
        assert f"Allocated 16777216 bytes of DRAM on device {device} " in log
    assert "on device 4" not in log and "blackhole" in log
    assert "Active allocations: 0" in log
