"""How every emulated op runs on a mesh, as a ttnn op does on hardware: its outputs are allocated first (through
the mesh's tt-metal-exact allocator, so the server sees each buffer on each device), then its program starts
(circular buffers in L1 while it runs, kernel binaries into the program cache), then every device computes its
shard. The values are computed with torch on the host from what each device holds, and stored rounded to the
output's dtype, as the device's packer rounds. The memory model stays in C++; only the arithmetic is here."""

import numpy as _np

from ... import _allocmon
from ..errors import not_emulated
from ..tensor import Tensor, device_tensor
from ..types import BufferType, MemoryConfig, TensorMemoryLayout

# Kernel binaries per device, as the proof of concept saw them on hardware: ~12 KB for eltwise ops, ~24 KB for
# matmul; data movement and the rest sit near the eltwise size.
ELTWISE_KERNEL_BYTES = 12 * 1024
MATMUL_KERNEL_BYTES = 24 * 1024
DATA_MOVEMENT_KERNEL_BYTES = 8 * 1024
REDUCTION_KERNEL_BYTES = 12 * 1024


def device_input(tensor, op):
    """The tensor an op reads, checked as ttnn checks it."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"ttnn.{op}: expected a ttnn.Tensor, got {type(tensor).__name__}")
    if tensor._device is None:
        raise RuntimeError(f"ttnn.{op}: the input tensor is on the host; move it with ttnn.to_device or "
                           f"create it with device=...")
    if not tensor._device.is_allocated():
        raise RuntimeError(f"ttnn.{op}: the input tensor was deallocated")
    if tensor._device_index is not None:
        raise not_emulated(f"ttnn.{op} on a tensor taken from ttnn.get_device_tensors",
                           "ops run on the whole mesh")
    return tensor


def output_memory(memory_config, like, same_shape=True):
    """An op's output placement: the one asked for, else the input's (its sharding too when the shape is kept),
    else interleaved in the input's buffer type."""
    if memory_config is not None:
        return memory_config
    config = like._memory_config
    if same_shape or not config.is_sharded():
        return config
    return MemoryConfig(TensorMemoryLayout.INTERLEAVED, config.buffer_type)


