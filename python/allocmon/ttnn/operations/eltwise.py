"""Elementwise ops: binary arithmetic and comparisons with broadcasting (tensor or scalar second input),
logical ops, where, and unary math. Outputs keep the first input's dtype, layout and memory config unless
dtype= / memory_config= say otherwise; comparisons give 1.0 / 0.0 in that dtype, as ttnn does."""

import builtins as _builtins
import math as _math

from ... import _allocmon
from ..errors import not_emulated
from ..tensor import Tensor, device_tensor
from ..types import Shape
from . import _device_op

_BINARY = {
    "add": lambda x, y: x + y,
    "subtract": lambda x, y: x - y,
    "multiply": lambda x, y: x * y,
    "divide": lambda x, y: x / y,
    "maximum": lambda x, y: _torch().maximum(x, _as_tensor(y, x)),
    "minimum": lambda x, y: _torch().minimum(x, _as_tensor(y, x)),
    "squared_difference": lambda x, y: (x - y) ** 2,
    "pow": lambda x, y: x ** y,
    "eq": lambda x, y: (x == y).float(),
    "ne": lambda x, y: (x != y).float(),
    "gt": lambda x, y: (x > y).float(),
    "lt": lambda x, y: (x < y).float(),
    "ge": lambda x, y: (x >= y).float(),
    "le": lambda x, y: (x <= y).float(),
    "logical_and": lambda x, y: ((x != 0) & (_as_tensor(y, x) != 0)).float(),
    "logical_or": lambda x, y: ((x != 0) | (_as_tensor(y, x) != 0)).float(),
    "logical_xor": lambda x, y: ((x != 0) ^ (_as_tensor(y, x) != 0)).float(),
}

# ttnn's program for each binary op (the native fast path runs the same programs).
_PROGRAM = {"add": "eltwise_add", "subtract": "eltwise_sub", "multiply": "eltwise_mul"}


def _torch():
    import torch

    return torch


def _as_tensor(value, like):
    return value if hasattr(value, "shape") else _torch().full_like(like, float(value))


def _reject_unsupported(op, options):
    for name in ("activations", "output_tensor", "input_tensor_a_activations", "input_tensor_b_activations"):
        if options.get(name):
            raise not_emulated(f"ttnn.{op}(..., {name}=...)")


# What each fusable unary op (configs.UnaryOpType) computes, given its parameters.
_ACTIVATION = {
    "relu": lambda x: x.clamp(min=0),
    "relu6": lambda x: x.clamp(0, 6),
    "relu_max": lambda x, p: x.clamp(min=0, max=p),
    "relu_min": lambda x, p: x.clamp(min=p),
    "leaky_relu": lambda x, p=0.01: _torch().where(x >= 0, x, x * p),
    "elu": lambda x, p=1.0: _torch().where(x > 0, x, p * (x.exp() - 1)),
    "gelu": lambda x, approx=1.0: _gelu(x, bool(approx)),
    "silu": lambda x: x * x.sigmoid(),
    "sigmoid": lambda x: x.sigmoid(),
    "hardsigmoid": lambda x: (x / 6 + 0.5).clamp(0, 1),
    "tanh": lambda x: x.tanh(),
    "exp": lambda x, fast=0.0: x.exp(),
    "exp2": lambda x: _torch().exp2(x),
    "expm1": lambda x: x.expm1(),
    "log": lambda x: x.log(),
    "log2": lambda x: x.log2(),
    "log10": lambda x: x.log10(),
    "sqrt": lambda x: x.sqrt(),
    "rsqrt": lambda x, fast=0.0: x.rsqrt(),
    "recip": lambda x: x.reciprocal(),
    "square": lambda x: x * x,
    "power": lambda x, p: x ** p,
    "abs": lambda x: x.abs(),
    "neg": lambda x: -x,
    "sign": lambda x: x.sign(),
    "sin": lambda x: x.sin(),
    "cos": lambda x: x.cos(),
    "erf": lambda x, fast=0.0: x.erf(),
    "softplus": lambda x, beta=1.0, threshold=20.0: _torch().nn.functional.softplus(x, beta, threshold),
    "mish": lambda x: x * _torch().nn.functional.softplus(x).tanh(),
    "floor": lambda x: x.floor(),
    "ceil": lambda x: x.ceil(),
    "eqz": lambda x: (x == 0).float(),
    "nez": lambda x: (x != 0).float(),
    "gtz": lambda x: (x > 0).float(),
    "ltz": lambda x: (x < 0).float(),
    "gez": lambda x: (x >= 0).float(),
    "lez": lambda x: (x <= 0).float(),
    "identity": lambda x: x,
    "add_unary_sfpu": lambda x, p: x + p,
    "sub_unary_sfpu": lambda x, p: x - p,
    "mul_unary_sfpu": lambda x, p: x * p,
    "div_unary_sfpu": lambda x, p: x / p,
}


