"""Elementwise backward ops (ttnn.<op>_bw) and the golden functions tests compare them with.

Each backward op is its forward op's gradient: on every device, torch's autograd differentiates the forward
function at that device's input values and multiplies by the incoming gradient. Outputs are allocated like any
op output (one per input gradient asked for), or written into the input_grad= / other_grad= tensors a caller
passes, which allocates nothing (tests check that with the buffer report). The golden functions compute the same
thing on host torch tensors, as ttnn's goldens do."""

import math as _math

from ..errors import not_emulated
from ..tensor import Tensor
from . import _device_op


def _torch():
    import torch

    return torch


def _frac(x):
    return x - x.trunc()


# forward(x, *params) of each unary backward op; defaults as ttnn's signatures give them.
_UNARY_FORWARD = {
    "abs": (lambda x: x.abs(), ()),
    "acos": (lambda x: x.acos(), ()),
    "asin": (lambda x: x.asin(), ()),
    "atan": (lambda x: x.atan(), ()),
    "acosh": (lambda x: x.acosh(), ()),
    "asinh": (lambda x: x.asinh(), ()),
    "atanh": (lambda x: x.atanh(), ()),
    "ceil": (lambda x: x.ceil(), ()),
    "floor": (lambda x: x.floor(), ()),
    "round": (lambda x: x.round(), ()),
    "trunc": (lambda x: x.trunc(), ()),
    "frac": (_frac, ()),
    "cos": (lambda x: x.cos(), ()),
    "sin": (lambda x: x.sin(), ()),
    "tan": (lambda x: x.tan(), ()),
    "cosh": (lambda x: x.cosh(), ()),
    "sinh": (lambda x: x.sinh(), ()),
    "tanh": (lambda x: x.tanh(), ()),
    "deg2rad": (lambda x: x * (_math.pi / 180.0), ()),
    "rad2deg": (lambda x: x * (180.0 / _math.pi), ()),
    "erf": (lambda x: x.erf(), ()),
    "erfc": (lambda x: x.erfc(), ()),
    "erfinv": (lambda x: x.erfinv(), ()),
    "exp": (lambda x: x.exp(), ()),
    "exp2": (lambda x: x.exp2(), ()),
    "expm1": (lambda x: x.expm1(), ()),
    "log": (lambda x: x.log(), ()),
    "log10": (lambda x: x.log10(), ()),
    "log2": (lambda x: x.log2(), ()),
    "log1p": (lambda x: x.log1p(), ()),
    "neg": (lambda x: -x, ()),
    "reciprocal": (lambda x: x.reciprocal(), ()),
    "relu": (lambda x: x.relu(), ()),
    "relu6": (lambda x: _torch().nn.functional.relu6(x), ()),
    "rsqrt": (lambda x: x.rsqrt(), ()),
    "sqrt": (lambda x: x.sqrt(), ()),
    "square": (lambda x: x * x, ()),
    "sigmoid": (lambda x: x.sigmoid(), ()),
    "silu": (lambda x: _torch().nn.functional.silu(x), ()),
    "selu": (lambda x: _torch().nn.functional.selu(x), ()),
    "sign": (lambda x: x.sign(), ()),
    "lgamma": (lambda x: x.lgamma(), ()),
    "digamma": (lambda x: x.digamma(), ()),
    "logsigmoid": (lambda x: _torch().nn.functional.logsigmoid(x), ()),
    "log_sigmoid": (lambda x: _torch().nn.functional.logsigmoid(x), ()),
    "i0": (lambda x: _torch().i0(x), ()),
    # fill: the output no longer depends on the input, so its gradient is zero (ttnn's golden: torch.fill).
    "fill": (lambda x, value=2.0: _torch().fill(x, value), ("value",)),
    "fill_zero": (lambda x: _torch().fill(x, 0.0), ()),
    "hardsigmoid": (lambda x: _torch().nn.functional.hardsigmoid(x), ()),
    "hardswish": (lambda x: _torch().nn.functional.hardswish(x), ()),
    "mish": (lambda x: _torch().nn.functional.mish(x), ()),
    "elu": (lambda x, alpha=1.0: _torch().nn.functional.elu(x, alpha), ("alpha",)),
    "celu": (lambda x, alpha=1.0: _torch().nn.functional.celu(x, alpha), ("alpha",)),
    "hardtanh": (lambda x, min=-1.0, max=1.0: _torch().nn.functional.hardtanh(x, min, max), ("min", "max")),
    "hardshrink": (lambda x, lambd=0.5: _torch().nn.functional.hardshrink(x, lambd), ("lambd",)),
    "softshrink": (lambda x, lambd=0.5: _torch().nn.functional.softshrink(x, lambd), ("lambd",)),
    "leaky_relu": (lambda x, negative_slope=0.01: _torch().nn.functional.leaky_relu(x, negative_slope),
                   ("negative_slope",)),
    "softplus": (lambda x, beta=1.0, threshold=20.0: _torch().nn.functional.softplus(x, beta, threshold),
                 ("beta", "threshold")),
    "logit": (lambda x, eps=None: _torch().logit(x, eps), ("eps",)),
    "polygamma": (lambda x, n=1: _torch().polygamma(int(n), x), ("n",)),
    "gelu": (lambda x, approximate="none": _torch().nn.functional.gelu(x, approximate=approximate),
             ("approximate",)),
}

