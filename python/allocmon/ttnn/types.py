"""ttnn's value types: data types, layouts, memory configs and sharding, shapes, core coordinates."""

import builtins as _builtins
import enum as _enum

from .errors import not_emulated

__all__ = [
    "DataType", "bfloat16", "float32", "bfloat8_b", "bfloat4_b", "uint32", "int32", "uint16", "uint8", "int8",
    "fp8_e4m3", "Tile",
    "Layout", "ROW_MAJOR_LAYOUT", "TILE_LAYOUT", "TILE_SIZE",
    "BufferType", "TensorMemoryLayout", "ShardStrategy", "ShardOrientation", "MemoryConfig",
    "DRAM_MEMORY_CONFIG", "L1_MEMORY_CONFIG", "L1_HEIGHT_SHARDED_MEMORY_CONFIG", "L1_WIDTH_SHARDED_MEMORY_CONFIG",
    "L1_BLOCK_SHARDED_MEMORY_CONFIG", "ShardSpec", "NdShardSpec", "TensorSpec", "create_sharded_memory_config",
    "CoreCoord", "CoreRange", "CoreRangeSet", "CoreGrid", "Shape", "MeshShape",
    "grid_to_cores", "split_work_to_cores", "num_cores_to_corerangeset",
    "SubDevice", "SubDeviceId", "SubDeviceManagerId", "TileReshapeMapMode", "DumpTensorMode",
]


class DataType(_enum.Enum):
    BFLOAT16 = "bfloat16"
    FLOAT32 = "float32"
    BFLOAT8_B = "bfloat8_b"
    BFLOAT4_B = "bfloat4_b"
    UINT32 = "uint32"
    INT32 = "int32"
    UINT16 = "uint16"
    UINT8 = "uint8"
    INT8 = "int8"
    FP8_E4M3 = "fp8_e4m3"

    def __repr__(self):
        return f"DataType.{self.name}"

    @property
    def tile_bytes(self):
        """Bytes of one 32x32 tile (block floats: mantissas plus 64 shared exponents)."""
        return _TILE_BYTES[self]

    @property
    def is_block_float(self):
        return self in (DataType.BFLOAT8_B, DataType.BFLOAT4_B)

    @property
    def is_integer(self):
        return self in (DataType.UINT32, DataType.INT32, DataType.UINT16, DataType.UINT8, DataType.INT8)


_TILE_BYTES = {DataType.BFLOAT16: 2048, DataType.FLOAT32: 4096, DataType.BFLOAT8_B: 1088,
               DataType.BFLOAT4_B: 576, DataType.UINT32: 4096, DataType.INT32: 4096, DataType.UINT16: 2048,
               DataType.UINT8: 1024, DataType.INT8: 1024, DataType.FP8_E4M3: 1024}

bfloat16 = DataType.BFLOAT16
float32 = DataType.FLOAT32
bfloat8_b = DataType.BFLOAT8_B
bfloat4_b = DataType.BFLOAT4_B
uint32 = DataType.UINT32
int32 = DataType.INT32
uint16 = DataType.UINT16
uint8 = DataType.UINT8
int8 = DataType.INT8
fp8_e4m3 = DataType.FP8_E4M3


class Tile:
    """A tile shape. The emulated devices have 32x32 tiles only (tt-metal's default)."""

    def __init__(self, tile_shape=(32, 32), transpose_tile=False):
        shape = tuple(int(d) for d in tile_shape)
        if shape != (32, 32) or transpose_tile:
            raise not_emulated(f"ttnn.Tile({shape}{', transpose_tile=True' if transpose_tile else ''})",
                               "only 32x32 tiles")
        self.tile_shape = shape

    def __eq__(self, other):
        return isinstance(other, Tile) and self.tile_shape == other.tile_shape

    def __repr__(self):
        return f"Tile(tile_shape={list(self.tile_shape)})"


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

    def __hash__(self):
        return hash(frozenset(self.ranges))

    def __repr__(self):
        return f"CoreRangeSet({self.ranges})"


