"""allocmon.ttnn ops and types added for tt-metal's own unit tests: fused unary ops (matmul's fused_activation,
binary ops' activations=), in-place binary ops, sub-device managers, ..."""

import os

import pytest
import torch

import allocmon
from allocmon import ttnn


@pytest.fixture
def device(server):
    opened = ttnn.open_device(device_id=0)
    yield opened
    ttnn.close_device(opened)


def on_device(device, values, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, memory_config=None):
    return ttnn.from_torch(values, dtype=dtype, layout=layout, device=device, memory_config=memory_config)


def dram_bytes(server, device=0):
    assert allocmon.flush(5000) == allocmon.FLUSH_OK
    for process in allocmon.snapshot(server.socket)["processes"]:
        if process["pid"] == os.getpid():
            for d in process["devices"]:
                if d["id"] == device:
                    return d["memory"].get("DRAM", {}).get("allocated", 0)
    return 0


# --- fused unary ops ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op_type, param, want", [
    (ttnn.UnaryOpType.RELU6, None, lambda z: z.clamp(0, 6)),
    (ttnn.UnaryOpType.RELU, None, lambda z: z.clamp(min=0)),
    (ttnn.UnaryOpType.LEAKY_RELU, 0.25, lambda z: torch.where(z >= 0, z, z * 0.25)),
    (ttnn.UnaryOpType.RELU_MAX, 3.0, lambda z: z.clamp(0, 3)),
])
def test_matmul_fused_activation_with_and_without_a_parameter(device, op_type, param, want):
    a = torch.randint(-4, 5, (1, 1, 64, 64)).float()
    b = torch.eye(64).reshape(1, 1, 64, 64)
    config = ttnn.MatmulMultiCoreReuseMultiCast1DProgramConfig(
        compute_with_storage_grid_size=(1, 1), in0_block_w=1, out_subblock_h=1, out_subblock_w=1, per_core_M=2,
        per_core_N=2, fuse_batch=False, mcast_in0=True,
        fused_activation=ttnn.UnaryWithParam(op_type) if param is None else ttnn.UnaryWithParam(op_type, param))
    out = ttnn.to_torch(ttnn.linear(on_device(device, a), on_device(device, b), program_config=config))
    torch.testing.assert_close(out.float(), want(a @ b), rtol=0, atol=0)


def test_unary_with_param_keeps_its_op_and_params():
    op = ttnn.UnaryWithParam(ttnn.UnaryOpType.LEAKY_RELU, 0.5)
    assert op.op_type == ttnn.UnaryOpType.LEAKY_RELU and op.params == [0.5]
    assert ttnn.UnaryWithParam(ttnn.UnaryOpType.RELU).params == []
    assert op == ttnn.UnaryWithParam(ttnn.UnaryOpType.LEAKY_RELU, [0.5])
    assert op != ttnn.UnaryWithParam(ttnn.UnaryOpType.LEAKY_RELU, 0.25)


def test_binary_activations_apply_to_inputs_then_result(device):
    x = torch.tensor([[-2.0, -1.0, 0.5, 3.0]]).repeat(32, 8)
    y = torch.full_like(x, -1.0)
    a, b = on_device(device, x), on_device(device, y)
    out = ttnn.add(a, b, activations=[ttnn.UnaryWithParam(ttnn.UnaryOpType.RELU)])
    torch.testing.assert_close(ttnn.to_torch(out).float(), (x + y).clamp(min=0))
    out = ttnn.multiply(a, b, input_tensor_a_activations=[ttnn.UnaryOpType.ABS], activations=["neg", "relu"])
    torch.testing.assert_close(ttnn.to_torch(out).float(), (-(x.abs() * y)).clamp(min=0))
    with pytest.raises(ttnn.NotEmulatedError, match="fusing the unary op 'digamma'"):
        ttnn.add(a, b, activations=["digamma"])


def test_in_place_binary_ops_write_the_first_input_and_allocate_nothing(device, server):
    x, y = torch.rand(1, 1, 64, 64), torch.rand(1, 1, 1, 64)
    a, b = on_device(device, x), on_device(device, y)
    before = dram_bytes(server)
    out = ttnn.add_(a, b, activations=[ttnn.UnaryWithParam(ttnn.UnaryOpType.RELU)])
    assert out is a and dram_bytes(server) == before
    torch.testing.assert_close(ttnn.to_torch(a).float(), x + y, rtol=1.6e-2, atol=1e-2)
    ttnn.multiply_(a, 2.0)
    torch.testing.assert_close(ttnn.to_torch(a).float(), 2 * (x + y), rtol=1.6e-2, atol=2e-2)
    with pytest.raises(RuntimeError, match="cannot broadcast its first input"):
        ttnn.subtract_(b, a)


