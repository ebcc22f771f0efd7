"""allocmon.ttnn: a ttnn-compatible facade over allocmon's emulated device mesh.

Unmodified ttnn scripts run on the emulated mesh (`python3 -m allocmon.emulate script.py`), and every buffer they
create is reported to allocmon like a real runtime would. The supported subset is listed in docs/ttnn.md; anything
else raises a clear NotImplementedError instead of doing something different from ttnn.
"""

import builtins as _builtins
import enum as _enum

import numpy as _np

from .. import _allocmon
from .._allocmon import OutOfMemoryError  # noqa: F401


# ---------------------------------------------------------------------------------------------------------------
# Types


class DataType(_enum.Enum):
    BFLOAT16 = "bfloat16"
    FLOAT32 = "float32"
    BFLOAT8_B = "bfloat8_b"
    UINT32 = "uint32"

    def __repr__(self):
        return f"DataType.{self.name}"


bfloat16 = DataType.BFLOAT16
float32 = DataType.FLOAT32
bfloat8_b = DataType.BFLOAT8_B
uint32 = DataType.UINT32


class Layout(_enum.Enum):
    ROW_MAJOR = "row_major"
    TILE = "tile"

    def __repr__(self):
        return f"Layout.{self.name}"


ROW_MAJOR_LAYOUT = Layout.ROW_MAJOR
TILE_LAYOUT = Layout.TILE
TILE_SIZE = 32


class BufferType(_enum.Enum):
    DRAM = "DRAM"
    L1 = "L1"
    L1_SMALL = "L1_SMALL"
    TRACE = "TRACE"


class TensorMemoryLayout(_enum.Enum):
    INTERLEAVED = "interleaved"
    HEIGHT_SHARDED = "height_sharded"
    WIDTH_SHARDED = "width_sharded"
    BLOCK_SHARDED = "block_sharded"


class ShardStrategy(_enum.Enum):
    HEIGHT = "height"
    WIDTH = "width"
    BLOCK = "block"


class ShardOrientation(_enum.Enum):
    ROW_MAJOR = "row_major"
    COL_MAJOR = "col_major"


class CoreCoord:
    def __init__(self, x, y):
        self.x, self.y = int(x), int(y)

    def __eq__(self, other):
        return isinstance(other, CoreCoord) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self):
        return hash((self.x, self.y))

    def __repr__(self):
        return f"CoreCoord(x={self.x}, y={self.y})"


class CoreRange:
    """An inclusive rectangle of worker cores."""

    def __init__(self, start, end):
        if end.x < start.x or end.y < start.y:
            raise ValueError(f"CoreRange: end {end} is before start {start}")
        self.start, self.end = start, end

    def num_cores(self):
        return (self.end.x - self.start.x + 1) * (self.end.y - self.start.y + 1)

    def __eq__(self, other):
        return isinstance(other, CoreRange) and (self.start, self.end) == (other.start, other.end)

    def __hash__(self):
        return hash((self.start, self.end))

    def __repr__(self):
        return f"CoreRange({self.start}, {self.end})"


class CoreRangeSet:
    def __init__(self, ranges):
        self.ranges = list(ranges) if not isinstance(ranges, CoreRange) else [ranges]

    def num_cores(self):
        return _builtins.sum(r.num_cores() for r in self.ranges)

    def __eq__(self, other):
        return isinstance(other, CoreRangeSet) and set(self.ranges) == set(other.ranges)

    def __repr__(self):
        return f"CoreRangeSet({self.ranges})"


class CoreGrid:
    def __init__(self, y, x):
        self.y, self.x = int(y), int(x)

    @property
    def num_cores(self):
        return self.x * self.y

    def __repr__(self):
        return f"CoreGrid(y={self.y}, x={self.x})"


class ShardSpec:
    def __init__(self, grid, shard_shape, shard_orientation=ShardOrientation.ROW_MAJOR, *args, **ignored):
        self.grid = grid if isinstance(grid, CoreRangeSet) else CoreRangeSet(grid)
        self.shape = tuple(int(d) for d in shard_shape)
        self.orientation = shard_orientation

    def num_cores(self):
        return self.grid.num_cores()

    def __eq__(self, other):
        return isinstance(other, ShardSpec) and (self.grid, self.shape, self.orientation) == (
            other.grid, other.shape, other.orientation)

    def __repr__(self):
        return f"ShardSpec(grid={self.grid}, shape={self.shape}, orientation={self.orientation})"


