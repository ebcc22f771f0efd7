"""ttnn.distributed for the emulated mesh: mappers that split a host tensor over the mesh, composers that gather it
back, and the visualize_* helpers."""

import numpy as _np

from .errors import not_emulated

__all__ = [
    "TensorToMesh", "MeshToTensor", "ReplicateTensorToMesh", "ShardTensorToMesh", "ShardTensor2dMesh",
    "ConcatMeshToTensor", "ConcatMesh2dToTensor", "PlacementShard", "PlacementReplicate", "MeshMapperConfig",
    "MeshComposerConfig", "create_mesh_mapper", "create_mesh_composer", "replicate_tensor_to_mesh_mapper",
    "shard_tensor_to_mesh_mapper", "concat_mesh_to_tensor_composer", "distribute_tensor", "aggregate_tensor",
    "visualize_mesh_device", "visualize_system_mesh", "visualize_tensor",
]


def _mesh_of(mesh_device):
    return mesh_device._native


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

    def split(self, array):
        """One array per device of the mesh (row-major order): views of `array`, or `array` itself where it
        is replicated."""
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


def create_mesh_mapper(mesh_device, config):
    _check_shape(mesh_device, config.mesh_shape_override)
    if len(config.placements) == 1:  # a 1-D placement covers every device in row-major order
        p = config.placements[0]
        return TensorToMesh(mesh_device, None, p.dim if isinstance(p, PlacementShard) else -1)
    if len(config.placements) != 2:
        raise not_emulated(f"ttnn.MeshMapperConfig with {len(config.placements)} placements",
                           "meshes have one or two dimensions")
    dims = tuple(p.dim if isinstance(p, PlacementShard) else -1 for p in config.placements)
    return TensorToMesh(mesh_device, dims, -1)


def create_mesh_composer(mesh_device, config):
    _check_shape(mesh_device, config.mesh_shape_override)
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


def concat_mesh_to_tensor_composer(mesh_device, dim):
    return ConcatMeshToTensor(mesh_device, dim)


def distribute_tensor(tensor, mapper, mesh_device=None, **ignored):
    """A host tensor split by `mapper` onto the mesh (one step, as ttnn.from_torch(..., mesh_mapper=...))."""
    from .operations.core import distribute

    return distribute(tensor, mapper, mesh_device or mapper.mesh_device)


def aggregate_tensor(tensor, composer):
    """A distributed tensor's shards put back together on the host by `composer`."""
    from .operations.core import from_device
    from .tensor import host_tensor

    host = from_device(tensor)
    return host_tensor([composer.compose(host.shard_values())], host.dtype, host.layout)


def visualize_mesh_device(mesh_device, tensor=None):
    print(_mesh_of(mesh_device).topology(), end="")


def visualize_system_mesh():
    from .device import get_device_ids

    count = len(get_device_ids())
    print(f"Emulated system: {count} devices (allocmon; set ALLOCMON_EMULATED_DEVICES to change)")


def visualize_tensor(tensor):
    mesh = tensor._mesh._native
    shard = tuple(tensor.shape)
    ids = mesh.get_device_ids()
    print(f"Tensor {tuple(tensor._device.shape)} over a {mesh.rows}x{mesh.cols} mesh, shard {shard} per device:")
    for r in range(mesh.rows):
        print("  " + "  ".join(f"[dev {ids[r * mesh.cols + c]}: {tuple(shard)}]" for c in range(mesh.cols)))
