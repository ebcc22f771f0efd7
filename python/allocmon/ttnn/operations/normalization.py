"""softmax, layer_norm and rms_norm over the last dim (optionally after adding a residual), as ttnn computes
them; weights and biases broadcast (a (1, W) tile tensor or any tensor with W values)."""

import enum as _enum
import hashlib as _hashlib

from ..errors import not_emulated
from ..types import Shape
from . import _device_op

__all__ = ["softmax", "layer_norm", "rms_norm", "scale_mask_softmax", "softmax_backward", "batch_norm",
           "layernorm_fused_rm", "rms_norm_pre_all_gather", "rms_norm_post_all_gather",
           "create_layer_norm_reciprocals", "LayerNormType", "DistributedLayerNormStage", "LayerNormParams",
           "LayerNormInputs", "LayerNormDeviceOperation", "LayerNormMultiCoreProgramFactory",
           "LayerNormShardedProgramFactory", "create_layernorm_program_config", "group_norm",
           "create_group_norm_input_mask", "create_group_norm_input_negative_mask",
           "create_group_norm_weight_bias_rm", "dram_group_norm_virtual_columns", "dram_group_norm_params_from_torch",
           "determine_expected_group_norm_dram_grid_size"]


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


def scale_mask_softmax(input_tensor, scale=None, mask=None, *, memory_config=None, is_causal_mask=False,
                       program_config=None, compute_kernel_config=None, numeric_stable=False, **ignored):
    """softmax(input * scale + mask) over the last dim; the mask broadcasts (a (b, 1, 1, W) padding mask or a
    full causal mask)."""
    t = _device_op.device_input(input_tensor, "scale_mask_softmax")
    inputs = [t] + ([_device_op.device_input(mask, "scale_mask_softmax")] if mask is not None else [])
    config = _device_op.output_memory(memory_config, t)
    factor = None if scale is None else float(scale)

    def compute(x, *rest):
        if factor is not None:
            x = x * factor
        if rest:
            x = x + rest[0]
        return x.softmax(dim=-1)

    return _device_op.run("scale_mask_softmax", inputs, [(t.shape, t.dtype, t.layout, config)], compute, cbs=5,
                          program="scale_mask_softmax", attributes=(factor, bool(is_causal_mask)))


def _softmax_backward(op, softmax_output, grad, dim, memory_config):
    y = _device_op.device_input(softmax_output, op)
    g = _device_op.device_input(grad, op)
    if tuple(y.shape) != tuple(g.shape):
        raise RuntimeError(f"ttnn.{op}: the output {y.shape!r} and its gradient {g.shape!r} differ")
    d = dim % len(y.shape)
    config = _device_op.output_memory(memory_config, y)

    def compute(out, grad_out):  # dL/dx = y * (dL/dy - sum(y * dL/dy))
        out, grad_out = out.double(), grad_out.double()
        return (out * (grad_out - (out * grad_out).sum(dim=d, keepdim=True))).float()

    return _device_op.run(op, [y, g], [(y.shape, y.dtype, y.layout, config)], compute, cbs=5, program=op,
                          attributes=d)


def softmax_backward(softmax_output, grad, dim=-1, *, memory_config=None, compute_kernel_config=None, **ignored):
    """The gradient of softmax from its output y and the output's gradient: y * (grad - sum(y * grad, dim))."""
    return _softmax_backward("softmax_backward", softmax_output, grad, dim, memory_config)


