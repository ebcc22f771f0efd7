"""Per-buffer and per-op events from an UNMODIFIED ttnn (tt-metal), through ttnn's own graph capture.

tt-metal's shared-memory regions give the server totals per chip, not buffers. ttnn's graph capture
(`ttnn.graph`, RunMode.NORMAL) records every device buffer allocation and deallocation (device, address, size,
page size, layout) inside the functions that caused them (function_start / function_end nodes). This module runs
such a capture and forwards what it recorded to allocation_server as liballocmon events: each buffer on each chip
it occupies, inside an allocmon op named after the function that allocated it. The server's leak report,
holders and recordings then show real ttnn's buffers with op names (docs/attribution.md, docs/real-ttnn.md).

    from allocmon import tt_metal
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    with tt_metal.capture(mesh, socket="/tmp/tt_allocation_server.sock") as cap:
        a = ttnn.to_device(host, mesh, memory_config=ttnn.DRAM_MEMORY_CONFIG)
        cap.send()          # optional: forward what was captured so far (the server sees `a` from here on)
        ttnn.deallocate(a)
    # on leaving: the rest is forwarded and the server has applied all of it

What it is and is not (measured on ttnn 0.81.1, docs/real-ttnn.md):
  * POST-HOC, not live: the graph is read when the capture ends (on leaving, or at each `send()`, which ends the
    capture and begins a new one). Between two sends the server has not seen the new buffers yet.
  * Only what happens inside the capture: buffers allocated before it (or between captures) are unknown; their
    deallocation inside a capture is counted in `stats["frees_unseen"]` and sent nowhere. A buffer allocated inside
    and freed outside stays in the server until `release()`, the process's exit, or until a later capture sees a
    buffer placed at its address (then it was freed: `stats["frees_inferred"]`).
  * Device ids: a buffer node names its MESH (`device_id` = the MeshDevice's id, 0 for the first 2x4 mesh, 2 for
    its second 1x4 submesh, ...), not a chip. A mesh buffer is allocated in lock-step on every chip of its mesh,
    so it is sent once per chip, at the node's per-chip size and address. The chips of each mesh come from the
    meshes given to capture()/add_mesh() (with their submeshes), else from the `device_tensors` lists of the
    graph's tensor nodes; a mesh id known from neither is an UnknownDeviceError.
  * Circular buffers (circular_buffer_allocate) and host buffers (SYSTEM_MEMORY) are not forwarded (counted).
  * Once this process has sent events the server counts it through them only: its slot in tt-metal's regions is
    ignored (docs/sources.md, "Counted once"), so bytes allocated outside any capture no longer show.

This file needs only the standard library (ctypes over liballocmon's C ABI, include/allocmon/client.h), so it also
works where allocmon's compiled module was built for another Python: load it by path (importlib) there.
Nothing here imports ttnn until capture() is entered.
"""

import ctypes
import ctypes.util
import json
import os
import warnings

__all__ = ["capture", "GraphCapture", "MeshInfo", "Translator", "send_graph", "load_library", "Liballocmon",
           "GraphFormatError", "UnknownDeviceError", "MEMORY_TYPES"]

# allocmon's memory types (include/allocmon/memory_types.h; wire codes, never renumbered).
MEMORY_TYPES = {"DRAM": 0, "L1": 1, "L1_SMALL": 2, "TRACE": 3, "CB": 4, "KERNEL": 5}
MAX_MEMORY_TYPES = 8
# tt-metal's BufferType enum (the graph's `buffer_type`): DRAM, L1, SYSTEM_MEMORY, L1_SMALL, TRACE.
TT_BUFFER_TYPES = {0: "DRAM", 1: "L1", 2: "SYSTEM_MEMORY", 3: "L1_SMALL", 4: "TRACE"}
# allocmon_layout_kind
LAYOUT_UNKNOWN, LAYOUT_INTERLEAVED, LAYOUT_SHARDED = 0, 1, 2
_SHARDED = {"HEIGHT_SHARDED", "WIDTH_SHARDED", "BLOCK_SHARDED"}
FLUSH_OK, FLUSH_DISABLED, FLUSH_NO_SERVER, FLUSH_TIMEOUT = 0, 1, -1, -2