class CoreGrid:
    def __init__(self, y, x):
        self.y, self.x = int(y), int(x)

    @property
    def num_cores(self):
        return self.x * self.y

    def __eq__(self, other):
        return isinstance(other, CoreGrid) and (self.x, self.y) == (other.x, other.y)

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

    def __hash__(self):
        return hash((self.grid, self.shape, self.orientation))

    def __repr__(self):
        return f"ShardSpec(grid={self.grid}, shape={self.shape}, orientation={self.orientation})"


class NdShardSpec:
    """An N-d shard shape over a grid of cores (round-robin in `orientation`): the emulated allocator splits each
    device's buffer evenly over the grid's cores, as for a 2-d shard spec."""

    def __init__(self, shard_shape, grid, orientation=ShardOrientation.ROW_MAJOR, *args, **ignored):
        self.shard_shape = Shape([int(d) for d in shard_shape])
        self.grid = grid if isinstance(grid, CoreRangeSet) else CoreRangeSet(grid)
        self.orientation = orientation

    def num_cores(self):
        return self.grid.num_cores()

    def __eq__(self, other):
        return isinstance(other, NdShardSpec) and (tuple(self.shard_shape), self.grid, self.orientation) == (
            tuple(other.shard_shape), other.grid, other.orientation)

    def __hash__(self):
        return hash((tuple(self.shard_shape), self.grid, self.orientation))

    def __repr__(self):
        return f"NdShardSpec(shard_shape={self.shard_shape}, grid={self.grid}, orientation={self.orientation})"


class MemoryConfig:
    """Interleaved over every bank of a buffer type, or sharded over the cores of a shard spec (each device's
    buffer is split over those cores' L1 banks, which is what allocation and replay see)."""

    def __init__(self, memory_layout=TensorMemoryLayout.INTERLEAVED, buffer_type=BufferType.DRAM, shard_spec=None,
                 *, nd_shard_spec=None):
        if isinstance(memory_layout, BufferType):  # MemoryConfig(buffer_type, nd_shard_spec), as ttnn's overload
            memory_layout, buffer_type, nd_shard_spec = TensorMemoryLayout.INTERLEAVED, memory_layout, (
                nd_shard_spec if nd_shard_spec is not None else buffer_type if isinstance(buffer_type, NdShardSpec)
                else None)
        if nd_shard_spec is not None:  # ttnn calls an N-d sharded config BLOCK_SHARDED
            memory_layout = TensorMemoryLayout.BLOCK_SHARDED
            shard_spec = shard_spec or ShardSpec(nd_shard_spec.grid, tuple(nd_shard_spec.shard_shape)[-2:] or (1, 1),
                                                 nd_shard_spec.orientation)
        self.memory_layout = memory_layout
        self.buffer_type = buffer_type
        self.shard_spec = shard_spec if memory_layout != TensorMemoryLayout.INTERLEAVED else None
        self.nd_shard_spec = nd_shard_spec

    def is_sharded(self):
        return self.memory_layout != TensorMemoryLayout.INTERLEAVED

    @property
    def _shards(self):
        """The cores each device's buffer is split over (0: interleaved). A sharded config without a shard spec
        names only the layout: an op that writes to it chooses the spec (_device_op.resolve_output_memory);
        a tensor cannot be placed with it."""
        if self.is_sharded() and self.shard_spec is None:
            raise not_emulated(f"placing a tensor in {self!r}",
                               "a sharded memory config needs a shard_spec here (or use "
                               "ttnn.create_sharded_memory_config); only ops choose their output's spec")
        return self.shard_spec.num_cores() if self.shard_spec is not None else 0

    def __eq__(self, other):
        return isinstance(other, MemoryConfig) and (self.memory_layout, self.buffer_type, self.shard_spec) == (
            other.memory_layout, other.buffer_type, other.shard_spec)

    def __hash__(self):
        return hash((self.memory_layout, self.buffer_type, self.shard_spec))

    def __repr__(self):
        spec = f", shard_spec={self.shard_spec}" if self.shard_spec is not None else ""
        if self.nd_shard_spec is not None:
            spec += f", nd_shard_spec={self.nd_shard_spec}"
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
            raise not_emulated("ttnn.create_sharded_memory_config(strategy=BLOCK, core_grid=CoreRangeSet)",
                               "block sharding needs a CoreGrid")
        shard_shape = (-(-height // grid_y), -(-width // grid_x))
    layout = {ShardStrategy.HEIGHT: TensorMemoryLayout.HEIGHT_SHARDED, ShardStrategy.WIDTH:
              TensorMemoryLayout.WIDTH_SHARDED, ShardStrategy.BLOCK: TensorMemoryLayout.BLOCK_SHARDED}[strategy]
    return MemoryConfig(layout, BufferType.L1, ShardSpec(cores, shard_shape, orientation or ShardOrientation.ROW_MAJOR))


DRAM_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.INTERLEAVED, BufferType.DRAM)
L1_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.INTERLEAVED, BufferType.L1)
# Sharded configs without a shard spec: an op writing to one chooses the spec (ttnn's matmul, for one).
L1_HEIGHT_SHARDED_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.HEIGHT_SHARDED, BufferType.L1)
L1_WIDTH_SHARDED_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.WIDTH_SHARDED, BufferType.L1)
L1_BLOCK_SHARDED_MEMORY_CONFIG = MemoryConfig(TensorMemoryLayout.BLOCK_SHARDED, BufferType.L1)


