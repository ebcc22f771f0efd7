"""Reductions over one dim, several, or all: sum, mean, max, min (keepdim=False by default, as in ttnn)."""

from ... import _allocmon
from ..tensor import device_tensor
from ..types import Shape
from . import _device_op

__all__ = ["sum", "mean", "max", "min", "prod", "std", "var"]


def _dims(dim, rank):
    dims = [dim] if isinstance(dim, int) else list(dim) if dim is not None else []
    if not dims:  # None or an empty list: every dim, as in ttnn (and torch's var/std)
        return list(range(rank))
    return sorted({d % rank for d in dims})


def _reduce(op, input_tensor, dim, keepdim, memory_config, fn, scalar=1.0):
    t = _device_op.device_input(input_tensor, op)
    rank = len(t.shape)
    dims = _dims(dim, rank)
    keep = [1 if i in dims else d for i, d in enumerate(t.shape)]
    shape = Shape(keep if keepdim else ([d for i, d in enumerate(t.shape) if i not in dims] or [1]))
    config = _device_op.output_memory(memory_config, t, same_shape=False)
    if op == "sum" and scalar == 1.0 and keepdim and len(dims) == 1 and tuple(t.shape) == tuple(t._device.shard_shape):
        config = _device_op.resolve_output_memory(op, config, shape, [t])
        native = _allocmon.sum(t._device, dims[0], buffer_type=config.buffer_type.value, shards=config._shards)
        return device_tensor(native, t.dtype, t.layout, t._mesh, config, shape)

    integer = t.dtype.is_integer

    def compute(x):
        x = x.double() if scalar == 1.0 else x.double() * float(scalar)  # scalar=: each value scaled first
        out = fn(x, dims).reshape(tuple(shape))
        # an integer result of a scaled reduce is converted toward zero (as torch's .to(int32) does)
        return out.trunc() if integer and scalar != 1.0 else out  # accumulated exactly, as the fp32 dst registers do

    out = _device_op.run(op, [t], [(shape, t.dtype, t.layout, config)], compute, cbs=3,
                         kernel_bytes=_device_op.REDUCTION_KERNEL_BYTES, program=f"reduce_{op}")
    if not keepdim and len(dims) == rank:
        out._shape = Shape([])  # every dim reduced: a scalar (rank 0), as ttnn and torch give; one page holds it
    return out


def _tf32(x):
    """float32 values as the FPU's tf32 path sees them: the mantissa truncated to its upper 10 bits (ttnn's
    fast_and_approximate_mode for float32 min/max reduces on the FPU)."""
    import torch

    bits = x.to(torch.float32).view(torch.int32) & ~0x1FFF
    return bits.view(torch.float32).to(x.dtype)


def sum(input_tensor, dim=None, keepdim=False, *, memory_config=None, scalar=1.0, **ignored):  # noqa: A001
    return _reduce("sum", input_tensor, dim, keepdim, memory_config,
                   lambda x, d: x.sum(dim=d, keepdim=True), scalar=scalar)


def mean(input_tensor, dim=None, keepdim=False, *, memory_config=None, scalar=1.0, **ignored):
    return _reduce("mean", input_tensor, dim, keepdim, memory_config,
                   lambda x, d: x.mean(dim=d, keepdim=True), scalar=scalar)


def max(input_tensor, dim=None, keepdim=False, *, memory_config=None, scalar=1.0,  # noqa: A001
        fast_and_approximate_mode=False, **ignored):
    tf32 = fast_and_approximate_mode and input_tensor.dtype.value == "float32"
    return _reduce("max", input_tensor, dim, keepdim, memory_config,
                   lambda x, d: (_tf32(x) if tf32 else x).amax(dim=d, keepdim=True), scalar=scalar)


def min(input_tensor, dim=None, keepdim=False, *, memory_config=None, scalar=1.0,  # noqa: A001
        fast_and_approximate_mode=False, **ignored):
    tf32 = fast_and_approximate_mode and input_tensor.dtype.value == "float32"
    return _reduce("min", input_tensor, dim, keepdim, memory_config,
                   lambda x, d: (_tf32(x) if tf32 else x).amin(dim=d, keepdim=True), scalar=scalar)


def prod(input_tensor, dim=None, keepdim=False, *, memory_config=None, scalar=1.0, **ignored):
    def product(x, dims):
        for d in dims:
            x = x.prod(dim=d, keepdim=True)
        return x

    return _reduce("prod", input_tensor, dim, keepdim, memory_config, product, scalar=scalar)


def std(input_tensor, dim=None, keepdim=False, *, memory_config=None, scalar=1.0, correction=True, **ignored):
    unbiased = bool(correction)
    return _reduce("std", input_tensor, dim, keepdim, memory_config,
                   lambda x, d: x.std(dim=d, keepdim=True, unbiased=unbiased), scalar=scalar)


def var(input_tensor, dim=None, keepdim=False, *, memory_config=None, scalar=1.0, correction=True, **ignored):
    unbiased = bool(correction)
    return _reduce("var", input_tensor, dim, keepdim, memory_config,
                   lambda x, d: x.var(dim=d, keepdim=True, unbiased=unbiased), scalar=scalar)
