"""ttnn.distributed for the emulated mesh: mappers that split a host tensor over the mesh, composers that gather it
back, and the visualize_* helpers."""

import numpy as _np

from .errors import not_emulated

__all__ = [
    "TensorToMesh", "MeshToTensor", "ReplicateTensorToMesh", "ShardTensorToMesh", "ShardTensor2dMesh",
    "ConcatMeshToTensor", "ConcatMesh2dToTensor", "PlacementShard", "PlacementReplicate", "MeshMapperConfig",
    "MeshComposerConfig", "create_mesh_mapper", "create_mesh_composer", "replicate_tensor_to_mesh_mapper",
    "shard_tensor_to_mesh_mapper", "concat_mesh_to_tensor_composer", "distribute_tensor", "aggregate_tensor",
    "visualize_mesh_device", "visualize_system_mesh", "visualize_tensor", "MeshCoordinate", "MeshCoordinateRange",
    "MeshCoordinateRangeSet", "aggregate_as_tensor",
]


def _mesh_of(mesh_device):
    return mesh_device._native


class MeshCoordinate:
    """A device's place in a mesh: MeshCoordinate(row, col), MeshCoordinate([row, col]) (any number of dims)."""

    def __init__(self, *coords):
        if len(coords) == 1 and isinstance(coords[0], (tuple, list, MeshCoordinate)):
            coords = tuple(coords[0])
        if not coords:
            raise ValueError("MeshCoordinate: needs at least one coordinate")
        if any(int(c) < 0 for c in coords):
            raise ValueError(f"MeshCoordinate: coordinates must be non-negative, got {list(coords)}")
        self._coords = tuple(int(c) for c in coords)

    def coords(self):
        return list(self._coords)

    def dims(self):
        return len(self._coords)

    def __getitem__(self, index):
        return self._coords[index]

    def __iter__(self):
        return iter(self._coords)

    def __len__(self):
        return len(self._coords)

    def __eq__(self, other):
        return isinstance(other, MeshCoordinate) and self._coords == other._coords

    def __lt__(self, other):
        return self._coords < other._coords

    def __hash__(self):
        return hash(("MeshCoordinate", self._coords))

    def __repr__(self):
        return f"MeshCoordinate([{', '.join(str(c) for c in self._coords)}])"


class MeshCoordinateRange:
    """The coordinates from `start` to `end` (both included): MeshCoordinateRange(start, end), or
    MeshCoordinateRange(shape) for every coordinate of a mesh of that shape. Iterates in row-major order."""

    def __init__(self, start, end=None):
        if end is None:
            shape = tuple(start)
            if not shape or any(int(d) <= 0 for d in shape):
                raise ValueError(f"MeshCoordinateRange: a shape has positive dims, got {list(shape)}")
            start, end = MeshCoordinate([0] * len(shape)), MeshCoordinate([int(d) - 1 for d in shape])
        start, end = MeshCoordinate(start), MeshCoordinate(end)
        if start.dims() != end.dims():
            raise ValueError(f"MeshCoordinateRange: {start} and {end} have different numbers of dimensions")
        if any(s > e for s, e in zip(start, end)):
            raise ValueError(f"MeshCoordinateRange: start {start} must not be past end {end}")
        self._start, self._end = start, end

    def start_coord(self):
        return self._start

    def end_coord(self):
        return self._end

    def dims(self):
        return self._start.dims()

    def shape(self):
        from .types import MeshShape

        return MeshShape([e - s + 1 for s, e in zip(self._start, self._end)])

    def contains(self, other):
        if isinstance(other, MeshCoordinateRange):
            return self.contains(other._start) and self.contains(other._end)
        other = MeshCoordinate(other)
        return other.dims() == self.dims() and all(s <= c <= e for s, c, e in zip(self._start, other, self._end))

    def intersects(self, other):
        return self.intersection(other) is not None

    def intersection(self, other):
        """The coordinates both ranges hold, as a range; None when they share none."""
        low = [max(a, b) for a, b in zip(self._start, other._start)]
        high = [min(a, b) for a, b in zip(self._end, other._end)]
        if self.dims() != other.dims() or any(lo > hi for lo, hi in zip(low, high)):
            return None
        return MeshCoordinateRange(MeshCoordinate(low), MeshCoordinate(high))

    def __iter__(self):
        import itertools

        ranges = [range(s, e + 1) for s, e in zip(self._start, self._end)]
        return (MeshCoordinate(c) for c in itertools.product(*ranges))

    def __len__(self):
        return self.shape().mesh_size() if self.dims() <= 2 else len(list(iter(self)))

    def __eq__(self, other):
        return isinstance(other, MeshCoordinateRange) and (self._start, self._end) == (other._start, other._end)

    def __hash__(self):
        return hash(("MeshCoordinateRange", self._start, self._end))

    def __repr__(self):
        return f"MeshCoordinateRange(start={self._start!r}, end={self._end!r})"


