"""ttnn's core operations: moving tensors between torch, the host and the mesh, changing layout, memory config
and dtype, freeing and reallocating."""

import sys as _sys

import numpy as _np

from ... import _allocmon
from ..errors import not_emulated
from ..tensor import (
    Tensor,
    as_float_array,
    check_layout,
    device_tensor,
    dtype_of_source,
    holds_exactly,
    host_tensor,
    rounded,
)
from ..types import (
    DRAM_MEMORY_CONFIG,
    ROW_MAJOR_LAYOUT,
    Layout,
    MemoryConfig,
    Tile,
    bfloat4_b,
    bfloat8_b,
    bfloat16,
    float32,
    fp8_e4m3,
    int8,
    int32,
    uint8,
    uint16,
    uint32,
)
from . import _device_op

__all__ = [
    "from_torch", "to_torch", "from_numpy", "to_numpy", "as_tensor", "to_device", "from_device", "to_layout",
    "to_memory_config", "to_dtype", "typecast", "clone", "deallocate", "reallocate",
    "is_tensor_storage_on_device", "get_device_tensors", "get_fallback_function", "fill_implicit_tile_padding",
    "allocate_tensor_on_device", "copy_host_to_device_tensor", "get_memory_config", "interleaved_to_sharded",
    "sharded_to_interleaved",
]


def _replicate(mesh_device):
    from ..distributed import ReplicateTensorToMesh

    return ReplicateTensorToMesh(mesh_device)


def _mapper_dims(mapper):
    return mapper._shard_dims, mapper._flat_dim


def _place(array, dtype, layout, device, memory_config, mapper, bfloat16_bits=False):
    """Host values straight onto the mesh in one native step (split, rounded and copied on C++ threads);
    bfloat16_bits: `array` holds bfloat16 values as their bits (uint16), passed without a float32 copy."""
    config = memory_config or DRAM_MEMORY_CONFIG
    shard_dims, flat_dim = _mapper_dims(mapper)
    if hasattr(mapper, "check_shape"):
        mapper.check_shape(array.shape)  # ttnn's rule for dims the mesh does not divide
    native_from = _allocmon.from_bfloat16_bits if bfloat16_bits else _allocmon.from_numpy
    native = native_from(array, device._native, dtype.value, layout.value, config.buffer_type.value, shard_dims,
                         flat_dim, config._shards)
    return device_tensor(native, dtype, layout, device, config)


def _bfloat16_bits(tensor):
    """A torch bfloat16 tensor's values as their bits (uint16, sharing its memory), or None for anything else."""
    if str(getattr(tensor, "dtype", "")) != "torch.bfloat16":
        return None
    import torch

    bits = tensor.detach().cpu().contiguous().view(torch.int16).numpy().view(_np.uint16)
    return bits.reshape(1) if bits.ndim == 0 else bits


def from_torch(tensor, dtype=None, *, layout=None, device=None, memory_config=None, mesh_mapper=None,
               spec=None, tile=None, pad_value=None, cq_id=None, **ignored):
    """A torch tensor (or numpy array) as a ttnn tensor: on the host, split per device by `mesh_mapper`, or on
    `device` (replicated over a mesh unless `mesh_mapper` splits it)."""
    if tensor is None:
        return None
    if spec is not None:
        raise not_emulated("ttnn.from_torch(spec=...)", "pass dtype, layout and memory_config")
    if tile is not None and not isinstance(tile, Tile):
        raise TypeError(f"ttnn.from_torch: tile= wants a ttnn.Tile, got {type(tile).__name__}")
    dtype = dtype or dtype_of_source(tensor)
    layout = layout or ROW_MAJOR_LAYOUT
    check_layout(dtype, layout, "ttnn.from_torch")
    if device is not None:
        bits = _bfloat16_bits(tensor)
        if bits is not None:
            return _place(bits, dtype, layout, device, memory_config, mesh_mapper or _replicate(device),
                          bfloat16_bits=True)
    exact = holds_exactly(tensor, dtype)
    array = as_float_array(tensor)
    if array.ndim == 0:
        array = array.reshape(1)
    if device is not None:
        return _place(array, dtype, layout, device, memory_config, mesh_mapper or _replicate(device))
    if mesh_mapper is not None:
        pieces = mesh_mapper.split(array)
        if all(p is array for p in pieces):  # replicated: one rounded copy serves every device
            pieces = [rounded(array, dtype, exact)] * len(pieces)
        else:
            pieces = [rounded(_np.ascontiguousarray(p), dtype, exact) for p in pieces]
        return host_tensor(pieces, dtype, layout, mapper=mesh_mapper, source=array)
    return host_tensor([rounded(array, dtype, exact)], dtype, layout)


