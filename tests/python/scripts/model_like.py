"""A model-shaped ttnn script for the memory-only test: weights replicated and sharded over a mesh, activations
through matmul, add, relu, sum, an L1 round trip, deallocations; it prints what to_torch gives back."""

import torch
import ttnn

mesh = ttnn.open_mesh_device(ttnn.MeshShape(4, 8))
mesh.enable_program_cache()
x = ttnn.from_torch(torch.randn(32, 8, 256, 512), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh,
                    mesh_mapper=ttnn.ShardTensor2dMesh(mesh, dims=(0, 1), mesh_shape=(4, 8)))
for layer in range(4):
    w = ttnn.from_torch(torch.randn(512, 512), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh,
                        mesh_mapper=ttnn.ReplicateTensorToMesh(mesh))
    y = ttnn.matmul(x, w)
    z = ttnn.relu(ttnn.add(y, y))
    ttnn.deallocate(y)
    ttnn.deallocate(w)
    if layer == 2:
        z = ttnn.to_memory_config(z, ttnn.L1_MEMORY_CONFIG)
        z = ttnn.to_memory_config(z, ttnn.DRAM_MEMORY_CONFIG)
    ttnn.deallocate(x)
    x = z
s = ttnn.sum(x, dim=3)
print("result shape", tuple(ttnn.to_torch(s, mesh_composer=ttnn.ConcatMesh2dToTensor(mesh, dims=(0, 1), mesh_shape=(4, 8))).shape))
ttnn.close_mesh_device(mesh)
