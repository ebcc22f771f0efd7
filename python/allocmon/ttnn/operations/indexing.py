"""Indexing ops: nonzero, index_fill, indexed_fill, gather/scatter (tosa_gather, tosa_scatter and
ttnn.experimental.gather), isin, narrow, and ttnn.experimental's dropout and slice_write. Each allocates its
outputs through the mesh and computes every device's values with torch from what that device holds."""

import types as _types

from .. import device as _device
from ..tensor import Tensor
from ..types import ROW_MAJOR_LAYOUT, Shape, uint8, uint32
from . import _device_op

__all__ = ["nonzero", "index_fill", "indexed_fill", "tosa_gather", "tosa_scatter", "narrow"]


def _torch():
    import torch

    return torch


def _dim(dim, rank, op):
    if not -rank <= dim < rank:
        raise RuntimeError(f"ttnn.{op}: dim {dim} is out of range for a tensor of rank {rank}")
    return dim % rank


def nonzero(input_tensor, *, memory_config=None, queue_id=None, **ignored):
    """[count, indices]: count is a uint32 [1, 1, 1, 8] tensor whose first value is the number of non-zero
    values; indices a uint32 [1, 1, 1, volume * 4] tensor holding each non-zero value's (b, n, h, c) index of
    the rank-4 input in order, then zeros."""
    t = _device_op.device_input(input_tensor, "nonzero")
    if len(t.shape) != 4:
        raise RuntimeError(f"ttnn.nonzero: the input must have rank 4, got {t.shape!r}")
    config = _device_op.output_memory(memory_config, t, same_shape=False)
    volume = t.shape.volume()

    def compute(x):
        torch = _torch()
        found = torch.nonzero(x).to(torch.float64).reshape(-1)
        count = torch.zeros((1, 1, 1, 8), dtype=torch.float64)
        count[..., 0] = found.numel() // 4
        indices = torch.zeros(volume * 4, dtype=torch.float64)
        indices[:found.numel()] = found
        return count, indices.reshape(1, 1, 1, volume * 4)

    outputs = [(Shape([1, 1, 1, 8]), uint32, ROW_MAJOR_LAYOUT, config),
               (Shape([1, 1, 1, volume * 4]), uint32, ROW_MAJOR_LAYOUT, config)]
    return _device_op.run("nonzero", [t], outputs, compute, kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES)


def index_fill(input_tensor, dim, index, value, *, memory_config=None, **ignored):
    """torch.index_fill: the slices of `dim` that `index` names set to `value`."""
    t = _device_op.device_input(input_tensor, "index_fill")
    i = _device_op.device_input(index, "index_fill")
    d = _dim(int(dim), len(t.shape), "index_fill")
    config = _device_op.output_memory(memory_config, t)
    fill = float(value)

    def compute(x, idx):
        return x.index_fill(d, idx.reshape(-1).long(), fill)

    return _device_op.run("index_fill", [t, i], [(t.shape, t.dtype, t.layout, config)], compute,
                          kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES, attributes=d)


def indexed_fill(batch_id, input_tensor_a, input_tensor_b, *, memory_config=None, dim=0, **ignored):
    """input_tensor_a with its slice batch_id[k] along `dim` replaced by slice k of input_tensor_b (the last
    one listed wins on a repeated index)."""
    ids = _device_op.device_input(batch_id, "indexed_fill")
    a = _device_op.device_input(input_tensor_a, "indexed_fill")
    b = _device_op.device_input(input_tensor_b, "indexed_fill")
    d = _dim(int(dim), len(a.shape), "indexed_fill")
    config = _device_op.output_memory(memory_config, a)

    def compute(index, x, y):
        torch = _torch()
        out = x.clone()
        for k, v in enumerate(index.reshape(-1).long().tolist()):
            out.index_copy_(d, torch.tensor([v]), y.index_select(d, torch.tensor([k])))
        return out

    return _device_op.run("indexed_fill", [ids, a, b], [(a.shape, a.dtype, a.layout, config)], compute,
                          kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES, attributes=d)