class MemoryConfig:
    """Interleaved over every bank of a buffer type, or sharded over the cores of a shard spec (each device's
    buffer is split over those cores' L1 banks, which is what allocation and replay see)."""

    def __init__(self, memory_layout=TensorMemoryLayout.INTERLEAVED, buffer_type=BufferType.DRAM, shard_spec=None):
        if memory_layout != TensorMemoryLayout.INTERLEAVED and shard_spec is None:
            raise NotImplementedError("allocmon.ttnn: a sharded memory config needs a shard_spec in the emulated "
                                      "subset (or use ttnn.create_sharded_memory_config)")
        self.memory_layout = memory_layout
        self.buffer_type = buffer_type
        self.shard_spec = shard_spec if memory_layout != TensorMemoryLayout.INTERLEAVED else None

    def is_sharded(self):
        return self.shard_spec is not None

    @property
    def _shards(self):
        return self.shard_spec.num_cores() if self.shard_spec is not None else 0

    def __eq__(self, other):
        return isinstance(other, MemoryConfig) and (self.memory_layout, self.buffer_type, self.shard_spec) == (
            other.memory_layout, other.buffer_type, other.shard_spec)

    def __hash__(self):
        return hash((self.memory_layout, self.buffer_type, self._shards))

    def __repr__(self):
        spec = f", shard_spec={self.shard_spec}" if self.shard_spec is not None else ""
        return f"MemoryConfig(memory_layout={self.memory_layout}, buffer_type={self.buffer_type}{spec})"


