"""One host's workload for the cluster test: a ttnn program on an emulated 4x8 Galaxy mesh (run it under
`python -m allocmon.emulate --no-data`) that fills a share of every chip's DRAM and some L1, prints "ready", and
holds it until its stdin closes.

    galaxy_workload.py DRAM_SHARE [ROWS COLS]    e.g. 0.30; 0.95 puts every chip above the alert threshold
"""

import sys

import ttnn

import allocmon


def main():
    share = float(sys.argv[1])
    rows, cols = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (4, 8)
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(rows, cols))
    capacity = mesh.num_dram_channels() * 1_073_741_792  # a Wormhole chip's DRAM: 12 banks of ~1 GiB
    tile_rows = 1024  # one [1024, 1024] bfloat16 block is 2 MiB per chip
    blocks = int(capacity * share) // (tile_rows * 1024 * 2)
    held = []
    with allocmon.scope("kv_cache"):
        held.append(ttnn.allocate_tensor_on_device(ttnn.Shape([blocks, tile_rows, 1024]), ttnn.bfloat16,
                                                   ttnn.TILE_LAYOUT, mesh, ttnn.DRAM_MEMORY_CONFIG))
    with allocmon.scope("activations"):
        held.append(ttnn.allocate_tensor_on_device(ttnn.Shape([1, 64, 1024]), ttnn.bfloat16, ttnn.TILE_LAYOUT, mesh,
                                                   ttnn.L1_MEMORY_CONFIG))
    allocmon.flush()
    print("ready", flush=True)
    sys.stdin.read()  # hold until the test closes our stdin
    for tensor in held:
        ttnn.deallocate(tensor)
    ttnn.close_mesh_device(mesh)


if __name__ == "__main__":
    main()