def activation_function(spec, op="op"):
    """The torch function of a fused unary op: a UnaryWithParam, a UnaryOpType or its name (as ttnn's string
    form, "relu"), or a list of them applied in order; None is the identity."""
    if spec is None:
        return lambda x: x
    if isinstance(spec, (list, tuple)):
        fns = [activation_function(s, op) for s in spec]

        def chain(x):
            for fn in fns:
                x = fn(x)
            return x

        return chain
    name = getattr(getattr(spec, "op_type", spec), "value", getattr(spec, "op_type", spec))
    params = list(getattr(spec, "params", []))
    name = str(name).lower()
    fn = _ACTIVATION.get(name)
    if fn is None:
        raise not_emulated(f"ttnn.{op} fusing the unary op {spec!r}")
    try:
        fn(_torch().zeros(1), *params)
    except TypeError:
        raise RuntimeError(f"ttnn.{op}: the unary op {name} does not take the parameters {params}") from None
    return lambda x: fn(x, *params)


def _broadcast(op, a_shape, b_shape):
    try:
        return Shape(_torch().broadcast_shapes(tuple(a_shape), tuple(b_shape)))
    except RuntimeError:
        raise RuntimeError(f"ttnn.{op}: shapes {a_shape!r} and {b_shape!r} do not broadcast") from None


def _native_fast_path(op, a, b, dtype, config):
    """add/subtract/multiply of equal shapes (or a scalar) run in C++ on every device at once."""
    if op not in _PROGRAM or (dtype is not None and dtype != a.dtype):
        return None
    if tuple(a.shape) != tuple(a._device.shard_shape):
        return None
    if isinstance(b, Tensor):
        if tuple(b.shape) != tuple(a.shape) or tuple(b.shape) != tuple(b._device.shard_shape):
            return None
        other = b._device
    else:
        other = float(b)
    config = _device_op.resolve_output_memory(op, config, a.shape, [a] + ([b] if isinstance(b, Tensor) else []))
    native = _allocmon.binary(a._device, other, op, buffer_type=config.buffer_type.value, shards=config._shards)
    return device_tensor(native, a.dtype, a.layout, a._mesh, config, a.shape)