def _gather(op, input_tensor, dim, index, memory_config):
    t = _device_op.device_input(input_tensor, op)
    i = _device_op.device_input(index, op)
    d = _dim(int(dim), len(t.shape), op)
    if len(i.shape) != len(t.shape):
        raise RuntimeError(f"ttnn.{op}: the index must have the input's rank ({len(t.shape)}), got {i.shape!r}")
    config = _device_op.output_memory(memory_config, t, same_shape=tuple(i.shape) == tuple(t.shape))
    return _device_op.run(op, [t, i], [(i.shape, t.dtype, t.layout, config)],
                          lambda x, idx: _torch().gather(x, d, idx.long()),
                          kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES, attributes=d)


def gather(input_tensor, dim, *, index, sparse_grad=False, memory_config=None, output_tensor=None, **ignored):
    """torch.gather along `dim` (ttnn.experimental.gather)."""
    return _gather("gather", input_tensor, dim, index, memory_config)


def tosa_gather(input_tensor, index, *, memory_config=None, **ignored):
    """TOSA gather: out[n, w, c] = input[n, index[n, w], c] for an [N, K, C] input and an [N, W] index."""
    t = _device_op.device_input(input_tensor, "tosa_gather")
    i = _device_op.device_input(index, "tosa_gather")
    if len(t.shape) != 3 or len(i.shape) != 2 or i.shape[0] != t.shape[0]:
        raise RuntimeError(f"ttnn.tosa_gather: wants an [N, K, C] input and an [N, W] index, got {t.shape!r} and "
                           f"{i.shape!r}")
    n, w, c = t.shape[0], i.shape[1], t.shape[2]
    config = _device_op.output_memory(memory_config, t, same_shape=False)
    return _device_op.run("tosa_gather", [t, i], [(Shape([n, w, c]), t.dtype, t.layout, config)],
                          lambda x, idx: _torch().gather(x, 1, idx.long().unsqueeze(-1).expand(n, w, c)),
                          kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES)


def tosa_scatter(input_tensor, index, source, *, memory_config=None, **ignored):
    """TOSA scatter: input with out[n, index[n, w], c] = source[n, w, c] ([N, K, C] input, [N, W] index,
    [N, W, C] source)."""
    t = _device_op.device_input(input_tensor, "tosa_scatter")
    i = _device_op.device_input(index, "tosa_scatter")
    s = _device_op.device_input(source, "tosa_scatter")
    if len(t.shape) != 3 or len(i.shape) != 2 or tuple(s.shape) != (t.shape[0], i.shape[1], t.shape[2]):
        raise RuntimeError(f"ttnn.tosa_scatter: wants an [N, K, C] input, an [N, W] index and an [N, W, C] source, "
                           f"got {t.shape!r}, {i.shape!r} and {s.shape!r}")
    config = _device_op.output_memory(memory_config, t)
    return _device_op.run("tosa_scatter", [t, i, s], [(t.shape, t.dtype, t.layout, config)],
                          lambda x, idx, src: x.scatter(1, idx.long().unsqueeze(-1).expand_as(src), src),
                          kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES)


def narrow(input_tensor, dim, start, length, **ignored):
    """torch.narrow: `length` values of `dim` from `start` (a copy into a new buffer in the input's memory
    config; ttnn may return a view of the input's buffer instead)."""
    from .data_movement import slice as slice_op

    rank = len(input_tensor.shape)
    d = _dim(int(dim), rank, "narrow")
    size = input_tensor.shape[d]
    begin = int(start) + size if int(start) < 0 else int(start)
    if begin < 0 or int(length) < 0 or begin + int(length) > size:
        raise RuntimeError(f"ttnn.narrow: start {start} and length {length} exceed dim {dim} of size {size}")
    starts = [0] * rank
    ends = list(input_tensor.shape)
    starts[d], ends[d] = begin, begin + int(length)
    config = input_tensor._memory_config if input_tensor._device is not None else None
    return slice_op(input_tensor, starts, ends, memory_config=config)