def batch_norm(input_tensor, *, running_mean=None, running_var=None, training=False, eps=1e-05, momentum=0.1,
               weight=None, bias=None, output=None, memory_config=None, compute_kernel_config=None, **ignored):
    """Batch norm over (N, C, H, W) per channel C. training=True normalizes with the batch's statistics and
    updates running_mean / running_var in place (running = (1 - momentum) * running + momentum * batch, the
    variance unbiased, as torch); otherwise it uses the running statistics. Statistics are (1, C, 1, 1)."""
    op = "batch_norm"
    t = _device_op.device_input(input_tensor, op)
    if len(t.shape) != 4:
        raise RuntimeError(f"ttnn.batch_norm: expects a rank-4 (N, C, H, W) input, got {t.shape!r}")
    if output is not None:
        raise not_emulated("ttnn.batch_norm(..., output=)")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("ttnn.batch_norm: running_mean and running_var are required when training is False")
    stats = [running_mean, running_var, weight, bias]
    has = [s is not None for s in stats]
    inputs = [t] + [_device_op.device_input(s, op) for s in stats if s is not None]
    channels = t.shape[1]
    config = _device_op.output_memory(memory_config, t)
    eps, momentum = float(eps), float(momentum)

    def per_channel(value):
        return value.reshape(1, channels, 1, 1)

    def batch_stats(x):
        x = x.double()
        return x.mean(dim=(0, 2, 3), keepdim=True), x.var(dim=(0, 2, 3), keepdim=True, unbiased=False)

    def compute(x, *rest):
        rest = list(rest)
        given = [per_channel(rest.pop(0)).double() if h else None for h in has]
        if training:
            mean, var = batch_stats(x)
        else:
            mean, var = given[0], given[1]
        y = (x.double() - mean) / (var + eps).sqrt()
        if given[2] is not None:
            y = y * given[2]
        if given[3] is not None:
            y = y + given[3]
        return y.float()

    result = _device_op.run(op, inputs, [(t.shape, t.dtype, t.layout, config)], compute, cbs=8, program=op,
                            attributes=(bool(training), eps))
    if training:  # RunningStatistics: one program writes the updated statistics over the given tensors
        n = t.shape[0] * t.shape[2] * t.shape[3]
        targets = [s for s in (running_mean, running_var) if s is not None]
        which = (running_mean is not None, running_var is not None)

        def update(x, *old):
            mean, var = batch_stats(x)
            batches = [b for b, present in zip((mean, var * n / max(n - 1, 1)), which) if present]
            return tuple(((1 - momentum) * o.double() + momentum * b.reshape(o.shape)).float()
                         for o, b in zip(old, batches))

        if targets:
            _device_op.run("running_statistics", [t] + targets, None, update, cbs=4, in_place=targets,
                           attributes=(which, momentum))
    return result


def layernorm_fused_rm(input_tensor, gamma, beta, epsilon=1e-5, *, memory_config=None, **ignored):
    """layer_norm of a ROW_MAJOR input with ROW_MAJOR gamma / beta of W values, the output ROW_MAJOR (ttnn
    tilizes, normalizes and untilizes in one program); height and width must be multiples of 32."""
    op = "layernorm_fused_rm"
    t = _device_op.device_input(input_tensor, op)
    if t.layout.value != "row_major":
        raise RuntimeError(f"ttnn.{op}: the input must be in ROW_MAJOR layout, got {t.layout!r}")
    if len(t.shape) < 2:
        raise RuntimeError(f"ttnn.{op}: the input must have rank 2 or more, got {t.shape!r}")
    if t.shape[-1] % 32 or t.shape[-2] % 32:
        raise RuntimeError(f"ttnn.{op}: the height and width must be multiples of 32 (tile-aligned), got "
                           f"{t.shape!r}")
    return layer_norm(t, epsilon=epsilon, weight=gamma, bias=beta, memory_config=memory_config)


def rms_norm_pre_all_gather(input_tensor, *, residual_input_tensor=None, dtype=None, memory_config=None,
                            compute_kernel_config=None, program_config=None, use_2d_core_grid=None, **ignored):
    """The first half of a distributed rms_norm: each row's sum of squares over this device's width, in the
    first column of a one-tile-wide (..., H, 32) tensor (the other columns zero), to be gathered over the devices
    along the last dim and passed to rms_norm_post_all_gather."""
    op = "rms_norm_pre_all_gather"
    t = _device_op.device_input(input_tensor, op)
    if t.layout.value != "tile":
        raise RuntimeError(f"ttnn.{op}: the input must be in TILE layout")
    inputs = [t] + ([_device_op.device_input(residual_input_tensor, op)] if residual_input_tensor is not None
                    else [])
    shape = Shape(list(t.shape[:-1]) + [32])
    config = _device_op.output_memory(memory_config, t, same_shape=False)
    out_dtype = dtype or t.dtype

    def compute(x, *rest):
        if rest:
            x = x + rest[0]
        out = x.new_zeros(tuple(shape))
        out[..., 0] = (x.double() ** 2).sum(dim=-1).float()
        return out

    return _device_op.run(op, inputs, [(shape, out_dtype, t.layout, config)], compute, cbs=4, program=op)