class MeshCoordinateRangeSet:
    """A set of coordinate ranges; merge() joins ranges that overlap or sit side by side into one."""

    def __init__(self, coordinate_range=None):
        self._ranges = []
        if coordinate_range is not None:
            self.merge(coordinate_range)

    def merge(self, coordinate_range):
        ranges, pending = list(self._ranges), coordinate_range
        merged = True
        while merged:
            merged = False
            for other in ranges:
                joined = _joined(pending, other)
                if joined is not None:
                    ranges.remove(other)
                    pending, merged = joined, True
                    break
        ranges.append(pending)
        self._ranges = sorted(ranges, key=lambda r: (tuple(r.start_coord()), tuple(r.end_coord())))

    def ranges(self):
        return list(self._ranges)

    def size(self):
        return len(self._ranges)

    def coords(self):
        return sorted({c for r in self._ranges for c in r})

    def __eq__(self, other):
        return isinstance(other, MeshCoordinateRangeSet) and self._ranges == other._ranges

    def __hash__(self):
        return hash(("MeshCoordinateRangeSet", tuple(self._ranges)))

    def __repr__(self):
        return f"MeshCoordinateRangeSet([{', '.join(repr(r) for r in self._ranges)}])"


def _joined(a, b):
    """a and b as one range when together they fill a box (one contains the other, or they meet along one
    dimension and match in the others); None otherwise."""
    if a.dims() != b.dims():
        return None
    if a.contains(b):
        return a
    if b.contains(a):
        return b
    differing = [d for d in range(a.dims()) if (a.start_coord()[d], a.end_coord()[d]) !=
                 (b.start_coord()[d], b.end_coord()[d])]
    if len(differing) != 1:
        return None
    d = differing[0]
    lo, hi = sorted([a, b], key=lambda r: r.start_coord()[d])
    if hi.start_coord()[d] > lo.end_coord()[d] + 1:
        return None
    start = list(lo.start_coord())
    end = list(lo.end_coord())
    end[d] = max(lo.end_coord()[d], hi.end_coord()[d])
    return MeshCoordinateRange(MeshCoordinate(start), MeshCoordinate(end))


def _normal_dim(dim, rank, what):
    if not -rank <= dim < rank:
        raise IndexError(f"{what}: dim {dim} is out of range for a rank-{rank} tensor")
    return dim % rank


