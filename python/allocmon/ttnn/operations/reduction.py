"""Reductions over one dim, several, or all: sum, mean, max, min (keepdim=False by default, as in ttnn); and
ttnn's reduction-family sampling with the cores' random number generators manual_seed sets."""

import builtins as _builtins
import weakref as _weakref

from ... import _allocmon
from ..tensor import device_tensor
from ..types import Shape
from . import _device_op

__all__ = ["sum", "mean", "max", "min", "prod", "std", "var", "manual_seed", "sampling"]


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


# ---- the cores' random number generators: manual_seed and sampling ----

_SKIP_SEED = 0xFFFFFFFF  # a seed of UINT32_MAX leaves a core's generator as it is (ttnn skips rand_tile_init)
_USER_IDS = 32  # scalar user ids (core ids) run from 0 to 31
_generators = _weakref.WeakKeyDictionary()  # mesh -> {(device index, (x, y)): numpy Generator}


def _cores(mesh, sub_core_grids):
    """The cores a program runs on, in core-id order: sub_core_grids' ranges in turn (each row by row), else the
    device's compute grid row by row."""
    if sub_core_grids is None:
        grid = mesh.compute_with_storage_grid_size()
        return [(x, y) for y in range(grid.y) for x in range(grid.x)]
    cores = []
    for r in sub_core_grids.ranges:
        cores += [(x, y) for y in range(r.start.y, r.end.y + 1) for x in range(r.start.x, r.end.x + 1)]
    return cores


def _generator(mesh, device_index, core):
    """A core's generator; a core never seeded starts as if seeded with 0."""
    import numpy as np

    states = _generators.setdefault(mesh, {})
    key = (device_index, core)
    if key not in states:
        states[key] = np.random.Generator(np.random.PCG64(0))
    return states[key]


def _seed_core(mesh, device_index, core, seed):
    import numpy as np

    seed = int(seed) & 0xFFFFFFFF
    if seed != _SKIP_SEED:
        _generators.setdefault(mesh, {})[(device_index, core)] = np.random.Generator(np.random.PCG64(seed))


def _id_tensor(t, what):
    """A 1-D uint32 ROW_MAJOR tensor on a device (manual_seed's seeds and user_ids), checked as ttnn checks it."""
    from ..types import ROW_MAJOR_LAYOUT, uint32

    _device_op.device_input(t, "manual_seed")
    if t.dtype != uint32:
        raise RuntimeError(f"ttnn.manual_seed: {what} must be a ttnn.uint32 tensor, got {t.dtype!r}")
    if t.layout != ROW_MAJOR_LAYOUT:
        raise RuntimeError(f"ttnn.manual_seed: {what} must be in ROW_MAJOR_LAYOUT")
    if len(t.shape) != 1:
        raise RuntimeError(f"ttnn.manual_seed: {what} must be 1-D, got shape {tuple(t.shape)}")
    return t


