#!/usr/bin/env python3
"""A ttnn workload for the holders view's terminal test (tests/tui_holders_in_tmux.sh), run by
`python -m allocmon.emulate`: a 2x4 mesh, tensors made in allocmon scopes (the facade names each op and the line
that called it). Per device: model/embed holds 1 MiB of DRAM; model/decoder.N/attention holds (N + 1) x 256 KiB
of DRAM and 64 KiB of L1; model/head a matmul's inputs and output. Prints "ready" once the server has applied
everything (the client's flush barrier), then holds it all until stdin closes."""

import sys

import torch
import ttnn

import allocmon

mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
on_mesh = dict(dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh,
               mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=0))  # one slice of the first dimension per device
in_l1 = dict(on_mesh, memory_config=ttnn.L1_MEMORY_CONFIG)

held = []
with allocmon.scope("model"):
    with allocmon.scope("embed"):
        held.append(ttnn.from_torch(torch.zeros(8, 512, 1024), **on_mesh))  # embed: 1 MiB per device
    for i in range(3):
        with allocmon.scope(f"decoder.{i}"), allocmon.scope("attention"):
            held.append(ttnn.from_torch(torch.zeros(8, 128 * (i + 1), 1024), **on_mesh))  # (i + 1) x 256 KiB
            held.append(ttnn.from_torch(torch.zeros(8, 128, 256), **in_l1))  # activations: 64 KiB of L1
    with allocmon.scope("head"):
        a = ttnn.from_torch(torch.zeros(8, 64, 128), **on_mesh)
        b = ttnn.from_torch(torch.zeros(8, 128, 256), **on_mesh)
        held += [a, b, ttnn.matmul(a, b)]
assert allocmon.flush() == allocmon.FLUSH_OK
print("ready", flush=True)
sys.stdin.readline()
ttnn.close_mesh_device(mesh)
