"""Mesh mappers on dims the mesh does not divide, as ttnn cuts them: ShardTensorToMesh uses torch.chunk's
split (pieces of ceil(n / k), possibly fewer pieces than devices) and ShardTensor2dMesh needs exactly one shard
per mesh row / column (tt-metal's TT_FATAL otherwise). The emulated mesh holds one shard shape on every device,
so a cut into shards of different shapes is refused with NotEmulatedError naming the rule, on the host path
and the device path alike; even cuts work as before."""

import pytest
import torch

from allocmon import ttnn
from allocmon.ttnn.distributed import chunk_sizes


@pytest.fixture
def mesh():
    device = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    yield device
    ttnn.close_mesh_device(device)


@pytest.mark.parametrize("size, parts", [(8, 8), (10, 4), (7, 4), (3, 4), (6, 4), (1, 8), (33, 8)])
def test_chunk_sizes_are_torch_chunk(size, parts):
    assert chunk_sizes(size, parts) == [c.shape[0] for c in torch.arange(size).chunk(parts)]


@pytest.mark.parametrize("on_device", [False, True])
def test_shard_tensor_to_mesh_uneven_is_refused_naming_the_rule(mesh, on_device):
    host = torch.randn(10, 32)  # 10 rows over 8 devices: torch.chunk gives 5 shards of 2
    with pytest.raises(ttnn.NotEmulatedError, match=r"ShardTensorToMesh of tensor dim 0 \(size 10\) over 8 mesh "
                                                    r"devices.*torch.chunk.*\[2, 2, 2, 2, 2\]"):
        ttnn.from_torch(host, dtype=ttnn.float32, device=mesh if on_device else None,
                        mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=0))


def test_shard_tensor_to_mesh_even_still_works(mesh):
    host = torch.randn(16, 32)
    t = ttnn.from_torch(host, dtype=ttnn.float32, device=mesh, mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=0))
    assert tuple(t.shape) == (2, 32)
    assert torch.equal(ttnn.to_torch(t, mesh_composer=ttnn.ConcatMeshToTensor(mesh, dim=0)), host)


def test_shard_tensor_2d_needs_one_shard_per_row_and_column(mesh):
    host = torch.randn(2, 6, 32)  # 6 over 4 columns: chunks of 2 give 3 shards, not 4 -> tt-metal's TT_FATAL
    with pytest.raises(RuntimeError, match="ShardTensor2dMesh: sharding failed.*3 shards.*4 columns"):
        ttnn.from_torch(host, dtype=ttnn.float32, device=mesh,
                        mesh_mapper=ttnn.ShardTensor2dMesh(mesh, mesh_shape=(2, 4), dims=(0, 1)))
    uneven = torch.randn(2, 7, 32)  # 7 over 4: shards of [2, 2, 2, 1]: as many as columns, but unequal
    with pytest.raises(ttnn.NotEmulatedError, match=r"\[2, 2, 2, 1\]"):
        ttnn.from_torch(uneven, dtype=ttnn.float32, mesh_mapper=ttnn.ShardTensor2dMesh(mesh, dims=(0, 1)))
    even = torch.randn(2, 8, 32)
    t = ttnn.from_torch(even, dtype=ttnn.float32, device=mesh, mesh_mapper=ttnn.ShardTensor2dMesh(mesh, dims=(0, 1)))
    assert tuple(t.shape) == (1, 2, 32)
