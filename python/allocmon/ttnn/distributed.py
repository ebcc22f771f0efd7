"""ttnn.distributed for the emulated mesh: mappers that split a host tensor over the mesh, composers that gather it
back, and the visualize_* helpers."""

from .. import _allocmon


def _mesh_of(mesh_device):
    return mesh_device._native


class TensorToMesh:
    """How a host tensor goes onto a mesh: (row_dim, col_dim) per mesh axis (-1 replicates), or one dim split
    over every device in row-major order (flat_dim)."""

    def __init__(self, mesh_device, shard_dims=None, flat_dim=-1):
        self.mesh_device = mesh_device
        self._shard_dims = shard_dims
        self._flat_dim = flat_dim

    def __repr__(self):
        return f"{type(self).__name__}(shard_dims={self._shard_dims}, flat_dim={self._flat_dim})"


class MeshToTensor:
    def __init__(self, mesh_device, concat_dims=None, flat_dim=-1):
        self.mesh_device = mesh_device
        self._concat_dims = concat_dims
        self._flat_dim = flat_dim


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
        raise NotImplementedError(f"allocmon.ttnn: distributing over a {tuple(mesh_shape)} submesh of a {actual} "
                                  "mesh is not emulated; use the mesh's own shape")


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
        raise NotImplementedError("allocmon.ttnn: mesh mappers need one or two placements")
    dims = tuple(p.dim if isinstance(p, PlacementShard) else -1 for p in config.placements)
    return TensorToMesh(mesh_device, dims, -1)


def create_mesh_composer(mesh_device, config):
    _check_shape(mesh_device, config.mesh_shape_override)
    if len(config.dims) == 1:
        return MeshToTensor(mesh_device, None, config.dims[0])
    if len(config.dims) != 2:
        raise NotImplementedError("allocmon.ttnn: mesh composers need one or two dims")
    return MeshToTensor(mesh_device, tuple(config.dims), -1)


def distribute_tensor(tensor, mapper, mesh_device=None, **ignored):
    from . import to_device

    return to_device(tensor, mesh_device or mapper.mesh_device, mesh_mapper=mapper)


def aggregate_tensor(tensor, composer):
    from . import from_device

    return from_device(tensor, composer)


def _composer_for(tensor):
    """The composer that undoes the mapper a tensor was distributed with (replicated: the first device's copy)."""
    mapper = tensor._mapper
    if mapper is None or (mapper._shard_dims is None and mapper._flat_dim < 0):
        return MeshToTensor(None, None, -1)
    if mapper._flat_dim >= 0:
        return MeshToTensor(None, None, mapper._flat_dim)
    row, col = mapper._shard_dims
    if row < 0 and col < 0:
        return MeshToTensor(None, None, -1)
    return MeshToTensor(None, (row, col), -1)


def visualize_mesh_device(mesh_device, tensor=None):
    print(_mesh_of(mesh_device).topology(), end="")


def visualize_system_mesh():
    from . import get_device_ids

    count = len(get_device_ids())
    print(f"Emulated system: {count} devices (allocmon; set ALLOCMON_EMULATED_DEVICES to change)")


def visualize_tensor(tensor):
    mesh = tensor._mesh._native
    shard = tensor._device.shard_shape
    ids = mesh.get_device_ids()
    print(f"Tensor {tuple(tensor.shape)} over a {mesh.rows}x{mesh.cols} mesh, shard {tuple(shard)} per device:")
    for r in range(mesh.rows):
        print("  " + "  ".join(f"[dev {ids[r * mesh.cols + c]}: {tuple(shard)}]" for c in range(mesh.cols)))
