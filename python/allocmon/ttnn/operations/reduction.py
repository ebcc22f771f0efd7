"""Reductions over one dim, several, or all: sum, mean, max, min (keepdim=False by default, as in ttnn)."""

from ... import _allocmon
from ..tensor import device_tensor
from ..types import Shape
from . import _device_op

__all__ = ["sum", "mean", "max", "min", "prod", "std", "var"]


def _dims(dim, rank):
    if dim is None:
        return list(range(rank))
    dims = [dim] if isinstance(dim, int) else list(dim)
    return sorted({d % rank for d in dims})


def _reduce(op, input_tensor, dim, keepdim, memory_config, fn):
    t = _device_op.device_input(input_tensor, op)
    rank = len(t.shape)
    dims = _dims(dim, rank)
    keep = [1 if i in dims else d for i, d in enumerate(t.shape)]
    shape = Shape(keep if keepdim else ([d for i, d in enumerate(t.shape) if i not in dims] or [1]))
    config = _device_op.output_memory(memory_config, t, same_shape=False)
    if op == "sum" and keepdim and len(dims) == 1 and tuple(t.shape) == tuple(t._device.shard_shape):
        native = _allocmon.sum(t._device, dims[0], buffer_type=config.buffer_type.value, shards=config._shards)
        return device_tensor(native, t.dtype, t.layout, t._mesh, config, shape)

    def compute(x):
        return fn(x.double(), dims).reshape(tuple(shape))  # accumulated exactly, as the fp32 dst registers do

    return _device_op.run(op, [t], [(shape, t.dtype, t.layout, config)], compute, cbs=3,
                          kernel_bytes=_device_op.REDUCTION_KERNEL_BYTES, program=f"reduce_{op}")


def sum(input_tensor, dim=None, keepdim=False, *, memory_config=None, **ignored):  # noqa: A001 (ttnn's names)
    return _reduce("sum", input_tensor, dim, keepdim, memory_config, lambda x, d: x.sum(dim=d, keepdim=True))


def mean(input_tensor, dim=None, keepdim=False, *, memory_config=None, **ignored):
    return _reduce("mean", input_tensor, dim, keepdim, memory_config, lambda x, d: x.mean(dim=d, keepdim=True))


def max(input_tensor, dim=None, keepdim=False, *, memory_config=None, **ignored):  # noqa: A001
    return _reduce("max", input_tensor, dim, keepdim, memory_config, lambda x, d: x.amax(dim=d, keepdim=True))


def min(input_tensor, dim=None, keepdim=False, *, memory_config=None, **ignored):  # noqa: A001
    return _reduce("min", input_tensor, dim, keepdim, memory_config, lambda x, d: x.amin(dim=d, keepdim=True))


def prod(input_tensor, dim=None, keepdim=False, *, memory_config=None, **ignored):
    def product(x, dims):
        for d in dims:
            x = x.prod(dim=d, keepdim=True)
        return x

    return _reduce("prod", input_tensor, dim, keepdim, memory_config, product)


def std(input_tensor, dim=None, keepdim=False, *, memory_config=None, correction=True, **ignored):
    unbiased = bool(correction)
    return _reduce("std", input_tensor, dim, keepdim, memory_config,
                   lambda x, d: x.std(dim=d, keepdim=True, unbiased=unbiased))


def var(input_tensor, dim=None, keepdim=False, *, memory_config=None, correction=True, **ignored):
    unbiased = bool(correction)
    return _reduce("var", input_tensor, dim, keepdim, memory_config,
                   lambda x, d: x.var(dim=d, keepdim=True, unbiased=unbiased))