def rms_norm_post_all_gather(input_tensor, stats, *, epsilon=1e-12, weight=None, bias=None, memory_config=None,
                             compute_kernel_config=None, program_config=None, dtype=None, use_2d_core_grid=None,
                             **ignored):
    """The second half: x / sqrt(sum of the gathered sums of squares / (W * devices) + epsilon) * weight + bias,
    with `stats` holding one tile (sum in column 0) per device along the last dim."""
    op = "rms_norm_post_all_gather"
    t = _device_op.device_input(input_tensor, op)
    s = _device_op.device_input(stats, op)
    if s.shape[-1] % 32 or tuple(s.shape[:-1]) != tuple(t.shape[:-1]):
        raise RuntimeError(f"ttnn.{op}: stats {s.shape!r} must be (..., H, 32 * devices) for input {t.shape!r}")
    devices = s.shape[-1] // 32
    extras = [x for x in (weight, bias) if x is not None]
    inputs = [t, s] + [_device_op.device_input(x, op) for x in extras]
    width = t.shape[-1]
    has = (weight is not None, bias is not None)
    config = _device_op.output_memory(memory_config, t)
    out_dtype = dtype or t.dtype

    def compute(x, st, *rest):
        rest = list(rest)
        total = st.double().reshape(*st.shape[:-1], devices, 32)[..., 0].sum(dim=-1, keepdim=True)
        y = x.double() / (total / (width * devices) + float(epsilon)).sqrt()
        if has[0]:
            y = y * _affine(rest.pop(0), width).double()
        if has[1]:
            y = y + _affine(rest.pop(0), width).double()
        return y.float()

    return _device_op.run(op, inputs, [(t.shape, out_dtype, t.layout, config)], compute, cbs=6, program=op)


def create_layer_norm_reciprocals(device, core_range_set, width):
    """The Welford layer_norm's lookup table, as ttnn makes it: float32 ROW_MAJOR (cores, W), one row of
    1 / (i + 1) for i < W per core, height-sharded in L1 one row per core of `core_range_set`."""
    import numpy as np

    from ..types import (BufferType, MemoryConfig, ShardOrientation, ShardSpec, TensorMemoryLayout,
                         ROW_MAJOR_LAYOUT, float32)
    from .core import from_torch

    cores = core_range_set.num_cores()
    width = int(width)
    row = 1.0 / np.arange(1, width + 1, dtype=np.float64)
    values = np.tile(row.astype(np.float32), (cores, 1))
    config = MemoryConfig(TensorMemoryLayout.HEIGHT_SHARDED, BufferType.L1,
                          ShardSpec(core_range_set, (1, width), ShardOrientation.ROW_MAJOR))
    return from_torch(values, float32, layout=ROW_MAJOR_LAYOUT, device=device, memory_config=config)


# --- layer norm's device operation, as ttnn exposes it: its parameters, inputs and program hash ---------------

class LayerNormType(_enum.Enum):
    LAYERNORM = 0
    RMSNORM = 1


class DistributedLayerNormStage(_enum.Enum):
    NOT_DISTRIBUTED = 0
    PRE_ALL_GATHER = 1
    POST_ALL_GATHER = 2


