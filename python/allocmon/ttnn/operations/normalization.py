"""softmax, layer_norm and rms_norm over the last dim (optionally after adding a residual), as ttnn computes
them; weights and biases broadcast (a (1, W) tile tensor or any tensor with W values)."""

from . import _device_op

__all__ = ["softmax", "layer_norm", "rms_norm"]


def softmax(input_tensor, dim=-1, *, memory_config=None, numeric_stable=False, compute_kernel_config=None,
            **ignored):
    t = _device_op.device_input(input_tensor, "softmax")
    config = _device_op.output_memory(memory_config, t)
    d = dim % len(t.shape)
    return _device_op.run("softmax", [t], [(t.shape, t.dtype, t.layout, config)], lambda x: x.softmax(dim=d),
                          cbs=4, program="softmax", attributes=d)


def _affine(value, width):
    """A weight/bias tensor as the (W,) vector it holds (ttnn stores them as (1, W) or (W/32, 32) pages)."""
    return value.reshape(width) if value.numel() == width else value


def _norm(op, input_tensor, epsilon, weight, bias, residual_input_tensor, memory_config, normalize):
    t = _device_op.device_input(input_tensor, op)
    extras = [x for x in (weight, bias, residual_input_tensor) if x is not None]
    inputs = [t] + [_device_op.device_input(x, op) for x in extras]
    config = _device_op.output_memory(memory_config, t)
    width = t.shape[-1]
    has = (weight is not None, bias is not None, residual_input_tensor is not None)

    def compute(x, *rest):
        rest = list(rest)
        w = _affine(rest.pop(0), width) if has[0] else None
        b = _affine(rest.pop(0), width) if has[1] else None
        if has[2]:
            x = x + rest.pop(0)
        y = normalize(x.double(), float(epsilon)).float()
        if w is not None:
            y = y * w
        if b is not None:
            y = y + b
        return y

    return _device_op.run(op, inputs, [(t.shape, t.dtype, t.layout, config)], compute, cbs=6, program=op)


def layer_norm(input_tensor, *, epsilon=1e-12, weight=None, bias=None, residual_input_tensor=None,
               memory_config=None, program_config=None, compute_kernel_config=None, **ignored):
    def normalize(x, eps):
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return (x - mean) / (var + eps).sqrt()

    return _norm("layer_norm", input_tensor, epsilon, weight, bias, residual_input_tensor, memory_config, normalize)


def rms_norm(input_tensor, *, epsilon=1e-12, weight=None, bias=None, residual_input_tensor=None,
             memory_config=None, program_config=None, compute_kernel_config=None, **ignored):
    def normalize(x, eps):
        return x / ((x * x).mean(dim=-1, keepdim=True) + eps).sqrt()

    return _norm("rms_norm", input_tensor, epsilon, weight, bias, residual_input_tensor, memory_config, normalize)


def _rms_norm_golden(input_tensor, weight=None, bias=None, *, epsilon=1e-12, residual_input_tensor=None, **ignored):
    import torch

    if residual_input_tensor is not None:
        input_tensor = input_tensor + residual_input_tensor
    variance = input_tensor.to(torch.float32).pow(2).mean(-1, keepdim=True)
    out = input_tensor * torch.rsqrt(variance + epsilon)
    if weight is not None:
        if weight.dtype in (torch.float16, torch.bfloat16):
            out = out.to(weight.dtype)
        out = weight * out
    if bias is not None:
        out = out + bias
    return out


def _layer_norm_golden(input_tensor, weight=None, bias=None, *, epsilon=1e-12, residual_input_tensor=None,
                       **ignored):
    import torch

    if residual_input_tensor is not None:
        input_tensor = input_tensor + residual_input_tensor
    width = input_tensor.shape[-1]
    return torch.nn.functional.layer_norm(input_tensor.float(), (width,),
                                          weight.float().reshape(width) if weight is not None else None,
                                          bias.float().reshape(width) if bias is not None else None,
                                          eps=epsilon).to(input_tensor.dtype)


def _softmax_golden(input_tensor, dim=-1, **ignored):
    import torch

    return torch.softmax(input_tensor.float(), dim).to(input_tensor.dtype)


GOLDEN = {rms_norm: _rms_norm_golden, layer_norm: _layer_norm_golden, softmax: _softmax_golden}