def manual_seed(seeds, *, device=None, user_ids=None, sub_core_grids=None, **ignored):
    """Seeds the random number generators of a device's cores (the ones ttnn.sampling draws from): a scalar seed
    on every core of `device` (user_ids=None), on the core with that id (user_ids an int from 0 to 31) or on
    the cores a uint32 tensor of ids lists; a uint32 tensor of seeds goes with a tensor of ids of the same
    shape, seed i to core user_ids[i]. Core ids number the device's compute cores (or sub_core_grids') in
    order; a seed of UINT32_MAX leaves a core's generator as it is. Tensors give each device of their mesh its
    own values."""
    from ..tensor import Tensor

    seeds_tensor = isinstance(seeds, Tensor)
    ids_tensor = isinstance(user_ids, Tensor)
    if seeds_tensor and user_ids is not None and not ids_tensor:
        raise RuntimeError("Seeds were provided as a tensor, so user_ids must not be provided as a scalar.")
    if seeds_tensor and user_ids is None:
        raise RuntimeError("ttnn.manual_seed: seeds were provided as a tensor, so user_ids must be provided as a "
                           "tensor of the same shape")
    if seeds_tensor:
        _id_tensor(seeds, "seeds")
    if ids_tensor:
        _id_tensor(user_ids, "user_ids")
    if seeds_tensor and (tuple(seeds.shape) != tuple(user_ids.shape)):
        raise RuntimeError(f"ttnn.manual_seed: seeds {tuple(seeds.shape)} and user_ids {tuple(user_ids.shape)} "
                           "must have the same shape")
    if not seeds_tensor:
        seed = int(seeds)
        if not 0 <= seed <= 0xFFFFFFFF:
            raise RuntimeError(f"ttnn.manual_seed: a seed is a uint32, got {seeds!r}")
    if user_ids is not None and not ids_tensor and not 0 <= int(user_ids) < _USER_IDS:
        raise RuntimeError(f"ttnn.manual_seed: user_ids must be from 0 to {_USER_IDS - 1}, got {user_ids!r}")
    mesh = user_ids._mesh if ids_tensor else device
    if mesh is None:
        raise RuntimeError("ttnn.manual_seed: device must be provided when seeds is a scalar value")
    if ids_tensor and device is not None and device is not mesh:
        raise RuntimeError("ttnn.manual_seed: user_ids is on another device than device=")
    cores = _cores(mesh, sub_core_grids)
    strategy = ("tensor_seeds" if seeds_tensor else "scalar_seed_user_id_tensor" if ids_tensor else
                "scalar_seed_user_id" if user_ids is not None else "scalar_seed_all_cores")
    native = mesh._native
    key = _device_op.program_key(f"manual_seed_{strategy}", [t for t in (seeds, user_ids) if isinstance(t, Tensor)],
                                 [], (repr(sub_core_grids), None if seeds_tensor else int(seeds)))
    native.begin_program(key, 0, _device_op.DATA_MOVEMENT_KERNEL_BYTES)
    try:
        for d in range(native.get_num_devices()):
            if ids_tensor:
                ids = [int(v) for v in _allocmon.read_shard(user_ids._device, d).reshape(-1)]
                values = ([int(v) for v in _allocmon.read_shard(seeds._device, d).reshape(-1)] if seeds_tensor
                          else [int(seeds)] * len(ids))
                for core_id, core in enumerate(cores):
                    if core_id in ids:  # the first entry for a core id gives its seed
                        _seed_core(mesh, d, core, values[ids.index(core_id)])
            elif user_ids is not None:
                if int(user_ids) < len(cores):
                    _seed_core(mesh, d, cores[int(user_ids)], seeds)
            else:
                for core in cores:
                    _seed_core(mesh, d, core, seeds)
    finally:
        native.end_program(0)