class GraphFormatError(ValueError):
    """The captured graph is not what ttnn's graph capture produces (a node without a type, a buffer without an
    address or size, ...): names the node."""


class UnknownDeviceError(ValueError):
    """A buffer node names a device (mesh) id whose chips are not known: pass the mesh to capture()/add_mesh()."""


class MeshInfo:
    """One MeshDevice as the translation needs it: its id (what graph nodes call `device_id`), its chips in
    row-major mesh order, and optionally its shape and what the server should show for each chip."""

    __slots__ = ("mesh_id", "chips", "shape", "architecture", "capacity", "grid")

    def __init__(self, mesh_id, chips, shape=None, architecture=None, capacity=None, grid=None):
        self.mesh_id = _as_int(mesh_id, "mesh_id")
        self.chips = tuple(_as_int(c, "chip id") for c in chips)
        if not self.chips:
            raise ValueError(f"MeshInfo {self.mesh_id}: no chips")
        if len(set(self.chips)) != len(self.chips):
            raise ValueError(f"MeshInfo {self.mesh_id}: chip ids repeat: {list(self.chips)}")
        self.shape = None if shape is None else tuple(_as_int(s, "mesh shape") for s in shape)
        if self.shape is not None and (len(self.shape) != 2 or self.shape[0] * self.shape[1] != len(self.chips)):
            raise ValueError(f"MeshInfo {self.mesh_id}: shape {self.shape} does not hold {len(self.chips)} chips")
        self.architecture = architecture
        self.capacity = dict(capacity or {})
        for name in self.capacity:
            if name not in MEMORY_TYPES:
                raise ValueError(f"MeshInfo {self.mesh_id}: unknown memory type {name!r} in capacity")
        self.grid = None if grid is None else (int(grid[0]), int(grid[1]))

    @property
    def described(self):
        return self.architecture is not None or bool(self.capacity)

    def position(self, chip):
        """(row, col) of a chip in this mesh, (-1, -1) without a shape."""
        if self.shape is None:
            return -1, -1
        index = self.chips.index(chip)
        return index // self.shape[1], index % self.shape[1]

    def __repr__(self):
        return f"MeshInfo(mesh_id={self.mesh_id}, chips={list(self.chips)}, shape={self.shape})"


def describe_mesh(mesh, ttnn):
    """MeshInfo for a ttnn MeshDevice and each of its submeshes, through ttnn's public API: ids, chips, shape,
    architecture, allocatable bytes per memory type (banks x bytes per bank) and the worker grid."""
    out = []
    seen = set()
    todo = [mesh]
    while todo:
        m = todo.pop(0)
        if m.id() in seen:
            continue
        seen.add(m.id())
        capacity = {}
        for name in ("DRAM", "L1", "L1_SMALL", "TRACE"):
            try:
                view = ttnn.get_memory_view(m, getattr(ttnn.BufferType, name))
            except Exception:  # an older ttnn without the view: capacity unknown for that type
                continue
            total = int(view.num_banks) * int(view.total_bytes_per_bank)
            if total:
                capacity[name] = total
        arch = m.arch()
        architecture = getattr(arch, "name", str(arch)).lower()
        grid = m.compute_with_storage_grid_size()
        out.append(MeshInfo(m.id(), m.get_device_ids(), shape=list(m.shape), architecture=architecture,
                            capacity=capacity, grid=(grid.x, grid.y)))
        todo.extend(m.get_submeshes() if hasattr(m, "get_submeshes") else [])
    return out


def _as_int(value, what, counter=None):
    if isinstance(value, bool):
        raise GraphFormatError(f"{what}: {value!r} is not a number" + _at(counter))
    try:
        return int(value)
    except (TypeError, ValueError):
        raise GraphFormatError(f"{what}: {value!r} is not a number" + _at(counter)) from None


def _at(counter):
    return "" if counter is None else f" (graph node {counter})"


