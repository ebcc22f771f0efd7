"""allocmon.ttnn: where ttnn.reallocate puts a tensor (its move frees the input before allocating the output), the
program-cache keys of ttnn.slice's signatures (bounds and sub_core_grids keyed; the values of device-resident
start/end tensors not), a full-span slice as the input itself, a row-major sharded tensor's padded width, and the
shard grid an op chooses for a sharded output config without a spec (cut to the cores that hold a shard), and
the programs ttnn.experimental.isin runs."""

import pytest
import torch

from allocmon import ttnn


def rm(device, values, memory_config=None, layout=ttnn.ROW_MAJOR_LAYOUT):
    return ttnn.from_torch(values, dtype=ttnn.bfloat16, layout=layout, device=device, memory_config=memory_config)


@pytest.mark.parametrize("config", [ttnn.DRAM_MEMORY_CONFIG, ttnn.L1_MEMORY_CONFIG], ids=["dram", "l1"])
def test_reallocate_of_the_only_tensor_stays_in_place(device, config):
    values = torch.randn(2, 2, 128, 1024)
    t = rm(device, values, config)
    before = t.buffer_address()
    moved = ttnn.reallocate(t)
    # the input is freed first, so the output takes the same lowest (DRAM) / highest (L1) free address
    assert moved.buffer_address() == before
    assert not t.is_allocated()
    assert torch.equal(ttnn.to_torch(moved), values.to(torch.bfloat16))


def test_reallocate_moves_down_in_dram_and_up_in_l1(device):
    for config, closer in ((ttnn.DRAM_MEMORY_CONFIG, lambda new, old: new < old),
                           (ttnn.L1_MEMORY_CONFIG, lambda new, old: new > old)):
        values = torch.randn(1, 1, 64, 1024)
        first = rm(device, torch.zeros(1, 1, 64, 1024), config)
        last = rm(device, values, config)
        first.deallocate()
        old = last.buffer_address()
        moved = ttnn.reallocate(last)
        assert closer(moved.buffer_address(), old)
        assert torch.equal(ttnn.to_torch(moved), values.to(torch.bfloat16))
        moved.deallocate()


def test_reallocate_of_a_sharded_tensor_keeps_its_shard_spec(device):
    config = ttnn.create_sharded_memory_config((1, 1, 256, 256), ttnn.CoreGrid(x=2, y=2), ttnn.ShardStrategy.BLOCK)
    values = torch.randn(1, 1, 256, 256)
    t = rm(device, values, config, layout=ttnn.TILE_LAYOUT)
    moved = ttnn.reallocate(t)
    assert moved.memory_config() == config
    assert torch.equal(ttnn.to_torch(moved), values.to(torch.bfloat16))
    with pytest.raises(RuntimeError, match="sharded"):
        ttnn.reallocate(moved, ttnn.DRAM_MEMORY_CONFIG)


def entries_added(device, fn):
    before = device.num_program_cache_entries()
    out = fn()
    return device.num_program_cache_entries() - before, out


def test_slice_signatures_and_cache_keys(device):
    values = torch.randn(1, 1, 128, 128)
    t = rm(device, values, layout=ttnn.TILE_LAYOUT)
    want = values[:, :, :64, :64].to(torch.bfloat16)
    added, out = entries_added(device, lambda: ttnn.slice(t, [0, 0, 0, 0], [1, 1, 64, 64]))
    assert added == 1 and torch.equal(ttnn.to_torch(out), want)
    # the same program for the keyword names and for fresh tensors of the same spec
    again = rm(device, values, layout=ttnn.TILE_LAYOUT)
    added, out = entries_added(device, lambda: ttnn.slice(again, starts=(0, 0, 0, 0), ends=(1, 1, 64, 64),
                                                          steps=(1, 1, 1, 1)))
    assert added == 0 and torch.equal(ttnn.to_torch(out), want)
    # other bounds, or sub_core_grids, select another program
    assert entries_added(device, lambda: ttnn.slice(t, [0, 0, 0, 0], [1, 1, 96, 64]))[0] == 1
    grid = ttnn.CoreRangeSet([ttnn.CoreRange(ttnn.CoreCoord(0, 0), ttnn.CoreCoord(1, 1))])
    assert entries_added(device, lambda: ttnn.slice(t, [0, 0, 0, 0], [1, 1, 64, 64], sub_core_grids=grid))[0] == 1
    with pytest.raises(TypeError, match="starts and ends"):
        ttnn.slice(t, [0, 0, 0, 0])


def test_full_span_slice_is_the_input(device):
    t = rm(device, torch.randn(1, 1, 64, 64), layout=ttnn.TILE_LAYOUT)
    added, out = entries_added(device, lambda: ttnn.slice(t, [0, 0, 0, 0], [1, 1, 64, 64]))
    assert added == 0 and out is t
    moved = ttnn.slice(t, [0, 0, 0, 0], [1, 1, 64, 64], memory_config=ttnn.L1_MEMORY_CONFIG)
    assert moved.memory_config() == ttnn.L1_MEMORY_CONFIG and torch.equal(ttnn.to_torch(moved), ttnn.to_torch(t))


