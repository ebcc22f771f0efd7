"""Run an unmodified ttnn script on allocmon's emulated mesh:

    TT_ALLOC_TRACKING_ENABLED=1 python3 -m allocmon.emulate test_mesh_allocation.py [args...]

`import ttnn` (and `ttnn.distributed`) inside the script resolve to allocmon.ttnn; everything else runs as usual.
"""

import runpy
import sys

from . import ttnn as _ttnn
from .ttnn import distributed as _distributed


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
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