def from_numpy(array, dtype=None, *, layout=None, device=None, memory_config=None, mesh_mapper=None):
    return from_torch(array, dtype, layout=layout, device=device, memory_config=memory_config,
                      mesh_mapper=mesh_mapper)


def as_tensor(tensor, dtype=None, *, layout=None, device=None, memory_config=None, mesh_mapper=None,
              cache_file_name=None, preprocess=None, cache_dump_mode=None, **ignored):
    """from_torch with the preprocess hook; with cache_file_name the tensor comes from its cache file when there
    is one, else is written to it (types.tensor_from_cache)."""
    if preprocess is not None:
        tensor = preprocess(tensor)
    if cache_file_name is None:
        return from_torch(tensor, dtype, layout=layout, device=device, memory_config=memory_config,
                          mesh_mapper=mesh_mapper)
    from ..types import tensor_from_cache

    dtype, layout = dtype or dtype_of_source(tensor), layout or ROW_MAJOR_LAYOUT
    return tensor_from_cache(cache_file_name, dtype, layout, lambda: from_torch(
        tensor, dtype, layout=layout, mesh_mapper=mesh_mapper), device, memory_config, cache_dump_mode)


def to_device(tensor, device, memory_config=None, *, mesh_mapper=None, cq_id=None, **ignored):
    """A host tensor onto `device`: a single-device tensor is replicated over a mesh; a tensor a mesh mapper
    split goes shard by shard."""
    if tensor._device is not None:
        if tensor._mesh is device:
            return tensor
        raise RuntimeError("ttnn.to_device: the tensor is already on another device")
    if tensor._host is None:
        raise RuntimeError("ttnn.to_device: the tensor was deallocated")
    if mesh_mapper is not None:
        return distribute(tensor, mesh_mapper, device, memory_config)
    count = device.get_num_devices()
    if len(tensor._host) == 1:
        return _place(tensor._host[0], tensor.dtype, tensor.layout, device, memory_config, _replicate(device))
    if tensor._mapper is not None and tensor._source is not None and (
            tensor._mapper.mesh_device is device and len(tensor._host) == count):
        return _place(tensor._source, tensor.dtype, tensor.layout, device, memory_config, tensor._mapper)
    if len(tensor._host) != count:
        raise RuntimeError(f"ttnn.to_device: the host tensor holds {len(tensor._host)} device shards, the mesh has "
                           f"{count} devices")
    config = memory_config or DRAM_MEMORY_CONFIG
    shard_dims, flat_dim = _mapper_dims(tensor._mapper) if tensor._mapper is not None else (None, -1)
    native = _allocmon.allocate_tensor(device._native, list(tensor.shape), tensor.dtype.value, tensor.layout.value,
                                       config.buffer_type.value, config._shards, shard_dims, flat_dim)
    for d, values in enumerate(tensor._host):
        _allocmon.write_shard(native, d, _np.ascontiguousarray(values))
    return device_tensor(native, tensor.dtype, tensor.layout, device, config)


def distribute(tensor, mapper, device, memory_config=None):
    if tensor._host is None or len(tensor._host) != 1:
        raise RuntimeError("ttnn.distribute_tensor: needs a single host tensor (not one already split per device)")
    return _place(tensor._host[0], tensor.dtype, tensor.layout, device, memory_config, mapper)


