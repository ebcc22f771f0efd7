"""matmul and linear: (..., M, K) x (..., K, N) with the batch dims broadcast, as ttnn.matmul. The output goes
to DRAM interleaved unless memory_config= says otherwise (ttnn's default), in dtype= when given."""

from ... import _allocmon
from ..errors import not_emulated
from ..tensor import device_tensor
from ..types import Shape
from . import _device_op

__all__ = ["matmul", "linear"]

_ACTIVATIONS = {
    None: lambda x: x,
    "relu": lambda x: x.clamp(min=0),
    "gelu": lambda x: __import__("torch").nn.functional.gelu(x, approximate="tanh"),
    "silu": lambda x: x * x.sigmoid(),
    "sigmoid": lambda x: x.sigmoid(),
}


def _output_shape(op, a_shape, b_shape, transpose_a, transpose_b):
    import torch

    if len(a_shape) < 1 or len(b_shape) < 2:
        raise RuntimeError(f"ttnn.{op}: needs the second input of rank 2 or more, got {b_shape!r}")
    a = list(a_shape) if len(a_shape) >= 2 else [1] + list(a_shape)
    b = list(b_shape)
    if transpose_a:
        a[-2], a[-1] = a[-1], a[-2]
    if transpose_b:
        b[-2], b[-1] = b[-1], b[-2]
    if a[-1] != b[-2]:
        raise RuntimeError(f"ttnn.{op}: the inner dims differ: {tuple(a_shape)} x {tuple(b_shape)}")
    try:
        batch = torch.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2]))
    except RuntimeError:
        raise RuntimeError(f"ttnn.{op}: batch dims do not broadcast: {tuple(a_shape)} x {tuple(b_shape)}") from None
    out = list(batch) + [a[-2], b[-1]]
    if len(a_shape) == 1:
        out.pop(-2)
    return Shape(out)


def _run(op, input_tensor_a, input_tensor_b, bias, transpose_a, transpose_b, memory_config, dtype, activation):
    a = _device_op.device_input(input_tensor_a, op)
    b = _device_op.device_input(input_tensor_b, op)
    inputs = [a, b]
    if bias is not None:
        inputs.append(_device_op.device_input(bias, op))
    shape = _output_shape(op, a.shape, b.shape, transpose_a, transpose_b)
    if bias is not None:
        try:
            __import__("torch").broadcast_shapes(tuple(shape), tuple(bias.shape))
        except RuntimeError:
            raise RuntimeError(f"ttnn.{op}: the bias {bias.shape!r} does not broadcast to {shape!r}") from None
    name = activation.lower() if isinstance(activation, str) else activation
    if name not in _ACTIVATIONS:
        raise not_emulated(f"ttnn.{op}(..., activation={activation!r})")
    config = memory_config if memory_config is not None else _device_op.dram_interleaved()
    out_dtype = dtype or a.dtype
    _device_op.check_dtype_layout(out_dtype, a.layout, op)
    simple = (bias is None and name is None and not transpose_a and not transpose_b and out_dtype == a.dtype
              and len(a.shape) >= 2 and (len(b.shape) == 2 or tuple(a.shape[:-2]) == tuple(b.shape[:-2]))
              and tuple(a.shape) == tuple(a._device.shard_shape) and tuple(b.shape) == tuple(b._device.shard_shape))
    if simple:  # OpenBLAS on every device at once, in C++
        native = _allocmon.matmul(a._device, b._device, buffer_type=config.buffer_type.value, shards=config._shards)
        return device_tensor(native, out_dtype, a.layout, a._mesh, config, shape)
    act = _ACTIVATIONS[name]

    def compute(x, y, *rest):
        if transpose_a:
            x = x.transpose(-2, -1)
        if transpose_b:
            y = y.transpose(-2, -1)
        z = x @ y
        if rest:
            z = z + rest[0]
        return act(z)

    return _device_op.run(op, inputs, [(shape, out_dtype, a.layout, config)], compute, cbs=3,
                          kernel_bytes=_device_op.MATMUL_KERNEL_BYTES, program="matmul")


def matmul(input_tensor_a, input_tensor_b, *, transpose_a=False, transpose_b=False, memory_config=None, dtype=None,
           activation=None, core_grid=None, program_config=None, compute_kernel_config=None, **ignored):
    """core_grid / program_config / compute_kernel_config choose how hardware splits the work; the
    emulated mesh takes them and computes the same values."""
    return _run("matmul", input_tensor_a, input_tensor_b, None, transpose_a, transpose_b, memory_config, dtype,
                activation)


def linear(input_tensor_a, input_tensor_b, *, bias=None, transpose_a=False, transpose_b=False, memory_config=None,
           dtype=None, activation=None, core_grid=None, program_config=None, compute_kernel_config=None, **ignored):
    """input_tensor_a @ input_tensor_b + bias (broadcast), then the activation if one is named."""
    return _run("linear", input_tensor_a, input_tensor_b, bias, transpose_a, transpose_b, memory_config, dtype,
                activation)
