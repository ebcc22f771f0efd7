"""Data movement: reshape, squeeze/unsqueeze, permute, transpose, concat, slice (and Tensor.__getitem__), pad.

reshape/squeeze/unsqueeze on a device are views of the same buffer when the memory layout does not change (the
last dim is kept, and in tile layout the second-to-last dims stay tile-aligned), as in ttnn; otherwise, like the
other ops here, they run a program that writes a new buffer."""

import math as _math

import numpy as _np

from ... import _allocmon
from ..errors import not_emulated
from ..tensor import Tensor, device_tensor, host_tensor
from ..types import TILE_SIZE, Shape
from . import _device_op

__all__ = ["reshape", "view", "squeeze", "unsqueeze", "permute", "transpose", "concat", "slice", "pad", "chunk",
           "expand", "flip", "stack", "repeat", "repeat_interleave"]


def _resolved_shape(old_shape, shape, op):
    dims = [int(d) for d in shape]
    if dims.count(-1) > 1:
        raise RuntimeError(f"ttnn.{op}: at most one dim can be -1, got {dims}")
    volume = _math.prod(old_shape)
    if -1 in dims:
        known = _math.prod(d for d in dims if d != -1)
        if known == 0 or volume % known:
            raise RuntimeError(f"ttnn.{op}: cannot reshape {tuple(old_shape)} to {tuple(dims)}")
        dims[dims.index(-1)] = volume // known
    if _math.prod(dims) != volume:
        raise RuntimeError(f"ttnn.{op}: cannot reshape {tuple(old_shape)} ({volume} values) to {tuple(dims)}")
    return Shape(dims)


def _same_memory_layout(tensor, shape):
    """Whether a device buffer of `tensor` already holds `shape` (so the reshape is a view)."""
    old = list(tensor.shape)
    if not old or not shape or old[-1] != shape[-1]:
        return False
    if tensor.layout.value == "row_major":
        return True
    second = lambda dims: dims[-2] if len(dims) >= 2 else 1  # noqa: E731
    return second(old) % TILE_SIZE == 0 and second(shape) % TILE_SIZE == 0 or tuple(old) == tuple(shape)


def _host_map(tensor, fn):
    if tensor._host is None:
        raise RuntimeError("the tensor was deallocated")
    return host_tensor([_np.ascontiguousarray(fn(a.reshape(tensor.shape))) for a in tensor._host], tensor.dtype,
                       tensor.layout)


def _copy_program(op, tensor, shape, compute, memory_config, inputs=None, attributes=None):
    config = _device_op.output_memory(memory_config, tensor, same_shape=tuple(shape) == tuple(tensor.shape))
    return _device_op.run(op, inputs or [tensor], [(shape, tensor.dtype, tensor.layout, config)], compute,
                          kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES, attributes=attributes)


def reshape(input_tensor, shape, *args, memory_config=None, **ignored):
    if len(args) and not isinstance(shape, (tuple, list, Shape)):  # reshape(t, 2, 3, 4)
        shape = (shape,) + args
    shape = _resolved_shape(input_tensor.shape, shape, "reshape")
    if input_tensor._device is None:
        return _host_map(input_tensor, lambda a: a.reshape(shape))
    t = _device_op.device_input(input_tensor, "reshape")
    if memory_config is None and _same_memory_layout(t, shape):
        return device_tensor(t._device, t.dtype, t.layout, t._mesh, t._memory_config, shape)
    return _copy_program("reshape", t, shape, lambda x: x.reshape(tuple(shape)), memory_config)


view = reshape


def squeeze(input_tensor, dim=None, **ignored):
    dims = list(input_tensor.shape)
    if dim is None:
        new = [d for d in dims if d != 1] or [1]
    else:
        d = dim % len(dims)
        new = dims[:d] + dims[d + 1:] if dims[d] == 1 else dims
    return reshape(input_tensor, new)


def unsqueeze(input_tensor, dim, **ignored):
    dims = list(input_tensor.shape)
    d = dim % (len(dims) + 1)
    return reshape(input_tensor, dims[:d] + [1] + dims[d:])


