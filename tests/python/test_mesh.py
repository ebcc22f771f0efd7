"""The emulated mesh through the Python module, checked against the server's view after every step."""

import numpy as np
import pytest

import allocmon

MIB = 1 << 20


def my_device_bytes(socket, memory_type):
    """{device: bytes} this process holds, per the server (flush first so every event is applied)."""
    assert allocmon.flush(5000) == allocmon.FLUSH_OK
    snap = allocmon.snapshot(socket)
    import os

    for process in snap["processes"]:
        if process["pid"] == os.getpid():
            return {d["id"]: d["memory"].get(memory_type, {}).get("allocated", 0) for d in process["devices"]}
    return {}


def bf16(x):
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    bits = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    return bits.view(np.float32)


def test_mesh_opens_with_the_seed_topology_and_reports_ids(server):
    mesh = allocmon.open_mesh(2, 4)
    try:
        assert repr(mesh) == "MeshDevice(2x4 grid, 8 devices)"
        assert mesh.get_device_ids() == [4, 0, 3, 7, 5, 1, 2, 6]
        assert allocmon.flush() == allocmon.FLUSH_OK
        snap = allocmon.snapshot(server.socket)
        positions = {d["id"]: (d["mesh"]["row"], d["mesh"]["col"]) for d in snap["devices"]}
        assert positions == {4: (0, 0), 0: (0, 1), 3: (0, 2), 7: (0, 3), 5: (1, 0), 1: (1, 1), 2: (1, 2), 6: (1, 3)}
        dram = {d["id"]: d["memory"]["DRAM"] for d in snap["devices"]}
        assert all(m["capacity"] == 12 * 1_073_741_792 for m in dram.values())
        # System buffers at open, the same on every device; the allocator's free space is reported too.
        assert len({m["allocated"] for m in dram.values()}) == 1 and dram[0]["allocated"] > 0
        assert "largest_free_block" in dram[0]
        text = mesh.topology()
        assert "Dev. ID: 4" in text.splitlines()[1] and "Dev. ID: 6" in text.splitlines()[3]
    finally:
        mesh.close()
    assert my_device_bytes(server.socket, "DRAM") == {}


def test_sharded_tensor_bytes_per_device_and_back_to_baseline(server):
    mesh = allocmon.open_mesh(2, 4)
    baseline = my_device_bytes(server.socket, "DRAM")
    host = np.arange(4 * 8 * 64 * 64, dtype=np.float32).reshape(4, 8, 64, 64) / 7.0
    t = allocmon.from_numpy(host, mesh, shard_dims=(0, 1))
    assert t.shard_shape == [2, 2, 64, 64]
    per_device = 2 * 2 * 64 * 64 * 2  # bfloat16, whole tiles
    after = my_device_bytes(server.socket, "DRAM")
    assert after == {d: baseline[d] + per_device for d in range(8)}
    back = allocmon.to_numpy(t, concat_dims=(0, 1))
    np.testing.assert_array_equal(back, bf16(host))
    allocmon.deallocate(t)
    assert not t.is_allocated()
    assert my_device_bytes(server.socket, "DRAM") == baseline
    mesh.close()


def test_replicated_tensor_is_whole_on_every_device(server):
    mesh = allocmon.open_mesh(1, 8)
    assert mesh.get_device_ids() == list(range(8))
    host = np.random.default_rng(1).random((3, 40, 50), dtype=np.float32)
    t = allocmon.from_numpy(host, mesh, dtype="float32")
    assert t.shard_shape == [3, 40, 50]
    assert t.buffer_size == 3 * 64 * 64 * 4  # tile padding: 40x50 -> 64x64 float32
    np.testing.assert_array_equal(allocmon.to_numpy(t), host)
    mesh.close()


def test_read_shard_gives_one_device_whole_or_a_flat_slice(server):
    mesh = allocmon.open_mesh(2, 4)
    host = np.random.default_rng(3).random((2, 4, 32, 64), dtype=np.float32)
    t = allocmon.from_numpy(host, mesh, dtype="float32", shard_dims=(0, 1))
    np.testing.assert_array_equal(allocmon.read_shard(t, 5), host[1:2, 1:2])  # mesh row 1, column 1
    flat = host[1, 1].reshape(-1)
    np.testing.assert_array_equal(allocmon.read_shard(t, 5, 100, 300), flat[100:400])
    assert allocmon.read_shard(t, 5, flat.size, 0).shape == (0,)
    with pytest.raises(IndexError, match=r"values \[2000, 2049\) are outside a shard of 2048"):
        allocmon.read_shard(t, 0, 2000, 49)
    with pytest.raises(IndexError, match="device index 8 out of range"):
        allocmon.read_shard(t, 8)
    mesh.close()