def binary(op, input_tensor_a, input_tensor_b, *, memory_config=None, dtype=None, activations=None,
           input_tensor_a_activations=None, input_tensor_b_activations=None, output_tensor=None, in_place=False,
           **options):
    """activations= (applied to the result), input_tensor_a_activations= / input_tensor_b_activations= (to the
    inputs first) are lists of fused unary ops (UnaryWithParam, UnaryOpType or names); output_tensor= is
    written over instead of allocating (its shape must be the result's); in_place writes input_tensor_a."""
    a = _device_op.device_input(input_tensor_a, op)
    fn = _BINARY[op]
    if isinstance(input_tensor_b, Tensor):
        b = _device_op.device_input(input_tensor_b, op)
        shape = _broadcast(op, a.shape, b.shape)
    elif isinstance(input_tensor_b, (int, float)) and not isinstance(input_tensor_b, bool):
        b, shape = input_tensor_b, a.shape
    else:
        raise TypeError(f"ttnn.{op}: the second input must be a ttnn.Tensor or a number, not "
                        f"{type(input_tensor_b).__name__}")
    target = a if in_place else output_tensor
    if target is not None:
        target = _device_op.device_input(target, op)
        if tuple(target.shape) != tuple(shape):
            what = "input_tensor_a" if in_place else "output_tensor"
            raise RuntimeError(f"ttnn.{op}: the result's shape {tuple(shape)} is not {what}'s {tuple(target.shape)}"
                               " (an in-place op cannot broadcast its first input)")
    fused = bool(activations or input_tensor_a_activations or input_tensor_b_activations)
    config = _device_op.output_memory(memory_config, a, same_shape=tuple(shape) == tuple(a.shape))
    if not fused and target is None:
        fast = _native_fast_path(op, a, b, dtype, config)
        if fast is not None:
            return fast
    out_dtype = dtype or a.dtype
    _device_op.check_dtype_layout(out_dtype, a.layout, op)
    program = _PROGRAM.get(op, f"eltwise_{op}")
    post = activation_function(activations, op) if activations else None
    pre_a = activation_function(input_tensor_a_activations, op) if input_tensor_a_activations else None
    pre_b = activation_function(input_tensor_b_activations, op) if input_tensor_b_activations else None

    def fused_fn(x, y):
        if pre_a is not None:
            x = pre_a(x)
        if pre_b is not None:
            y = pre_b(y if hasattr(y, "shape") else _torch().tensor(float(y)))
        z = fn(x, y)
        return post(z) if post is not None else z

    attributes = repr((activations, input_tensor_a_activations, input_tensor_b_activations)) if fused else None
    outputs = None if target is not None else [(shape, out_dtype, a.layout, config)]
    if isinstance(b, Tensor):
        return _device_op.run(op, [a, b], outputs, fused_fn, cbs=3, program=program, in_place=target,
                              attributes=attributes)
    scalar = float(b)
    return _device_op.run(op, [a], outputs, lambda x: fused_fn(x, scalar), cbs=2, program=program + "_scalar",
                          in_place=target, attributes=attributes)


def _binary_op(op):
    def call(input_tensor_a, input_tensor_b, *, memory_config=None, dtype=None, **options):
        return binary(op, input_tensor_a, input_tensor_b, memory_config=memory_config, dtype=dtype, **options)

    call.__name__ = call.__qualname__ = op
    call.__doc__ = f"ttnn.{op}: elementwise, broadcasting the second input (a tensor or a number)."
    return call


def _binary_in_place_op(op, name):
    def call(input_tensor_a, input_tensor_b, **options):
        options.pop("memory_config", None)
        options.pop("dtype", None)
        return binary(op, input_tensor_a, input_tensor_b, in_place=True, **options)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"ttnn.{name}: ttnn.{op} written over the first input (the second broadcast to its shape)."
    return call


_IN_PLACE = {f"{op}_": op for op in ("add", "subtract", "multiply", "divide", "squared_difference", "eq", "ne",
                                     "gt", "lt", "ge", "le", "logical_and", "logical_or", "logical_xor")}
_IN_PLACE.update(sub_="subtract", mul_="multiply", div_="divide")
for _name, _op in _IN_PLACE.items():
    globals()[_name] = _binary_in_place_op(_op, _name)


add = _binary_op("add")
subtract = _binary_op("subtract")
multiply = _binary_op("multiply")
divide = _binary_op("divide")
maximum = _binary_op("maximum")
minimum = _binary_op("minimum")
squared_difference = _binary_op("squared_difference")
eq = _binary_op("eq")
ne = _binary_op("ne")
gt = _binary_op("gt")
lt = _binary_op("lt")
ge = _binary_op("ge")
le = _binary_op("le")
logical_and = _binary_op("logical_and")
logical_or = _binary_op("logical_or")
logical_xor = _binary_op("logical_xor")
sub = subtract
mul = multiply
div = divide


def pow(input_tensor, exponent, *, memory_config=None, dtype=None, **options):  # noqa: A001 (ttnn's name)
    return binary("pow", input_tensor, exponent, memory_config=memory_config, dtype=dtype, **options)