def chunk_sizes(size, parts):
    """How ttnn's mappers cut `size` values into `parts` (xtensor::chunk, as torch.chunk): pieces of
    ceil(size / parts), the last one shorter, and fewer pieces than parts when the size runs out."""
    step = -(-size // parts) if size else 0
    return [min(step, size - start) for start in range(0, size, step)] if step else []


def _split(array, dim, parts, axis, mapper):
    """The array cut along `dim` into one piece per mesh `axis` entry, as ttnn's mapper cuts it."""
    _check_cut(array.shape[dim], dim, parts, axis, mapper)
    return _np.split(array, parts, axis=dim)


def _check_cut(size, dim, parts, axis, mapper):
    sizes = chunk_sizes(size, parts)
    if mapper == "ShardTensor2dMesh" and len(sizes) != parts:
        # tt-metal: TT_FATAL in the 2-D mapper, which needs exactly one shard per mesh row / column
        raise RuntimeError(f"ShardTensor2dMesh: sharding failed: tensor dim {dim} of size {size} cuts into "
                           f"{len(sizes)} shards (chunks of {sizes[0] if sizes else 0}), the mesh has {parts} "
                           f"{axis}; the number of shards must match the mesh dimension")
    if len(sizes) != parts or len(set(sizes)) != 1:
        raise not_emulated(
            f"{mapper} of tensor dim {dim} (size {size}) over {parts} mesh {axis}",
            f"ttnn cuts it as torch.chunk does, into shards of {sizes} values, so devices would hold shards of "
            f"different shapes (or none); the emulated mesh holds one shard shape on every device: use a size "
            f"that {parts} divides")


class TensorToMesh:
    """How a host tensor goes onto a mesh: (row_dim, col_dim) per mesh axis (-1 replicates), or one dim split
    over every device in row-major order (flat_dim)."""

    def __init__(self, mesh_device, shard_dims=None, flat_dim=-1):
        self.mesh_device = mesh_device
        self._shard_dims = shard_dims
        self._flat_dim = flat_dim

    def _check_submesh(self):
        """A submesh holds its tensors on every device of the mesh that was opened (device.MeshDevice): a
        replicated tensor is the same there, a split one would be cut for the wrong number of devices."""
        device = self.mesh_device
        if (self._flat_dim >= 0 or self._shard_dims is not None) and not getattr(
                device, "spans_whole_native_mesh", lambda: True)():
            raise not_emulated(
                f"splitting a tensor over a {tuple(device.shape)} submesh of a {_mesh_of(device).rows}x"
                f"{_mesh_of(device).cols} mesh",
                "a submesh's tensors live on every device of the mesh it was made from: replicate them, or split "
                "over the whole mesh")

    def split(self, array):
        """One array per device of the mesh (row-major order): views of `array`, or `array` itself where it
        is replicated."""
        self._check_submesh()
        mesh = _mesh_of(self.mesh_device)
        rows, cols = mesh.rows, mesh.cols
        rank = array.ndim
        if self._flat_dim >= 0:
            return _split(array, _normal_dim(self._flat_dim, rank, "ShardTensorToMesh"), rows * cols, "devices",
                          "ShardTensorToMesh")
        if self._shard_dims is None:
            return [array] * (rows * cols)
        row_dim, col_dim = self._shard_dims
        by_row = _split(array, row_dim, rows, "rows", "ShardTensor2dMesh") if row_dim >= 0 else [array] * rows
        out = []
        for part in by_row:
            out.extend(_split(part, col_dim, cols, "columns", "ShardTensor2dMesh") if col_dim >= 0 else
                       [part] * cols)
        return out

    def check_shape(self, shape):
        """Raises as split() would for a host tensor of this shape (the native path splits without it)."""
        self._check_submesh()
        mesh = _mesh_of(self.mesh_device)
        rank = len(shape)
        if self._flat_dim >= 0:
            dim = _normal_dim(self._flat_dim, rank, "ShardTensorToMesh")
            _check_cut(shape[dim], dim, mesh.rows * mesh.cols, "devices", "ShardTensorToMesh")
        elif self._shard_dims is not None:
            for dim, parts, axis in zip(self._shard_dims, (mesh.rows, mesh.cols), ("rows", "columns")):
                if dim >= 0:
                    _check_cut(shape[dim], dim, parts, axis, "ShardTensor2dMesh")

    def __repr__(self):
        return f"{type(self).__name__}(shard_dims={self._shard_dims}, flat_dim={self._flat_dim})"


class MeshToTensor:
    def __init__(self, mesh_device, concat_dims=None, flat_dim=-1):
        self.mesh_device = mesh_device
        self._concat_dims = concat_dims
        self._flat_dim = flat_dim

    def compose(self, arrays):
        """One host array from every device's (mesh row-major order)."""
        if self._flat_dim >= 0:
            return _np.concatenate(arrays, axis=self._flat_dim)
        if self._concat_dims is None:
            return arrays[0]
        mesh = _mesh_of(self.mesh_device)
        rows, cols = mesh.rows, mesh.cols
        if len(arrays) != rows * cols:
            raise RuntimeError(f"the composer is for a {rows}x{cols} mesh, the tensor has {len(arrays)} shards")
        row_dim, col_dim = self._concat_dims
        per_row = []
        for r in range(rows):
            row = arrays[r * cols:(r + 1) * cols]
            per_row.append(_np.concatenate(row, axis=col_dim) if col_dim >= 0 else row[0])
        return _np.concatenate(per_row, axis=row_dim) if row_dim >= 0 else per_row[0]


def ReplicateTensorToMesh(mesh_device):  # noqa: N802 (ttnn's name)
    return TensorToMesh(mesh_device, None, -1)


def ShardTensorToMesh(mesh_device, dim):  # noqa: N802
    return TensorToMesh(mesh_device, None, int(dim))


def _pair(dims):
    row, col = dims
    return (-1 if row is None else int(row), -1 if col is None else int(col))


def ShardTensor2dMesh(mesh_device, mesh_shape=None, dims=(None, None)):  # noqa: N802
    _check_shape(mesh_device, mesh_shape)
    return TensorToMesh(mesh_device, _pair(dims), -1)


def ConcatMeshToTensor(mesh_device, dim):  # noqa: N802
    return MeshToTensor(mesh_device, None, int(dim))


def ConcatMesh2dToTensor(mesh_device, mesh_shape=None, dims=(0, 1)):  # noqa: N802
    _check_shape(mesh_device, mesh_shape)
    return MeshToTensor(mesh_device, _pair(dims), -1)


def _check_shape(mesh_device, mesh_shape):
    if mesh_shape is None:
        return
    actual = (_mesh_of(mesh_device).rows, _mesh_of(mesh_device).cols)
    # Under ALLOCMON_MESH_SHAPE the script still names the shape it asked for: that means the whole mesh.
    if tuple(mesh_shape) != actual and tuple(mesh_shape) != getattr(mesh_device, "_requested_shape", None):
        raise not_emulated(f"distributing over a {tuple(mesh_shape)} submesh of a {actual} mesh",
                           "use the mesh's own shape")


class PlacementShard:
    def __init__(self, dim):
        self.dim = int(dim)

    def __repr__(self):
        return f"PlacementShard({self.dim})"


class PlacementReplicate:
    def __repr__(self):
        return "PlacementReplicate()"


class MeshMapperConfig:
    """placements: one per mesh dimension (rows, cols): PlacementShard(tensor_dim) or PlacementReplicate()."""

    def __init__(self, placements, mesh_shape_override=None):
        self.placements = list(placements)
        self.mesh_shape_override = mesh_shape_override


class MeshComposerConfig:
    """dims: the tensor dim to concatenate along for each mesh dimension (rows, cols)."""

    def __init__(self, dims, mesh_shape_override=None):
        self.dims = [int(d) for d in dims]
        self.mesh_shape_override = mesh_shape_override


def _line_axis(mesh_device, override, entries, what):
    """With a mesh_shape_override that lays the mesh's devices out differently (row-major, same number of
    devices): which of the config's `entries` (placements or dims) covers all devices as one line; None when
    the config is laid over the mesh's own shape."""
    if override is None:
        return None
    shape = tuple(override)
    native = _mesh_of(mesh_device)
    if shape in ((native.rows, native.cols), getattr(mesh_device, "_requested_shape", None)):
        return None
    if len(shape) == 2 and shape[0] * shape[1] == native.rows * native.cols and 1 in shape and entries == 2:
        return 1 if shape[0] == 1 else 0  # (1, N): the second entry splits the line; (N, 1): the first
    if len(shape) == 1 and shape[0] == native.rows * native.cols and entries == 1:
        return 0
    raise not_emulated(f"{what} over a {shape} mesh shape on a {native.rows}x{native.cols} mesh",
                       "use the mesh's own shape, or a line of all its devices ((1, N), (N, 1) or (N,))")


def create_mesh_mapper(mesh_device, config):
    placements = config.placements
    line = _line_axis(mesh_device, config.mesh_shape_override, len(placements), "ttnn.MeshMapperConfig")
    if line is not None:  # the other entry is laid over one device: it cuts nothing
        p = placements[line]
        return TensorToMesh(mesh_device, None, p.dim if isinstance(p, PlacementShard) else -1)
    if len(placements) == 1:  # a 1-D placement covers every device in row-major order
        p = placements[0]
        return TensorToMesh(mesh_device, None, p.dim if isinstance(p, PlacementShard) else -1)
    if len(placements) != 2:
        raise not_emulated(f"ttnn.MeshMapperConfig with {len(placements)} placements",
                           "meshes have one or two dimensions")
    dims = tuple(p.dim if isinstance(p, PlacementShard) else -1 for p in placements)
    return TensorToMesh(mesh_device, dims, -1)


def create_mesh_composer(mesh_device, config):
    line = _line_axis(mesh_device, config.mesh_shape_override, len(config.dims), "ttnn.MeshComposerConfig")
    if line is not None:
        return MeshToTensor(mesh_device, None, config.dims[line])
    if len(config.dims) == 1:
        return MeshToTensor(mesh_device, None, config.dims[0])
    if len(config.dims) != 2:
        raise not_emulated(f"ttnn.MeshComposerConfig with {len(config.dims)} dims",
                           "meshes have one or two dimensions")
    return MeshToTensor(mesh_device, tuple(config.dims), -1)


def replicate_tensor_to_mesh_mapper(mesh_device):
    return ReplicateTensorToMesh(mesh_device)


def shard_tensor_to_mesh_mapper(mesh_device, dim):
    return ShardTensorToMesh(mesh_device, dim)


def concat_mesh_to_tensor_composer(mesh_device=None, dim=None):
    """concat_mesh_to_tensor_composer(mesh_device, dim); ttnn before the mesh argument took only the dim
    (concat_mesh_to_tensor_composer(dim=3), or one int): the composer concatenates every device's shard along
    it either way."""
    if dim is None and isinstance(mesh_device, int):
        mesh_device, dim = None, mesh_device
    if dim is None:
        raise TypeError("concat_mesh_to_tensor_composer(): incompatible function arguments: needs dim")
    return ConcatMeshToTensor(mesh_device, dim)


def distribution_of(tensor):
    """How a device tensor is split over its mesh, as a mapper for its shards once they are on the host: the
    1-D split (ShardTensorToMesh and 1-placement configs) the native tensor records; None otherwise."""
    if tensor._device is None or tensor._device_index is not None:
        return None
    flat = tensor._device.flat_dim
    return TensorToMesh(tensor._mesh, None, flat) if flat >= 0 else None


def default_mesh_composer(tensor, call="ttnn.to_torch"):
    """The composer ttnn derives for to_torch / to_numpy without one: a tensor split along one dim over the
    devices in order (its recorded 1-D distribution) is concatenated back along that dim. Any other
    distribution over several devices (replicated, 2-D) raises, as ttnn does."""
    if tensor._device is not None:
        mapper = distribution_of(tensor)
    else:
        mapper = tensor._mapper
    if mapper is not None and mapper._shard_dims is None and mapper._flat_dim >= 0:
        return MeshToTensor(mapper.mesh_device, None, mapper._flat_dim)
    raise RuntimeError(f"{call}: the tensor is distributed over {tensor.num_shards} devices; pass mesh_composer= "
                       "(e.g. ttnn.ConcatMeshToTensor(mesh_device, dim=0)) or take one device's tensor with "
                       "ttnn.get_device_tensors(tensor)[0]. Supply a mesh composer to concatenate multi-device "
                       "shards: only a tensor split along one dim has one by default.")


def distribute_tensor(tensor, mapper, mesh_device=None, **ignored):
    """A host tensor split by `mapper` onto the mesh (one step, as ttnn.from_torch(..., mesh_mapper=...)). A
    device tensor is read back first, as ttnn's binding does: one that is replicated (the same values on every
    device) is distributed from those values."""
    from .operations.core import distribute, from_device
    from .tensor import host_tensor

    if tensor._device is not None:
        replicated = tensor._device_index is not None or (tensor._device.flat_dim < 0 and len({
            a.tobytes() for a in tensor.shard_values()}) == 1)
        host = from_device(tensor)
        if replicated:
            tensor = host_tensor([host.shard_values()[0]], host.dtype, host.layout)
        else:
            tensor = host
    return distribute(tensor, mapper, mesh_device or mapper.mesh_device)


def aggregate_tensor(tensor, composer):
    """A distributed tensor's shards (or a list of per-device tensors) put back together on the host by
    `composer`."""
    from .operations.core import from_device
    from .tensor import host_tensor

    if isinstance(tensor, (list, tuple)):
        tensor = aggregate_as_tensor(tensor)
    host = from_device(tensor)
    return host_tensor([composer.compose(host.shard_values())], host.dtype, host.layout)


def aggregate_as_tensor(tensors):
    """One multi-device tensor from per-device tensors: host tensors become a host tensor with one shard each;
    the per-device views of one device tensor (ttnn.get_device_tensors), all of them in order, are that device
    tensor again (same buffer)."""
    from .tensor import device_tensor, host_tensor

    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("ttnn.aggregate_as_tensor: needs at least one tensor")
    first = tensors[0]
    if any((t.dtype, t.layout, tuple(t.shape)) != (first.dtype, first.layout, tuple(first.shape)) for t in tensors):
        raise RuntimeError("ttnn.aggregate_as_tensor: the tensors differ in dtype, layout or shape")
    if all(t._device is None for t in tensors):
        return host_tensor([a for t in tensors for a in t.shard_values()], first.dtype, first.layout)
    native = first._device
    if all(t._device is native for t in tensors) and [t._device_index for t in tensors] == list(
            range(first._mesh.get_num_devices())):
        return device_tensor(native, first.dtype, first.layout, first._mesh, first._memory_config)
    raise not_emulated("ttnn.aggregate_as_tensor of device tensors that are not all the device tensors of one "
                       "mesh tensor", "aggregate host tensors, or get_device_tensors' whole list")


def visualize_mesh_device(mesh_device, tensor=None):
    print(_mesh_of(mesh_device).topology(), end="")


def visualize_system_mesh():
    from .device import get_device_ids

    count = len(get_device_ids())
    print(f"Emulated system: {count} devices (allocmon; set ALLOCMON_EMULATED_DEVICES to change)")


def visualize_tensor(tensor):
    """Which shard each device of the mesh holds: a device tensor's, or a host tensor's that a mesh mapper
    split (on the host, for the mesh it was split for)."""
    shard = tuple(tensor.shape)
    if tensor._mesh is None:
        if tensor._mapper is None:
            print(f"Host tensor {shard} (not distributed)")
            return
        mesh = _mesh_of(tensor._mapper.mesh_device)
        whole = tuple(tensor._source.shape) if tensor._source is not None else shard
        where = "on the host, split"
    else:
        mesh = tensor._mesh._native
        whole, where = tuple(tensor._device.shape), "placed"
    ids = mesh.get_device_ids()
    print(f"Tensor {whole} {where} over a {mesh.rows}x{mesh.cols} mesh, shard {shard} per device:")
    for r in range(mesh.rows):
        print("  " + "  ".join(f"[dev {ids[r * mesh.cols + c]}: {tuple(shard)}]" for c in range(mesh.cols)))