class Shape(tuple):
    """A tensor shape: a tuple of ints, printed as ttnn prints it."""

    def __new__(cls, dims):
        return super().__new__(cls, (int(d) for d in dims))

    @property
    def rank(self):
        return len(self)

    def volume(self):
        v = 1
        for d in self:
            v *= d
        return v

    def __getitem__(self, index):
        value = super().__getitem__(index)
        return Shape(value) if isinstance(index, slice) else value

    def __repr__(self):
        return f"Shape([{', '.join(str(d) for d in self)}])"


class MeshShape:
    """A mesh's shape: (rows, cols), or one dim N, which is a 1xN row of devices."""

    def __init__(self, *dims):
        if len(dims) == 1 and isinstance(dims[0], (tuple, list, MeshShape)):
            dims = tuple(dims[0])
        if len(dims) not in (1, 2):
            raise not_emulated(f"ttnn.MeshShape{tuple(dims)}", "meshes have one or two dimensions")
        self._dims = tuple(int(d) for d in dims)
        if any(d <= 0 for d in self._dims):
            raise ValueError(f"MeshShape: dims must be positive, got {self._dims}")

    @property
    def rows(self):
        return self._dims[0] if len(self._dims) == 2 else 1

    @property
    def cols(self):
        return self._dims[-1]

    def __iter__(self):
        return iter(self._dims)

    def __getitem__(self, index):
        return self._dims[index]

    def __len__(self):
        return len(self._dims)

    def dims(self):
        return len(self._dims)

    def mesh_size(self):
        return self.rows * self.cols

    def __eq__(self, other):
        return tuple(self) == tuple(other)

    def __hash__(self):
        return hash(self._dims)

    def __repr__(self):
        return f"MeshShape([{', '.join(str(d) for d in self._dims)}])"


def _cores_of(ranges, row_wise):
    """The cores of a CoreRangeSet in tt-metal's order: range by range, along x first when row_wise, else along
    y first."""
    cores = []
    for r in ranges.ranges:
        xs, ys = range(r.start.x, r.end.x + 1), range(r.start.y, r.end.y + 1)
        cores += ([CoreCoord(x, y) for y in ys for x in xs] if row_wise else
                  [CoreCoord(x, y) for x in xs for y in ys])
    return cores


def _range_set(cores):
    """The cores as a CoreRangeSet, consecutive cores of one row or column merged into one range."""
    ranges = []
    for core in cores:
        last = ranges[-1] if ranges else None
        if last and last.start.y == last.end.y == core.y and last.end.x + 1 == core.x:
            ranges[-1] = CoreRange(last.start, core)
        elif last and last.start.x == last.end.x == core.x and last.end.y + 1 == core.y:
            ranges[-1] = CoreRange(last.start, core)
        else:
            ranges.append(CoreRange(core, core))
    return CoreRangeSet(ranges)