def rsub(input_tensor, other, *, memory_config=None, dtype=None, **options):
    """other - input_tensor."""
    a = _device_op.device_input(input_tensor, "rsub")
    config = _device_op.output_memory(memory_config, a)
    if isinstance(other, Tensor):
        return subtract(other, input_tensor, memory_config=memory_config, dtype=dtype)
    value = float(other)
    return _device_op.run("rsub", [a], [(a.shape, dtype or a.dtype, a.layout, config)], lambda x: value - x,
                          program="eltwise_rsub_scalar")


def where(condition, true_value, false_value, *, memory_config=None, dtype=None, **ignored):
    """true_value where condition is non-zero, else false_value (each a tensor or a number), broadcast."""
    c = _device_op.device_input(condition, "where")
    tensors = [c]
    shape = c.shape
    like = c
    for value in (true_value, false_value):
        if isinstance(value, Tensor):
            tensors.append(_device_op.device_input(value, "where"))
            shape = _broadcast("where", shape, value.shape)
            if like is c:
                like = value
        elif not isinstance(value, (int, float)):
            raise TypeError(f"ttnn.where: values must be ttnn.Tensors or numbers, not {type(value).__name__}")

    def compute(cond, *given):
        torch = _torch()
        given = list(given)
        picked = [given.pop(0) if isinstance(v, Tensor) else torch.tensor(float(v)) for v in
                  (true_value, false_value)]
        return torch.where(cond != 0, picked[0], picked[1])

    config = _device_op.output_memory(memory_config, c, same_shape=tuple(shape) == tuple(c.shape))
    return _device_op.run("where", tensors, [(shape, dtype or like.dtype, c.layout, config)], compute, cbs=4,
                          program="eltwise_where")


def _gelu(x, fast_and_approximate_mode=True):
    torch = _torch()
    return torch.nn.functional.gelu(x, approximate="tanh" if fast_and_approximate_mode else "none")


