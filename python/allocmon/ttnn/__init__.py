"""allocmon.ttnn: a ttnn-compatible facade over allocmon's emulated device mesh.

Unmodified ttnn scripts and tests run on the emulated mesh (`python3 -m allocmon.emulate script.py`, or
`python3 -m allocmon.emulate -m pytest tests/`), and every buffer they create is reported to allocmon like a
real runtime would. The modules mirror ttnn's: types, device, tensor, operations (core, creation, eltwise,
data_movement, matmul, reduction, normalization, embedding), distributed, model_preprocessing. What is emulated
is exactly the names listed in `emulated_names()` (docs/ttnn.md is checked against it); any other name raises
NotEmulatedError, which is an AttributeError, so `hasattr(ttnn, name)` is False for it.
"""

import sys as _sys

from .._allocmon import OutOfMemoryError  # noqa: F401
from . import _ttnn, configs, device, distributed, model_preprocessing, runtime, types, utils  # noqa: F401
from .configs import *  # noqa: F401,F403
from .device import *  # noqa: F401,F403
from .distributed import *  # noqa: F401,F403
from .errors import NotEmulatedError, not_emulated
from .operations import backward as _backward
from .operations import core as _core
from .operations import creation as _creation
from .operations import data_movement as _data_movement
from .operations import eltwise as _eltwise
from .operations import embedding as _embedding
from .operations import indexing as _indexing
from .operations import matmul as _matmul
from .operations import normalization as _normalization
from .operations import reduction as _reduction
from .operations import moreh as _moreh  # noqa: F401 (ttnn.operations.moreh)
from .operations import transformer  # noqa: F401 (ttnn.transformer)
from .operations.backward import *  # noqa: F401,F403
from .operations.core import *  # noqa: F401,F403
from .operations.creation import *  # noqa: F401,F403
from .operations.data_movement import *  # noqa: F401,F403
from .operations.eltwise import *  # noqa: F401,F403
from .operations.embedding import *  # noqa: F401,F403
from .operations.indexing import *  # noqa: F401,F403
from .operations.indexing import experimental  # noqa: F401 (ttnn.experimental)
from .operations.matmul import *  # noqa: F401,F403
from .operations.normalization import *  # noqa: F401,F403
from .operations.reduction import *  # noqa: F401,F403
from .runtime import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
from .runtime import cluster, database, tracer  # noqa: F401 (ttnn.cluster, ttnn.database, ttnn.tracer)
from . import tensor as _tensor
from .tensor import *  # noqa: F401,F403
from .types import *  # noqa: F401,F403

_MODULES = (types, device, configs, _core, _creation, _eltwise, _data_movement, _matmul, _reduction,
            _normalization, _embedding, _indexing, _backward, distributed, runtime, utils)
__all__ = sorted({name for module in _MODULES for name in module.__all__} | set(_tensor.__all__) |
                 {"NotEmulatedError", "OutOfMemoryError", "model_preprocessing", "distributed", "device",
                  "transformer", "cluster", "database", "tracer", "_ttnn", "experimental"})


def emulated_names():
    """{module: [names]}: every ttnn name the facade emulates, by the ttnn module that defines it."""
    listing = {module.__name__.replace("allocmon.", ""): sorted(module.__all__) for module in _MODULES}
    listing["ttnn.tensor"] = sorted(_tensor.__all__)
    listing["ttnn.model_preprocessing"] = sorted(model_preprocessing.__all__)
    listing["ttnn.transformer"] = sorted(transformer.__all__)
    listing["ttnn.operations.moreh"] = sorted(_moreh.__all__)
    listing["ttnn.experimental"] = sorted(experimental.__all__)
    return listing


def __getattr__(name):
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    raise not_emulated(f"ttnn.{name}")


# What the bytes are: each op's buffers carry its ttnn name and the user's call site (attribution.py).
from . import attribution as _attribution  # noqa: E402

_attribution.instrument(_sys.modules[__name__], [_core, _creation, _eltwise, _data_movement, _matmul, _reduction,
                                                _normalization, _embedding, _indexing, _backward, transformer,
                                                experimental, device, distributed, _moreh])
