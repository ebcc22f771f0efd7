"""allocmon.ttnn's non-op names: devices and the tt-metal harness's calls, host-side multi-device tensors, the
Tensor class, how scripts probe for names, model_preprocessing, and docs/ttnn.md against the emulated list."""

import os
import re

import pytest
import torch

import allocmon
from allocmon import ttnn


def held(server, memory_type):
    """{device: bytes} this process holds of one memory type, per the server (devices holding none left out:
    an earlier test may have registered a device and left it registered)."""
    assert allocmon.flush(5000) == allocmon.FLUSH_OK
    for process in allocmon.snapshot(server.socket)["processes"]:
        if process["pid"] == os.getpid():
            held = {d["id"]: d["memory"].get(memory_type, {}).get("allocated", 0) for d in process["devices"]}
            return {device: size for device, size in held.items() if size}
    return {}


def test_harness_names_tt_metal_conftest_calls(server, monkeypatch):
    assert ttnn.get_arch_name() == "wormhole_b0"
    monkeypatch.setenv("ALLOCMON_ARCH", "blackhole")
    assert ttnn.get_arch_name() == "blackhole"
    monkeypatch.delenv("ALLOCMON_ARCH")
    monkeypatch.setenv("ALLOCMON_EMULATED_DEVICES", "8")
    assert ttnn.GetNumAvailableDevices() == ttnn.GetNumPCIeDevices() == ttnn.get_num_devices() == 8
    assert ttnn.get_device_ids() == list(range(8)) and ttnn.GetPCIeDeviceID(3) == 3
    config = ttnn.DispatchCoreConfig(ttnn.device.DispatchCoreType.WORKER, ttnn.DispatchCoreAxis.ROW)
    assert config.type == ttnn.device.DispatchCoreType.ETH.WORKER and ttnn.device.DispatchCoreAxis.COL != config.axis
    assert ttnn.GetDefaultDevice() is None
    device = ttnn.CreateDevice(device_id=2, l1_small_size=8192, dispatch_core_config=config, num_command_queues=1)
    ttnn.SetDefaultDevice(device)
    assert ttnn.GetDefaultDevice() is device and device.id() == 2
    assert device.arch() == ttnn.device.Arch.WORMHOLE_B0 and device.arch().name == "WORMHOLE_B0"
    assert device.compute_with_storage_grid_size() == ttnn.CoreCoord(8, 8)
    assert 2 not in held(server, "L1_SMALL") and 2 in held(server, "DRAM")
    ttnn.synchronize_device(device)
    ttnn.DumpDeviceProfiler(device)
    ttnn.CloseDevice(device)
    assert ttnn.GetDefaultDevice() is None and held(server, "DRAM") == {}
    devices = ttnn.CreateDevices([0, 1])
    assert sorted(devices) == [0, 1] and devices[1].id() == 1
    ttnn.CloseDevices(devices)
    with ttnn.create_mesh_device(ttnn.MeshShape(8)) as mesh:  # a 1-D shape is one row
        assert tuple(mesh.shape) == (1, 8) and len(mesh.get_devices()) == 8
        assert [d.id() for d in mesh.get_devices()] == mesh.get_device_ids()
        assert sorted(held(server, "DRAM")) == list(range(8))
    assert held(server, "DRAM") == {}
    with ttnn.manage_device(device_id=5) as one:
        assert one.get_device_ids() == [5]
    with pytest.raises(ttnn.NotEmulatedError, match=r"ttnn.MeshShape\(1, 2, 4\) is not part of the subset"):
        ttnn.MeshShape(1, 2, 4)


def test_host_side_multi_device_tensors_then_to_device(mesh, server):
    host = torch.randn(8, 2, 64, 32)
    base = held(server, "DRAM")
    split = ttnn.from_torch(host, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT,
                            mesh_mapper=ttnn.shard_tensor_to_mesh_mapper(mesh, 0))
    assert not ttnn.is_tensor_storage_on_device(split) and split.storage_type() == ttnn.StorageType.HOST
    assert split.shape == (1, 2, 64, 32) and held(server, "DRAM") == base  # nothing on the devices yet
    on_mesh = ttnn.to_device(split, mesh, memory_config=ttnn.DRAM_MEMORY_CONFIG)
    assert ttnn.is_tensor_storage_on_device(on_mesh) and on_mesh.shape == (1, 2, 64, 32)
    assert held(server, "DRAM") == {d: base[d] + 4 * 2048 for d in range(8)}  # four tiles on each device
    composer = ttnn.concat_mesh_to_tensor_composer(mesh, 0)
    assert torch.equal(ttnn.to_torch(on_mesh, mesh_composer=composer), host.to(torch.bfloat16))
    pieces = ttnn.get_device_tensors(on_mesh)
    assert len(pieces) == 8 and all(p.shape == (1, 2, 64, 32) for p in pieces)
    assert torch.equal(ttnn.to_torch(pieces[6]), host[6:7].to(torch.bfloat16))
    back = ttnn.from_device(on_mesh)
    assert back.storage_type() == "HOST" and torch.equal(ttnn.to_torch(back, mesh_composer=composer), ttnn.to_torch(
        on_mesh, mesh_composer=composer))
    replicated = ttnn.from_torch(host[:1], dtype=ttnn.float32, mesh_mapper=ttnn.replicate_tensor_to_mesh_mapper(mesh))
    assert replicated.shape == (1, 2, 64, 32)
    with pytest.raises(RuntimeError, match="distributed over 8 devices; pass mesh_composer="):
        ttnn.to_torch(replicated)
    placed = ttnn.to_device(replicated, mesh)
    with pytest.raises(RuntimeError, match="distributed over 8 devices"):
        ttnn.to_torch(placed)  # ttnn refuses a replicated mesh tensor without a composer, too
    assert torch.equal(ttnn.to_torch(ttnn.get_device_tensors(placed)[7]), host[:1])
    per_device = [ttnn.from_torch(host[i:i + 1], dtype=ttnn.bfloat16) for i in range(8)]
    assert all(p.shape == (1, 2, 64, 32) for p in per_device)


