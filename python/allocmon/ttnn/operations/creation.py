"""Tensors made from nothing or shaped like another: zeros, ones, full, rand, empty, arange and the *_like
forms. With device= they are created on it (replicated over a mesh); the *_like forms default to the input's
dtype, layout, device and memory config, as in ttnn."""

import numpy as _np

from ..tensor import host_float_type
from ..types import ROW_MAJOR_LAYOUT, Shape, bfloat16, int32
from .core import from_torch

__all__ = ["zeros", "ones", "full", "empty", "rand", "arange", "zeros_like", "ones_like", "full_like",
           "empty_like", "rand_like", "moreh_full_like"]


def _shape(shape):
    return tuple(int(d) for d in shape)


def full(shape, fill_value, dtype=None, layout=ROW_MAJOR_LAYOUT, device=None, memory_config=None, **ignored):
    """A tensor of `shape` (rank 0 too: [] gives a scalar tensor) with every value fill_value; with no dtype,
    int32 for an integer fill value and bfloat16 otherwise, as ttnn's int and float overloads of full give."""
    dims = _shape(shape)
    if dtype is None:
        integer = isinstance(fill_value, (int, _np.integer)) and not isinstance(fill_value, bool)
        dtype = int32 if integer else bfloat16
    values = _np.full(dims, fill_value, host_float_type(dtype))
    out = from_torch(values, dtype, layout=layout or ROW_MAJOR_LAYOUT, device=device, memory_config=memory_config)
    if not dims:
        out._shape = Shape([])  # a scalar: rank 0 (one value on each device, in one page)
    return out


def zeros(shape, dtype=bfloat16, layout=ROW_MAJOR_LAYOUT, device=None, memory_config=None, **ignored):
    return full(shape, 0.0, dtype, layout, device, memory_config)


def ones(shape, dtype=bfloat16, layout=ROW_MAJOR_LAYOUT, device=None, memory_config=None, **ignored):
    return full(shape, 1.0, dtype, layout, device, memory_config)


empty = zeros  # an emulated device's fresh buffer reads as zeros


def rand(shape, dtype=bfloat16, layout=ROW_MAJOR_LAYOUT, device=None, memory_config=None, low=0.0, high=1.0,
         seed=None, **ignored):
    values = _np.random.default_rng(seed).uniform(low, high, _shape(shape)).astype(_np.float32)
    return from_torch(values, dtype or bfloat16, layout=layout, device=device, memory_config=memory_config)


def arange(start=0, end=None, step=1, dtype=bfloat16, device=None, layout=ROW_MAJOR_LAYOUT, memory_config=None,
           **ignored):
    if end is None:
        start, end = 0, start
    values = _np.arange(start, end, step, dtype=_np.float32)
    return from_torch(values, dtype or bfloat16, layout=layout, device=device, memory_config=memory_config)


def _like(make):
    def call(input_tensor, *args, dtype=None, layout=None, device=None, memory_config=None, **kwargs):
        on = device if device is not None else input_tensor._mesh
        config = memory_config if memory_config is not None else (
            input_tensor._memory_config if on is input_tensor._mesh else None)
        return make(tuple(input_tensor.shape), *args, dtype=dtype or input_tensor.dtype,
                    layout=layout or input_tensor.layout, device=on, memory_config=config, **kwargs)

    return call


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
rand_like = _like(rand)


def full_like(input_tensor, fill_value, *, dtype=None, layout=None, device=None, memory_config=None, **ignored):
    return _like(full)(input_tensor, fill_value, dtype=dtype, layout=layout, device=device,
                       memory_config=memory_config)


def moreh_full_like(input_tensor, fill_value, *, dtype=None, layout=None, memory_config=None, **ignored):
    """A device op (a program on the input's mesh, unlike full_like's host write) whose output has the input's
    shape, in its dtype, layout and memory config unless given, every value fill_value."""
    from . import _device_op

    t = _device_op.device_input(input_tensor, "moreh_full_like")
    out_dtype, out_layout = dtype or t.dtype, layout or t.layout
    _device_op.check_dtype_layout(out_dtype, out_layout, "moreh_full_like")
    config = _device_op.output_memory(memory_config, t)
    value = float(fill_value)
    return _device_op.run("moreh_full_like", [t], [(t.shape, out_dtype, out_layout, config)],
                          lambda x: x.new_full(x.shape, value), program="moreh_full_like")
