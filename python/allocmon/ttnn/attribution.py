"""Every buffer the facade allocates carries the ttnn op that allocated it and the user's line that called it
(docs/attribution.md): each public op, creation and device function runs inside an allocmon.op context named
after it ("ttnn.matmul") with the first call site outside allocmon. Only the outermost call counts, so what
ttnn.linear allocates through the facade's own matmul is ttnn.linear's, as the user wrote it. Costs a frame walk
and two client calls per op, and nothing while tracking is off."""

import functools as _functools
import re as _re
import threading as _threading
import types as _types

from .. import _allocmon
from ..attribution import call_site as _call_site
from ..attribution import holders as _holders

_depth = _threading.local()


def attributed(fn, name):
    @_functools.wraps(fn)
    def call(*args, **kwargs):
        if getattr(_depth, "n", 0) or not _allocmon.tracking_enabled():
            return fn(*args, **kwargs)
        _depth.n = 1
        _allocmon.op_begin(name, _call_site())
        try:
            return fn(*args, **kwargs)
        except _allocmon.OutOfMemoryError as error:
            raise _allocmon.OutOfMemoryError(f"{error}{_breakdown(str(error))}") from None
        finally:
            _allocmon.op_end()
            _depth.n = 0

    call.__wrapped_op__ = name
    return call


_FAILED = _re.compile(r"allocate \d+ B (\w+) buffer.*devices (\d+)")


def _breakdown(message, top=5):
    """What filled the memory an allocation failed in, as the server sees it now: the largest holders of that
    device's memory type by op, scope and call site (tt-metal prints its allocator's statistics; this says whose
    bytes they are)."""
    found = _FAILED.search(message)
    if not found or _allocmon.flush(2000) != 0:
        return ""
    memory_type, device = found.group(1), int(found.group(2))
    lines = [f"\nlargest holders of {memory_type} on device {device} now:"]
    for by in ("op", "scope", "site"):
        try:
            rows = _holders(by, device=device, memory_type=memory_type)[:top]
        except RuntimeError:  # no server to ask
            return ""
        if rows:
            lines.append(f"  by {by}: " + ", ".join(f"{name} {size} B" for name, size in rows))
    return "\n".join(lines) if len(lines) > 1 else ""


def instrument(package, modules):
    """Wraps every public function of `modules` (in the module and in `package`, where the name is the
    same object) so that what it allocates is attributed to ttnn.<name>."""
    for module in modules:
        for name in getattr(module, "__all__", ()):
            fn = getattr(module, name, None)
            if not isinstance(fn, _types.FunctionType) or hasattr(fn, "__wrapped_op__"):
                continue
            wrapped = attributed(fn, f"ttnn.{name}")
            setattr(module, name, wrapped)
            if getattr(package, name, None) is fn:
                setattr(package, name, wrapped)