def test_tensor_class_constructors_methods_and_print(device):
    values = torch.arange(32 * 32, dtype=torch.float32).reshape(32, 32) / 64
    from_numpy = ttnn.Tensor(values.numpy(), device=device, layout=ttnn.TILE_LAYOUT)
    assert from_numpy.dtype == ttnn.float32 and from_numpy.storage_type() == "DEVICE"
    assert torch.equal(from_numpy.to_torch(), values)
    typed = ttnn.Tensor(values, ttnn.bfloat16)
    assert typed.dtype == ttnn.bfloat16 and typed.storage_type() == "HOST"
    flat = ttnn.Tensor(values.flatten().tolist(), [32, 32], ttnn.bfloat16, ttnn.ROW_MAJOR_LAYOUT)
    assert flat.shape == (32, 32) and torch.equal(flat.to_torch(), values.to(torch.bfloat16))
    placed = ttnn.Tensor(values.flatten().tolist(), [32, 32], ttnn.bfloat16, ttnn.TILE_LAYOUT, device,
                         ttnn.L1_MEMORY_CONFIG)  # ttnn's positional order, memory config last
    assert placed.storage_type() == "DEVICE" and placed.memory_config() == ttnn.L1_MEMORY_CONFIG
    quantized = ttnn.Tensor(tensor=values, data_type=ttnn.bfloat8_b, layout=ttnn.TILE_LAYOUT).to_torch()
    assert quantized.shape == (32, 32) and (quantized.float() - values).abs().max() <= 0.125  # a step of the largest block
    moved = typed.to(ttnn.TILE_LAYOUT).to(device, ttnn.L1_MEMORY_CONFIG)
    assert moved.layout == ttnn.TILE_LAYOUT and moved.memory_config() == ttnn.L1_MEMORY_CONFIG
    assert torch.equal(moved.cpu().to_torch(), values.to(torch.bfloat16))
    assert torch.equal(moved[2:5, :8].to_torch(), values[2:5, :8].to(torch.bfloat16))
    assert moved.reshape(16, 64).shape == (16, 64) and moved.reshape((1, 1024)).shape == (1, 1024)
    padded = ttnn.Tensor(values[:30, :20]).pad([32, 32], [0, 0], 0.0)
    assert padded.shape == (32, 32) and padded.to_torch()[:30, :20].equal(values[:30, :20])
    assert padded.to_torch()[30:, :].abs().sum() == 0
    assert ttnn.Tensor(values[:30, :20]).pad_to_tile(1.0).shape == (32, 32)
    assert padded.unpad([0, 0], [30, 20]).shape == (30, 20)
    assert moved.padded_shape == (32, 32) and ttnn.Tensor(values[:30, :20]).to(ttnn.TILE_LAYOUT).padded_shape == (
        32, 32)
    text = str(ttnn.from_torch(torch.tensor([[1.5, -2.0], [0.25, 3.0]]), dtype=ttnn.bfloat16))
    assert text.startswith("ttnn.Tensor([[ 1.5000, -2.0000],") and "[ 0.2500,  3.0000]]" in text
    assert text.endswith("shape=Shape([2, 2]), dtype=DataType.BFLOAT16, layout=Layout.ROW_MAJOR)")
    ttnn.deallocate(moved)
    assert not moved.is_allocated() and "<deallocated>" in repr(moved)
    with pytest.raises(RuntimeError, match="deallocated"):
        ttnn.add(moved, 1.0)