def _nodes(graph):
    """The node list of a capture: ttnn's end_graph_capture() result, its JSON text, or a report dict with a
    "graph" list."""
    if isinstance(graph, (str, bytes)):
        try:
            graph = json.loads(graph)
        except ValueError as error:
            raise GraphFormatError(f"the graph is not JSON: {error}") from None
    if isinstance(graph, dict):
        if not isinstance(graph.get("graph"), list):
            raise GraphFormatError("a graph dict needs a 'graph' list of nodes")
        graph = graph["graph"]
    if not isinstance(graph, list):
        raise GraphFormatError(f"a graph is a list of nodes, not {type(graph).__name__}")
    for i, node in enumerate(graph):
        if not isinstance(node, dict) or not isinstance(node.get("node_type"), str):
            raise GraphFormatError(f"node #{i} has no node_type: {str(node)[:120]}")
    return sorted(graph, key=lambda n: _as_int(n.get("counter", 0), "counter"))


# Events the translation produces (plain tuples; Liballocmon.apply sends them).
def _ev(kind, **fields):
    fields["kind"] = kind
    return fields


class Translator:
    """Captured graphs -> allocmon events, one capture (segment) after another. Keeps what it has sent alive
    across segments, so a buffer allocated in one segment and freed in a later one is freed on the server.

    op_level: which enclosing function names the op of an allocation: "outermost" (what the user called, e.g.
    "Tensor::to_device", or "ttnn.to_device" when ttnn records Python-level names) or "innermost" (the function
    that allocated, e.g. "tt::tt_metal::create_device_tensor")."""

    def __init__(self, meshes=(), op_level="outermost"):
        if op_level not in ("outermost", "innermost"):
            raise ValueError(f"op_level: 'outermost' or 'innermost', not {op_level!r}")
        self.op_level = op_level
        self.meshes = {}  # mesh id -> MeshInfo
        self.learned = {}  # mesh id -> set of chips seen in device_tensors
        self.live = {}  # (mesh id, memory type, address) -> (buffer id, chips)
        self.registered = set()
        self.next_buffer_id = 1
        self.stats = {"graphs": 0, "allocs": 0, "frees": 0, "frees_unseen": 0, "frees_inferred": 0,
                      "circular_buffers_skipped": 0, "host_buffers_skipped": 0, "functions": 0}
        for mesh in meshes:
            self.add_mesh(mesh)

    def add_mesh(self, info):
        if not isinstance(info, MeshInfo):
            raise TypeError(f"add_mesh: a MeshInfo, not {type(info).__name__}")
        known = self.meshes.get(info.mesh_id)
        if known is not None and known.chips != info.chips:
            raise ValueError(f"mesh {info.mesh_id} was {list(known.chips)}, now {list(info.chips)}")
        self.meshes[info.mesh_id] = info

    def chips_of(self, mesh_id, learned=None):
        if mesh_id in self.meshes:
            return self.meshes[mesh_id].chips
        learned = self.learned if learned is None else learned
        if mesh_id in learned:
            return tuple(sorted(learned[mesh_id]))
        return None

    @staticmethod
    def _learn(node, learned):
        tensors = (node.get("params") or {}).get("device_tensors")
        if tensors is None:
            return
        if isinstance(tensors, str):
            try:
                tensors = json.loads(tensors)
            except ValueError:
                raise GraphFormatError("tensor node: device_tensors is not JSON" + _at(node.get("counter"))) from None
        if not isinstance(tensors, list):
            raise GraphFormatError("tensor node: device_tensors is not a list" + _at(node.get("counter")))
        for entry in tensors:
            if not isinstance(entry, dict) or "device_id" not in entry or "mesh_device_id" not in entry:
                raise GraphFormatError("tensor node: a device_tensors entry without device_id and mesh_device_id"
                                       + _at(node.get("counter")))
            mesh = _as_int(entry["mesh_device_id"], "mesh_device_id", node.get("counter"))
            learned.setdefault(mesh, set()).add(_as_int(entry["device_id"], "device_id", node.get("counter")))

    @staticmethod
    def _buffer(node):
        """(mesh id, allocmon memory type or None for host memory, type name, size, address or None, page size,
        layout kind, shard count) of a buffer_allocate / buffer_deallocate node."""
        p = node.get("params")
        counter = node.get("counter")
        if not isinstance(p, dict):
            raise GraphFormatError(f"{node['node_type']} without params" + _at(counter))
        for key in ("device_id", "size"):
            if key not in p:
                raise GraphFormatError(f"{node['node_type']} without {key}" + _at(counter))
        if "buffer_type" in p:
            code = _as_int(p["buffer_type"], "buffer_type", counter)
            if code not in TT_BUFFER_TYPES:
                raise GraphFormatError(f"unknown buffer_type {code}" + _at(counter))
            name = TT_BUFFER_TYPES[code]
        elif "type" in p:
            name = str(p["type"])
            if name not in MEMORY_TYPES and name != "SYSTEM_MEMORY":
                raise GraphFormatError(f"unknown buffer type {name!r}" + _at(counter))
        else:
            raise GraphFormatError(f"{node['node_type']} without buffer_type or type" + _at(counter))
        size = _as_int(p["size"], "size", counter)
        if size < 0:
            raise GraphFormatError(f"negative size {size}" + _at(counter))
        address = _as_int(p["address"], "address", counter) if "address" in p else None
        layout = str(p.get("layout", ""))
        kind = LAYOUT_INTERLEAVED if layout == "INTERLEAVED" else LAYOUT_SHARDED if layout in _SHARDED else LAYOUT_UNKNOWN
        shards = _as_int(p.get("num_cores", 0), "num_cores", counter) if kind == LAYOUT_SHARDED else 0
        page = _as_int(p.get("page_size", 0), "page_size", counter)
        return (_as_int(p["device_id"], "device_id", counter), MEMORY_TYPES.get(name), name, size, address, page,
                kind, shards)

    def translate(self, graph):
        """The events for one captured graph, in the graph's order. Validates the whole graph (and that every
        device id can be mapped to chips) before changing any state, so a bad graph changes nothing."""
        nodes = _nodes(graph)
        learned = {mesh: set(chips) for mesh, chips in self.learned.items()}
        for node in nodes:
            if node["node_type"] == "tensor":
                self._learn(node, learned)
        parsed = {}
        for node in nodes:
            if node["node_type"] in ("buffer_allocate", "buffer_deallocate"):
                buffer = self._buffer(node)
                counter = node.get("counter")
                if node["node_type"] == "buffer_allocate" and buffer[4] is None:
                    raise GraphFormatError("buffer_allocate without address" + _at(counter))
                if (node["node_type"] == "buffer_allocate" and buffer[1] is not None
                        and self.chips_of(buffer[0], learned) is None):
                    raise UnknownDeviceError(
                        f"{node['node_type']} (graph node {counter}) on device {buffer[0]}: no mesh with that id is "
                        f"known (buffer nodes name the MeshDevice, not a chip): pass the mesh to capture() or "
                        f"add_mesh(); known meshes: {sorted(set(self.meshes) | set(learned))}")
                parsed[id(node)] = buffer
            elif node["node_type"] in ("function_start", "function_end"):
                name = (node.get("params") or {}).get("name")
                if not isinstance(name, str):
                    raise GraphFormatError(f"{node['node_type']} without a name" + _at(node.get("counter")))

        self.learned = learned  # the graph is valid: what it says about meshes holds from here on
        events = []
        stack = []  # enclosing function names
        current_op = None  # the op context sent last (None: none)
        by_node = {}  # buffer node counter -> live key, within this graph
        for node in nodes:
            kind = node["node_type"]
            if kind == "function_start":
                stack.append(node["params"]["name"])
                self.stats["functions"] += 1
            elif kind == "function_end":
                name = node["params"]["name"]
                if name in stack:  # an unwound scope (an op that raised) may have left inner names open
                    while stack and stack.pop() != name:
                        pass
            elif kind in ("circular_buffer_allocate", "circular_buffer_deallocate_all"):
                if kind == "circular_buffer_allocate":
                    self.stats["circular_buffers_skipped"] += 1
            elif kind in ("buffer_allocate", "buffer_deallocate"):
                mesh_id, memory_type, type_name, size, address, page, layout, shards = parsed[id(node)]
                if memory_type is None:
                    self.stats["host_buffers_skipped"] += 1
                    continue
                buffer_node = (node.get("connections") or [None])[0]
                if kind == "buffer_allocate":
                    key = (mesh_id, memory_type, address)
                    if key in self.live:  # the allocator placed a buffer there: the old one was freed unseen
                        old_id, old_chips = self.live.pop(key)
                        events += [_ev("free", device=c, buffer_id=old_id) for c in old_chips]
                        self.stats["frees_inferred"] += 1
                    want = (stack[0] if self.op_level == "outermost" else stack[-1]) if stack else None
                    if want != current_op:
                        if current_op is not None:
                            events.append(_ev("op_end"))
                        if want is not None:
                            events.append(_ev("op_begin", op=want, site=""))
                        current_op = want
                    chips = self.chips_of(mesh_id)
                    for chip in chips:
                        if chip not in self.registered:
                            events.append(self._registration(mesh_id, chip))
                            self.registered.add(chip)
                    buffer_id = self.next_buffer_id
                    self.next_buffer_id += 1
                    self.live[key] = (buffer_id, chips)
                    if buffer_node is not None:
                        by_node[buffer_node] = key
                    events += [_ev("alloc", device=c, memory_type=memory_type, size=size, address=address,
                                   buffer_id=buffer_id, page_size=page, layout=layout, shard_count=shards)
                               for c in chips]
                    self.stats["allocs"] += 1
                else:
                    key = by_node.get(buffer_node) if buffer_node is not None else None
                    if key is None and address is not None:
                        key = (mesh_id, memory_type, address)
                    entry = self.live.pop(key, None) if key is not None else None
                    if entry is None:
                        self.stats["frees_unseen"] += 1
                        continue
                    by_node.pop(buffer_node, None)
                    events += [_ev("free", device=c, buffer_id=entry[0]) for c in entry[1]]
                    self.stats["frees"] += 1
        if current_op is not None:
            events.append(_ev("op_end"))
        self.stats["graphs"] += 1
        return events

    def release_all(self):
        """Frees for every buffer still tracked (what release() sends)."""
        events = []
        for buffer_id, chips in self.live.values():
            events += [_ev("free", device=c, buffer_id=buffer_id) for c in chips]
        self.live.clear()
        return events

    def _registration(self, mesh_id, chip):
        # A chip's description: from the mesh given for it (a parent mesh before its submeshes), else none.
        for info in sorted(self.meshes.values(), key=lambda m: -len(m.chips)):
            if chip in info.chips and info.described:
                row, col = info.position(chip)
                return _ev("register", device=chip, mesh_row=row, mesh_col=col, architecture=info.architecture,
                           capacity=dict(info.capacity), grid=info.grid)
        return _ev("register", device=chip, mesh_row=-1, mesh_col=-1, architecture=None, capacity={}, grid=None)


