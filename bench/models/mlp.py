"""A ttnn MLP stack for the emulator benchmark: LAYERS layers of four WIDTH x WIDTH bfloat16 weights, replicated on
every device of a ROWSxCOLS mesh, and a (1, 1, 1024, WIDTH) activation through linear, gelu, relu and add."""

import argparse

import ttnn

parser = argparse.ArgumentParser()
parser.add_argument("--mesh", default="2x4", help="ROWSxCOLS")
parser.add_argument("--layers", type=int, default=8)
parser.add_argument("--width", type=int, default=2048)
args = parser.parse_args()
rows, cols = (int(n) for n in args.mesh.split("x"))

mesh = ttnn.open_mesh_device(ttnn.MeshShape(rows, cols))
square = (args.width, args.width)
layers = [[ttnn.ones(square, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh) for _ in range(4)]
          for _ in range(args.layers)]
x = ttnn.ones((1, 1, 1024, args.width), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=mesh)
for w1, w2, w3, w4 in layers:
    h = ttnn.gelu(ttnn.linear(x, w1))
    g = ttnn.linear(h, w2)
    ttnn.deallocate(h)
    y = ttnn.add(x, ttnn.linear(ttnn.relu(ttnn.linear(g, w3)), w4))
    ttnn.deallocate(g)
    ttnn.deallocate(x)
    x = y
for weights in layers:
    for w in weights:
        ttnn.deallocate(w)
ttnn.close_mesh_device(mesh)