def from_device(tensor, blocking=True, cq_id=None, **ignored):
    """A device tensor's values back on the host, one array per device."""
    if tensor._device is None:
        return tensor
    _warn_if_no_values(tensor)
    from ..distributed import distribution_of  # a 1-D split stays known on the host (to_torch's default)

    return host_tensor([_np.array(v) for v in tensor.shard_values()], tensor.dtype, tensor.layout,
                       mapper=distribution_of(tensor))


_said_memory_only = False


def _warn_if_no_values(tensor):
    global _said_memory_only
    if tensor._device is not None and not tensor._device.mesh.holds_data and not _said_memory_only:
        _said_memory_only = True
        print("allocmon.emulate --no-data: device tensors hold no values; to_torch/to_numpy return zeros of the "
              "right shape (memory is tracked exactly as with data)", file=_sys.stderr)


def _gathered_bfloat16_bits(tensor, mesh_composer):
    """What _composed's native fast path gives, as bfloat16 bits; None where that path does not apply."""
    if tensor._device is None or tensor._device_index is not None:
        return None
    if mesh_composer is None:
        if tensor.num_shards > 1:
            return None  # _composed says what to pass
        _warn_if_no_values(tensor)
        return _allocmon.to_bfloat16_bits(tensor._device, None, -1).reshape(tensor._shape)
    if tuple(tensor.shape) != tuple(tensor._device.shard_shape):
        return None
    _warn_if_no_values(tensor)
    return _allocmon.to_bfloat16_bits(tensor._device, mesh_composer._concat_dims, mesh_composer._flat_dim)


def _composed(tensor, mesh_composer, call):
    """The values a composer (or the only device) gives, and whether the array is new (not a tensor's storage)."""
    _warn_if_no_values(tensor)
    if mesh_composer is not None:
        fast = tensor._device is not None and tensor._device_index is None and tuple(tensor.shape) == tuple(
            tensor._device.shard_shape)
        if fast:  # every device's shard gathered on C++ threads
            return _allocmon.to_numpy(tensor._device, mesh_composer._concat_dims, mesh_composer._flat_dim), True
        return mesh_composer.compose(tensor.shard_values()), tensor._device is not None
    if tensor.num_shards > 1:  # ttnn derives a composer from a 1-D split and raises for anything else
        from ..distributed import default_mesh_composer

        return _composed(tensor, default_mesh_composer(tensor, call), call)
    return tensor.shard_values()[0], tensor._device is not None  # read from a device: a new array


def _torch_dtype(dtype):
    import torch

    known = {bfloat16: torch.bfloat16, float32: torch.float32, uint8: torch.uint8, uint16: torch.int32,
             int32: torch.int32, uint32: torch.int64, int8: torch.int8, fp8_e4m3: torch.float32}
    return known.get(dtype, torch.bfloat16)


def to_torch(tensor, dtype=None, *, torch_rank=None, mesh_composer=None, device=None, cq_id=None, **ignored):
    """A ttnn tensor as a torch tensor (bfloat16 for bfloat16 and block floats, as ttnn returns them). A
    tensor on several devices needs a mesh composer."""
    import torch

    if tensor.dtype in (bfloat16, bfloat8_b, bfloat4_b) and dtype in (None, torch.bfloat16) and torch_rank is None:
        bits = _gathered_bfloat16_bits(tensor, mesh_composer)
        if bits is not None:  # gathered on C++ threads as bfloat16: half the memory, no conversion
            return torch.from_numpy(bits.view(_np.int16)).view(torch.bfloat16)
    data, fresh = _composed(tensor, mesh_composer, "ttnn.to_torch")
    # A gathered array is this call's own; a host tensor's storage is copied so the result never aliases it.
    out = torch.from_numpy(data if fresh else _np.array(data, copy=True)).to(_torch_dtype(tensor.dtype))
    if torch_rank is not None:
        while out.dim() > torch_rank:
            if out.shape[0] != 1:
                raise RuntimeError("ttnn: Unable to squeeze to desired rank!")
            out = out.squeeze(0)
    return out.to(dtype) if dtype is not None else out