def test_add_and_matmul_are_numerically_right(server):
    mesh = allocmon.open_mesh(2, 4)
    rng = np.random.default_rng(7)
    a = rng.standard_normal((4, 8, 64, 96), dtype=np.float32)
    b = rng.standard_normal((4, 8, 64, 96), dtype=np.float32)
    ta = allocmon.from_numpy(a, mesh, shard_dims=(0, 1))
    tb = allocmon.from_numpy(b, mesh, shard_dims=(0, 1))
    s = allocmon.to_numpy(allocmon.add(ta, tb), concat_dims=(0, 1))
    np.testing.assert_array_equal(s, bf16(bf16(a) + bf16(b)))  # exact: one bfloat16 rounding of an exact sum
    s2 = allocmon.to_numpy(allocmon.add(ta, 1.5), concat_dims=(0, 1))
    np.testing.assert_array_equal(s2, bf16(bf16(a) + 1.5))

    x = rng.standard_normal((8, 8, 64, 128), dtype=np.float32)
    y = rng.standard_normal((8, 8, 128, 32), dtype=np.float32)
    z = allocmon.matmul(allocmon.from_numpy(x, mesh, shard_dims=(0, 1)), allocmon.from_numpy(y, mesh, shard_dims=(0, 1)))
    got = allocmon.to_numpy(z, concat_dims=(0, 1))
    want = np.matmul(bf16(x).astype(np.float64), bf16(y).astype(np.float64))
    # bfloat16 output: relative error up to 2^-8 of the value, plus float32 accumulation over K=128.
    np.testing.assert_allclose(got, want, rtol=1 / 128, atol=1e-3 * np.sqrt(128))
    mesh.close()


def test_program_cache_holds_kernels_until_cleared_and_cbs_only_while_running(server):
    mesh = allocmon.open_mesh(1, 2)
    x = allocmon.from_numpy(np.ones((64, 64), np.float32), mesh)
    allocmon.add(x, x)
    allocmon.matmul(x, x)
    kernels = my_device_bytes(server.socket, "KERNEL")
    assert kernels == {0: 12 * 1024 + 24 * 1024, 1: 12 * 1024 + 24 * 1024}
    assert my_device_bytes(server.socket, "CB") == {0: 0, 1: 0}
    assert mesh.program_cache_entries() == 2
    allocmon.add(x, x)  # cached: no new kernel memory
    assert my_device_bytes(server.socket, "KERNEL") == kernels
    mesh.clear_program_cache()
    assert my_device_bytes(server.socket, "KERNEL") == {0: 0, 1: 0}
    mesh.close()


def test_out_of_memory_names_the_request_and_largest_free_block(server):
    mesh = allocmon.open_mesh(1, 1)
    with pytest.raises(allocmon.OutOfMemoryError) as error:
        allocmon.from_numpy(np.zeros((1, 4096, 8192), np.float32), mesh, buffer_type="L1", dtype="float32")
    text = str(error.value)
    assert "Out of Memory: Not enough space to allocate 134217728 B L1 buffer across 64 banks" in text
    assert "largest free block" in text and "devices 0" in text
    stats = mesh.allocator_stats("L1")
    assert stats["banks"] == 64 and stats["bank_size"] == 1_395_424
    mesh.close()


def test_galaxy_and_not_enough_devices(server):
    galaxy = allocmon.open_mesh(4, 8)
    assert galaxy.get_num_devices() == 32
    galaxy.close()
    with pytest.raises(RuntimeError, match="Not enough devices: requested 8, system has 4"):
        allocmon.open_mesh(2, 4, available_devices=4)


def test_blackhole_mesh_registers_its_capacity(server):
    mesh = allocmon.open_mesh(1, 2, architecture="blackhole")
    assert allocmon.flush() == allocmon.FLUSH_OK
    snap = allocmon.snapshot(server.socket)
    device = next(d for d in snap["devices"] if d["id"] == 1)
    assert device["architecture"] == "blackhole"
    assert device["memory"]["DRAM"]["capacity"] == 8 * 4_278_190_016
    assert device["memory"]["L1"]["capacity"] == 130 * 1_461_760
    mesh.close()


def test_a_mesh_opens_over_devices_another_holds_and_the_other_keeps_its_accounting(server):
    # As in tt-metal, a second mesh may open over devices an open mesh holds (each mesh has its own allocator).
    # Was refused: a second mesh, once closed, used to unregister devices 0-7 for the whole process, so the first
    # mesh's tensors showed 0 B and later frees counted as unregistered_device. The registration is now the
    # process's, withdrawn by the last mesh holding the device.
    first = allocmon.open_mesh(2, 4)
    t = allocmon.from_numpy(np.ones((2, 4, 64, 64), dtype=np.float32), first, shard_dims=(0, 1))
    before = my_device_bytes(server.socket, "DRAM")
    second = allocmon.open_mesh(2, 4)
    single = allocmon.open_mesh(1, 1)
    both = my_device_bytes(server.socket, "DRAM")
    system = 15_466_496  # each mesh's own system buffers (docs/ttnn.md), in its own allocator
    assert both[4] == before[4] + system and both[0] == before[0] + 2 * system
    second.close()
    single.close()
    assert my_device_bytes(server.socket, "DRAM") == before  # nothing of the first mesh was lost
    allocmon.deallocate(t)
    first.close()
    snap = allocmon.snapshot(server.socket)
    assert snap["counters"]["problems"]["unregistered_device"] == 0
    assert my_device_bytes(server.socket, "DRAM") == {}
    with pytest.raises(ValueError, match="physical_ids lists device 2 twice"):
        allocmon.open_mesh(1, 2, physical_ids=[2, 2])