def test_binary_output_tensor_is_written_over(device):
    x = torch.rand(1, 1, 32, 64)
    a = on_device(device, x)
    target = on_device(device, torch.zeros(1, 1, 32, 64))
    out = ttnn.subtract(a, 1.0, output_tensor=target)
    assert out is target
    torch.testing.assert_close(ttnn.to_torch(target).float(), x - 1, rtol=1.6e-2, atol=1e-2)


# --- sub-devices -------------------------------------------------------------------------------------------------

def _rows(device, first, last):
    grid = device.compute_with_storage_grid_size()
    return ttnn.CoreRangeSet([ttnn.CoreRange(ttnn.CoreCoord(0, first), ttnn.CoreCoord(grid.x - 1, last))])


def test_sub_device_manager_lifecycle(device):
    grid = device.compute_with_storage_grid_size()
    assert device.get_sub_device_ids() == [ttnn.SubDeviceId(0)]
    manager = device.create_sub_device_manager(
        [ttnn.SubDevice([_rows(device, 0, 0)]), ttnn.SubDevice([_rows(device, 1, grid.y - 1)])], 0)
    assert device.get_sub_device_ids() == [ttnn.SubDeviceId(0)]  # created, not loaded
    device.load_sub_device_manager(manager)
    assert device.get_sub_device_ids() == [ttnn.SubDeviceId(0), ttnn.SubDeviceId(1)]
    device.set_sub_device_stall_group([ttnn.SubDeviceId(0), ttnn.SubDeviceId(1)])
    with pytest.raises(RuntimeError, match="not found"):
        device.set_sub_device_stall_group([ttnn.SubDeviceId(2)])
    with pytest.raises(RuntimeError, match="active sub device manager"):
        device.remove_sub_device_manager(manager)
    device.reset_sub_device_stall_group()
    device.clear_loaded_sub_device_manager()
    device.remove_sub_device_manager(manager)
    with pytest.raises(RuntimeError, match="does not exist"):
        device.load_sub_device_manager(manager)


def test_sub_devices_may_not_overlap_or_leave_the_grid(device):
    grid = device.compute_with_storage_grid_size()
    with pytest.raises(RuntimeError, match="shares cores"):
        device.create_sub_device_manager(
            [ttnn.SubDevice([_rows(device, 0, 1)]), ttnn.SubDevice([_rows(device, 1, 2)])], 0)
    with pytest.raises(RuntimeError, match="outside"):
        device.create_sub_device_manager([ttnn.SubDevice([_rows(device, 0, grid.y)])], 0)
    with pytest.raises(ttnn.NotEmulatedError, match="local_l1_size"):
        device.create_sub_device_manager([ttnn.SubDevice([_rows(device, 0, 0)])], 4096)


def test_matmul_on_a_sub_device_uses_only_its_cores(device):
    grid = device.compute_with_storage_grid_size()
    manager = device.create_sub_device_manager(
        [ttnn.SubDevice([_rows(device, 0, 0)]), ttnn.SubDevice([_rows(device, 1, grid.y - 1)])], 0)
    device.load_sub_device_manager(manager)
    try:
        x, y = torch.rand(1, 1, 64, 64), torch.rand(64, 32)
        a, b = on_device(device, x), on_device(device, y)
        worker = ttnn.SubDeviceId(1)
        config = ttnn.MatmulMultiCoreProgramConfig(allowed_worker_cores=_rows(device, 1, grid.y - 1))
        out = ttnn.matmul(a, b, program_config=config, sub_device_id=worker)
        torch.testing.assert_close(ttnn.to_torch(out).float(), x @ y, rtol=2e-2, atol=5e-2)
        with pytest.raises(RuntimeError, match="outside sub-device 0"):
            ttnn.matmul(a, b, program_config=config, sub_device_id=ttnn.SubDeviceId(0))
        with pytest.raises(RuntimeError, match="not found"):
            ttnn.matmul(a, b, sub_device_id=ttnn.SubDeviceId(2))
    finally:
        device.clear_loaded_sub_device_manager()
        device.remove_sub_device_manager(manager)


def test_matmul_program_configs_default_to_every_worker_core():
    config = ttnn.MatmulMultiCoreReuseProgramConfig(in0_block_w=1, out_subblock_h=1, out_subblock_w=1,
                                                    per_core_M=1, per_core_N=1)
    assert config.allowed_worker_cores is None and "allowed_worker_cores" in repr(config)
    assert ttnn.MatmulMultiCoreProgramConfig().allowed_worker_cores is None