def to_numpy(tensor, *, mesh_composer=None, **ignored):
    data, fresh = _composed(tensor, mesh_composer, "ttnn.to_numpy")
    return data if fresh else _np.array(data, copy=True)


def _copy_op(tensor, op, program, dtype=None, layout=None, memory_config=None):
    """A device op whose output holds the input's values in another dtype, layout or memory config."""
    t = _device_op.device_input(tensor, op)
    dtype = dtype or t.dtype
    layout = layout or t.layout
    _device_op.check_dtype_layout(dtype, layout, op)
    config = _device_op.output_memory(memory_config, t)
    return _device_op.run(op, [t], [(t.shape, dtype, layout, config)], lambda x: x, program=program,
                          kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES)


def to_layout(tensor, layout, dtype=None, memory_config=None, **ignored):
    """ROW_MAJOR <-> TILE. On the host it changes how the tensor will be laid out; on a device it runs a
    tilize/untilize program into a new buffer."""
    if not isinstance(layout, Layout):
        raise TypeError(f"ttnn.to_layout: expected a ttnn.Layout, got {layout!r}")
    target_dtype = dtype or tensor.dtype
    if dtype is None and tensor._device is None and target_dtype.is_block_float and layout.value != "tile":
        target_dtype = float32  # a host block-float tensor unpacks to float32 rows, as ttnn's host conversion does
    check_layout(target_dtype, layout, "ttnn.to_layout")
    if layout == tensor.layout and target_dtype == tensor.dtype and memory_config is None:
        return tensor
    if tensor._device is None:
        arrays = tensor._host if target_dtype == tensor.dtype else [rounded(a, target_dtype) for a in tensor._host]
        return host_tensor(arrays, target_dtype, layout, tensor._mapper, tensor._source)
    program = "tilize" if layout.value == "tile" and tensor.layout != layout else (
        "untilize" if tensor.layout != layout else "copy")
    return _copy_op(tensor, "to_layout", program, target_dtype, layout, memory_config)


def to_memory_config(tensor, memory_config, dtype=None, **ignored):
    """The tensor in another memory config (DRAM <-> L1, interleaved <-> sharded): a copy program into a new
    buffer; the input stays allocated."""
    t = _device_op.device_input(tensor, "to_memory_config")
    if t.memory_config() == memory_config and (dtype is None or dtype == t.dtype):
        return tensor
    if memory_config.is_sharded() and not t.memory_config().is_sharded():
        program = "interleaved_to_sharded"
    elif t.memory_config().is_sharded() and not memory_config.is_sharded():
        program = "sharded_to_interleaved"
    else:
        program = "copy"
    return _copy_op(t, "to_memory_config", program, dtype, None, memory_config)


def interleaved_to_sharded(input_tensor, grid_or_config, shard_shape=None, shard_scheme=None,
                           shard_orientation=None, output_dtype=None, **ignored):
    """The tensor copied into a sharded buffer: interleaved_to_sharded(t, sharded_memory_config) or
    interleaved_to_sharded(t, grid, shard_shape, shard_scheme, shard_orientation) with grid a CoreGrid, a
    CoreCoord or (x, y) of the cores from (0, 0), or a CoreRangeSet (the shards go to L1)."""
    from ..types import (BufferType, CoreCoord, CoreGrid, CoreRange, CoreRangeSet, MemoryConfig, ShardOrientation,
                         ShardSpec)

    if isinstance(grid_or_config, MemoryConfig):
        config = grid_or_config
    else:
        grid = grid_or_config
        if isinstance(grid, CoreGrid):
            grid = (grid.x, grid.y)
        elif isinstance(grid, CoreCoord):
            grid = (grid.x, grid.y)
        if not isinstance(grid, CoreRangeSet):
            x, y = (int(v) for v in grid)
            grid = CoreRangeSet([CoreRange(CoreCoord(0, 0), CoreCoord(x - 1, y - 1))])
        if shard_shape is None or shard_scheme is None:
            raise TypeError("ttnn.interleaved_to_sharded: give a sharded memory config, or the grid, shard_shape "
                            "and shard_scheme")
        config = MemoryConfig(shard_scheme, BufferType.L1,
                              ShardSpec(grid, shard_shape, shard_orientation or ShardOrientation.ROW_MAJOR))
    if not config.is_sharded():
        raise RuntimeError("ttnn.interleaved_to_sharded: the output memory config must be sharded")
    t = _device_op.device_input(input_tensor, "interleaved_to_sharded")
    return _copy_op(t, "interleaved_to_sharded", "interleaved_to_sharded", output_dtype, None, config)