def permute(input_tensor, dims, *, memory_config=None, **ignored):
    rank = len(input_tensor.shape)
    order = [int(d) % rank for d in dims]
    if sorted(order) != list(range(rank)):
        raise RuntimeError(f"ttnn.permute: {tuple(dims)} is not a permutation of {rank} dims")
    shape = Shape([input_tensor.shape[d] for d in order])
    if input_tensor._device is None:
        return _host_map(input_tensor, lambda a: a.transpose(order))
    t = _device_op.device_input(input_tensor, "permute")
    return _copy_program("permute", t, shape, lambda x: x.permute(*order), memory_config,
                         attributes=tuple(order))


def transpose(input_tensor, dim0, dim1, *, memory_config=None, **ignored):
    rank = len(input_tensor.shape)
    order = list(range(rank))
    a, b = dim0 % rank, dim1 % rank
    order[a], order[b] = order[b], order[a]
    shape = Shape([input_tensor.shape[d] for d in order])
    if input_tensor._device is None:
        return _host_map(input_tensor, lambda x: x.transpose(order))
    t = _device_op.device_input(input_tensor, "transpose")
    return _copy_program("transpose", t, shape, lambda x: x.transpose(a, b), memory_config,
                         attributes=(a, b))


def concat(tensors, dim=0, *, memory_config=None, **ignored):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("ttnn.concat: needs at least one tensor")
    first = _device_op.device_input(tensors[0], "concat")
    rank = len(first.shape)
    d = dim % rank
    for t in tensors[1:]:
        _device_op.device_input(t, "concat")
        if len(t.shape) != rank or any(t.shape[i] != first.shape[i] for i in range(rank) if i != d):
            raise RuntimeError(f"ttnn.concat: shapes {first.shape!r} and {t.shape!r} differ outside dim {dim}")
    shape = list(first.shape)
    shape[d] = sum(t.shape[d] for t in tensors)

    def compute(*values):
        import torch

        return torch.cat(values, dim=d)

    return _copy_program("concat", first, Shape(shape), compute, memory_config, inputs=tensors,
                         attributes=(d, _aliasing(tensors)))


def _aliasing(tensors):
    """Which inputs are the same buffer: tt-metal's concat (and stack, built on it) builds another program when
    inputs alias."""
    natives = [t._device for t in tensors]
    return tuple(next(i for i, n in enumerate(natives) if n is native) for native in natives)