def test_scripts_probe_names_like_on_a_ttnn_without_them():
    assert hasattr(ttnn, "matmul") and hasattr(ttnn, "bfloat4_b") and hasattr(ttnn, "device")
    assert not hasattr(ttnn, "conv2d") and getattr(ttnn, "conv2d", None) is None
    try:
        from allocmon.ttnn import conv2d  # noqa: F401
        imported = True
    except ImportError:
        imported = False
    assert not imported
    with pytest.raises(AttributeError, match="ttnn.experimental.all_gather_async is not part of the subset"):
        ttnn.experimental.all_gather_async
    assert hasattr(ttnn.experimental, "gather") and not hasattr(ttnn.experimental, "conv3d")
    with pytest.raises(NotImplementedError):  # scripts that catch NotImplementedError still do
        ttnn.all_gather
    assert issubclass(ttnn.NotEmulatedError, AttributeError) and issubclass(ttnn.NotEmulatedError, NotImplementedError)


def test_every_not_emulated_path_names_the_call(device):
    t = ttnn.from_torch(torch.ones(32, 32), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device)
    calls = [
        (lambda: ttnn.add(t, t, activations=["digamma"]), r"ttnn.add fusing the unary op 'digamma'"),
        (lambda: ttnn.linear(t, t, activation="digamma"), r"ttnn.linear fusing the unary op 'digamma'"),
        (lambda: ttnn.from_torch(torch.ones(2), spec=object()), r"ttnn.from_torch\(spec=...\)"),
        (lambda: ttnn.add(ttnn.get_device_tensors(t)[0], 1.0), r"ttnn.add on a tensor taken from"),
        (lambda: ttnn.slice(t, [0, 0], [32, 32], [1, -1]), r"ttnn.slice with step -1"),
        (lambda: ttnn.from_torch(torch.ones(32, 32), device=device, memory_config=ttnn.MemoryConfig(
            ttnn.TensorMemoryLayout.WIDTH_SHARDED, ttnn.BufferType.L1)), r"placing a tensor in MemoryConfig\("),
        (lambda: ttnn.add(t, t, memory_config=ttnn.L1_WIDTH_SHARDED_MEMORY_CONFIG),
         r"ttnn.add into MemoryConfig\(.*no input is sharded"),
        (lambda: ttnn.Tensor(torch.ones(2), mystery=1), r"ttnn.Tensor\(..., mystery=...\)"),
        (lambda: ttnn.transformer.split_query_key_value_and_split_heads(t, t, num_heads=1),
         r"split_query_key_value_and_split_heads with separate KV heads"),
    ]
    for call, message in calls:
        with pytest.raises(ttnn.NotEmulatedError, match=message):
            call()


def test_model_preprocessing_converts_linear_and_layer_norm(device, server):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 96), torch.nn.LayerNorm(96), torch.nn.Linear(96, 32, bias=False))
    base = held(server, "DRAM")[0]
    parameters = ttnn.model_preprocessing.preprocess_model_parameters(initialize_model=lambda: model, device=device)
    assert isinstance(parameters, list) and len(parameters) == 3
    assert parameters[0].weight.shape == (64, 96) and parameters[0].bias.shape == (1, 96)
    assert parameters[1].weight.shape == (1, 96) and "bias" not in parameters[2]
    sizes = (2 * 3 * 2048) + 3 * 2048 + 3 * 2048 + 3 * 2048 + 3 * 1 * 2048  # w0, b0, ln w, ln b, w2 (96x32)
    assert held(server, "DRAM")[0] - base == sizes
    x = torch.randn(4, 64)
    tx = ttnn.from_torch(x, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device)
    h = ttnn.linear(tx, parameters[0].weight, bias=parameters[0].bias)
    h = ttnn.layer_norm(h, weight=parameters[1].weight, bias=parameters[1].bias, epsilon=model[1].eps)
    out = ttnn.to_torch(ttnn.linear(h, parameters[2].weight)).float()
    with torch.no_grad():
        want = model(x)
    torch.testing.assert_close(out, want, rtol=0.05, atol=0.1)
    host_only = ttnn.model_preprocessing.preprocess_model_parameters(model=model[0])
    assert host_only.weight.storage_type() == "HOST"
    weight = ttnn.model_preprocessing.preprocess_linear_weight(model[0].weight, dtype=ttnn.bfloat8_b)
    assert weight.dtype == ttnn.bfloat8_b and weight.shape == (64, 96)


def test_docs_list_exactly_what_is_emulated(repo_root):
    """docs/ttnn.md's "Emulated names" section lists every name emulated_names() gives, module by module."""
    text = open(os.path.join(repo_root, "docs", "ttnn.md")).read()
    section = text.split("## Emulated names", 1)[1].split("\n## ", 1)[0]
    documented = {}
    for module, names in re.findall(r"^- `(ttnn[\w.]*)`: (.+)$", section, flags=re.M):
        documented[module] = sorted(re.findall(r"`([\w]+)`", names))
    assert documented == ttnn.emulated_names()
    for module, names in ttnn.emulated_names().items():
        owner = ttnn if module == "ttnn" else None
        for name in names:
            assert hasattr(ttnn, name) or hasattr(getattr(ttnn, module.split(".")[-1], owner), name), (module, name)