def grid_to_cores(*args, row_wise=False):
    """grid_to_cores(num_cores, grid_size_x, grid_size_y, row_wise=False) or grid_to_cores(start, end,
    row_wise=False): the cores, in tt-metal's order (column by column unless row_wise)."""
    if len(args) == 2 and all(isinstance(a, CoreCoord) for a in args):
        return _cores_of(CoreRangeSet([CoreRange(args[0], args[1])]), row_wise)
    if len(args) == 4:
        row_wise = args[3]
    num_cores, grid_x, grid_y = (int(a) for a in args[:3])
    if num_cores > grid_x * grid_y:
        raise RuntimeError(f"Number of cores {num_cores} exceeds grid size {grid_x * grid_y}")
    if row_wise:
        return [CoreCoord(i % grid_x, i // grid_x) for i in range(num_cores)]
    return [CoreCoord(i // grid_y, i % grid_y) for i in range(num_cores)]


def num_cores_to_corerangeset(*args, row_wise=False):
    """num_cores_to_corerangeset(num_cores, grid_size (CoreCoord), row_wise) or (start, num_cores, CoreRangeSet
    ...): the first num_cores cores of the grid as a CoreRangeSet."""
    num_cores, grid = int(args[0]), args[1]
    if len(args) > 2:
        row_wise = args[2]
    ranges = grid if isinstance(grid, CoreRangeSet) else CoreRangeSet(
        [CoreRange(CoreCoord(0, 0), CoreCoord(grid.x - 1, grid.y - 1))])
    cores = _cores_of(ranges, row_wise)
    if num_cores > len(cores):
        raise RuntimeError(f"Number of cores {num_cores} exceeds the {len(cores)} cores of the grid")
    return _range_set(cores[:num_cores])


def split_work_to_cores(grid, units_to_divide, row_wise=False):
    """tt-metal's split of work units over a grid (a CoreCoord grid size or a CoreRangeSet): (num_cores,
    all_cores, core_group_1, core_group_2, units_per_core_group_1, units_per_core_group_2); the first
    units % num_cores cores (group 1) take one unit more than the rest (group 2)."""
    ranges = grid if isinstance(grid, CoreRangeSet) else CoreRangeSet(
        [CoreRange(CoreCoord(0, 0), CoreCoord(grid.x - 1, grid.y - 1))])
    cores = _cores_of(ranges, row_wise)
    units = int(units_to_divide)
    if units == 0:
        return 0, CoreRangeSet([]), CoreRangeSet([]), CoreRangeSet([]), 0, 0
    num_cores = _builtins.min(units, len(cores))
    used = cores[:num_cores]
    per_core, extra = divmod(units, num_cores)
    if extra == 0:
        return num_cores, _range_set(used), _range_set(used), CoreRangeSet([]), per_core, 0
    return (num_cores, _range_set(used), _range_set(used[:extra]), _range_set(used[extra:]), per_core + 1,
            per_core)


class TensorSpec:
    """A tensor's shape, dtype, layout and memory config, as ttnn.TensorSpec (what ops are asked to produce)."""

    def __init__(self, shape, dtype, layout, memory_config=None, *, buffer_type=None, **ignored):
        self.shape = Shape([int(d) for d in shape])
        self.dtype = dtype
        self.layout = layout
        if memory_config is None:
            memory_config = MemoryConfig(TensorMemoryLayout.INTERLEAVED, buffer_type or BufferType.DRAM)
        self.memory_config = memory_config

    def padded_shape(self):
        dims = list(self.shape)
        if self.layout == TILE_LAYOUT and dims:
            dims[-1] = -(-dims[-1] // TILE_SIZE) * TILE_SIZE
            if len(dims) > 1:
                dims[-2] = -(-dims[-2] // TILE_SIZE) * TILE_SIZE
        return Shape(dims)

    def sharded(self, nd_shard_spec):
        shard = list(nd_shard_spec.shard_shape)
        if self.layout == TILE_LAYOUT:  # the shard aligned to tiles, as ttnn's recommended alignment
            for i in (-1, -2):
                if len(shard) >= -i:
                    shard[i] = -(-shard[i] // TILE_SIZE) * TILE_SIZE
        spec = NdShardSpec(shard, nd_shard_spec.grid, nd_shard_spec.orientation)
        return TensorSpec(self.shape, self.dtype, self.layout,
                          MemoryConfig(self.memory_config.buffer_type, nd_shard_spec=spec))

    def sharded_across_dims(self, dims, grid, orientation=ShardOrientation.ROW_MAJOR):
        """One slice along each of `dims` per shard: the padded shape with those dims set to 1."""
        shard = list(self.padded_shape())
        for d in dims:
            shard[d] = 1
        return self.sharded(NdShardSpec(shard, grid, orientation))

    def sharded_across_dims_except(self, dims, grid, orientation=ShardOrientation.ROW_MAJOR):
        padded = list(self.padded_shape())
        shard = [1] * len(padded)
        for d in dims:
            shard[d] = padded[d]
        return self.sharded(NdShardSpec(shard, grid, orientation))

    def __eq__(self, other):
        return isinstance(other, TensorSpec) and (tuple(self.shape), self.dtype, self.layout, self.memory_config) == (
            tuple(other.shape), other.dtype, other.layout, other.memory_config)

    def __repr__(self):
        return (f"TensorSpec(shape={self.shape}, dtype={self.dtype!r}, layout={self.layout!r}, "
                f"memory_config={self.memory_config!r})")


class TileReshapeMapMode(_enum.Enum):
    """What ttnn.reshape(..., reshape_tile_mode=) does with the mapping tensor a tiled reshape may build: keep it
    cached or build it again. It selects no other program, and the emulated reshape builds no mapping tensor."""
    CACHE = 0
    RECREATE = 1


class SubDeviceId:
    """The index of a sub-device in the loaded sub-device manager (0 is the whole device when none is loaded)."""

    def __init__(self, id=0):  # noqa: A002 (ttnn's keyword)
        self.id = int(id)

    def __int__(self):
        return self.id

    def __eq__(self, other):
        return isinstance(other, SubDeviceId) and self.id == other.id

    def __hash__(self):
        return hash(("SubDeviceId", self.id))

    def __repr__(self):
        return f"SubDeviceId({self.id})"


class SubDeviceManagerId(SubDeviceId):
    """What create_sub_device_manager returns: the manager's handle for load / remove."""

    def __eq__(self, other):
        return isinstance(other, SubDeviceManagerId) and self.id == other.id

    def __hash__(self):
        return hash(("SubDeviceManagerId", self.id))

    def __repr__(self):
        return f"SubDeviceManagerId({self.id})"


class SubDevice:
    """A set of a device's cores that runs programs apart from the others: one CoreRangeSet per core type (the
    first is the Tensix worker cores, a second the Ethernet cores)."""

    def __init__(self, cores):
        cores = [cores] if isinstance(cores, (CoreRangeSet, CoreRange)) else list(cores)
        self.cores = [c if isinstance(c, CoreRangeSet) else CoreRangeSet(c) for c in cores]
        if not self.cores or len(self.cores) > 2:
            raise ValueError("SubDevice: give one CoreRangeSet per core type (Tensix, then optionally Ethernet)")

    @property
    def worker_cores(self):
        return self.cores[0]

    def has_core_type(self, core_type=None):
        return True

    def __repr__(self):
        return f"SubDevice({self.cores})"


def _core_set(ranges):
    """The (x, y) of every core of a CoreRangeSet / CoreRange / list of them."""
    if isinstance(ranges, CoreRange):
        ranges = CoreRangeSet([ranges])
    elif not isinstance(ranges, CoreRangeSet):
        ranges = CoreRangeSet(ranges)
    return {(c.x, c.y) for c in _cores_of(ranges, True)}


class SubDeviceManagement:
    """The sub-device calls of a MeshDevice (tt-metal's SubDeviceManagerTracker): managers are created from
    lists of SubDevice, one is loaded at a time (the default one, the whole worker grid as sub-device 0, when
    none is), and ops name the sub-device they run on with sub_device_id=. The sub-devices of one manager may not
    share a core. Sub-devices place no buffer; a manager with a local L1 size (L1 carved out of every bank for
    sub-device-local allocators) is not emulated."""

    def _sub_device_state(self):
        state = self.__dict__.get("_sub_devices")
        if state is None:
            state = self.__dict__["_sub_devices"] = {"managers": {}, "active": None, "next": 1, "stall": None}
        return state

    def _grid_cores(self):
        grid = self.compute_with_storage_grid_size()
        return {(x, y) for x in range(grid.x) for y in range(grid.y)}

    def create_sub_device_manager(self, sub_devices, local_l1_size=0):
        if int(local_l1_size) != 0:
            raise not_emulated(f"create_sub_device_manager(..., local_l1_size={local_l1_size})",
                               "sub-device-local L1 allocators (local_l1_size must be 0)")
        sub_devices = list(sub_devices)
        if not sub_devices:
            raise RuntimeError("create_sub_device_manager: needs at least one SubDevice")
        grid, taken = self._grid_cores(), set()
        for index, sub_device in enumerate(sub_devices):
            cores = _core_set(sub_device.worker_cores)
            if not cores <= grid:
                raise RuntimeError(f"create_sub_device_manager: sub-device {index}'s cores {sorted(cores - grid)} "
                                   f"are outside the {len(grid)} worker cores of the device")
            if cores & taken:
                raise RuntimeError(f"create_sub_device_manager: sub-device {index} shares cores "
                                   f"{sorted(cores & taken)} with another sub-device")
            taken |= cores
        state = self._sub_device_state()
        manager = SubDeviceManagerId(state["next"])
        state["next"] += 1
        state["managers"][manager] = sub_devices
        return manager

    def load_sub_device_manager(self, sub_device_manager_id):
        state = self._sub_device_state()
        if sub_device_manager_id not in state["managers"]:
            raise RuntimeError(f"load_sub_device_manager: sub device manager {sub_device_manager_id} does not exist")
        state["active"], state["stall"] = sub_device_manager_id, None

    def clear_loaded_sub_device_manager(self):
        state = self._sub_device_state()
        state["active"], state["stall"] = None, None

    def remove_sub_device_manager(self, sub_device_manager_id):
        state = self._sub_device_state()
        if sub_device_manager_id == state["active"]:
            raise RuntimeError(f"remove_sub_device_manager: cannot remove the active sub device manager "
                               f"{sub_device_manager_id}")
        if state["managers"].pop(sub_device_manager_id, None) is None:
            raise RuntimeError(f"remove_sub_device_manager: sub device manager {sub_device_manager_id} does not "
                               "exist")

    def get_sub_device_ids(self):
        return [SubDeviceId(i) for i in range(len(self._loaded_sub_devices()))]

    def _loaded_sub_devices(self):
        state = self._sub_device_state()
        if state["active"] is None:
            grid = self.compute_with_storage_grid_size()
            return [SubDevice([CoreRangeSet([CoreRange(CoreCoord(0, 0), CoreCoord(grid.x - 1, grid.y - 1))])])]
        return state["managers"][state["active"]]

    def _sub_device(self, sub_device_id):
        """The loaded SubDevice that sub_device_id names (an error for one the loaded manager lacks)."""
        loaded = self._loaded_sub_devices()
        index = int(sub_device_id)
        if not 0 <= index < len(loaded):
            raise RuntimeError(f"SubDevice with id {index} not found: the loaded sub device manager has "
                               f"{len(loaded)} sub-device(s)")
        return loaded[index]

    def worker_cores(self, core_type=None, sub_device_id=None):
        return self._sub_device(sub_device_id if sub_device_id is not None else 0).worker_cores

    def set_sub_device_stall_group(self, sub_device_ids):
        ids = [SubDeviceId(int(i)) for i in sub_device_ids]
        if not ids:
            raise RuntimeError("set_sub_device_stall_group: needs at least one sub-device")
        for i in ids:
            self._sub_device(i)
        self._sub_device_state()["stall"] = ids

    def reset_sub_device_stall_group(self):
        self._sub_device_state()["stall"] = None


def check_sub_device_cores(device, sub_device_id, cores, what):
    """An op asked to run on sub_device_id of `device` (a MeshDevice) over `cores` (a CoreRangeSet, or None):
    the sub-device must exist in the loaded manager and hold every one of the cores."""
    if device is None or not isinstance(device, SubDeviceManagement):
        return
    if sub_device_id is None:
        if cores is not None and not _core_set(cores) <= device._grid_cores():
            raise RuntimeError(f"{what}: cores {cores} are outside the device's worker grid")
        return
    sub_device = device._sub_device(sub_device_id)
    if cores is not None:
        outside = _core_set(cores) - _core_set(sub_device.worker_cores)
        if outside:
            raise RuntimeError(f"{what}: cores {sorted(outside)} are outside sub-device {int(sub_device_id)}")


# --- tensor files: ttnn._ttnn.tensor.dump_tensor_flatbuffer / load_tensor_flatbuffer and as_tensor's cache -------

class DumpTensorMode(_enum.Enum):
    """How a multi-device tensor is written to a file: LOCAL writes each device's own shard from this process;
    DISTRIBUTED_GATHER gathers the shards to one writer first. One process holds every emulated device, so both
    write the same file."""
    LOCAL = 0
    DISTRIBUTED_GATHER = 1


_TENSOR_FILE_MAGIC = "allocmon-ttnn-tensor-v1"


def dump_tensor_flatbuffer(file_name, tensor, mode=DumpTensorMode.DISTRIBUTED_GATHER):
    """Writes a tensor (its values on every device, read back from a device tensor) to file_name. The format is
    the emulation's own (an .npz of the per-device arrays and the dtype and layout), not tt-metal's flatbuffer."""
    import json

    import numpy as np

    from .operations.core import from_device

    host = from_device(tensor) if tensor.storage_type() != "HOST" else tensor
    meta = {"magic": _TENSOR_FILE_MAGIC, "dtype": host.dtype.value, "layout": host.layout.value,
            "shape": [int(d) for d in host.shape], "shards": len(host._host)}
    arrays = {f"shard{i}": np.ascontiguousarray(a) for i, a in enumerate(host._host)}
    with open(file_name, "wb") as f:
        np.savez(f, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)


def load_tensor_flatbuffer(file_name, device=None, memory_config=None):
    """The tensor dump_tensor_flatbuffer wrote, on the host or moved to `device`. A file in another format
    (tt-metal's own flatbuffers) is a RuntimeError."""
    import json

    import numpy as np

    from .operations.core import to_device
    from .tensor import host_tensor

    try:
        with np.load(file_name, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            if meta.get("magic") != _TENSOR_FILE_MAGIC:
                raise ValueError
            arrays = [np.array(data[f"shard{i}"]).reshape(meta["shape"]) for i in range(meta["shards"])]
    except FileNotFoundError:
        raise
    except Exception:
        raise RuntimeError(f"{file_name}: not a tensor file the emulated ttnn wrote (truncated or corrupt, or "
                           "tt-metal's own format)") from None
    tensor = host_tensor(arrays, DataType(meta["dtype"]), Layout(meta["layout"]))
    return to_device(tensor, device, memory_config) if device is not None else tensor


def tensor_from_cache(cache_file_name, dtype, layout, make, device=None, memory_config=None, mode=None):
    """as_tensor with a cache file: the tensor in `<cache_file_name>_dtype_<DTYPE>_layout_<LAYOUT>.tensorbin`
    when that file exists (whatever the input), else make() (the host tensor), written there first through a
    temporary file renamed into place (a failed write leaves no file), then moved to `device`."""
    import os

    from . import _ttnn
    from .operations.core import to_device

    path = f"{os.fspath(cache_file_name)}_dtype_{dtype.name}_layout_{layout.name}.tensorbin"
    if os.path.exists(path):
        try:
            return _ttnn.tensor.load_tensor_flatbuffer(path, device=device, memory_config=memory_config)
        except RuntimeError:
            pass  # not readable: made again and written over
    tensor = make()
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    temporary = f"{path}.tmp{os.getpid()}"
    try:
        _ttnn.tensor.dump_tensor_flatbuffer(temporary, tensor, mode or DumpTensorMode.DISTRIBUTED_GATHER)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return to_device(tensor, device, memory_config) if device is not None else tensor
