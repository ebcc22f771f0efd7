"""matmul and linear: (..., M, K) x (..., K, N) with the batch dims broadcast, as ttnn.matmul. The output goes
to DRAM interleaved unless memory_config= says otherwise (ttnn's default), in dtype= when given."""

from ... import _allocmon
from ..errors import not_emulated
from ..tensor import device_tensor
from ..types import Shape, check_sub_device_cores
from . import _device_op
from .eltwise import activation_function

__all__ = ["matmul", "linear", "addmm"]

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


def _fused_activation(op, program_config, activation):
    """The activation a matmul applies (None, a name such as "relu", a UnaryOpType or UnaryWithParam):
    `activation=`, or the program config's fused_activation (applied by the matmul's packer on hardware). Both
    naming the same one apply it once, as ttnn does."""
    fused = getattr(program_config, "fused_activation", None)
    if fused is None:
        return activation
    if activation is not None and _activation_name(activation) != _activation_name(fused):
        raise not_emulated(f"ttnn.{op}(..., activation={activation!r}) with fused_activation={fused!r}")
    return fused


def _activation_name(spec):
    kind = getattr(spec, "op_type", spec)
    return str(getattr(kind, "value", kind)).lower()


def _check_in1_dual_sender(op, program_config, a, b, bias):
    """A 2D-mcast config with in1_dual_sender (two in1 senders per column, each multicasting half of every K block)
    needs the interleaved no-bias path, transpose_mcast off, an even in0_block_w and at least 3 core rows with no
    M padding, as ttnn validates it."""
    if not getattr(program_config, "in1_dual_sender", False):
        return
    name = f"ttnn.{op}: in1_dual_sender"
    if bias is not None:
        raise RuntimeError(f"{name} does not support bias")
    if getattr(program_config, "transpose_mcast", False):
        raise RuntimeError(f"{name} needs transpose_mcast=False")
    if a._memory_config.is_sharded() or b._memory_config.is_sharded():
        raise RuntimeError(f"{name} needs interleaved inputs")
    block_w = int(getattr(program_config, "in0_block_w", 0))
    if block_w % 2:
        raise RuntimeError(f"{name} needs an even in0_block_w, got {block_w}")
    rows = 1
    for d in (a.shape[:-1] if getattr(program_config, "fuse_batch", True) else a.shape[-2:-1]):
        rows *= int(d)
    m_tiles = -(-rows // 32)
    per_core_m = int(getattr(program_config, "per_core_M", 1)) or 1
    core_rows = -(-m_tiles // per_core_m)
    if core_rows < 3 or m_tiles % per_core_m:
        raise RuntimeError(f"{name} needs at least 3 core rows with no M padding, got {m_tiles} M tiles over "
                           f"per_core_M {per_core_m}")


def _bias_rows(bias, shape):
    """A tile-layout bias one tile high ((..., 32, N)) is broadcast from its first row, as ttnn's fused bias
    reads it; any other bias broadcasts as torch does."""
    if bias.layout.value == "tile" and len(bias.shape) >= 2 and bias.shape[-2] == 32 and shape[-2] != 32:
        return True
    return False


def _run(op, input_tensor_a, input_tensor_b, bias, transpose_a, transpose_b, memory_config, dtype, activation,
         program_config=None, sub_device_id=None):
    activation = _fused_activation(op, program_config, activation)
    a = _device_op.device_input(input_tensor_a, op)
    b = _device_op.device_input(input_tensor_b, op)
    # The cores the program may use: the config's allowed_worker_cores inside the sub-device it runs on.
    check_sub_device_cores(a._mesh, sub_device_id, getattr(program_config, "allowed_worker_cores", None),
                           f"ttnn.{op}")
    inputs = [a, b]
    if bias is not None:
        inputs.append(_device_op.device_input(bias, op))
    shape = _output_shape(op, a.shape, b.shape, transpose_a, transpose_b)
    _check_in1_dual_sender(op, program_config, a, b, bias)
    swiglu = bool(getattr(program_config, "fuse_swiglu", False))
    if swiglu:
        if bias is not None or activation is not None or transpose_a or transpose_b:
            raise not_emulated(f"ttnn.{op} with fuse_swiglu and a bias, an activation or a transposed input")
        if shape[-1] % 64:
            raise RuntimeError(f"ttnn.{op}: fuse_swiglu needs in1's width in pairs of tiles (a multiple of 64), got "
                               f"{shape[-1]}")
        shape = Shape(list(shape[:-1]) + [shape[-1] // 2])
    first_row = bias is not None and _bias_rows(bias, shape)
    if bias is not None:
        bias_shape = list(bias.shape)
        if first_row:
            bias_shape[-2] = 1
        try:
            __import__("torch").broadcast_shapes(tuple(shape), tuple(bias_shape))
        except RuntimeError:
            raise RuntimeError(f"ttnn.{op}: the bias {bias.shape!r} does not broadcast to {shape!r}") from None
    act = activation_function(activation, op)
    config = memory_config if memory_config is not None else _device_op.dram_interleaved()
    config = _device_op.resolve_output_memory(op, config, shape, inputs)
    out_dtype = dtype or a.dtype
    _device_op.check_dtype_layout(out_dtype, a.layout, op)
    simple = (bias is None and activation is None and not swiglu and not transpose_a and not transpose_b and out_dtype == a.dtype
              and len(a.shape) >= 2 and (len(b.shape) == 2 or tuple(a.shape[:-2]) == tuple(b.shape[:-2]))
              and tuple(a.shape) == tuple(a._device.shard_shape) and tuple(b.shape) == tuple(b._device.shard_shape))
    if simple:  # OpenBLAS on every device at once, in C++
        native = _allocmon.matmul(a._device, b._device, buffer_type=config.buffer_type.value, shards=config._shards)
        return device_tensor(native, out_dtype, a.layout, a._mesh, config, shape)

    def compute(x, y, *rest):
        if transpose_a:
            x = x.transpose(-2, -1)
        if transpose_b:
            y = y.transpose(-2, -1)
        z = x @ y
        if swiglu:  # in1's tiles of columns alternate gate, up: the output is silu(gate) * up
            pairs = z.reshape(*z.shape[:-1], z.shape[-1] // 64, 2, 32)
            gate, up = pairs[..., 0, :], pairs[..., 1, :]
            return (gate * gate.sigmoid() * up).reshape(*z.shape[:-1], z.shape[-1] // 2)
        if rest:
            z = z + (rest[0][..., :1, :] if first_row else rest[0])
        return act(z)

    return _device_op.run(op, inputs, [(shape, out_dtype, a.layout, config)], compute, cbs=3,
                          kernel_bytes=_device_op.MATMUL_KERNEL_BYTES, program="matmul")


def matmul(input_tensor_a, input_tensor_b, *, transpose_a=False, transpose_b=False, memory_config=None, dtype=None,
           activation=None, core_grid=None, program_config=None, compute_kernel_config=None, sub_device_id=None,
           **ignored):
    """core_grid / program_config / compute_kernel_config choose how hardware splits the work; the
    emulated mesh takes them and computes the same values. sub_device_id= names the loaded sub-device it runs on
    (its cores must hold the program config's allowed_worker_cores)."""
    return _run("matmul", input_tensor_a, input_tensor_b, None, transpose_a, transpose_b, memory_config, dtype,
                activation, program_config, sub_device_id)


def linear(input_tensor_a, input_tensor_b, *, bias=None, transpose_a=False, transpose_b=False, memory_config=None,
           dtype=None, activation=None, core_grid=None, program_config=None, compute_kernel_config=None,
           sub_device_id=None, **ignored):
    """input_tensor_a @ input_tensor_b + bias (broadcast), then the activation if one is named."""
    return _run("linear", input_tensor_a, input_tensor_b, bias, transpose_a, transpose_b, memory_config, dtype,
                activation, program_config, sub_device_id)


def addmm(input_tensor, mat1_tensor, mat2_tensor, *, alpha=1.0, beta=1.0, memory_config=None, dtype=None,
          program_config=None, compute_kernel_config=None, core_grid=None, output_tile=None,
          optional_output_tensor=None, **ignored):
    """beta * input_tensor + alpha * (mat1_tensor @ mat2_tensor), as torch.addmm (input broadcast to the
    product's shape; ignored when beta is 0). The output goes to DRAM interleaved unless memory_config= says
    otherwise, or is written over optional_output_tensor (in its dtype)."""
    op = "addmm"
    if float(alpha) == 0.0:
        raise RuntimeError("ttnn.addmm: alpha parameter cannot be 0")
    tensors = [_device_op.device_input(x, op) for x in (input_tensor, mat1_tensor, mat2_tensor)]
    supported = ("bfloat16", "float32", "bfloat8_b")
    if any(x.dtype.value not in supported for x in tensors):
        raise RuntimeError("ttnn.addmm: only ttnn.bfloat16, ttnn.float32 and ttnn.bfloat8_b types are supported")
    c, a, b = tensors
    if len(a.shape) != 2 or len(b.shape) != 2:
        raise RuntimeError(f"ttnn.addmm: mat1_tensor and mat2_tensor must be 2-D, got {a.shape!r} and {b.shape!r}")
    shape = _output_shape(op, a.shape, b.shape, False, False)
    use_input = float(beta) != 0.0
    if use_input:
        try:
            if tuple(__import__("torch").broadcast_shapes(tuple(c.shape), tuple(shape))) != tuple(shape):
                raise RuntimeError
        except RuntimeError:
            raise RuntimeError(f"ttnn.addmm: input_tensor must have shape matching one of result of mat1_tensor @ "
                               f"mat2_tensor {tuple(shape)}, got {tuple(c.shape)}") from None
    inputs = ([c] if use_input else []) + [a, b]
    alpha, beta = float(alpha), float(beta)

    def compute(*values):
        values = list(values)
        base = values.pop(0) if use_input else None
        x, y = values
        z = alpha * (x.double() @ y.double())
        if base is not None:
            z = z + beta * base.double()
        return z.float()

    if optional_output_tensor is not None:
        out = _device_op.device_input(optional_output_tensor, op)
        if tuple(out.shape) != tuple(shape):
            raise RuntimeError(f"ttnn.addmm: optional_output_tensor {out.shape!r} is not the result's shape "
                               f"{tuple(shape)}")
        return _device_op.run(op, inputs, None, compute, cbs=4, kernel_bytes=_device_op.MATMUL_KERNEL_BYTES,
                              program=op, in_place=out, attributes=(alpha, beta))
    config = memory_config if memory_config is not None else _device_op.dram_interleaved()
    out_dtype = dtype or a.dtype
    _device_op.check_dtype_layout(out_dtype, a.layout, op)
    return _device_op.run(op, inputs, [(shape, out_dtype, a.layout, config)], compute, cbs=4,
                          kernel_bytes=_device_op.MATMUL_KERNEL_BYTES, program=op, attributes=(alpha, beta))