class LayerNormParams:
    """The attributes of one layer norm / rms norm program (ttnn's LayerNormDeviceOperation attributes)."""

    def __init__(self):
        from ..configs import LayerNormDefaultProgramConfig

        self.norm_type = LayerNormType.LAYERNORM
        self.distributed_norm_stage = DistributedLayerNormStage.NOT_DISTRIBUTED
        self.eps = 1e-12
        self.output_mem_config = _device_op.dram_interleaved()
        self.program_config = LayerNormDefaultProgramConfig()
        self.compute_kernel_config = None
        self.dtype = None

    def __repr__(self):
        return "LayerNormParams(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")"


class LayerNormInputs:
    """The tensors of one layer norm program; a default one has no input tensor yet."""

    def __init__(self, input=None):  # noqa: A002 (ttnn's keyword)
        self.input = input
        self.residual_input_tensor = None
        self.weight = None
        self.bias = None
        self.stats = None
        self.recip_tensor = None


def _tensor_key(tensor):
    """What of a tensor selects a program: its spec (shape, dtype, layout, memory config); none for no tensor."""
    if tensor is None:
        return None
    return _device_op._spec(tensor.shape, tensor.dtype, tensor.layout, tensor.memory_config())


class LayerNormMultiCoreProgramFactory:
    @staticmethod
    def default_core_range(device):
        """Every worker core of the device's compute grid."""
        from ..types import CoreCoord, CoreRange, CoreRangeSet

        grid = device.compute_with_storage_grid_size()
        return CoreRangeSet([CoreRange(CoreCoord(0, 0), CoreCoord(grid.x - 1, grid.y - 1))])


class LayerNormShardedProgramFactory:
    pass