# --- tilize_untilize ---------------------------------------------------------------------------------------------

def test_tilize_untilize_is_an_identity_into_a_new_row_major_tensor(device, server):
    x = torch.randn(2, 1, 64, 96)
    a = on_device(device, x, layout=ttnn.ROW_MAJOR_LAYOUT, memory_config=ttnn.DRAM_MEMORY_CONFIG)
    before = dram_bytes(server)
    out = ttnn.tilize_untilize(a)
    assert dram_bytes(server) - before == 2 * 64 * 96 * 2
    assert out.shape == a.shape and out.dtype == ttnn.bfloat16 and out.layout == ttnn.ROW_MAJOR_LAYOUT
    torch.testing.assert_close(ttnn.to_torch(out).float(), x.to(torch.bfloat16).float(), rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="Width must be a multiple"):
        ttnn.tilize_untilize(on_device(device, torch.randn(1, 1, 32, 48), layout=ttnn.ROW_MAJOR_LAYOUT))
    with pytest.raises(RuntimeError, match="ROW_MAJOR layout"):
        ttnn.tilize_untilize(on_device(device, x))
    with pytest.raises(RuntimeError, match="must be 4D"):
        ttnn.tilize_untilize(on_device(device, torch.randn(64, 96), layout=ttnn.ROW_MAJOR_LAYOUT))


# --- layer norm's device operation -------------------------------------------------------------------------------

def test_layer_norm_program_hash_follows_attributes_and_tensor_specs(device):
    params = ttnn.LayerNormParams()
    params.norm_type = ttnn.LayerNormType.RMSNORM
    params.program_config = ttnn.create_layernorm_program_config(None)
    params.compute_kernel_config = ttnn.rmsnorm_default_compute_config(device.arch())
    empty = ttnn.LayerNormDeviceOperation.compute_program_hash(params, ttnn.LayerNormInputs())
    assert isinstance(empty, int) and empty == ttnn.LayerNormDeviceOperation.compute_program_hash(
        params, ttnn.LayerNormInputs())
    small = ttnn.LayerNormInputs(on_device(device, torch.rand(32, 64)))
    large = ttnn.LayerNormInputs(on_device(device, torch.rand(64, 64)))
    hashes = {ttnn.LayerNormDeviceOperation.compute_program_hash(params, inputs) for inputs in (small, large)}
    assert len(hashes | {empty}) == 3
    same_spec = ttnn.LayerNormInputs(on_device(device, torch.zeros(32, 64)))
    assert ttnn.LayerNormDeviceOperation.compute_program_hash(params, same_spec) in hashes
    params.eps = 1e-5
    assert ttnn.LayerNormDeviceOperation.compute_program_hash(params, small) not in hashes
    spec = ttnn.LayerNormDeviceOperation.compute_output_specs(params, small)
    assert tuple(spec.shape) == (32, 64) and spec.memory_config == ttnn.DRAM_MEMORY_CONFIG


def test_layernorm_program_config_from_a_shard_spec():
    assert isinstance(ttnn.create_layernorm_program_config(), ttnn.LayerNormDefaultProgramConfig)
    grid = ttnn.CoreRangeSet([ttnn.CoreRange(ttnn.CoreCoord(1, 2), ttnn.CoreCoord(4, 3))])
    config = ttnn.create_layernorm_program_config(ttnn.ShardSpec(grid, (64, 128)))
    assert config.compute_with_storage_grid_size == ttnn.CoreCoord(4, 2)
    assert (config.block_h, config.block_w, config.subblock_w, config.inplace) == (2, 4, 1, False)


def test_reshape_tile_mode_selects_no_other_program(device):
    device.enable_program_cache()
    x = torch.rand(1, 1, 64, 128)
    outs = []
    for mode in (ttnn.TileReshapeMapMode.CACHE, ttnn.TileReshapeMapMode.RECREATE):
        t = on_device(device, x)
        before = device.num_program_cache_entries()
        outs.append(ttnn.to_torch(ttnn.reshape(t, [1, 1, 128, 64], reshape_tile_mode=mode)).float())
        added = device.num_program_cache_entries() - before
        assert added == (1 if mode == ttnn.TileReshapeMapMode.CACHE else 0)
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)
    torch.testing.assert_close(outs[0], x.reshape(1, 1, 128, 64).to(torch.bfloat16).float(), rtol=0, atol=0)