def isin(elements, test_elements, *, assume_unique=False, invert=False, memory_config=None, **ignored):
    """torch.isin as ttnn.experimental.isin computes it: both inputs brought to row-major (to_layout) and 1-D
    (reshape) when they are not, the isin program writing a uint8 row-major 1-D result (1 where an element is
    among test_elements, 0 where invert=True), then reshaped and laid out back as the elements were. Each of
    those steps is its own program (and program-cache entry)."""
    from .core import to_layout  # noqa: PLC0415 (core imports the operations)
    from .data_movement import reshape  # noqa: PLC0415

    e = _device_op.device_input(elements, "isin")
    t = _device_op.device_input(test_elements, "isin")
    shape, layout = e.shape, e.layout
    if e.layout != ROW_MAJOR_LAYOUT:
        e = to_layout(e, ROW_MAJOR_LAYOUT)
    if t.layout != ROW_MAJOR_LAYOUT:
        t = to_layout(t, ROW_MAJOR_LAYOUT)
    if len(e.shape) > 1:
        e = reshape(e, [e.shape.volume()])
    if len(t.shape) > 1:
        t = reshape(t, [t.shape.volume()])
    config = _device_op.output_memory(memory_config, e)
    flip = bool(invert)
    out = _device_op.run("isin", [e, t], [(e.shape, uint8, ROW_MAJOR_LAYOUT, config)],
                         lambda x, y: _torch().isin(x, y, invert=flip).float(),
                         kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES, attributes=(flip, bool(assume_unique)))
    if len(shape) != 1:
        out = reshape(out, shape)
    if layout != ROW_MAJOR_LAYOUT:
        out = to_layout(out, layout)
    return out


def dropout(input_tensor, *, probability, scale, seed, output_tensor=None, memory_config=None, **ignored):
    """Each value kept with probability 1 - probability (and multiplied by scale) or zeroed, from a random
    stream seeded by `seed` (the seed is set when the program runs; it is not part of the program's key)."""
    t = _device_op.device_input(input_tensor, "dropout")
    p, factor = float(probability), float(scale)
    generator = _torch().Generator().manual_seed(int(seed))

    def compute(x):
        torch = _torch()
        keep = torch.rand(x.shape, generator=generator) >= p
        return torch.where(keep, x * factor, torch.zeros_like(x))

    if output_tensor is not None:
        _device_op.device_input(output_tensor, "dropout")
        return _device_op.run("dropout", [t], None, compute, in_place=output_tensor, attributes=(p, factor))
    config = _device_op.output_memory(memory_config, t)
    return _device_op.run("dropout", [t], [(t.shape, t.dtype, t.layout, config)], compute, attributes=(p, factor))


def slice_write(input_tensor, output_tensor, begins, ends, strides, **ignored):
    """Writes input_tensor into output_tensor[begins:ends:strides] (in place; allocates nothing)."""
    src = _device_op.device_input(input_tensor, "slice_write")
    out = _device_op.device_input(output_tensor, "slice_write")
    index = tuple(slice(int(b), int(e), int(s)) for b, e, s in zip(begins, ends, strides))

    def compute(target, values):
        target = target.clone()
        target[index] = values
        return target

    return _device_op.run("slice_write", [out, src], None, compute, in_place=out,
                          kernel_bytes=_device_op.DATA_MOVEMENT_KERNEL_BYTES,
                          attributes=tuple((s.start, s.stop, s.step) for s in index))


experimental = _types.ModuleType("ttnn.experimental", "ttnn.experimental: the experimental ops the emulator has.")
experimental.gather = gather
experimental.isin = isin
experimental.dropout = dropout
experimental.slice_write = slice_write
experimental.info = _device.experimental_info  # device properties by tag (device.py)
experimental.__all__ = ["dropout", "gather", "info", "isin", "slice_write"]


def _experimental_missing(name):
    from ..errors import not_emulated

    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    raise not_emulated(f"ttnn.experimental.{name}")


experimental.__getattr__ = _experimental_missing
del Tensor