def sampling(input_values_tensor, input_indices_tensor, k, p, temp, *, seed=None, sub_core_grids=None,
             output_tensor=None, **ignored):
    """Top-k / top-p sampling, one user per row (dim 2) on one core each: the user's values scaled by temp
    (1/T), its k largest kept and turned into probabilities by a softmax, then the smallest head of them whose
    cumulative probability is at most p (at least one); a uniform draw from the user's core's generator picks
    among them (the first whose cumulative probability exceeds it) and the output holds that entry of
    input_indices_tensor, shape [1, 1, 1, users], uint32 ROW_MAJOR. seed= first seeds every used core with it;
    without it the cores' generators go on from where manual_seed (or earlier draws) left them."""
    from ..types import ROW_MAJOR_LAYOUT, TILE_LAYOUT, bfloat16, int32, uint32

    values = _device_op.device_input(input_values_tensor, "sampling")
    indices = _device_op.device_input(input_indices_tensor, "sampling")
    k, p, temp = (_device_op.device_input(t, "sampling") for t in (k, p, temp))
    for t, what in ((values, "inputs"), (indices, "inputs")):
        if t._memory_config.is_sharded():
            raise RuntimeError(f"Only INTERLEAVED memory layout is supported for {what}!")
    if values.dtype != bfloat16:
        raise RuntimeError("Only BFLOAT16 is supported for inputs!")
    if values.layout != TILE_LAYOUT:
        raise RuntimeError("Only TILE_LAYOUT is supported for inputs!")
    if indices.dtype not in (uint32, int32):
        raise RuntimeError("Only UINT32 & INT32 dtypes are supported for input indices!")
    if indices.layout != ROW_MAJOR_LAYOUT:
        raise RuntimeError("Only ROW_MAJOR is supported for input indices!")
    shape = tuple(values.shape)
    if tuple(indices.shape) != shape:
        raise RuntimeError("Input values and indices must have the same shape!")
    if len(shape) != 4:
        raise RuntimeError(f"Sampling input_values must be rank-4; got rank {len(shape)}")
    if shape[0] != 1 or shape[1] != 1:
        raise RuntimeError(f"Sampling requires input dims 0 and 1 (N, C) to be 1; got {list(shape)}!")
    users, width = shape[2], shape[3]
    if not 1 <= users <= 32:
        raise RuntimeError(f"Sampling currently supports between 1 and 32 users (one core per user); got {users}!")
    tiles = width // 32
    if width == 0 or width % 32 or tiles & (tiles - 1):
        raise RuntimeError(f"Input inner dim ({width}) must be non-zero, divisible by 32 and a power-of-2 number "
                           "of tiles!")
    if k.dtype not in (uint32, int32):
        raise RuntimeError("Only UINT32 & INT32 dtypes are supported for k!")
    if p.dtype != bfloat16 or temp.dtype != bfloat16:
        raise RuntimeError("Only BFLOAT16 dtypes are supported for p and temp!")
    for t, name in ((k, "k"), (p, "p"), (temp, "temp")):
        if t.layout != ROW_MAJOR_LAYOUT:
            raise RuntimeError(f"Only ROW_MAJOR layout is supported for {name}!")
        if tuple(t.shape) != (users,):
            raise RuntimeError(f"{name} must have shape [{users}] (one per user)!")
    mesh = values._mesh
    cores = _cores(mesh, sub_core_grids)
    if len(cores) < users:
        raise RuntimeError(f"Subcore grid must supply at least num_users ({users}) cores, but found {len(cores)}!")
    out_shape = Shape([1, 1, 1, users])
    if output_tensor is not None:
        _device_op.device_input(output_tensor, "sampling")
        if output_tensor.dtype not in (uint32, int32):
            raise RuntimeError("Only UINT32 & INT32 dtypes are supported for outputs!")
        if tuple(output_tensor.shape) != tuple(out_shape):
            raise RuntimeError(f"Sampling preallocated output logical shape must be [1,1,1,{users}] (input dim 2), "
                               f"got {list(output_tensor.shape)}")
    device_index = iter(range(mesh._native.get_num_devices()))  # run() computes the devices in order

    def compute(x, ids, top_k, top_p, scale):
        import torch

        d = next(device_index)
        if seed is not None:  # every used core's generator starts again from the seed
            for core in cores[:users]:
                _seed_core(mesh, d, core, seed)
        picked = torch.zeros((1, 1, 1, users), dtype=torch.float64)
        for u in range(users):
            generator = _generator(mesh, d, cores[u])
            row = x[0, 0, u].double() * float(scale[u])
            count = _builtins.max(1, _builtins.min(int(top_k[u]), width))
            top, order = torch.sort(row, descending=True, stable=True)
            probs = torch.softmax(top[:count], dim=0)
            cumulative = torch.cumsum(probs, dim=0)
            keep = _builtins.max(1, int((cumulative <= float(top_p[u])).sum()))
            kept = cumulative[:keep] / cumulative[keep - 1]
            draw = generator.random()
            j = int((kept <= draw).sum()) if draw < 1.0 else keep - 1
            picked[0, 0, 0, u] = ids[0, 0, u, int(order[_builtins.min(j, keep - 1)])]
        return picked

    attributes = (repr(sub_core_grids),)
    inputs = [values, indices, k, p, temp]
    if output_tensor is not None:
        return _device_op.run("sampling", inputs, None, compute, in_place=output_tensor, attributes=attributes,
                              kernel_bytes=_device_op.REDUCTION_KERNEL_BYTES)
    config = _device_op.output_memory(None, values, same_shape=False)
    return _device_op.run("sampling", inputs, [(out_shape, uint32, ROW_MAJOR_LAYOUT, config)], compute,
                          attributes=attributes, kernel_bytes=_device_op.REDUCTION_KERNEL_BYTES)