# ---- liballocmon over ctypes --------------------------------------------------------------------------------

class _DeviceInfo(ctypes.Structure):
    _fields_ = [("device_id", ctypes.c_int32), ("mesh_row", ctypes.c_int32), ("mesh_col", ctypes.c_int32),
                ("architecture", ctypes.c_char_p), ("capacity", ctypes.c_uint64 * MAX_MEMORY_TYPES),
                ("grid_x", ctypes.c_uint16), ("grid_y", ctypes.c_uint16)]


class _Layout(ctypes.Structure):
    _fields_ = [("page_size", ctypes.c_uint64), ("kind", ctypes.c_uint32), ("shard_count", ctypes.c_uint32),
                ("bottom_up", ctypes.c_int32)]


class _ClientStats(ctypes.Structure):
    _fields_ = [("events_reported", ctypes.c_uint64), ("events_sent", ctypes.c_uint64),
                ("resyncs", ctypes.c_uint64), ("events_superseded", ctypes.c_uint64),
                ("client_errors", ctypes.c_uint64), ("live_buffers", ctypes.c_uint64), ("connected", ctypes.c_int)]


def _loaded_liballocmon():
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                if os.path.basename(path).startswith("liballocmon.so"):
                    return path
    except OSError:
        pass
    return None


def library_candidates():
    """Where liballocmon is looked for, in order: $ALLOCMON_LIBRARY; the copy this process already has loaded
    (allocmon's compiled module links it); the package's own (pip install: allocmon/lib); the build tree this
    file sits in (build/python/allocmon -> build/); $ALLOCMON_BIN_DIR and $ALLOCMON_BUILD_DIR; the installed
    prefix (prefix/lib beside prefix/lib/python3/dist-packages); the system's (ctypes.util.find_library)."""
    here = os.path.dirname(os.path.abspath(__file__))
    out = []
    if os.environ.get("ALLOCMON_LIBRARY"):
        out.append(os.environ["ALLOCMON_LIBRARY"])
    loaded = _loaded_liballocmon()
    if loaded:
        out.append(loaded)
    dirs = [os.path.join(here, "lib"), os.path.join(here, "..", "..")]
    for var in ("ALLOCMON_BIN_DIR", "ALLOCMON_BUILD_DIR"):
        if os.environ.get(var):
            dirs.append(os.environ[var])
    dirs.append(os.path.join(here, "..", "..", ".."))
    for d in dirs:
        out += [os.path.join(d, "liballocmon.so.1"), os.path.join(d, "liballocmon.so")]
    found = ctypes.util.find_library("allocmon")
    if found:
        out.append(found)
    return out


