"""What the bytes are (docs/attribution.md): scopes, ops, call sites and tensor descriptions that every buffer
allocated under them carries to the server, marks, and the queries that read them back (holders, the tensors
across the mesh, diff between two marks)."""

import functools as _functools
import os as _os
import sys as _sys

from . import _allocmon

__all__ = ["scope", "op", "tensor", "mark", "call_site", "holders", "tensors", "diff"]


class scope:  # noqa: N801 (used like a function: `with allocmon.scope("decoder.3"):` / `@allocmon.scope("x")`)
    """A named scope for this thread: buffers allocated inside carry the path of every enclosing scope
    ("model/decoder.3/attention"). Works as a context manager and as a decorator."""

    def __init__(self, name):
        self.name = str(name)

    def __enter__(self):
        _allocmon.scope_push(self.name)
        return self

    def __exit__(self, *exc):
        _allocmon.scope_pop()
        return False

    def __call__(self, fn):
        @_functools.wraps(fn)
        def scoped(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return scoped


class op:  # noqa: N801
    """The op allocating now ("ttnn.matmul") and where the user called it from ("model.py:123"); runtimes and
    the ttnn facade wrap each op's allocations in one."""

    __slots__ = ("name", "site")

    def __init__(self, name, site=""):
        self.name = name
        self.site = site

    def __enter__(self):
        _allocmon.op_begin(self.name, self.site)
        return self

    def __exit__(self, *exc):
        _allocmon.op_end()
        return False


class tensor:  # noqa: N801
    """What the buffers allocated inside hold, as a person reads it: "bfloat16 TILE [1, 1, 1024, 1024] DRAM
    interleaved, sharded dim 3 over 8" (the emulated mesh says this of every tensor by itself). Say what a
    tensor is, not which one: each distinct description is named to the server once."""

    __slots__ = ("description",)

    def __init__(self, description):
        self.description = str(description)

    def __enter__(self):
        _allocmon.tensor_begin(self.description)
        return self

    def __exit__(self, *exc):
        _allocmon.tensor_end()
        return False


def mark(name):
    """A named point in this process's run (e.g. "iter-1"), in order with its allocations."""
    _allocmon.mark(str(name))


_OWN = (_os.path.dirname(_os.path.abspath(__file__)),)


def call_site(skip=()):
    """'file.py:123' of the first frame outside allocmon (and outside the folders in `skip`): the user's line
    that led to this allocation."""
    prefixes = _OWN + tuple(skip)
    frame = _sys._getframe(1)
    while frame is not None:
        path = frame.f_code.co_filename
        if not path.startswith(prefixes) and not path.startswith("<frozen"):
            return f"{_os.path.basename(path)}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


def holders(by="scope", socket=None, device=None, memory_type=None, timeout_ms=5000):
    """Who holds the attributed bytes now: [(name, bytes)] per scope, op, site or tensor description (largest
    first), over every device or one, every memory type or one. tensors() lists the tensors themselves."""
    if by not in ("scope", "op", "site", "tensor"):
        raise ValueError(f"holders(by=...): 'scope', 'op', 'site' or 'tensor', not {by!r}")
    import allocmon

    snap = allocmon.snapshot(socket, timeout_ms)
    rows = []
    for holder in snap.get("holders", {}).get(by, []):
        total = 0
        for entry in holder["devices"]:
            if device is not None and entry["id"] != device:
                continue
            total += sum(b for t, b in entry["memory"].items() if memory_type in (None, t))
        if total:
            rows.append((holder["name"], total))
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def tensors(socket=None, device=None, memory_type=None, timeout_ms=5000):
    """The live tensors, one row per tensor across the mesh (as the monitor's holders view by tensor): the
    buffers one process holds of the same type, size and address and in the same context, one per device.
    Each row: tensor (the description; "" where none was said), scope, op, site, type, bytes (over every
    device), buffers, devices (sorted ids), per_device (the bytes on each of them), size, address, pid; largest
    first."""
    import allocmon

    rows = {}
    for process in allocmon.leaks(-1 if device is None else device, socket, timeout_ms)["processes"]:
        for b in process["buffers"]:
            if memory_type is not None and b["type"] != memory_type:
                continue
            named = tuple(b.get(field, "") for field in ("tensor", "scope", "op", "site"))
            key = (process["pid"], b["type"], b["size"], b["address"]) + named
            row = rows.setdefault(key, {"tensor": named[0], "scope": named[1], "op": named[2], "site": named[3],
                                        "type": b["type"], "bytes": 0, "buffers": 0, "devices": set(),
                                        "per_device": b["size"], "size": b["size"], "address": b["address"],
                                        "pid": process["pid"]})
            row["bytes"] += b["size"]
            row["buffers"] += 1
            row["devices"].add(b["device"])
    out = sorted(rows.values(), key=lambda r: (-r["bytes"], r["tensor"], r["scope"], r["address"], r["pid"]))
    for row in out:
        row["devices"] = sorted(row["devices"])
    return out


def diff(first, second, socket=None, by=("scope", "op", "site"), timeout_ms=5000):
    """What was allocated between marks `first` and `second` and is still alive: one row per (scope, op, site)
    with its bytes per device and memory type, largest first. The leak between two iterations.

    Marks are matched by name (the latest mark of each name); `second` may be None for "now"."""
    import allocmon

    snap = allocmon.snapshot(socket, timeout_ms)
    marks = {m["name"]: m["seq"] for m in snap.get("marks", [])}
    for name in (first, second):
        if name is not None and name not in marks:
            known = ", ".join(sorted(marks)) or "none"
            raise KeyError(f"no mark named {name!r} (marks: {known})")
    low = marks[first]
    high = marks[second] if second is not None else float("inf")
    leaks = allocmon.leaks(-1, socket, timeout_ms)
    rows = {}
    for process in leaks["processes"]:
        for buffer in process["buffers"]:
            seq = buffer.get("seq")
            if seq is None or not low < seq <= high:
                continue
            key = tuple(buffer.get(field, "") for field in by)
            row = rows.setdefault(key, {**dict(zip(by, key)), "bytes": 0, "buffers": 0, "devices": {},
                                        "pids": set()})
            row["bytes"] += buffer["size"]
            row["buffers"] += 1
            per_type = row["devices"].setdefault(buffer["device"], {})
            per_type[buffer["type"]] = per_type.get(buffer["type"], 0) + buffer["size"]
            row["pids"].add(process["pid"])
    out = sorted(rows.values(), key=lambda r: (-r["bytes"], tuple(r[f] for f in by)))
    for row in out:
        row["pids"] = sorted(row["pids"])
    return out
