"""Run an unmodified ttnn script on allocmon's emulated mesh:

    TT_ALLOC_TRACKING_ENABLED=1 python3 -m allocmon.emulate [--mesh-shape RxC] [--arch ARCH] [--no-data] script.py ...

`import ttnn` (and `ttnn.distributed`) inside the script resolve to allocmon.ttnn; everything else runs as usual.
What if: --mesh-shape opens that mesh wherever the script opens one (e.g. 1x8 instead of its 2x4; mappers that
name the script's shape mean the whole mesh), --arch emulates wormhole_b0 or blackhole devices. --no-data: memory
only — device tensors carry shapes, dtypes, layouts and buffers but no values, ops allocate and free exactly as with
data and compute nothing (a Galaxy-sized model's allocation sequence in seconds); to_torch returns zeros.
"""

import os
import runpy
import sys

from . import ttnn as _ttnn
from .ttnn import distributed as _distributed


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    while argv and argv[0] in ("--mesh-shape", "--arch", "--no-data"):
        if argv[0] == "--no-data":
            os.environ["ALLOCMON_MEMORY_ONLY"] = "1"
            argv = argv[1:]
            continue
        if len(argv) < 2:
            print(f"allocmon.emulate: {argv[0]} needs a value", file=sys.stderr)
            return 2
        os.environ["ALLOCMON_MESH_SHAPE" if argv[0] == "--mesh-shape" else "ALLOCMON_ARCH"] = argv[1]
        argv = argv[2:]
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    sys.modules["ttnn"] = _ttnn
    sys.modules["ttnn.distributed"] = _distributed
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