# forward(a, b, *params) of each binary backward op (b a tensor or a number).
_BINARY_FORWARD = {
    "add": (lambda a, b, alpha=1.0: a + alpha * b, ("alpha",)),
    "sub": (lambda a, b, alpha=1.0: a - alpha * b, ("alpha",)),
    "subtract": (lambda a, b, alpha=1.0: a - alpha * b, ("alpha",)),
    "addalpha": (lambda a, b, alpha=1.0: a + alpha * b, ("alpha",)),
    "subalpha": (lambda a, b, alpha=1.0: a - alpha * b, ("alpha",)),
    "mul": (lambda a, b: a * b, ()),
    "multiply": (lambda a, b: a * b, ()),
    "div": (lambda a, b: a / b, ()),
    "rsub": (lambda a, b: b - a, ()),
    "atan2": (lambda a, b: _torch().atan2(a, b), ()),
    "hypot": (lambda a, b: _torch().hypot(a, b), ()),
    "xlogy": (lambda a, b: _torch().xlogy(a, b), ()),
    "ldexp": (lambda a, b: a * _torch().pow(2.0, b), ()),
    "logaddexp": (lambda a, b: _torch().logaddexp(a, b), ()),
    "logaddexp2": (lambda a, b: _torch().logaddexp2(a, b), ()),
    "squared_difference": (lambda a, b: (a - b) ** 2, ()),
    "min": (lambda a, b: _torch().minimum(a, b), ()),
    "max": (lambda a, b: _torch().maximum(a, b), ()),
    "pow": (lambda a, b: a ** b, ()),
}


def _grads(forward, grad, inputs, params):
    """d forward / d inputs, times grad (zeros where an input does not reach the output)."""
    torch = _torch()
    leaves = [x.detach().to(torch.float32).requires_grad_(True) if isinstance(x, torch.Tensor) else x
              for x in inputs]
    with torch.enable_grad():
        out = forward(*leaves, **params)
        wanted = [x for x in leaves if isinstance(x, torch.Tensor)]
        found = torch.autograd.grad(out, wanted, grad_outputs=grad.to(out.dtype).expand_as(out),
                                    allow_unused=True)
    return [g if g is not None else torch.zeros_like(x) for g, x in zip(found, wanted)]


def _params(op, names, args, kwargs):
    if len(args) > len(names):
        raise TypeError(f"ttnn.{op}_bw takes {len(names)} parameter(s) after the inputs, got {len(args)}")
    params = dict(zip(names, args))
    for name in names:
        if name in kwargs:
            params[name] = kwargs.pop(name)
    return params