def create_sharded_memory_config(shape, core_grid, strategy, orientation=None,
                                 use_height_and_width_as_shard_shape=False, **ignored):
    """An L1 sharded config over `core_grid` (a CoreGrid or CoreRangeSet), as ttnn builds it."""
    if isinstance(core_grid, CoreGrid):
        grid_x, grid_y = core_grid.x, core_grid.y
        cores = CoreRangeSet([CoreRange(CoreCoord(0, 0), CoreCoord(grid_x - 1, grid_y - 1))])
    else:
        cores = core_grid if isinstance(core_grid, CoreRangeSet) else CoreRangeSet(core_grid)
        grid_x = grid_y = None
    dims = [int(d) for d in shape]
    height = 1
    for d in dims[:-1]:
        height *= d
    width = dims[-1]
    n = cores.num_cores()
    if use_height_and_width_as_shard_shape:
        shard_shape = (dims[-2], dims[-1])
    elif strategy == ShardStrategy.HEIGHT:
        shard_shape = (-(-height // n), width)
    elif strategy == ShardStrategy.WIDTH:
        shard_shape = (height, -(-width // n))
    else:
        if grid_x is None:
            raise NotImplementedError("allocmon.ttnn: block sharding needs a CoreGrid in the emulated subset")
        shard_shape = (-(-height // grid_y), -(-width // grid_x))
    layout = {ShardStrategy.HEIGHT: TensorMemoryLayout.HEIGHT_SHARDED, ShardStrategy.WIDTH:
              TensorMemoryLayout.WIDTH_SHARDED, ShardStrategy.BLOCK: TensorMemoryLayout.BLOCK_SHARDED}[strategy]
    return MemoryConfig(layout, BufferType.L1, ShardSpec(cores, shard_shape, orientation or ShardOrientation.ROW_MAJOR))


DRAM_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.INTERLEAVED, BufferType.DRAM)
L1_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.INTERLEAVED, BufferType.L1)


class Shape(tuple):
    """A tensor shape: a tuple of ints, printed as ttnn prints it."""

    def __new__(cls, dims):
        return super().__new__(cls, (int(d) for d in dims))

    @property
    def rank(self):
        return len(self)

    def __repr__(self):
        return f"Shape([{', '.join(str(d) for d in self)}])"


class MeshShape:
    def __init__(self, *dims):
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if len(dims) != 2:
            raise NotImplementedError("allocmon.ttnn: only 2-D mesh shapes (rows, cols) are emulated")
        self.rows, self.cols = int(dims[0]), int(dims[1])

    def __iter__(self):
        return iter((self.rows, self.cols))

    def __getitem__(self, index):
        return (self.rows, self.cols)[index]

    def __len__(self):
        return 2

    def mesh_size(self):
        return self.rows * self.cols

    def __eq__(self, other):
        return tuple(self) == tuple(other)

    def __repr__(self):
        return f"MeshShape([{self.rows}, {self.cols}])"


# ---------------------------------------------------------------------------------------------------------------
# Devices


class MeshDevice:
    """A mesh of emulated devices (also what open_device returns: a 1x1 mesh)."""

    def __init__(self, native):
        self._native = native

    @property
    def shape(self):
        return MeshShape(self._native.rows, self._native.cols)

    def get_num_devices(self):
        return self._native.get_num_devices()

    def get_device_ids(self):
        return self._native.get_device_ids()

    def id(self):
        return self._native.get_device_ids()[0]

    def arch(self):
        return self._native.architecture

    def enable_program_cache(self):
        self._native.enable_program_cache()

    def disable_and_clear_program_cache(self):
        self._native.clear_program_cache()

    def clear_program_cache(self):
        self._native.clear_program_cache()

    def num_program_cache_entries(self):
        return self._native.program_cache_entries()

    def __repr__(self):
        return repr(self._native)


def _memory_only():
    """ALLOCMON_MEMORY_ONLY=1 (python3 -m allocmon.emulate --no-data): tensors carry no values."""
    import os

    return os.environ.get("ALLOCMON_MEMORY_ONLY") == "1"


def _open(rows, cols, physical_ids=(), l1_small_size=0, trace_region_size=0, architecture=None):
    import os

    arch = architecture or os.environ.get("ALLOCMON_ARCH", "wormhole_b0")
    return MeshDevice(_allocmon.open_mesh(rows, cols, arch, list(physical_ids), int(l1_small_size),
                                          int(trace_region_size), hold_data=not _memory_only()))


def _mesh_shape_override():
    """ALLOCMON_MESH_SHAPE=RxC (python3 -m allocmon.emulate --mesh-shape): what if this script ran on another mesh?"""
    import os

    text = os.environ.get("ALLOCMON_MESH_SHAPE")
    if not text:
        return None
    try:
        rows, cols = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"ALLOCMON_MESH_SHAPE wants ROWSxCOLS (e.g. 1x8), got {text!r}") from None
    return MeshShape(rows, cols)


def open_mesh_device(mesh_shape=None, *, l1_small_size=0, trace_region_size=0, physical_device_ids=(), **ignored):
    """Open a mesh (default 2x4). Options that only matter on hardware (dispatch core config, ...) are accepted."""
    shape = mesh_shape if mesh_shape is not None else MeshShape(2, 4)
    if not isinstance(shape, MeshShape):
        shape = MeshShape(shape)
    override = _mesh_shape_override()
    if override is not None and tuple(override) != tuple(shape):
        import sys

        print(f"allocmon.emulate: opening a {override.rows}x{override.cols} mesh where the script asks for "
              f"{shape.rows}x{shape.cols} (ALLOCMON_MESH_SHAPE)", file=sys.stderr)
        device = _open(override.rows, override.cols, (), l1_small_size, trace_region_size)
        device._requested_shape = (shape.rows, shape.cols)  # the script's own mappers name this shape
        return device
    return _open(shape.rows, shape.cols, physical_device_ids, l1_small_size, trace_region_size)


def close_mesh_device(mesh_device):
    mesh_device._native.close()


def open_device(device_id=0, *, l1_small_size=0, trace_region_size=0, **ignored):
    return _open(1, 1, [int(device_id)], l1_small_size, trace_region_size)


def close_device(device):
    device._native.close()


def get_device_ids():
    """Every device the emulated system has (ALLOCMON_EMULATED_DEVICES, default 32)."""
    import os

    return list(range(int(os.environ.get("ALLOCMON_EMULATED_DEVICES", "32"))))


def GetNumAvailableDevices():  # noqa: N802 (ttnn's name)
    return len(get_device_ids())


# ---------------------------------------------------------------------------------------------------------------
# Tensors


def _to_numpy(data):
    """torch tensors, numpy arrays and nested lists to a float32 numpy array."""
    if hasattr(data, "detach") and hasattr(data, "numpy"):  # torch.Tensor
        import torch

        return data.detach().to(torch.float32).cpu().numpy()
    return _np.asarray(data, dtype=_np.float32)


def _dtype_from_source(data):
    name = str(getattr(data, "dtype", ""))
    if "bfloat16" in name:
        return bfloat16
    if "int" in name:
        return uint32
    return float32


class Tensor:
    """A ttnn tensor: on the host (numpy data) or on a mesh (an allocmon MeshTensor)."""

    def __init__(self, host=None, device_tensor=None, dtype=bfloat16, layout=ROW_MAJOR_LAYOUT, mapper=None,
                 shape=None):
        self._host = host
        self._device = device_tensor
        self.dtype = dtype
        self.layout = layout
        self._mapper = mapper  # how a device tensor was distributed: the default composer inverts it
        self._mesh = None
        self._squeeze = None  # a dim reduced without keepdim: dropped when the tensor comes back to the host
        self._memory_config = None  # device tensors: the config it was placed with (sharding included)
        self._shape = Shape(shape if shape is not None else (host.shape if host is not None else device_tensor.shape))

    @property
    def shape(self):
        return self._shape

    @property
    def padded_shape(self):
        if self.layout != TILE_LAYOUT or len(self._shape) < 2:
            return self._shape
        dims = list(self._shape)
        dims[-1] = -(-dims[-1] // TILE_SIZE) * TILE_SIZE
        dims[-2] = -(-dims[-2] // TILE_SIZE) * TILE_SIZE
        return Shape(dims)

    def get_dtype(self):
        return self.dtype

    def get_layout(self):
        return self.layout

    def storage_type(self):
        return "DEVICE" if self._device is not None else "HOST"

    def is_allocated(self):
        return self._device.is_allocated() if self._device is not None else self._host is not None

    def memory_config(self):
        if self._device is None:
            raise RuntimeError("a host tensor has no memory config; move it to a device with ttnn.to_device")
        if self._memory_config is not None and self._memory_config._shards == self._device.shards:
            return self._memory_config
        return MemoryConfig(TensorMemoryLayout.INTERLEAVED, BufferType(self._device.buffer_type))

    def device(self):
        return self._mesh

    def buffer_address(self):
        return self._device.address if self._device is not None else None

    def deallocate(self, force=True):
        deallocate(self)

    def cpu(self):
        return from_device(self)

    def to(self, device, memory_config=None):
        return to_device(self, device, memory_config)

    def __add__(self, other):
        return add(self, other)

    def __sub__(self, other):
        return subtract(self, other)

    def __mul__(self, other):
        return multiply(self, other)

    def __matmul__(self, other):
        return matmul(self, other)

    def __repr__(self):
        where = "device" if self._device is not None else "host"
        return f"ttnn.Tensor(shape={self._shape!r}, dtype={self.dtype!r}, layout={self.layout!r}, storage={where})"


def _check_layout(dtype, layout):
    if dtype == bfloat8_b and layout != TILE_LAYOUT:
        raise RuntimeError("bfloat8_b requires TILE_LAYOUT (block floating point exists only in tiles)")


def from_torch(tensor, dtype=None, *, layout=ROW_MAJOR_LAYOUT, device=None, memory_config=None, mesh_mapper=None,
               **ignored):
    dtype = dtype or _dtype_from_source(tensor)
    _check_layout(dtype, layout)
    host = _np.ascontiguousarray(_to_numpy(tensor))
    result = Tensor(host=host, dtype=dtype, layout=layout)
    if device is not None:
        return to_device(result, device, memory_config, mesh_mapper=mesh_mapper)
    if mesh_mapper is not None:
        raise RuntimeError("a mesh_mapper needs a device: pass device=mesh_device (or use ttnn.distribute_tensor)")
    return result


def from_numpy(array, dtype=None, *, layout=ROW_MAJOR_LAYOUT, device=None, memory_config=None, mesh_mapper=None):
    return from_torch(array, dtype, layout=layout, device=device, memory_config=memory_config, mesh_mapper=mesh_mapper)


def _replicate(mesh_device):
    from .distributed import ReplicateTensorToMesh

    return ReplicateTensorToMesh(mesh_device)


def to_device(tensor, device, memory_config=None, *, mesh_mapper=None):
    if tensor._device is not None:
        return tensor
    mapper = mesh_mapper or _replicate(device)
    config = memory_config or DRAM_MEMORY_CONFIG
    native = _allocmon.from_numpy(tensor._host, device._native, tensor.dtype.value, tensor.layout.value,
                                  config.buffer_type.value, mapper._shard_dims, mapper._flat_dim, config._shards)
    out = Tensor(device_tensor=native, dtype=tensor.dtype, layout=tensor.layout, mapper=mapper)
    out._mesh = device
    out._memory_config = config
    return out


def _default_composer(tensor):
    from .distributed import _composer_for

    return _composer_for(tensor)


_said_memory_only = False


def _gather(tensor, mesh_composer=None):
    global _said_memory_only
    if tensor._device is None:
        return tensor._host
    if not tensor._device.mesh.holds_data and not _said_memory_only:
        import sys

        _said_memory_only = True
        print("allocmon.emulate --no-data: device tensors hold no values; to_torch/to_numpy return zeros of the "
              "right shape (memory is tracked exactly as with data)", file=sys.stderr)
    composer = mesh_composer or _default_composer(tensor)
    data = _allocmon.to_numpy(tensor._device, composer._concat_dims, composer._flat_dim)
    return data.squeeze(axis=tensor._squeeze) if tensor._squeeze is not None else data


def from_device(tensor, mesh_composer=None):
    if tensor._device is None:
        return tensor
    host = _gather(tensor, mesh_composer)
    return Tensor(host=host, dtype=tensor.dtype, layout=tensor.layout)


def to_torch(tensor, *, mesh_composer=None, dtype=None, **ignored):
    data = _gather(tensor, mesh_composer)
    try:
        import torch
    except ImportError:  # numpy where torch is not installed
        return data.copy()
    out = torch.from_numpy(_np.array(data, copy=True))
    target = dtype or ({bfloat16: torch.bfloat16, bfloat8_b: torch.bfloat16, uint32: torch.int64}.get(tensor.dtype))
    return out.to(target) if target is not None else out


def to_numpy(tensor, *, mesh_composer=None):
    return _np.array(_gather(tensor, mesh_composer), copy=True)


def to_layout(tensor, layout, **ignored):
    _check_layout(tensor.dtype, layout)
    if layout == tensor.layout:
        return tensor
    if tensor._device is None:
        return Tensor(host=tensor._host, dtype=tensor.dtype, layout=layout)
    native = _allocmon.relocate(tensor._device, tensor._device.buffer_type, layout.value, tensor._device.shards)
    return _like(tensor, native, layout=layout)


def to_memory_config(tensor, memory_config, **ignored):
    if tensor._device is None:
        raise RuntimeError("to_memory_config needs a device tensor")
    if tensor.memory_config() == memory_config:
        return tensor
    native = _allocmon.relocate(tensor._device, memory_config.buffer_type.value, tensor.layout.value,
                                memory_config._shards)
    return _like(tensor, native, memory_config=memory_config)


def deallocate(tensor, force=True):
    if tensor._device is not None:
        tensor._device.deallocate()
    else:
        tensor._host = None


def _like(source, native, layout=None, shape=None, memory_config=None):
    """A device tensor made from `source` (an op output: in `memory_config`, else in the source's)."""
    out = Tensor(device_tensor=native, dtype=source.dtype, layout=layout or source.layout, mapper=source._mapper,
                 shape=shape)
    out._mesh = source._mesh
    out._memory_config = memory_config or source._memory_config
    return out


def _host_factory(fill):
    def factory(shape, dtype=bfloat16, layout=ROW_MAJOR_LAYOUT, device=None, memory_config=None, **ignored):
        host = fill(tuple(int(d) for d in shape))
        return from_torch(host, dtype, layout=layout, device=device, memory_config=memory_config)

    return factory


zeros = _host_factory(lambda shape: _np.zeros(shape, _np.float32))
ones = _host_factory(lambda shape: _np.ones(shape, _np.float32))
rand = _host_factory(lambda shape: _np.random.default_rng().random(shape, dtype=_np.float32))


def full(shape, fill_value, dtype=bfloat16, layout=ROW_MAJOR_LAYOUT, device=None, memory_config=None, **ignored):
    return from_torch(_np.full(tuple(shape), fill_value, _np.float32), dtype, layout=layout, device=device,
                      memory_config=memory_config)


# ---------------------------------------------------------------------------------------------------------------
# Ops (outputs default to the first input's memory config, as ttnn's eltwise ops do)


def _device_input(tensor, op):
    if not isinstance(tensor, Tensor) or tensor._device is None:
        raise RuntimeError(f"ttnn.{op}: inputs must be device tensors (use ttnn.to_device or device=...)")
    if not tensor.is_allocated():
        raise RuntimeError(f"ttnn.{op}: input tensor was deallocated")
    return tensor._device


def _memory(memory_config):
    """An op's output placement for the native op: (buffer type or None for the input's, shard count)."""
    if memory_config is None:
        return dict(buffer_type=None, shards=0)
    return dict(buffer_type=memory_config.buffer_type.value, shards=memory_config._shards)


def _binary(op, a, b, memory_config):
    native_a = _device_input(a, op)
    if isinstance(b, Tensor):
        native = _allocmon.binary(native_a, _device_input(b, op), op, **_memory(memory_config))
    elif isinstance(b, (int, float)):
        native = _allocmon.binary(native_a, float(b), op, **_memory(memory_config))
    else:
        raise TypeError(f"ttnn.{op}: the second input must be a tensor or a scalar, not {type(b).__name__}")
    return _like(a, native, shape=a.shape, memory_config=memory_config)


def add(input_tensor_a, input_tensor_b, *, memory_config=None, dtype=None, **ignored):
    return _binary("add", input_tensor_a, input_tensor_b, memory_config)


def subtract(input_tensor_a, input_tensor_b, *, memory_config=None, dtype=None, **ignored):
    return _binary("subtract", input_tensor_a, input_tensor_b, memory_config)


def multiply(input_tensor_a, input_tensor_b, *, memory_config=None, dtype=None, **ignored):
    return _binary("multiply", input_tensor_a, input_tensor_b, memory_config)


sub = subtract
mul = multiply


def relu(input_tensor, *, memory_config=None, **ignored):
    return _like(input_tensor, _allocmon.relu(_device_input(input_tensor, "relu"), **_memory(memory_config)),
                 shape=input_tensor.shape, memory_config=memory_config)


def matmul(input_tensor_a, input_tensor_b, *, memory_config=None, dtype=None, **ignored):
    native = _allocmon.matmul(_device_input(input_tensor_a, "matmul"), _device_input(input_tensor_b, "matmul"),
                              **_memory(memory_config))
    shape = list(input_tensor_a.shape[:-1]) + [input_tensor_b.shape[-1]]
    return _like(input_tensor_a, native, shape=shape, memory_config=memory_config)


def sum(input_tensor, dim=None, keepdim=True, *, memory_config=None, **ignored):  # noqa: A001 (ttnn's name)
    if dim is None:
        raise NotImplementedError("allocmon.ttnn: ttnn.sum needs a dim in the emulated subset")
    rank = len(input_tensor.shape)
    dim = dim + rank if dim < 0 else dim
    native = _allocmon.sum(_device_input(input_tensor, "sum"), dim, **_memory(memory_config))
    shape = list(input_tensor.shape)
    shape[dim] = 1
    out = _like(input_tensor, native, shape=shape, memory_config=memory_config)
    if not keepdim:
        out._squeeze = dim
        out._shape = Shape(shape[:dim] + shape[dim + 1:])
    return out


# ---------------------------------------------------------------------------------------------------------------
# Distribution names at top level, as ttnn exports them

from .distributed import (  # noqa: E402,F401
    ConcatMesh2dToTensor,
    ConcatMeshToTensor,
    MeshComposerConfig,
    MeshMapperConfig,
    PlacementReplicate,
    PlacementShard,
    ReplicateTensorToMesh,
    ShardTensor2dMesh,
    ShardTensorToMesh,
    aggregate_tensor,
    create_mesh_composer,
    create_mesh_mapper,
    distribute_tensor,
)
from . import distributed  # noqa: E402,F401


def __getattr__(name):
    raise NotImplementedError(
        f"ttnn.{name} is not part of the subset allocmon emulates (see docs/ttnn.md); "
        "the script would need real hardware or a different op")