def test_slice_with_tensor_bounds(device):
    values = torch.randn(1, 16, 128, 128)
    t = rm(device, values, layout=ttnn.TILE_LAYOUT)
    begins = ttnn.from_torch(torch.tensor([0, 0, 64, 0]), device=device)
    ends = ttnn.from_torch(torch.tensor([1, 16, 128, 128]), device=device)
    added, out = entries_added(device, lambda: ttnn.slice(t, begins, ends, slice_dim=2, num_devices=2))
    assert added == 1 and tuple(out.shape) == (1, 16, 64, 128)
    assert torch.equal(ttnn.to_torch(out), values[:, :, 64:, :].to(torch.bfloat16))
    # other bound values on the device: the same program (the values are read by the kernel)
    other = ttnn.from_torch(torch.tensor([0, 0, 0, 0]), device=device)
    added, out = entries_added(device, lambda: ttnn.slice(t, other, ends, slice_dim=2, num_devices=2))
    assert added == 0 and torch.equal(ttnn.to_torch(out), values[:, :, :64, :].to(torch.bfloat16))
    with pytest.raises(RuntimeError, match="slice_dim and num_devices"):
        ttnn.slice(t, begins, ends)
    # a row-major input reads the bounds on the host: an ordinary slice
    host_path = ttnn.slice(rm(device, values), begins, ends)
    assert torch.equal(ttnn.to_torch(host_path), values[:, :, 64:, :].to(torch.bfloat16))


def test_slice_into_a_preallocated_output(device):
    values = torch.randn(1, 3, 64, 64)
    t = rm(device, values)
    assert entries_added(device, lambda: ttnn.slice(t, [0, 0, 0, 0], [1, 3, 32, 32]))[0] == 1
    out = rm(device, torch.zeros(1, 3, 32, 32))
    address = out.buffer_address()
    # the preallocated output is part of the key (one more slice program, writing into the given buffer), and
    # ttnn lands its viewed result in that buffer with a copy program
    added, result = entries_added(device, lambda: ttnn.slice(t, [0, 0, 0, 0], [1, 3, 32, 32], output_tensor=out))
    assert added == 2 and result is out and out.buffer_address() == address
    assert entries_added(device, lambda: ttnn.slice(t, [0, 0, 0, 0], [1, 3, 32, 32], output_tensor=out))[0] == 0
    assert torch.equal(ttnn.to_torch(out), values[:, :, :32, :32].to(torch.bfloat16))
    with pytest.raises(RuntimeError, match="output_tensor has shape"):
        ttnn.slice(t, [0, 0, 0, 0], [1, 3, 16, 32], output_tensor=out)


@pytest.mark.parametrize("layout, shape, shard, grid, padded", [
    (ttnn.TensorMemoryLayout.HEIGHT_SHARDED, [1, 1, 64, 40], (32, 64), (1, 2), 64),
    (ttnn.TensorMemoryLayout.WIDTH_SHARDED, [1, 1, 32, 100], (32, 64), (2, 1), 128),
    (ttnn.TensorMemoryLayout.BLOCK_SHARDED, [1, 1, 64, 100], (32, 64), (2, 2), 128),
    (ttnn.TensorMemoryLayout.HEIGHT_SHARDED, [1, 1, 64, 64], (32, 64), (1, 2), 64),
])
def test_row_major_sharded_width_is_padded_to_the_shard_width(device, layout, shape, shard, grid, padded):
    cores = ttnn.CoreRangeSet({ttnn.CoreRange(ttnn.CoreCoord(0, 0), ttnn.CoreCoord(grid[0] - 1, grid[1] - 1))})
    config = ttnn.MemoryConfig(layout, ttnn.BufferType.L1, ttnn.ShardSpec(cores, shard, ttnn.ShardOrientation.ROW_MAJOR))
    values = torch.rand(shape).bfloat16()
    t = rm(device, values, config)
    assert list(t.shape) == shape and list(t.padded_shape) == shape[:-1] + [padded]
    assert t.logical_volume() == values.numel()
    out = ttnn.sharded_to_interleaved(t, ttnn.DRAM_MEMORY_CONFIG)
    assert list(out.padded_shape) == shape and torch.equal(ttnn.to_torch(out), values)