class LayerNormDeviceOperation:
    @staticmethod
    def compute_program_hash(operation_attributes, tensor_args):
        """The program cache's hash of a layer norm program: every attribute and the spec of every tensor given
        (a missing or default tensor hashes as none), as a 64-bit integer stable across processes."""
        attrs = operation_attributes
        fields = [attrs.norm_type, attrs.distributed_norm_stage, float(attrs.eps), attrs.output_mem_config,
                  attrs.program_config, attrs.compute_kernel_config, attrs.dtype]
        tensors = [_tensor_key(getattr(tensor_args, name, None)) for name in
                   ("input", "residual_input_tensor", "weight", "bias", "stats", "recip_tensor")]
        text = "LayerNormDeviceOperation;" + ";".join(repr(f) for f in fields + tensors)
        return int.from_bytes(_hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")

    @staticmethod
    def select_program_factory(operation_attributes, tensor_args):
        """The sharded factory for a sharded input, else the interleaved multi-core one."""
        sharded = tensor_args.input is not None and tensor_args.input.memory_config().is_sharded()
        return LayerNormShardedProgramFactory() if sharded else LayerNormMultiCoreProgramFactory()

    @staticmethod
    def compute_output_specs(operation_attributes, tensor_args):
        """The output's spec: the input's shape in TILE layout, in the attributes' dtype (else the input's) and
        output memory config."""
        from ..types import TensorSpec

        t = tensor_args.input
        if t is None:
            raise RuntimeError("LayerNormDeviceOperation.compute_output_specs: the inputs have no input tensor")
        return TensorSpec(t.shape, operation_attributes.dtype or t.dtype, t.layout,
                          operation_attributes.output_mem_config)


def create_layernorm_program_config(shard_spec=None, tile_height=32, tile_width=32):
    """A layer norm program config for a shard spec: none gives the default (interleaved) config; a shard spec
    gives a sharded config over its grid's bounding box, one shard's tiles per core (subblock_w 1, not in
    place)."""
    from ..configs import LayerNormDefaultProgramConfig, LayerNormShardedMultiCoreProgramConfig
    from ..types import CoreCoord

    if shard_spec is None:
        return LayerNormDefaultProgramConfig()
    xs = [c for r in shard_spec.grid.ranges for c in (r.start.x, r.end.x)]
    ys = [c for r in shard_spec.grid.ranges for c in (r.start.y, r.end.y)]
    grid = CoreCoord(max(xs) - min(xs) + 1, max(ys) - min(ys) + 1)
    return LayerNormShardedMultiCoreProgramConfig(compute_with_storage_grid_size=grid, subblock_w=1,
                                                  block_h=shard_spec.shape[0] // int(tile_height),
                                                  block_w=shard_spec.shape[1] // int(tile_width), inplace=False)


# --- group_norm: (N, 1, H*W, C) channels-last inputs, C split into groups -----------------------------------

_TILE = 32


def _ceil32(n):
    return -(-int(n) // _TILE) * _TILE


def _num_virtual_cols(grid_x, num_groups, num_channels):
    """How many columns of cores split the channels on the interleaved (DRAM) path: the most, up to grid_x and
    num_groups, that divide the groups evenly and give each a whole number of tiles of channels (0: none)."""
    nvc = min(int(grid_x), int(num_groups))
    while nvc > 0 and ((int(num_channels) // nvc) % _TILE or int(num_groups) % nvc):
        nvc -= 1
    return nvc


def _dram_grid_ok(grid_x, grid_y, num_channels, num_groups, height_tiles, num_batches):
    nvc = _num_virtual_cols(grid_x, num_groups, num_channels)
    if nvc == 0 or grid_x // nvc == 0:
        return False
    rows = (grid_x // nvc) * grid_y
    return (height_tiles >= rows and height_tiles % rows == 0 and
            (rows < num_batches or rows % num_batches == 0))


def _find_dram_grid(max_x, max_y, num_channels, num_groups, input_nhw, num_batches=1):
    height_tiles = -(-int(input_nhw) // _TILE)
    for gx in range(int(max_x), 0, -1):
        nvc = _num_virtual_cols(gx, num_groups, num_channels)
        if nvc == 0 or gx // nvc == 0:
            continue
        for gy in range(min(height_tiles // (gx // nvc), int(max_y)), 0, -1):
            if _dram_grid_ok(gx, gy, num_channels, num_groups, height_tiles, num_batches):
                return gx, gy
    return None


def determine_expected_group_norm_dram_grid_size(*, device, num_channels, num_groups, input_nhw, num_batches=1):
    """The largest core grid (widest first) within the device's on which the interleaved group_norm can split
    (N, 1, input_nhw, num_channels): whole tiles of channels per virtual column and of rows per virtual row."""
    from ..types import CoreGrid

    if num_channels % num_groups or num_channels % _TILE:
        raise RuntimeError(f"determine_expected_group_norm_dram_grid_size: {num_channels} channels must be a "
                           f"multiple of 32 and of the {num_groups} groups")
    grid = device.compute_with_storage_grid_size()
    found = _find_dram_grid(grid.x, grid.y, num_channels, num_groups, input_nhw, num_batches)
    if found is None:
        raise RuntimeError(f"group_norm: no core grid within {grid.x}x{grid.y} splits {num_channels} channels in "
                           f"{num_groups} groups and {input_nhw} rows evenly")
    return CoreGrid(y=found[1], x=found[0])


def dram_group_norm_virtual_columns(core_grid, num_channels, num_groups):
    """The number of virtual columns the interleaved group_norm splits the channels over on core_grid."""
    nvc = _num_virtual_cols(core_grid.x, num_groups, num_channels)
    if nvc <= 0:
        raise RuntimeError(f"dram_group_norm_virtual_columns: no valid column count for grid_x={core_grid.x}, "
                           f"num_channels={num_channels}, num_groups={num_groups}")
    return nvc


def create_group_norm_weight_bias_rm(input_tensor, num_channels, num_cores_x):
    """A torch gamma / beta of num_channels values as group_norm reads it row-major: one chunk of channels per
    core across the channels, each zero-padded to whole rows of 32, as (1, 1, rows, 32)."""
    import torch

    per_core = int(num_channels) // int(num_cores_x)
    chunks = input_tensor.reshape(-1, per_core)
    chunks = torch.nn.functional.pad(chunks, (0, _ceil32(per_core) - per_core))
    return chunks.reshape(1, 1, -1, _TILE)


def _group_mask(num_channel, num_groups, num_cores_across_channel, negative, rows_in_last_tile=0):
    """(1, groups, 32, 32 * tiles): for each group, which columns of the tiles a group spans on its core are its
    channels (1, or 0 in the negative mask); with rows_in_last_tile a second set follows with the rows past it
    zeroed, for the last row-tile of a height that is not whole tiles."""
    import torch

    num_channel, num_groups = int(num_channel), int(num_groups)
    cores = int(num_cores_across_channel)
    if cores <= 0 or num_groups % cores or num_channel % num_groups:
        raise RuntimeError(f"create_group_norm_input_mask: {num_groups} groups over {cores} cores of "
                           f"{num_channel} channels do not split evenly")
    group = num_channel // num_groups
    span = max((start + group - 1) // _TILE - start // _TILE + 1 for start in range(0, num_channel, group))
    width = _TILE * span
    mask = torch.full((1, num_groups, _TILE, width), 1.0 if negative else 0.0)
    per_core = num_groups // cores
    for g in range(num_groups):
        start = ((g % per_core) * group) % _TILE
        mask[:, g, :, start:min(start + group, width)] = 0.0 if negative else 1.0
    if rows_in_last_tile:
        last = mask.clone()
        last[:, :, int(rows_in_last_tile):, :] = 0.0
        mask = torch.cat([mask, last], dim=1)
    return mask


def _host_mask(values, data_type):
    from ..types import TILE_LAYOUT, bfloat16
    from .core import from_torch

    return from_torch(values, data_type or bfloat16, layout=TILE_LAYOUT)


def create_group_norm_input_mask(num_channel, num_groups, num_cores_across_channel, data_type=None,
                                 tile_height=32, tile_width=32, rows_in_last_tile=0):
    """group_norm's input mask as a host tensor (TILE layout, data_type, bfloat16 by default)."""
    if int(tile_height) != _TILE or int(tile_width) != _TILE:
        raise not_emulated("create_group_norm_input_mask with tiles other than 32x32")
    return _host_mask(_group_mask(num_channel, num_groups, num_cores_across_channel, False, rows_in_last_tile),
                      data_type)


def create_group_norm_input_negative_mask(num_channel, num_groups, num_cores_across_channel, data_type=None,
                                          tile_height=32, tile_width=32):
    if int(tile_height) != _TILE or int(tile_width) != _TILE:
        raise not_emulated("create_group_norm_input_negative_mask with tiles other than 32x32")
    return _host_mask(_group_mask(num_channel, num_groups, num_cores_across_channel, True), data_type)


def dram_group_norm_params_from_torch(torch_params, channels_per_device, groups_per_device, device, mesh_axis=None,
                                      core_grid=None, return_mask=True, dtype=None):
    """torch gamma / beta (one tensor or a list) as row-major device tensors for the interleaved group_norm
    (split along mesh_axis of the mesh when given), and its input mask when return_mask."""
    import torch

    from ..types import bfloat16
    from .core import from_torch, to_device

    if core_grid is None and device is None:
        raise RuntimeError("dram_group_norm_params_from_torch: give a device or a core_grid")
    if channels_per_device % _TILE or channels_per_device % groups_per_device:
        raise RuntimeError(f"dram_group_norm_params_from_torch: channels_per_device {channels_per_device} must be "
                           f"divisible by 32 and by groups_per_device {groups_per_device}")
    dtype = dtype or bfloat16
    devices = 1 if mesh_axis is None else tuple(device.shape)[mesh_axis]
    cols = dram_group_norm_virtual_columns(core_grid or device.core_grid, channels_per_device, groups_per_device)
    single = isinstance(torch_params, torch.Tensor)
    prepared = []
    for param in ([torch_params] if single else torch_params):
        if param.numel() // devices != channels_per_device:
            raise RuntimeError(f"dram_group_norm_params_from_torch: {param.numel()} values over {devices} devices "
                               f"is not {channels_per_device} channels per device")
        host = torch.cat([create_group_norm_weight_bias_rm(chunk, channels_per_device, cols)
                          for chunk in param.chunk(devices)], dim=0)
        if mesh_axis is None:
            prepared.append(from_torch(host, dtype, device=device))
        else:
            from ..distributed import ShardTensor2dMesh

            dims = [None, None]
            dims[mesh_axis] = 0
            prepared.append(from_torch(host, dtype, device=device, mesh_mapper=ShardTensor2dMesh(
                device, mesh_shape=tuple(device.shape), dims=dims)))
    params = prepared[0] if single else prepared
    if not return_mask:
        return params
    mask = create_group_norm_input_mask(channels_per_device, groups_per_device, cols, dtype)
    return params, to_device(mask, device)


def _affine_channels(tensor, channels, cores):
    """The C values of a group_norm gamma / beta: a TILE (..., 32, C) tensor's first row, or a row-major
    (1, 1, rows, 32) one of per-core chunks padded to rows of 32."""
    if tensor.layout.value == "tile":
        return lambda v: v.reshape(-1, v.shape[-2], v.shape[-1])[0, 0, :channels]
    per_core = channels // cores
    if tensor.shape[-1] != _TILE or tensor.volume() != cores * _ceil32(per_core):
        raise RuntimeError(f"ttnn.group_norm: a row-major gamma / beta must be (1, 1, rows, 32) holding {cores} "
                           f"chunks of {per_core} channels each padded to rows of 32, got {tensor.shape!r}")
    return lambda v: v.reshape(cores, -1)[:, :per_core].reshape(-1)


def group_norm(input_tensor, *, num_groups, epsilon=1e-12, input_mask=None, weight=None, bias=None,
               reciprocals=None, memory_config=None, dtype=None, core_grid=None, inplace=True, output_layout=None,
               num_out_blocks=None, compute_kernel_config=None, negative_mask=None, use_welford=False, **ignored):
    """Group norm of an (N, 1, H*W, C) channels-last tensor: per batch and group of C / num_groups channels, the
    mean and (biased) variance over its H*W rows and channels (only the logical rows: tile padding takes no
    part), then gamma / beta per channel. Interleaved inputs split the channels over the core grid's virtual
    columns (the grid must split rows and channels evenly), sharded ones over the shard grid; a row-major gamma /
    beta holds one padded chunk per such column. inplace writes over a sharded input (same layout in and out)."""
    op = "group_norm"
    t = _device_op.device_input(input_tensor, op)
    num_groups = int(num_groups)
    layout = output_layout or t.layout
    if t.layout.value == "tile" and inplace:
        raise RuntimeError("ttnn.group_norm: In-place operation not supported: Tile layout requires non-inplace "
                           "tensors. (inplace=True)")
    if layout != t.layout and inplace:
        raise RuntimeError("ttnn.group_norm: In-place operation not allowed: Input and output tensor layouts differ")
    config = t._memory_config
    if config.memory_layout.value == "width_sharded":
        raise RuntimeError("ttnn.group_norm: Unsupported memory layout: Input tensor cannot be width-sharded.")
    if len(t.shape) != 4 or t.shape[1] != 1:
        raise RuntimeError(f"ttnn.group_norm: the input must be (N, 1, H*W, C), got {t.shape!r}")
    batches, hw, channels = t.shape[0], t.shape[2], t.shape[3]
    if channels % num_groups:
        raise RuntimeError(f"ttnn.group_norm: Number of channels ({channels}) must be divisible by the number of "
                           f"groups ({num_groups}).")
    padded_hw = _ceil32(hw) if t.layout.value == "tile" else hw
    if (batches * padded_hw) % _TILE:
        raise RuntimeError(f"ttnn.group_norm: The product of NHW dimensions ({batches * padded_hw}) must be "
                           "divisible by the tile size (32).")
    if (dtype or t.dtype) != t.dtype:
        raise RuntimeError(f"ttnn.group_norm: output dtype must match input dtype ({t.dtype!r}), got {dtype!r}")
    if reciprocals is not None and not use_welford:
        raise RuntimeError("ttnn.group_norm: Reciprocals tensor can only be provided when use_welford is True")
    if config.is_sharded():
        grid = core_grid
        spec = config.shard_spec
        if grid is None:
            xs = [c for r in spec.grid.ranges for c in (r.start.x, r.end.x)]
            ys = [c for r in spec.grid.ranges for c in (r.start.y, r.end.y)]
            from ..types import CoreGrid

            grid = CoreGrid(y=max(ys) - min(ys) + 1, x=max(xs) - min(xs) + 1)
        if config.memory_layout.value == "height_sharded":
            cores = 1
        else:
            cores = grid.x if spec.orientation.value == "row_major" else grid.y
    else:
        if inplace:
            raise RuntimeError("ttnn.group_norm: inplace groupnorm not supported for unsharded tensors")
        grid = core_grid or t._mesh.core_grid
        if not _dram_grid_ok(grid.x, grid.y, channels, num_groups, padded_hw // _TILE, batches):
            found = _find_dram_grid(grid.x, grid.y, channels, num_groups, hw, batches)
            hint = f"; the largest valid grid within it is x={found[0]}, y={found[1]}" if found else ""
            raise RuntimeError(f"ttnn.group_norm: Requested core_grid (x={grid.x}, y={grid.y}) is invalid for "
                               f"{channels} channels in {num_groups} groups over {padded_hw // _TILE} row-tiles and "
                               f"{batches} batches{hint}")
        cores = _num_virtual_cols(grid.x, num_groups, channels)
    for name, value in (("gamma", weight), ("beta", bias)):
        if value is not None and value.layout.value == "row_major" and value.shape[-1] != _TILE:
            raise RuntimeError(f"ttnn.group_norm: {name} tensor inner dimension must equal tile width (32), got "
                               f"{value.shape[-1]}")
    if weight is not None and bias is not None and weight.layout != bias.layout:
        raise RuntimeError("ttnn.group_norm: Gamma and beta must have the same layout")
    for name, mask in (("Input mask", input_mask), ("Negative mask", negative_mask)):
        if mask is None:
            continue
        m = _device_op.device_input(mask, op)
        if m.layout.value != "tile" or m.shape[1] not in (num_groups, 2 * num_groups) or m.shape[2] != _TILE or (
                m.shape[3] % _TILE):
            raise RuntimeError(f"ttnn.group_norm: {name} must be a TILE (1, {num_groups}, 32, 32 * k) tensor, got "
                               f"{m.shape!r} in {m.layout!r}")
    affine = [(x, _affine_channels(x, channels, cores)) for x in (weight, bias) if x is not None]
    has = (weight is not None, bias is not None)
    inputs = [t] + [_device_op.device_input(x, op) for x, _ in affine]
    eps = float(epsilon)

    def compute(x, *rest):
        rest = list(rest)
        x = x.double()
        grouped = x.reshape(batches, hw, num_groups, channels // num_groups)
        mean = grouped.mean(dim=(1, 3), keepdim=True)
        var = ((grouped - mean) ** 2).mean(dim=(1, 3), keepdim=True)
        y = ((grouped - mean) / (var + eps).sqrt()).reshape(x.shape)
        for present, index in zip(has, range(2)):
            if present:
                value = affine[sum(has[:index])][1](rest.pop(0)).double()
                y = y * value if index == 0 else y + value
        return y.float()

    attributes = (num_groups, eps, layout.value, cores, bool(use_welford))
    if inplace:
        return _device_op.run(op, inputs, None, compute, cbs=8, program=op, in_place=t, attributes=attributes)
    out_config = memory_config if memory_config is not None else _device_op.dram_interleaved()
    _device_op.check_dtype_layout(t.dtype, layout, op)
    return _device_op.run(op, inputs, [(t.shape, t.dtype, layout, out_config)], compute, cbs=8, program=op,
                          attributes=attributes)


GOLDEN = {rms_norm: _rms_norm_golden, layer_norm: _layer_norm_golden, softmax: _softmax_golden}