def _unary_bw(op):
    forward, names = _UNARY_FORWARD[op]

    def call(grad_tensor, input_tensor, *args, memory_config=None, input_grad=None, queue_id=None, **kwargs):
        params = _params(op, names, args, kwargs)
        _ignore_options(f"{op}_bw", kwargs)
        grad = _device_op.device_input(grad_tensor, f"{op}_bw")
        x = _device_op.device_input(input_tensor, f"{op}_bw")
        compute = lambda g, v: _grads(forward, g, [v], params)[0]  # noqa: E731
        if input_grad is not None:
            return [_device_op.run(f"{op}_bw", [grad, x], None, compute, cbs=3, in_place=input_grad)]
        config = _device_op.output_memory(memory_config, x)
        out = _device_op.run(f"{op}_bw", [grad, x], [(x.shape, x.dtype, x.layout, config)], compute, cbs=3)
        return [out]

    def golden(grad, input, *args, **kwargs):  # noqa: A002 (ttnn's golden signature)
        params = _params(op, names, args, dict(kwargs))
        return [_grads(forward, grad, [input], params)[0].to(input.dtype)]

    return _named(call, golden, op)


def _binary_bw(op):
    forward, names = _BINARY_FORWARD[op]

    def call(grad_tensor, input_tensor_a, input_tensor_b, *args, memory_config=None, are_required_outputs=None,
             input_grad=None, other_grad=None, input_a_grad=None, input_b_grad=None, queue_id=None, **kwargs):
        params = _params(op, names, args, kwargs)
        _ignore_options(f"{op}_bw", kwargs)
        input_grad = input_grad if input_grad is not None else input_a_grad
        other_grad = other_grad if other_grad is not None else input_b_grad
        name = f"{op}_bw"
        grad = _device_op.device_input(grad_tensor, name)
        a = _device_op.device_input(input_tensor_a, name)
        if not isinstance(input_tensor_b, Tensor):  # a number: one gradient, for the tensor
            scalar = float(input_tensor_b)
            compute = lambda g, v: _grads(lambda x: forward(x, scalar, **params), g, [v], {})[0]  # noqa: E731
            if input_grad is not None:
                return [_device_op.run(name, [grad, a], None, compute, cbs=3, in_place=input_grad)]
            config = _device_op.output_memory(memory_config, a)
            return [_device_op.run(name, [grad, a], [(a.shape, a.dtype, a.layout, config)], compute, cbs=3)]
        b = _device_op.device_input(input_tensor_b, name)
        wanted = list(are_required_outputs) if are_required_outputs is not None else [True, True]
        results = [None, None]
        for i, (want, given, like) in enumerate(zip(wanted, (input_grad, other_grad), (a, b))):
            if not want:
                continue
            compute = (lambda i: lambda g, x, y: _grads(forward, g, [x, y], params)[i])(i)
            if given is not None:
                results[i] = _device_op.run(name, [grad, a, b], None, compute, cbs=4, in_place=given)
            else:
                config = _device_op.output_memory(memory_config, like)
                results[i] = _device_op.run(name, [grad, a, b], [(like.shape, like.dtype, like.layout, config)],
                                            compute, cbs=4)
        return results

    def golden(grad, input_a, input_b, *args, **kwargs):
        params = _params(op, names, args, dict(kwargs))
        torch = _torch()
        if not isinstance(input_b, torch.Tensor):
            scalar = float(input_b)
            return [_grads(lambda x: forward(x, scalar, **params), grad, [input_a], {})[0].to(input_a.dtype)]
        ga, gb = _grads(forward, grad, [input_a, input_b], params)
        return [ga.to(input_a.dtype), gb.to(input_b.dtype)]

    return _named(call, golden, op)


def _ignore_options(name, kwargs):
    """Options that change how the device computes, not what it allocates or the result's meaning."""
    for option in ("compute_kernel_config", "output_dtype"):
        kwargs.pop(option, None)
    if kwargs:
        raise not_emulated(f"ttnn.{name}(..., {', '.join(sorted(kwargs))}=...)")


GOLDEN = {}


def _named(call, golden, op):
    call.__name__ = call.__qualname__ = f"{op}_bw"
    call.__doc__ = f"ttnn.{op}_bw: the gradient of ttnn.{op} with respect to its input(s)."
    golden.__name__ = f"{op}_bw_golden"
    GOLDEN[call] = golden
    return call


for _op in _UNARY_FORWARD:
    globals()[f"{_op}_bw"] = _unary_bw(_op)
for _op in _BINARY_FORWARD:
    globals()[f"{_op}_bw"] = _binary_bw(_op)

__all__ = sorted(f"{op}_bw" for op in list(_UNARY_FORWARD) + list(_BINARY_FORWARD))
del _op