def _slice_bounds(shape, starts, ends, steps, op):
    rank = len(shape)
    if len(starts) != rank or len(ends) != rank:
        raise RuntimeError(f"ttnn.{op}: needs a start and an end for each of the {rank} dims")
    steps = list(steps) if steps is not None else [1] * rank
    bounds = []
    for size, start, end, step in zip(shape, starts, ends, steps):
        start, end, step = _builtin_slice(start, end, step).indices(size)
        if step <= 0:
            raise not_emulated(f"ttnn.{op} with step {step}", "steps are positive")
        bounds.append((start, end, step))
    out = Shape([max(0, -(-(e - s) // st)) for s, e, st in bounds])
    if any(d == 0 for d in out):
        raise RuntimeError(f"ttnn.{op}: the slice of {tuple(shape)} is empty")
    return bounds, out


_builtin_slice = slice


def _bound_values(value, op):
    """Slice bounds given as a ttnn.Tensor read as a list (ttnn's host path reads them with to_vector)."""
    if not isinstance(value, Tensor):
        return list(value)
    if value._device is not None:
        array = _allocmon.read_shard(value._device, 0)
    else:
        array = _np.asarray(value._host[0])
    if array.ndim != 1 and len(value.shape) != 1:
        raise RuntimeError(f"ttnn.{op}: the start and end tensors must be 1-D, got {tuple(value.shape)}")
    return [int(v) for v in _np.asarray(array).reshape(-1)]


def _slice_args(args, kwargs):
    """ttnn.slice's three signatures: (input, slice_start, slice_end, slice_step=None), (input, starts, ends,
    steps) and (input, starts: Tensor, ends: Tensor, slice_step=None)."""
    names = (("slice_start", "starts"), ("slice_end", "ends"), ("slice_step", "steps"))
    values = list(args) + [None] * (3 - len(args))
    for i, keys in enumerate(names):
        for key in keys:
            if key in kwargs:
                if values[i] is not None:
                    raise TypeError(f"ttnn.slice: got {key} twice")
                values[i] = kwargs.pop(key)
    if values[0] is None or values[1] is None:
        raise TypeError("ttnn.slice: needs the slice's starts and ends")
    return values


def slice(input_tensor, *args, memory_config=None, output_tensor=None, pad_value=None, slice_dim=None,  # noqa: A001
          num_devices=None, sub_core_grids=None, queue_id=None, **kwargs):
    """input_tensor[start:end:step] per dim, into a new buffer (or into output_tensor=: a slice program keyed
    with that output, then the copy program ttnn's to_memory_config runs to land the result there). A full-span
    slice is the input itself, as in ttnn (moved to memory_config= if that differs). starts and ends may be 1-D
    ttnn.Tensors: for a tile-layout input with unit steps on a device, the program reads them on the device
    (ttnn's tensor-args path: the output keeps the input's shape but for slice_dim, cut into num_devices equal
    parts, and the bounds' values are not part of the program cache key); otherwise they are read on the host.
    sub_core_grids= selects another program (it is part of the key)."""
    starts, ends, steps = _slice_args(args, {k: v for k, v in kwargs.items()
                                             if k in ("slice_start", "starts", "slice_end", "ends", "slice_step",
                                                      "steps")})
    grid = None if sub_core_grids is None else repr(sub_core_grids)
    if isinstance(starts, Tensor) or isinstance(ends, Tensor):
        if not (isinstance(starts, Tensor) and isinstance(ends, Tensor)):
            raise TypeError("ttnn.slice: starts and ends must both be tensors or both be lists")
        t = _device_op.device_input(input_tensor, "slice")
        unit = steps is None or all(int(s) == 1 for s in steps)
        if t.layout.value == "tile" and unit:
            return _slice_tensor_args(t, starts, ends, memory_config, output_tensor, slice_dim, num_devices, grid)
        starts, ends = _bound_values(starts, "slice"), _bound_values(ends, "slice")
    bounds, shape = _slice_bounds(input_tensor.shape, list(starts), list(ends), steps, "slice")
    index = tuple(_builtin_slice(s, e, st) for s, e, st in bounds)
    if input_tensor._device is None:
        return _host_map(input_tensor, lambda a: a[index])
    t = _device_op.device_input(input_tensor, "slice")
    if output_tensor is not None:
        _device_op.device_input(output_tensor, "slice")
        if tuple(output_tensor.shape) != tuple(shape):
            raise RuntimeError(f"ttnn.slice: output_tensor has shape {tuple(output_tensor.shape)}, the slice "
                               f"{tuple(shape)}")
    if all(s == 0 and e == d and st == 1 for (s, e, st), d in zip(bounds, t.shape)):
        from .core import to_memory_config  # noqa: PLC0415 (core imports this module)

        wanted = output_tensor.memory_config() if output_tensor is not None else memory_config
        result = t if wanted is None else to_memory_config(t, wanted)
        if output_tensor is None or result._device is output_tensor._device:
            return result
        return _device_op.run("copy", [result], [], lambda x: x, in_place=output_tensor,
                              kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES)
    attributes = (tuple(bounds), grid, output_tensor is not None)
    if output_tensor is not None:
        _device_op.run("slice", [t], [], lambda x: x[index], in_place=output_tensor,
                       kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES, attributes=attributes)
        # ttnn then reshapes the result with a view (a tensor on an address-based buffer of its own) and lands
        # it in the caller's buffer with to_memory_config(..., output_tensor): a copy program onto itself
        return _device_op.run("copy", [output_tensor], [], lambda x: x, in_place=output_tensor,
                              kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES, attributes="into_output_tensor")
    return _copy_program("slice", t, shape, lambda x: x[index], memory_config, attributes=attributes)


def _slice_tensor_args(t, starts, ends, memory_config, output_tensor, slice_dim, num_devices, grid):
    if slice_dim is None or num_devices is None:
        raise RuntimeError("ttnn.slice: slice_dim and num_devices must be provided for the tensor-args slice")
    for bound in (starts, ends):
        _device_op.device_input(bound, "slice")
        if len(bound.shape) != 1:
            raise RuntimeError(f"ttnn.slice: the start and end tensors must be 1-D, got {tuple(bound.shape)}")
    rank = len(t.shape)
    dim, parts = int(slice_dim), int(num_devices)
    if not 0 <= dim < rank:
        raise RuntimeError(f"ttnn.slice: slice_dim ({dim}) must be less than the tensor's rank ({rank})")
    if parts <= 0 or t.shape[dim] % parts:
        raise RuntimeError(f"ttnn.slice: dim {dim} of size {t.shape[dim]} does not split into {parts} parts")
    dims = list(t.shape)
    dims[dim] //= parts
    if rank >= 2 and dims[-2] % TILE_SIZE:
        raise RuntimeError(f"ttnn.slice: a tile-layout tensor-args slice needs a tile-aligned height, got "
                           f"{dims[-2]}")
    shape = Shape(dims)

    def compute(x, begin, _end):
        first = [int(v) for v in begin.reshape(-1).tolist()]
        index = tuple(_builtin_slice(first[i], first[i] + dims[i]) for i in range(rank))
        return x[index]

    attributes = ("tensor_args", dim, parts, grid, output_tensor is not None)
    if output_tensor is not None:
        _device_op.device_input(output_tensor, "slice")
        if tuple(output_tensor.shape) != tuple(shape):
            raise RuntimeError(f"ttnn.slice: output_tensor has shape {tuple(output_tensor.shape)}, the slice "
                               f"{tuple(shape)}")
        return _device_op.run("slice", [t, starts, ends], [], compute, in_place=output_tensor,
                              kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES, attributes=attributes)
    config = _device_op.output_memory(memory_config, t, same_shape=False)
    return _device_op.run("slice", [t, starts, ends], [(shape, t.dtype, t.layout, config)], compute,
                          kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES, attributes=attributes)


def getitem(tensor, index):
    """Tensor[...]: integers, slices and one Ellipsis, as ttnn's __getitem__ (a slice, then squeezes)."""
    rank = len(tensor.shape)
    items = list(index) if isinstance(index, tuple) else [index]
    if sum(1 for i in items if i is Ellipsis) > 1:
        raise ValueError("Only one ellipsis ('...') is allowed in a slice.")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items[at:at + 1] = [_builtin_slice(None)] * (rank - len(items) + 1)
    if len(items) > rank:
        raise IndexError(f"Too many indices for tensor of dimension {rank}")
    items += [_builtin_slice(None)] * (rank - len(items))
    starts, ends, steps, dropped = [], [], [], []
    for dim, item in enumerate(items):
        size = tensor.shape[dim]
        if isinstance(item, int):
            i = item + size if item < 0 else item
            if not 0 <= i < size:
                raise IndexError(f"Index {item} is out of bounds for dimension {dim} of size {size}")
            starts.append(i), ends.append(i + 1), steps.append(1), dropped.append(dim)
        elif isinstance(item, _builtin_slice):
            start, end, step = item.indices(size)
            starts.append(start), ends.append(end), steps.append(step)
        else:
            raise TypeError(f"Invalid slice type: {item!r}")
    out = slice(tensor, starts, ends, steps)
    if dropped:
        kept = [d for i, d in enumerate(out.shape) if i not in dropped] or [1]
        out = reshape(out, kept)
    return out


def pad_to_shape(tensor, output_shape, input_start, value):
    """The tensor placed at input_start inside a tensor of output_shape filled with value."""
    output_shape = [int(d) for d in output_shape]
    start = [int(s) for s in input_start]
    if len(output_shape) != len(tensor.shape) or len(start) != len(tensor.shape):
        raise RuntimeError("pad: the output shape and start need one entry per dim")
    padding = [(s, o - s - d) for s, o, d in zip(start, output_shape, tensor.shape)]
    if any(after < 0 or before < 0 for before, after in padding):
        raise RuntimeError(f"pad: {tuple(tensor.shape)} at {tuple(start)} does not fit in {tuple(output_shape)}")
    return pad(tensor, padding, value)


def pad(input_tensor, padding, value=0.0, *args, memory_config=None, **ignored):
    """pad(tensor, ((before, after), ...), value): one pair per dim (or for the last dims); also the older
    pad(tensor, output_tensor_shape, input_tensor_start, value)."""
    padding = list(padding)
    if padding and all(isinstance(p, int) for p in padding):  # pad(tensor, output_shape, input_start, value)
        return pad_to_shape(input_tensor, padding, value, args[0] if args else 0.0)
    rank = len(input_tensor.shape)
    if len(padding) > rank:
        raise RuntimeError(f"ttnn.pad: {len(padding)} padding pairs for a rank-{rank} tensor")
    pairs = [(0, 0)] * (rank - len(padding)) + [(int(b), int(a)) for b, a in padding]
    shape = Shape([d + b + a for d, (b, a) in zip(input_tensor.shape, pairs)])
    fill = float(value)
    if input_tensor._device is None:
        return _host_map(input_tensor, lambda x: _np.pad(x, pairs, constant_values=fill))

    def compute(x):
        import torch

        flat = []
        for before, after in reversed(pairs):  # torch pads from the last dim
            flat += [before, after]
        return torch.nn.functional.pad(x, flat, value=fill)

    t = _device_op.device_input(input_tensor, "pad")
    return _copy_program("pad", t, shape, compute, memory_config)




def chunk(input_tensor, chunks, dim=0, **ignored):
    """torch.chunk's split: pieces of ceil(size / chunks) along dim (the last may be smaller, and there may be
    fewer than `chunks`), each a new tensor written by a slice program."""
    t = _device_op.device_input(input_tensor, "chunk")
    rank = len(t.shape)
    d = dim % rank
    size = t.shape[d]
    if chunks <= 0:
        raise RuntimeError(f"ttnn.chunk: chunks must be positive, got {chunks}")
    step = -(-size // chunks)
    pieces = []
    for start in range(0, size, step or 1):
        starts = [0] * rank
        ends = list(t.shape)
        starts[d], ends[d] = start, min(size, start + step)
        pieces.append(slice(t, starts, ends))
    return pieces


def expand(input_tensor, output_shape, *, memory_config=None, **ignored):
    t = _device_op.device_input(input_tensor, "expand")
    sizes = [int(s) for s in output_shape]
    old = list(t.shape)
    shape = [o if s == -1 else s for s, o in zip(sizes[len(sizes) - len(old):], old)]
    shape = sizes[:len(sizes) - len(old)] + shape
    for s, o in zip(shape[len(shape) - len(old):], old):
        if o != 1 and s != o:
            raise RuntimeError(f"ttnn.expand: cannot expand {tuple(old)} to {tuple(sizes)}")
    return _copy_program("expand", t, Shape(shape), lambda x: x.expand(*shape).contiguous(), memory_config)


def flip(input_tensor, dims, *, memory_config=None, **ignored):
    t = _device_op.device_input(input_tensor, "flip")
    dims = [dims] if isinstance(dims, int) else list(dims)
    rank = len(t.shape)
    if not dims:
        raise RuntimeError("Flip dimensions cannot be empty")
    if rank > 5:
        raise RuntimeError(f"Flip operation supports tensors with rank up to 5, got rank {rank}")
    if any(not -rank <= d < rank for d in dims):
        raise RuntimeError(f"ttnn.flip: dims {dims} out of range for a rank-{rank} tensor")
    normalized = [d % rank for d in dims]
    for d in normalized:
        if normalized.count(d) > 1:
            raise RuntimeError(f"Duplicate dimension {d} in flip dims {dims}")
    return _copy_program("flip", t, t.shape, lambda x: x.flip(normalized), memory_config)


def stack(tensors, dim=0, *, memory_config=None, **ignored):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("ttnn.stack: needs at least one tensor")
    first = _device_op.device_input(tensors[0], "stack")
    for t in tensors[1:]:
        if tuple(_device_op.device_input(t, "stack").shape) != tuple(first.shape):
            raise RuntimeError(f"ttnn.stack: shapes {first.shape!r} and {t.shape!r} differ")
    rank = len(first.shape) + 1
    d = dim % rank
    shape = list(first.shape)
    shape.insert(d, len(tensors))

    def compute(*values):
        import torch

        return torch.stack(values, dim=d)

    return _copy_program("stack", first, Shape(shape), compute, memory_config, inputs=tensors,
                         attributes=(d, _aliasing(tensors)))


def repeat(input_tensor, repetition_vector, *, memory_config=None, **ignored):
    t = _device_op.device_input(input_tensor, "repeat")
    reps = [int(r) for r in repetition_vector]
    old = [1] * (len(reps) - len(t.shape)) + list(t.shape)
    shape = [o * r for o, r in zip(old, reps)]
    return _copy_program("repeat", t, Shape(shape), lambda x: x.reshape(old).repeat(*reps), memory_config)


def repeat_interleave(input_tensor, repeats, dim=0, *, memory_config=None, **ignored):
    t = _device_op.device_input(input_tensor, "repeat_interleave")
    if not isinstance(repeats, int):
        raise not_emulated("ttnn.repeat_interleave with a tensor of repeats")
    d = dim % len(t.shape)
    shape = list(t.shape)
    shape[d] *= repeats
    return _copy_program("repeat_interleave", t, Shape(shape), lambda x: x.repeat_interleave(repeats, dim=d),
                         memory_config)