_UNARY = {
    "exp": lambda x: x.exp(),
    "log": lambda x: x.log(),
    "sqrt": lambda x: x.sqrt(),
    "rsqrt": lambda x: x.rsqrt(),
    "reciprocal": lambda x: x.reciprocal(),
    "neg": lambda x: -x,
    "abs": lambda x: x.abs(),
    "square": lambda x: x * x,
    "sin": lambda x: x.sin(),
    "cos": lambda x: x.cos(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "silu": lambda x: x * x.sigmoid(),
    "relu": lambda x: x.clamp(min=0),
    "relu6": lambda x: x.clamp(0, 6),
    "erf": lambda x: x.erf(),
    "sign": lambda x: x.sign(),
    "floor": lambda x: x.floor(),
    "ceil": lambda x: x.ceil(),
    "logical_not": lambda x: (x == 0).float(),
}


def unary(op, input_tensor, fn=None, *, memory_config=None, dtype=None, **options):
    _reject_unsupported(op, options)
    a = _device_op.device_input(input_tensor, op)
    config = _device_op.output_memory(memory_config, a)
    if op == "relu" and dtype in (None, a.dtype) and tuple(a.shape) == tuple(a._device.shard_shape):
        config = _device_op.resolve_output_memory(op, config, a.shape, [a])
        native = _allocmon.relu(a._device, buffer_type=config.buffer_type.value, shards=config._shards)
        return device_tensor(native, a.dtype, a.layout, a._mesh, config, a.shape)
    out_dtype = dtype or a.dtype
    _device_op.check_dtype_layout(out_dtype, a.layout, op)
    return _device_op.run(op, [a], [(a.shape, out_dtype, a.layout, config)], fn or _UNARY[op],
                          program=f"eltwise_{op}")


def _unary_op(op):
    def call(input_tensor, *, memory_config=None, dtype=None, **options):
        return unary(op, input_tensor, memory_config=memory_config, dtype=dtype, **options)

    call.__name__ = call.__qualname__ = op
    call.__doc__ = f"ttnn.{op}: elementwise."
    return call


for _name in _UNARY:
    globals()[_name] = _unary_op(_name)


def gelu(input_tensor, *, fast_and_approximate_mode=True, memory_config=None, dtype=None, **options):
    return unary("gelu", input_tensor, lambda x: _gelu(x, fast_and_approximate_mode), memory_config=memory_config,
                 dtype=dtype, **options)


def clamp(input_tensor, min=None, max=None, *, memory_config=None, dtype=None, **options):  # noqa: A002
    low, high = min, max
    return unary("clamp", input_tensor, lambda x: x.clamp(low, high), memory_config=memory_config, dtype=dtype,
                 **options)


clip = clamp


def leaky_relu(input_tensor, negative_slope=0.01, *, memory_config=None, dtype=None, **options):
    slope = float(negative_slope)
    return unary("leaky_relu", input_tensor, lambda x: _torch().nn.functional.leaky_relu(x, slope),
                 memory_config=memory_config, dtype=dtype, **options)


def tilize_untilize(input_tensor, output_memory_config=None, output_dtype=None, memory_config=None, op_type=None,
                    scaler=1.0, **ignored):
    """ttnn's template compute op: a 4-d row-major interleaved bfloat16 / float32 tensor, tile-aligned in height
    and width, tilized, passed through the compute kernel unchanged and untilized into a new row-major tensor of
    the same shape and dtype (in memory_config=, else the input's). Only the identity op_type is emulated."""
    op = "tilize_untilize"
    a = _device_op.device_input(input_tensor, op)
    kind = str(getattr(op_type, "name", op_type or "identity")).lower()
    if kind != "identity":
        raise not_emulated(f"ttnn.tilize_untilize(op_type={op_type!r})", "the identity op_type")
    if len(a.shape) != 4:
        raise RuntimeError(f"ttnn.tilize_untilize: Input tensor must be 4D (NCHW), got rank {len(a.shape)}")
    if a.layout.value != "row_major":
        raise RuntimeError(f"ttnn.tilize_untilize: Input must be in ROW_MAJOR layout, got {a.layout!r}")
    if a._memory_config.is_sharded():
        raise RuntimeError("ttnn.tilize_untilize: Input must be interleaved (not sharded)")
    if a.dtype.value not in ("bfloat16", "float32"):
        raise RuntimeError(f"ttnn.tilize_untilize: Unsupported dtype {a.dtype!r}, expected BFLOAT16 or FLOAT32")
    for name, dim in (("Height", a.shape[-2]), ("Width", a.shape[-1])):
        if dim % 32:
            raise RuntimeError(f"ttnn.tilize_untilize: {name} must be a multiple of the tile's (32), got {dim}")
    config = memory_config if memory_config is not None else a._memory_config
    return _device_op.run(op, [a], [(a.shape, a.dtype, a.layout, config)], lambda x: x, cbs=3, program=op)


def golden(name):
    """torch's version of the elementwise op `name` on host tensors (None if `name` is not one)."""
    aliases = {"sub": "subtract", "mul": "multiply", "div": "divide"}
    name = aliases.get(name, name)
    if name in _BINARY:
        fn = _BINARY[name]

        def binary_golden(input_tensor_a, input_tensor_b, *args, **ignored):
            torch = _torch()
            a = input_tensor_a.to(torch.float32) if input_tensor_a.dtype == torch.bfloat16 else input_tensor_a
            out = fn(a, input_tensor_b.to(a.dtype) if isinstance(input_tensor_b, torch.Tensor) else input_tensor_b)
            return out.to(input_tensor_a.dtype) if out.is_floating_point() else out

        return binary_golden
    if name in _UNARY or name == "gelu":
        fn = _UNARY.get(name) or _gelu

        def unary_golden(input_tensor, *args, **ignored):
            return fn(input_tensor)

        return unary_golden
    return None


__all__ = sorted(set(_BINARY) | set(_UNARY) | set(_IN_PLACE) | {
    "sub", "mul", "div", "rsub", "where", "gelu", "clamp", "clip", "leaky_relu", "pow", "tilize_untilize"})

del _name, _op, _builtins, _math