def sharded_to_interleaved(input_tensor, memory_config=DRAM_MEMORY_CONFIG, output_dtype=None, **ignored):
    """A sharded tensor copied into an interleaved buffer (DRAM unless memory_config says otherwise)."""
    t = _device_op.device_input(input_tensor, "sharded_to_interleaved")
    if memory_config.is_sharded():
        raise RuntimeError("ttnn.sharded_to_interleaved: the output memory config must be interleaved")
    return _copy_op(t, "sharded_to_interleaved", "sharded_to_interleaved", output_dtype, None, memory_config)


def typecast(input_tensor, dtype, *more, memory_config=None, **ignored):
    """The values in another dtype (typecast(tensor, dtype), or typecast(tensor, input_dtype, output_dtype))."""
    if more:
        dtype = more[0]
    if input_tensor._device is None:
        return to_dtype(input_tensor, dtype)
    return _copy_op(input_tensor, "typecast", "typecast", dtype, None, memory_config)


def to_dtype(tensor, dtype, **ignored):
    """A host tensor's values converted to `dtype` (on the host, as ttnn does)."""
    if tensor._device is not None:
        raise RuntimeError("ttnn.to_dtype works on host tensors; use ttnn.typecast on a device tensor")
    check_layout(dtype, tensor.layout, "ttnn.to_dtype")
    return host_tensor([rounded(a, dtype) for a in tensor._host], dtype, tensor.layout)


def clone(input_tensor, *args, memory_config=None, dtype=None, **ignored):
    """A copy in a new buffer (in `memory_config` and `dtype` when given)."""
    for arg in args:  # clone(tensor, memory_config, dtype) positionally, as older ttnn takes them
        if isinstance(arg, type(DRAM_MEMORY_CONFIG)):
            memory_config = arg
        elif arg is not None:
            dtype = arg
    return _copy_op(input_tensor, "clone", "copy", dtype, None, memory_config)


def deallocate(tensor, force=True):
    """Frees the tensor's device buffer (every device's, and every view's of it) or drops its host values."""
    if tensor._device is not None:
        tensor._device.deallocate()
    else:
        tensor._host = None


def reallocate(tensor, memory_config=None, **ignored):
    """ttnn's move: the input's buffer is freed first, then the output allocated (so in DRAM, allocated bottom
    up, it lands at the lowest free address, and in L1, top down, at the highest, the input's old place
    included) and the values copied in. A sharded input keeps its shard spec (memory_config, if given, must be
    sharded too and only changes the buffer type). A buffer other tensors share (views) is not moved: an
    interleaved tensor is returned as it is, a sharded one is an error, as in ttnn."""
    t = _device_op.device_input(tensor, "reallocate")
    # ttnn moves only a buffer this tensor alone holds (its storage's use count is 1); the emulation's
    # counterpart is the native buffer's reference count: this tensor's, and getrefcount's own argument
    if _sys.getrefcount(t._device) > 2:
        if t._memory_config.is_sharded():
            raise RuntimeError("ttnn.reallocate: expected the input tensor to be deallocated after the move op; "
                               "another tensor shares its buffer (probably another consumer)")
        return t
    config = t._memory_config
    if memory_config is not None:
        if config.is_sharded():
            if not memory_config.is_sharded():
                raise RuntimeError("ttnn.reallocate: expected the output memory config of a sharded tensor to be "
                                   "sharded")
            memory_config = MemoryConfig(memory_config.memory_layout, memory_config.buffer_type, config.shard_spec)
        config = memory_config
    return _device_op.run("reallocate", [t], [(t.shape, t.dtype, t.layout, config)], lambda x: x, program="move",
                          kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES, free_inputs_first=True)