def load_library(path=None):
    """liballocmon as a Liballocmon: `path`, else the first of library_candidates() that exists."""
    if path is not None:
        if not os.path.exists(path):
            raise FileNotFoundError(f"liballocmon: {path} does not exist")
        return Liballocmon(path)
    tried = []
    for candidate in library_candidates():
        if os.path.sep in candidate and not os.path.exists(candidate):
            tried.append(candidate)
            continue
        return Liballocmon(candidate)
    raise FileNotFoundError("liballocmon not found (build allocmon, pip install it, or set ALLOCMON_LIBRARY); "
                            f"looked for: {', '.join(os.path.normpath(t) for t in tried)}")


class Liballocmon:
    """The tracking client's C ABI (include/allocmon/client.h) through ctypes."""

    def __init__(self, path):
        self.path = os.path.realpath(path) if os.path.sep in path else path
        lib = ctypes.CDLL(self.path)
        self.lib = lib
        lib.allocmon_configure.argtypes = [ctypes.c_int, ctypes.c_char_p]
        lib.allocmon_register_device.argtypes = [ctypes.POINTER(_DeviceInfo)]
        lib.allocmon_unregister_device.argtypes = [ctypes.c_int32]
        lib.allocmon_alloc_with_layout.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64,
                                                   ctypes.c_uint64, ctypes.POINTER(_Layout)]
        lib.allocmon_free.argtypes = [ctypes.c_int32, ctypes.c_uint64]
        lib.allocmon_op_begin.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        lib.allocmon_op_end.argtypes = []
        lib.allocmon_scope_push.argtypes = [ctypes.c_char_p]
        lib.allocmon_scope_pop.argtypes = []
        lib.allocmon_flush.argtypes = [ctypes.c_int]
        lib.allocmon_flush.restype = ctypes.c_int
        lib.allocmon_get_client_stats.argtypes = [ctypes.POINTER(_ClientStats)]

    def configure(self, socket=None):
        """Tracking on, to `socket` (None: $TT_ALLOC_SERVER_SOCKET or the default, as the library decides)."""
        self.lib.allocmon_configure(1, None if socket is None else os.fsencode(socket))

    def apply(self, events):
        layout = _Layout()
        for e in events:
            kind = e["kind"]
            if kind == "alloc":
                layout.page_size = e["page_size"]
                layout.kind = e["layout"]
                layout.shard_count = e["shard_count"]
                layout.bottom_up = -1
                self.lib.allocmon_alloc_with_layout(e["device"], e["memory_type"], e["size"], e["address"],
                                                    e["buffer_id"], ctypes.byref(layout))
            elif kind == "free":
                self.lib.allocmon_free(e["device"], e["buffer_id"])
            elif kind == "op_begin":
                self.lib.allocmon_op_begin(e["op"].encode(), e["site"].encode())
            elif kind == "op_end":
                self.lib.allocmon_op_end()
            elif kind == "register":
                info = _DeviceInfo(device_id=e["device"], mesh_row=e["mesh_row"], mesh_col=e["mesh_col"])
                info.architecture = e["architecture"].encode() if e["architecture"] else None
                for name, size in e["capacity"].items():
                    info.capacity[MEMORY_TYPES[name]] = size
                if e["grid"]:
                    info.grid_x, info.grid_y = e["grid"]
                self.lib.allocmon_register_device(ctypes.byref(info))
            else:
                raise ValueError(f"unknown event kind {kind!r}")

    def scope_push(self, name):
        self.lib.allocmon_scope_push(str(name).encode())

    def scope_pop(self):
        self.lib.allocmon_scope_pop()

    def flush(self, timeout_ms=10000):
        return int(self.lib.allocmon_flush(int(timeout_ms)))

    def client_stats(self):
        stats = _ClientStats()
        self.lib.allocmon_get_client_stats(ctypes.byref(stats))
        return {name: getattr(stats, name) for name, _ in _ClientStats._fields_}


