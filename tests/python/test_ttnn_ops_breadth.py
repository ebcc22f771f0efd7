"""allocmon.ttnn ops and types added for tt-metal's own unit tests: fused unary ops (matmul's fused_activation,
binary ops' activations=), in-place binary ops, sub-device managers, ..."""

import pytest
import torch

from allocmon import ttnn
from ttnn_helpers import held, on_device


@pytest.fixture(autouse=True)
def _own_random_state():
    """Each test draws from its own torch RNG state and leaves the process's as it found it (other files' tests
    draw unseeded values)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield


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
    before = held(server, "DRAM")
    out = ttnn.add_(a, b, activations=[ttnn.UnaryWithParam(ttnn.UnaryOpType.RELU)])
    assert out is a and held(server, "DRAM") == before
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
    before = held(server, "DRAM")
    out = ttnn.tilize_untilize(a)
    assert held(server, "DRAM") - before == 2 * 64 * 96 * 2
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


# --- group_norm --------------------------------------------------------------------------------------------------

def _group_norm_reference(x, groups, weight, bias, eps=1e-5):
    n, _, hw, c = x.shape
    nchw = x.reshape(n, hw, c).permute(0, 2, 1).reshape(n, c, 1, hw).float()
    out = torch.nn.functional.group_norm(nchw, groups, weight, bias, eps=eps)
    return out.reshape(n, c, hw).permute(0, 2, 1).reshape(n, 1, hw, c)


def test_group_norm_interleaved_splits_channels_over_virtual_columns(device):
    n, hw, c, groups = 2, 64, 128, 8
    torch.manual_seed(0)
    x, w, b = torch.rand(n, 1, hw, c), torch.rand(c), torch.rand(c)
    grid = ttnn.determine_expected_group_norm_dram_grid_size(device=device, num_channels=c, num_groups=groups,
                                                             input_nhw=hw, num_batches=n)
    cols = ttnn.dram_group_norm_virtual_columns(grid, c, groups)
    assert (c // cols) % 32 == 0 and groups % cols == 0
    [gamma, beta], mask = ttnn.dram_group_norm_params_from_torch([w, b], c, groups, device, core_grid=grid,
                                                                  dtype=ttnn.float32)
    assert tuple(gamma.shape) == (1, 1, c // 32, 32) and gamma.layout == ttnn.ROW_MAJOR_LAYOUT
    assert mask.layout == ttnn.TILE_LAYOUT and mask.shape[1] == groups
    out = ttnn.group_norm(on_device(device, x, dtype=ttnn.float32), num_groups=groups, epsilon=1e-5,
                          input_mask=mask, weight=gamma, bias=beta, core_grid=grid, inplace=False)
    assert out.layout == ttnn.TILE_LAYOUT and out.memory_config() == ttnn.DRAM_MEMORY_CONFIG
    torch.testing.assert_close(ttnn.to_torch(out).float(), _group_norm_reference(x, groups, w, b),
                               rtol=1e-4, atol=1e-4)
    with pytest.raises(RuntimeError, match="Tile layout requires non-inplace"):
        ttnn.group_norm(on_device(device, x), num_groups=groups, core_grid=grid)
    with pytest.raises(RuntimeError, match="Requested core_grid"):
        ttnn.group_norm(on_device(device, x), num_groups=groups, core_grid=ttnn.CoreGrid(y=3, x=4), inplace=False)


def test_group_norm_sharded_row_major_in_place(device):
    n, hw, c, groups = 1, 256, 64, 4
    torch.manual_seed(1)
    x, w = torch.rand(n, 1, hw, c), torch.rand(c)
    grid = ttnn.CoreRangeSet([ttnn.CoreRange(ttnn.CoreCoord(0, 0), ttnn.CoreCoord(3, 0))])
    config = ttnn.MemoryConfig(ttnn.TensorMemoryLayout.HEIGHT_SHARDED, ttnn.BufferType.L1,
                               ttnn.ShardSpec(grid, (hw // 4, c), ttnn.ShardOrientation.ROW_MAJOR))
    t = on_device(device, x, layout=ttnn.ROW_MAJOR_LAYOUT, memory_config=config)
    gamma = on_device(device, ttnn.create_group_norm_weight_bias_rm(w, c, 1), layout=ttnn.ROW_MAJOR_LAYOUT)
    out = ttnn.group_norm(t, num_groups=groups, epsilon=1e-5, weight=gamma, memory_config=config,
                          core_grid=ttnn.CoreGrid(y=1, x=4), inplace=True)
    assert out is t
    want = _group_norm_reference(x.to(torch.bfloat16).float(), groups, w.to(torch.bfloat16).float(), None)
    torch.testing.assert_close(ttnn.to_torch(out).float(), want, rtol=2e-2, atol=2e-2)


def test_group_norm_masks_mark_each_groups_columns():
    mask = ttnn.to_torch(ttnn.create_group_norm_input_mask(64, 4, 1)).float()
    assert tuple(mask.shape) == (1, 4, 32, 32)  # 16-channel groups: one tile each
    assert mask[0, 0, 0, :16].eq(1).all() and mask[0, 0, 0, 16:].eq(0).all()
    assert mask[0, 1, 0, 16:].eq(1).all() and mask[0, 1, 0, :16].eq(0).all()
    assert mask[0, 2].equal(mask[0, 0])  # the third group starts a new tile
    doubled = ttnn.to_torch(ttnn.create_group_norm_input_mask(64, 4, 1, ttnn.bfloat16, rows_in_last_tile=3)).float()
    assert tuple(doubled.shape) == (1, 8, 32, 32) and doubled[0, 4, 3:].eq(0).all()
    assert doubled[0, 4, :3].equal(mask[0, 0, :3])
    negative = ttnn.to_torch(ttnn.create_group_norm_input_negative_mask(64, 4, 1)).float()
    assert negative.equal(1 - mask)
    rm = ttnn.create_group_norm_weight_bias_rm(torch.arange(96.0), 96, 2)  # 48 per core, padded to 64
    assert tuple(rm.shape) == (1, 1, 4, 32) and rm.flatten()[48:64].eq(0).all() and rm.flatten()[64] == 48


# --- as_tensor's cache file --------------------------------------------------------------------------------------

def test_as_tensor_cache_file_is_written_once_and_read_back(device, tmp_path):
    tmp_path = tmp_path / "cache"
    x = torch.rand(7, 3)
    kwargs = dict(dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=device, memory_config=ttnn.L1_MEMORY_CONFIG,
                  cache_file_name=tmp_path / "weights", cache_dump_mode=ttnn.DumpTensorMode.LOCAL)
    first = ttnn.as_tensor(x, **kwargs)
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == ["weights_dtype_FLOAT32_layout_TILE.tensorbin"]
    hit = ttnn.as_tensor(torch.zeros_like(x), **kwargs)  # a hit reads the file, not the input
    assert hit.memory_config() == ttnn.L1_MEMORY_CONFIG and hit.layout == ttnn.TILE_LAYOUT
    torch.testing.assert_close(ttnn.to_torch(hit), x, rtol=0, atol=0)
    torch.testing.assert_close(ttnn.to_torch(first), x, rtol=0, atol=0)
    files[0].write_bytes(b"not a tensor")  # unreadable: made again from the input and written over
    again = ttnn.as_tensor(torch.ones_like(x), **kwargs)
    torch.testing.assert_close(ttnn.to_torch(again), torch.ones_like(x), rtol=0, atol=0)
    (tmp_path / "other.bin").write_bytes(b"junk")
    with pytest.raises(RuntimeError, match="not a tensor file"):
        ttnn._ttnn.tensor.load_tensor_flatbuffer(tmp_path / "other.bin")


def test_as_tensor_failed_cache_write_leaves_no_file(tmp_path, monkeypatch):
    def failing(file_name, tensor, mode):
        open(file_name, "wb").write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(ttnn._ttnn.tensor, "dump_tensor_flatbuffer", failing)
    with pytest.raises(OSError, match="disk full"):
        ttnn.as_tensor(torch.rand(2, 2), dtype=ttnn.bfloat16, cache_file_name=tmp_path / "w")
    assert list(tmp_path.iterdir()) == []


# --- 2D-mcast matmul options ---------------------------------------------------------------------------------------

def _mcast_2d(**options):
    return ttnn.MatmulMultiCoreReuseMultiCastProgramConfig(
        compute_with_storage_grid_size=(2, 4), in0_block_w=2, out_subblock_h=1, out_subblock_w=1, per_core_M=1,
        per_core_N=2, transpose_mcast=False, **options)


def test_matmul_fuse_swiglu_pairs_gate_and_up_tiles(device):
    x, w = torch.randn(1, 1, 128, 64), torch.randn(1, 1, 64, 128) * 0.1
    out = ttnn.matmul(on_device(device, x, dtype=ttnn.float32), on_device(device, w, dtype=ttnn.float32),
                      program_config=_mcast_2d(fuse_swiglu=True))
    z = (x @ w).reshape(1, 1, 128, 2, 2, 32)  # two pairs of 32-column tiles: gate, up
    want = (torch.nn.functional.silu(z[..., 0, :]) * z[..., 1, :]).reshape(1, 1, 128, 64)
    assert tuple(out.shape) == (1, 1, 128, 64)
    torch.testing.assert_close(ttnn.to_torch(out).float(), want, rtol=1e-4, atol=1e-4)


def test_matmul_in1_dual_sender_same_values_and_its_limits(device):
    a, b = on_device(device, torch.randn(1, 1, 128, 64)), on_device(device, torch.randn(1, 1, 64, 64))
    single = ttnn.to_torch(ttnn.matmul(a, b, program_config=_mcast_2d()))
    dual = ttnn.to_torch(ttnn.matmul(a, b, program_config=_mcast_2d(in1_dual_sender=True)))
    assert torch.equal(single, dual)
    with pytest.raises(RuntimeError, match="even in0_block_w"):
        ttnn.matmul(a, b, program_config=ttnn.MatmulMultiCoreReuseMultiCastProgramConfig(
            compute_with_storage_grid_size=(2, 4), in0_block_w=1, out_subblock_h=1, out_subblock_w=1, per_core_M=1,
            per_core_N=2, transpose_mcast=False, in1_dual_sender=True))
    short = on_device(device, torch.randn(1, 1, 64, 64))  # 2 M tiles: 2 core rows
    with pytest.raises(RuntimeError, match="at least 3 core rows"):
        ttnn.matmul(short, b, program_config=_mcast_2d(in1_dual_sender=True))
    with pytest.raises(RuntimeError, match="does not support bias"):
        ttnn.linear(a, b, bias=on_device(device, torch.randn(1, 1, 1, 64)),
                    program_config=_mcast_2d(in1_dual_sender=True))