def is_tensor_storage_on_device(tensor):
    return tensor._device is not None


def get_device_tensors(tensor):
    """One tensor per device: views of the mesh buffer (device tensors) or the host arrays per device."""
    if tensor._device is not None:
        out = []
        for d in range(tensor._mesh.get_num_devices()):
            view = device_tensor(tensor._device, tensor.dtype, tensor.layout, tensor._mesh, tensor._memory_config,
                                 tensor.shape)
            view._device_index = d
            out.append(view)
        return out
    return [host_tensor([a], tensor.dtype, tensor.layout) for a in tensor._host]


def get_fallback_function(op):
    """ttnn's host fallback of an op: here the op itself (it computes with torch already)."""
    return op




def fill_implicit_tile_padding(input_tensor, fill_value, *, memory_config=None, **ignored):
    """A copy of a tile tensor whose tile padding (the area between the logical and the padded shape) holds
    fill_value. The emulator keeps logical values only, so the copy's values are the input's; the output buffer
    is allocated and written as ttnn's program does."""
    return _copy_op(input_tensor, "fill_implicit_tile_padding", "fill_implicit_tile_padding", None, None,
                    memory_config)


def allocate_tensor_on_device(*args, **kwargs):
    """allocate_tensor_on_device(shape, dtype, layout, device, memory_config=None) or (tensor_spec, device): an
    uninitialised tensor on every device of `device` (zeros here)."""
    from ..types import DRAM_MEMORY_CONFIG as _DRAM

    if args and hasattr(args[0], "tensor_layout"):  # a TensorSpec
        spec, device = args[0], (args[1] if len(args) > 1 else kwargs.pop("device"))
        shape, dtype, layout, config = spec.shape, spec.dtype, spec.layout, spec.memory_config
    else:
        names = ("shape", "dtype", "layout", "device", "memory_config")
        given = dict(zip(names, args))
        given.update({k: v for k, v in kwargs.items() if k in names})
        shape, dtype, layout, device = (given[n] for n in names[:4])
        config = given.get("memory_config") or _DRAM
    check_layout(dtype, layout, "ttnn.allocate_tensor_on_device")
    native = _allocmon.allocate_tensor(device._native, [int(d) for d in shape], dtype.value, layout.value,
                                       config.buffer_type.value, config._shards, None, -1)
    return device_tensor(native, dtype, layout, device, config, shape)


def copy_host_to_device_tensor(host_tensor_, device_tensor_, cq_id=None, **ignored):
    """Writes a host tensor's values into an allocated device tensor of the same shape (every device; a host
    tensor split per device writes each device its part)."""
    if host_tensor_._device is not None:
        raise RuntimeError("ttnn.copy_host_to_device_tensor: the source must be a host tensor")
    target = _device_op.device_input(device_tensor_, "copy_host_to_device_tensor")
    if tuple(host_tensor_.shape) != tuple(target.shape):
        raise RuntimeError(f"ttnn.copy_host_to_device_tensor: host shape {host_tensor_.shape!r} differs from the "
                           f"device tensor's {target.shape!r}")
    if host_tensor_.dtype != target.dtype or host_tensor_.layout != target.layout:
        raise RuntimeError("ttnn.copy_host_to_device_tensor: the host tensor's dtype and layout must match the "
                           "device tensor's")
    count = target._mesh.get_num_devices()
    arrays = host_tensor_._host
    if len(arrays) not in (1, count):
        raise RuntimeError(f"ttnn.copy_host_to_device_tensor: {len(arrays)} host shards for {count} devices")
    for d in range(count):
        values = arrays[0] if len(arrays) == 1 else arrays[d]
        _allocmon.write_shard(target._device, d, _np.ascontiguousarray(values).reshape(-1))
    return device_tensor_


def get_memory_config(tensor):
    """The tensor's memory config (None for a host tensor)."""
    return tensor._memory_config if tensor._device is not None else None