def send_graph(graph, meshes, socket=None, library=None, op_level="outermost", scope=None, translator=None,
               timeout_ms=10000):
    """Forward one recorded capture (a node list, its JSON text or a file holding it) to the server: the
    translation and sending capture() does, for a graph saved earlier. Returns (flush status, translator)."""
    if isinstance(graph, str) and os.path.isfile(graph):
        with open(graph) as f:
            graph = f.read()
    translator = translator or Translator(op_level=op_level)
    for info in meshes:
        if translator.meshes.get(info.mesh_id) is None:
            translator.add_mesh(info)
    events = translator.translate(graph)
    lib = library if isinstance(library, Liballocmon) else load_library(library)
    lib.configure(socket)
    _send(lib, events, scope)
    return lib.flush(timeout_ms), translator


def _send(lib, events, scope):
    if scope:
        lib.scope_push(scope)
    try:
        lib.apply(events)
    finally:
        if scope:
            lib.scope_pop()


class GraphCapture:
    """ttnn's graph capture (RunMode.NORMAL) whose buffers and ops go to allocation_server (see the module's
    docstring for what it sees and what it cannot). Use through capture()."""

    def __init__(self, mesh=None, socket=None, library=None, op_level="outermost", scope=None, python_ops=False,
                 keep_graphs=False, timeout_ms=10000, ttnn=None):
        self.translator = Translator(op_level=op_level)
        self.socket = socket
        self.scope = scope
        self.python_ops = bool(python_ops)
        self.keep_graphs = keep_graphs
        self.graphs = []
        self.timeout_ms = timeout_ms
        self._library_arg = library
        self._lib = None
        self._ttnn = ttnn
        self._meshes = []
        self._active = False
        if mesh is not None:
            for m in mesh if isinstance(mesh, (list, tuple)) else [mesh]:
                self.add_mesh(m)

    @property
    def stats(self):
        return self.translator.stats

    def add_mesh(self, mesh):
        """A MeshDevice whose buffers to map to chips (described now, while it is open; its submeshes are
        looked for again at each send), or a MeshInfo."""
        if isinstance(mesh, MeshInfo):
            self.translator.add_mesh(mesh)
            return
        if not (hasattr(mesh, "id") and hasattr(mesh, "get_device_ids")):
            raise TypeError(f"add_mesh: a ttnn MeshDevice or a MeshInfo, not {type(mesh).__name__}")
        for info in describe_mesh(mesh, self._ttnn_module()):
            self.translator.add_mesh(info)
        self._meshes.append(mesh)

    def _ttnn_module(self):
        if self._ttnn is None:
            try:
                import ttnn
            except ImportError as error:
                raise ImportError(f"allocmon.tt_metal.capture needs ttnn (tt-metal's Python package): {error}") from None
            self._ttnn = ttnn
        return self._ttnn

    def _new_submeshes(self):
        """Submeshes created since: described while they are open (a closed mesh is skipped)."""
        for mesh in self._meshes:
            try:
                submeshes = list(mesh.get_submeshes()) if hasattr(mesh, "get_submeshes") else []
                for sub in submeshes:
                    if sub.id() not in self.translator.meshes:
                        for info in describe_mesh(sub, self._ttnn):
                            if info.mesh_id not in self.translator.meshes:
                                self.translator.add_mesh(info)
            except Exception:  # closed meshes: what was described stays known
                continue

    def _graph_api(self):
        self._ttnn_module()
        if self.python_ops:
            # ttnn.graph's own wrappers turn on Python I/O recording: each ttnn.* call (FastOperation) is then a
            # function in the graph, named as the user called it. In ttnn 0.81.1 that path imports torch.
            try:
                import torch  # noqa: F401
            except ImportError:
                raise ImportError("capture(python_ops=True) uses ttnn.graph's Python wrappers, whose operation "
                                  "recording imports torch (ttnn 0.81.1's decorators.get_all_tensors); torch is not "
                                  "installed: use python_ops=False (tt-metal's C++ function names)") from None
            return self._ttnn.graph.begin_graph_capture, self._ttnn.graph.end_graph_capture, self._ttnn.graph.RunMode
        g = self._ttnn._ttnn.graph
        return g.begin_graph_capture, g.end_graph_capture, g.RunMode

    def __enter__(self):
        if self._active:
            raise RuntimeError("this capture is already running")
        begin, self._end, run_mode = self._graph_api()
        self._begin = lambda: begin(run_mode.NORMAL)
        self._begin()
        self._active = True
        return self

    def _library(self):
        if self._lib is None:
            self._lib = (self._library_arg if isinstance(self._library_arg, Liballocmon)
                         else load_library(self._library_arg))
            self._lib.configure(self.socket)
        return self._lib

    def _forward(self, graph):
        if self.keep_graphs:
            self.graphs.append(graph)
        self._new_submeshes()
        try:
            events = self.translator.translate(graph)
        except (GraphFormatError, UnknownDeviceError) as error:
            error.graph = graph  # nothing of it was sent: fix the cause, then send_graph(error.graph, ...)
            raise
        lib = self._library()
        _send(lib, events, self.scope)
        status = lib.flush(self.timeout_ms)
        return {"events": len(events), "flush": status}

    def send(self):
        """Forward what was captured so far: ends the capture, begins a new one at once, then sends and waits
        for the server (flush). Returns {"events": n, "flush": status} (0 = the server applied them).
        Not while a capture begun inside this one is still open (it would end that one instead)."""
        if not self._active:
            raise RuntimeError("send(): the capture is not running")
        graph = self._end()
        self._begin()
        return self._forward(graph)

    def release(self):
        """Frees on the server for every buffer this capture sent and has not seen freed (e.g. tensors still
        alive at close_mesh_device, which records no deallocation)."""
        events = self.translator.release_all()
        if events:
            lib = self._library()
            lib.apply(events)
            return lib.flush(self.timeout_ms)
        return FLUSH_OK

    def __exit__(self, exc_type, exc, tb):
        if not self._active:
            return False
        self._active = False
        graph = self._end()
        if exc_type is None:
            self.last = self._forward(graph)
            return False
        try:  # the body's exception matters more than ours: ours is a warning then
            self.last = self._forward(graph)
        except Exception as error:
            warnings.warn(f"allocmon.tt_metal: the capture's events were not sent: {error}", stacklevel=2)
        return False


def capture(mesh=None, socket=None, library=None, op_level="outermost", scope=None, python_ops=False,
            keep_graphs=False, timeout_ms=10000, ttnn=None):
    """A context manager: ttnn's graph capture around the block, its buffers and ops forwarded to
    allocation_server when the block ends (and at each cap.send()).

    mesh: the MeshDevice (or a list; submeshes are found) whose buffer nodes to map to chips; buffers of meshes
    not given are mapped through the graph's tensor nodes when they list their chips (device_tensors), else
    UnknownDeviceError. socket: the server's (None: $TT_ALLOC_SERVER_SOCKET or /tmp/tt_allocation_server.sock).
    library: liballocmon's path (None: library_candidates()). op_level: "outermost" or "innermost" enclosing
    function as the op. scope: an allocmon scope for every buffer sent. python_ops: use ttnn.graph's Python
    wrappers, so ttnn.* calls are named (needs torch in ttnn 0.81.1). keep_graphs: keep each raw graph in
    cap.graphs."""
    return GraphCapture(mesh, socket=socket, library=library, op_level=op_level, scope=scope,
                        python_ops=python_ops, keep_graphs=keep_graphs, timeout_ms=timeout_ms, ttnn=ttnn)