def resolve_output_memory(op, config, shape, inputs, layout=None):
    """An output config that is sharded without a shard spec takes its spec from the op's first sharded input's
    cores, as ttnn's ops (matmul, the reductions) derive the output's shard grid from an input's, and builds it
    as ttnn's TensorSpec builders do: the output's physical shape (tile-padded in tile layout; `layout` defaults
    to the first input's) split over those cores by the config's layout (height: rows, width: columns, block:
    rows over the grid's y and columns over its x), shards aligned to whole tiles in tile layout, and the grid
    cut to the cores that hold a shard (the first ones in the orientation's order; for block sharding the
    grid's first rows and columns), so no core reserves L1 for a shard that does not exist. With no sharded
    input the spec cannot be chosen here."""
    from ..types import CoreCoord, CoreRange, CoreRangeSet, ShardOrientation, ShardSpec, TILE_LAYOUT, TILE_SIZE
    from ..types import _cores_of, _range_set

    if config is None or not config.is_sharded() or config.shard_spec is not None:
        return config
    source = next((t._memory_config.shard_spec for t in inputs if t._memory_config.shard_spec is not None), None)
    if source is None:
        raise not_emulated(f"ttnn.{op} into {config!r}",
                           "the op chooses a shard spec from a sharded input's cores, and no input is sharded")
    layout = layout if layout is not None else inputs[0].layout
    tiled = layout == TILE_LAYOUT
    dims = [int(d) for d in shape] or [1]
    if tiled:
        dims = [1] + dims if len(dims) == 1 else dims
        dims[-1] = -(-dims[-1] // TILE_SIZE) * TILE_SIZE
        dims[-2] = -(-dims[-2] // TILE_SIZE) * TILE_SIZE
    height = 1
    for d in dims[:-1]:
        height *= d
    width = dims[-1]

    def split(extent, parts):
        size = -(-extent // parts)
        if tiled:
            size = -(-size // TILE_SIZE) * TILE_SIZE
        return max(size, 1), -(-extent // max(size, 1))

    layout_kind = config.memory_layout
    if layout_kind in (TensorMemoryLayout.HEIGHT_SHARDED, TensorMemoryLayout.WIDTH_SHARDED):
        cores = _cores_of(source.grid, source.orientation == ShardOrientation.ROW_MAJOR)
        if layout_kind == TensorMemoryLayout.HEIGHT_SHARDED:
            shard_h, used = split(height, len(cores))
            shard = (shard_h, width)
        else:
            shard_w, used = split(width, len(cores))
            shard = (height, shard_w)
        grid = source.grid if used >= len(cores) else _range_set(cores[:used])
    else:
        ranges = source.grid.ranges
        if len(ranges) != 1:
            raise not_emulated(f"ttnn.{op} into {config!r}", "block sharding needs a rectangular input grid")
        box = ranges[0]
        gx, gy = box.end.x - box.start.x + 1, box.end.y - box.start.y + 1
        shard_h, ny = split(height, gy)
        shard_w, nx = split(width, gx)
        shard = (shard_h, shard_w)
        grid = source.grid if (nx, ny) == (gx, gy) else CoreRangeSet(
            [CoreRange(box.start, CoreCoord(box.start.x + min(nx, gx) - 1, box.start.y + min(ny, gy) - 1))])
    return MemoryConfig(layout_kind, config.buffer_type, ShardSpec(grid, shard, source.orientation))


def _torch():
    import torch

    return torch


def _spec(shape, dtype, layout, config):
    return f"{tuple(int(d) for d in shape)}:{dtype.value}:{layout.value}:{config!r}"


def program_key(program, inputs, outputs, attributes=None):
    """The program cache's key, as tt-metal hashes a program: the op's program and attributes and its inputs'
    and outputs' specs (shape, dtype, layout, memory config); a new key compiles (and caches) new kernels."""
    specs = [_spec(t.shape, t.dtype, t.layout, t._memory_config) for t in inputs]
    specs += [_spec(*output) for output in outputs]
    extra = f";{attributes!r}" if attributes is not None else ""
    return f"{program}[{';'.join(specs)}{extra}]"


def run(op, inputs, outputs, compute, *, cbs=2, kernel_bytes=ELTWISE_KERNEL_BYTES, program=None, in_place=None,
        attributes=None, free_inputs_first=False):
    """Runs `op` on every device of the inputs' mesh.

    outputs: (shape, dtype, layout, memory_config) for each output tensor (in_place: the tensor, or list of
    tensors, the op overwrites instead, allocating nothing). attributes: the op's parameters that select another program
    (slice bounds, permuted dims, ...), part of the program cache key with the tensors' specs.
    compute(*device_inputs) -> one torch tensor per output (a tuple for several), from each device's input
    values as float32 torch tensors of the inputs' shapes.
    free_inputs_first: the inputs' buffers are freed before the outputs are allocated (ttnn's move, behind
    ttnn.reallocate, deallocates its input first so that the output can take the lowest free DRAM or the
    highest free L1 address, the input's own included); their values are read beforehand.
    """
    first = inputs[0]
    mesh = first._mesh
    for t in inputs[1:]:
        if t._mesh is not mesh:
            raise RuntimeError(f"ttnn.{op}: inputs are on different devices")
    native_mesh = mesh._native
    shard_dims = first._device.shard_dims
    flat_dim = first._device.flat_dim
    held = None
    if free_inputs_first:
        if in_place is not None:
            raise ValueError("free_inputs_first with in_place")
        if native_mesh.holds_data:
            held = [[_allocmon.read_shard(t._device, d).reshape(t._shape).copy() for t in inputs]
                    for d in range(native_mesh.get_num_devices())]
        for t in inputs:
            t._device.deallocate()
    if in_place is not None:
        targets = list(in_place) if isinstance(in_place, (list, tuple)) else [in_place]
        natives = [t._device for t in targets]
        outputs = [(t.shape, t.dtype, t.layout, t._memory_config) for t in targets]
    else:
        outputs = [(shape, dtype, layout, resolve_output_memory(op, config, shape, inputs, layout))
                   for shape, dtype, layout, config in outputs]
        natives = [_allocmon.allocate_tensor(native_mesh, [int(d) for d in shape], dtype.value, layout.value,
                                             config.buffer_type.value, config._shards, shard_dims, flat_dim)
                   for shape, dtype, layout, config in outputs]
    cb_bytes = cbs * 2 * first.dtype.tile_bytes  # double-buffered tiles of each circular buffer
    key = program_key(program or op, inputs, outputs, attributes)
    native_mesh.begin_program(key, cb_bytes, kernel_bytes)
    try:
        if native_mesh.holds_data:
            torch = _torch()
            for d in range(native_mesh.get_num_devices()):
                if held is not None:
                    values = (torch.from_numpy(a) for a in held[d])
                else:
                    values = (torch.from_numpy(_allocmon.read_shard(t._device, d).reshape(t._shape)) for t in inputs)
                results = compute(*values)
                if not isinstance(results, (tuple, list)):
                    results = (results,)
                for native, result in zip(natives, results):
                    wide = native.dtype in ("int32", "uint32")  # float64: their values stay exact
                    array = result.detach().to(torch.float64 if wide else torch.float32).contiguous().numpy()
                    _allocmon.write_shard(native, d, _np.ascontiguousarray(array))
    finally:
        native_mesh.end_program(cb_bytes)
    if in_place is not None:
        return in_place
    made = [device_tensor(native, dtype, layout, mesh, config, shape)
            for native, (shape, dtype, layout, config) in zip(natives, outputs)]
    return made[0] if len(made) == 1 else made


def check_dtype_layout(dtype, layout, op):
    if dtype.is_block_float and layout.value != "tile":
        raise RuntimeError(f"ttnn.{op}: {dtype.value} requires TILE_LAYOUT")


def dram_interleaved():
    return MemoryConfig(TensorMemoryLayout.INTERLEAVED, BufferType.DRAM)