def test_an_op_chosen_shard_grid_holds_only_cores_with_shards(device):
    cores = ttnn.CoreGrid(y=1, x=8)
    config = ttnn.create_sharded_memory_config((1, 1, 256, 64), cores, ttnn.ShardStrategy.HEIGHT)
    values = torch.randn(1, 1, 256, 64)
    x = rm(device, values, config, layout=ttnn.TILE_LAYOUT)
    want = values.to(torch.bfloat16).float().mean(dim=-1, keepdim=True)
    # width-sharded (256, 1): one tile column, so one shard of (256, 32) on the first of the 8 cores
    wide = ttnn.mean(x, dim=-1, keepdim=True, memory_config=ttnn.MemoryConfig(ttnn.TensorMemoryLayout.WIDTH_SHARDED,
                                                                              ttnn.BufferType.L1))
    spec = wide.memory_config().shard_spec
    assert spec.shape == (256, 32) and spec.grid.num_cores() == 1
    assert torch.allclose(ttnn.to_torch(wide).float(), want, atol=0.02)
    # height-sharded: 256 rows in tile-high shards keep all 8 cores
    tall = ttnn.mean(x, dim=-1, keepdim=True, memory_config=ttnn.MemoryConfig(ttnn.TensorMemoryLayout.HEIGHT_SHARDED,
                                                                              ttnn.BufferType.L1))
    assert tall.memory_config().shard_spec.shape == (32, 32) and tall.memory_config().shard_spec.grid.num_cores() == 8
    # block-sharded over 2x2: the single tile column needs one grid column
    block = ttnn.create_sharded_memory_config((1, 1, 128, 128), ttnn.CoreGrid(y=2, x=2), ttnn.ShardStrategy.BLOCK)
    b = rm(device, torch.randn(1, 1, 128, 128), block, layout=ttnn.TILE_LAYOUT)
    out = ttnn.mean(b, dim=-1, keepdim=True, memory_config=ttnn.MemoryConfig(ttnn.TensorMemoryLayout.BLOCK_SHARDED,
                                                                            ttnn.BufferType.L1))
    spec = out.memory_config().shard_spec
    assert spec.shape == (64, 32) and spec.grid.num_cores() == 2
    assert spec.grid == ttnn.CoreRangeSet({ttnn.CoreRange(ttnn.CoreCoord(0, 0), ttnn.CoreCoord(0, 1))})


def test_isin_runs_as_ttnn_decomposes_it(device):
    elements = torch.randint(0, 50, (10, 10), dtype=torch.int32)
    tests = torch.randint(0, 50, (20, 20), dtype=torch.int32)
    e = ttnn.from_torch(elements, dtype=ttnn.int32, device=device)
    t = ttnn.from_torch(tests, dtype=ttnn.int32, device=device)
    # reshape of both inputs to 1-D, the isin program, the reshape of its result back: four programs
    added, out = entries_added(device, lambda: ttnn.experimental.isin(e, t))
    assert added == 4 and out.dtype == ttnn.uint8 and tuple(out.shape) == (10, 10)
    assert torch.equal(ttnn.to_torch(out).bool(), torch.isin(elements, tests))
    added, out = entries_added(device, lambda: ttnn.experimental.isin(e, t, invert=True))
    assert added == 1  # only the isin program is new (invert is keyed)
    assert torch.equal(ttnn.to_torch(out).bool(), torch.isin(elements, tests, invert=True))
    flat = ttnn.from_torch(elements.reshape(-1), dtype=ttnn.int32, device=device)
    small = ttnn.from_torch(tests[0], dtype=ttnn.int32, device=device)
    added, out = entries_added(device, lambda: ttnn.experimental.isin(flat, small))
    assert added == 1 and tuple(out.shape) == (100,)
    # a tile-layout input goes to row-major and its result back to tiles
    tiled = ttnn.from_torch(elements, dtype=ttnn.int32, layout=ttnn.TILE_LAYOUT, device=device)
    out = ttnn.experimental.isin(tiled, t)
    assert out.layout == ttnn.TILE_LAYOUT and torch.equal(ttnn.to_torch(out).bool(), torch.isin(elements, tests))


def test_reallocate_leaves_a_shared_buffer_where_it_is(device):
    values = torch.randn(1, 1, 64, 64)
    t = rm(device, values, ttnn.L1_MEMORY_CONFIG, layout=ttnn.TILE_LAYOUT)
    view = ttnn.reshape(t, (1, 64, 64))  # a view: the same buffer
    assert ttnn.reallocate(t) is t and t.is_allocated() and view.is_allocated()
    del view
    moved = ttnn.reallocate(t)
    assert moved is not t and not t.is_allocated() and torch.equal(ttnn.to_torch(moved), values.to(torch.bfloat16))
    config = ttnn.create_sharded_memory_config((1, 1, 64, 64), ttnn.CoreGrid(x=2, y=1), ttnn.ShardStrategy.HEIGHT)
    sharded = rm(device, values, config, layout=ttnn.TILE_LAYOUT)
    views = ttnn.get_device_tensors(sharded)
    with pytest.raises(RuntimeError, match="shares its buffer"):
        ttnn.reallocate(sharded)
    assert sharded.is_allocated() and len(views) == 1
