#!/usr/bin/env python3
"""The seed's mesh scenario written as a plain ttnn script: nothing allocmon-specific in it. On hardware it runs
with real ttnn; here it runs on the emulated mesh with

    TT_ALLOC_TRACKING_ENABLED=1 python3 -m allocmon.emulate examples/ttnn/test_mesh_allocation.py
"""

import argparse

import torch
import ttnn
from ttnn.distributed import visualize_mesh_device


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib-per-device", type=int, default=100)
    rows = parser.parse_args().mib_per_device * 1024 * 1024 // (2 * 1024)  # bfloat16 rows of 1024 per device

    print("[Step 1] Opening 8-Device Mesh (2x4 Topology)")
    mesh_device = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    print(f"✓ Mesh device opened: {mesh_device}")
    visualize_mesh_device(mesh_device)

    mapper = ttnn.create_mesh_mapper(
        mesh_device, ttnn.MeshMapperConfig([ttnn.PlacementShard(0), ttnn.PlacementShard(1)], ttnn.MeshShape(2, 4)))
    composer = ttnn.create_mesh_composer(mesh_device, ttnn.MeshComposerConfig([0, 1], ttnn.MeshShape(2, 4)))

    print(f"\n[Step 2] Creating Distributed Tensor ({rows * 2048 // 2**20}MB per device)")
    a_host = torch.randn(2, 4, rows, 1024).to(torch.bfloat16)  # one (rows, 1024) bfloat16 shard per device
    a = ttnn.from_torch(a_host, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh_device, mesh_mapper=mapper)
    print("✓ Tensor distributed across mesh!")

    print(f"\n[Step 3] Creating Second Distributed Tensor ({rows * 2048 // 2**20}MB per device)")
    b_host = torch.randn(2, 4, rows, 1024).to(torch.bfloat16)
    b = ttnn.from_torch(b_host, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh_device, mesh_mapper=mapper)
    print("✓ Second tensor distributed!")

    print("\n[Step 4] Performing Distributed Computation (Add)")
    c = ttnn.add(a, b)
    ok_add = torch.allclose(ttnn.to_torch(c, mesh_composer=composer)[:, :, :4096].float(),
                            (a_host[:, :, :4096] + b_host[:, :, :4096]).float(), rtol=1e-2, atol=1e-2)
    print(f"✓ Distributed addition completed! (matches torch: {ok_add})")

    print("\n[Step 5] Performing Distributed MatMul")
    x_host = torch.randn(8, 8, 256, 128, dtype=torch.bfloat16)
    y_host = torch.randn(8, 8, 128, 256, dtype=torch.bfloat16)
    x = ttnn.from_torch(x_host, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh_device, mesh_mapper=mapper)
    y = ttnn.from_torch(y_host, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh_device, mesh_mapper=mapper)
    z = ttnn.matmul(x, y)
    ok_matmul = torch.allclose(ttnn.to_torch(z, mesh_composer=composer).float(),
                               torch.matmul(x_host.float(), y_host.float()), rtol=1e-1, atol=1e-1)
    print(f"✓ Distributed matmul completed! (matches torch: {ok_matmul})")

    print("\n[Step 6] Deallocating Tensors - WATCH MEMORY DROP!")
    for tensor in (z, x, y, c, b, a):
        ttnn.deallocate(tensor)
    mesh_device.disable_and_clear_program_cache()
    ttnn.close_mesh_device(mesh_device)
    print("✓ All tensors deallocated - memory should be back to baseline!")
    return 0 if ok_add and ok_matmul else 1


if __name__ == "__main__":
    raise SystemExit(main())
