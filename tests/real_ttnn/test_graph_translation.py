"""allocmon.tt_metal without ttnn: a graph capture recorded from the real ttnn 0.81.1 wheel on a mock T3000
(fixtures/seed_t3k_graph_capture.json, written by examples/real_ttnn/test_graph_capture.py --record-fixture)
translated into allocmon events, checked event by event, then sent through liballocmon to a real
allocation_server and read back from its leak report and holders; plus the translation's edge cases and errors.
CTest real_ttnn_graph_translation runs it with the project's .venv, where no ttnn is installed."""

import importlib.util
import json
import os
import sys
import tempfile
import types

import pytest

import allocmon
from allocmon import tt_metal
from allocmon.server import Server

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "seed_t3k_graph_capture.json")
SOURCE = os.path.join(os.path.dirname(__file__), "..", "..", "python", "allocmon", "tt_metal.py")


@pytest.fixture(scope="module")
def recorded():
    with open(FIXTURE) as f:
        data = json.load(f)
    meshes = [tt_metal.MeshInfo(m["mesh_id"], m["chips"], shape=m["shape"], architecture=m["architecture"],
                                capacity=m["capacity"], grid=m["grid"]) for m in data["meshes"]]
    return data, meshes


@pytest.fixture(scope="module")
def server():
    socket = os.path.join(tempfile.gettempdir(), f"allocmon-graph-{os.getpid()}.sock")
    with Server(socket) as running:
        yield running


def allocs(events):
    return [e for e in events if e["kind"] == "alloc"]


def ops_of(events):
    """(op in force, device, size, memory type) per alloc, following op_begin/op_end."""
    op, out = None, []
    for e in events:
        if e["kind"] == "op_begin":
            op = e["op"]
        elif e["kind"] == "op_end":
            op = None
        elif e["kind"] == "alloc":
            out.append((op, e["device"], e["size"], e["memory_type"]))
    return out


def test_the_recorded_capture_becomes_one_alloc_per_chip_inside_the_op_that_made_it(recorded):
    data, meshes = recorded
    expected = data["expected"]
    a, b, c = expected["size_a"], expected["size_b"], expected["size_c"]
    t = tt_metal.Translator(meshes)
    first = t.translate(data["graphs"][0])
    registrations = [e for e in first if e["kind"] == "register"]
    assert [r["device"] for r in registrations] == list(range(8))
    assert [(r["mesh_row"], r["mesh_col"]) for r in registrations] == [(i // 4, i % 4) for i in range(8)]
    assert {r["architecture"] for r in registrations} == {"wormhole_b0"}
    assert registrations[0]["capacity"] == {"DRAM": 12 * 1072693184, "L1": 64 * 1393312}
    assert registrations[0]["grid"] == (8, 8)
    chips = list(range(8))
    assert ops_of(first) == ([("Tensor::to_device", d, a, 0) for d in chips] +
                             [("Tensor::to_device", d, b, 0) for d in chips] +
                             [("tt::tt_metal::create_device_tensor", d, c, 1) for d in chips] +
                             [("BinaryNgDeviceOperation", d, b, 0) for d in chips])  # the failed add's output
    by_address = {}
    for e in allocs(first):
        by_address.setdefault((e["address"], e["memory_type"]), set()).add(e["buffer_id"])
    addresses = expected["addresses"]
    assert set(by_address) >= {(addresses["A"], 0), (addresses["B"], 0), (addresses["C"], 1)}
    assert all(len(ids) == 1 for ids in by_address.values())  # one buffer id per mesh buffer, on every chip
    assert {e["page_size"] for e in allocs(first)} == {2048}
    assert {e["layout"] for e in allocs(first)} == {tt_metal.LAYOUT_INTERLEAVED}
    frees = [e for e in first if e["kind"] == "free"]
    add_output = allocs(first)[-1]["buffer_id"]
    assert [(f["device"], f["buffer_id"]) for f in frees] == [(d, add_output) for d in chips]
    assert first[-1]["kind"] == "op_end"

    a_id = next(e["buffer_id"] for e in allocs(first) if e["address"] == addresses["A"])
    second = t.translate(data["graphs"][1])  # deallocate A: a later capture, matched by mesh, type and address
    assert second == [{"kind": "free", "device": d, "buffer_id": a_id} for d in chips]

    third = t.translate(data["graphs"][2])
    submesh = expected["submesh"]
    assert submesh["id"] not in submesh["chips"] or submesh["chips"] != [submesh["id"]]
    assert ops_of(third) == [("Tensor::to_device", d, 8192, 0) for d in submesh["chips"]]
    assert len([e for e in third if e["kind"] == "free"]) == 16  # B and C on each chip
    t.translate(data["graphs"][3])
    assert t.live == {}
    assert t.stats == {"graphs": 4, "allocs": 5, "frees": 5, "frees_unseen": 0, "frees_inferred": 0,
                       "circular_buffers_skipped": 0, "host_buffers_skipped": 0, "functions": 22}


def test_the_submesh_buffer_lands_on_its_chips_not_on_the_chip_numbered_like_the_mesh(recorded):
    data, meshes = recorded
    t = tt_metal.Translator(meshes)
    for graph in data["graphs"][:2]:
        t.translate(graph)
    third = t.translate(data["graphs"][2])
    node = next(n for n in data["graphs"][2] if n["node_type"] == "buffer_allocate")
    mesh_id = int(node["params"]["device_id"])
    assert mesh_id == data["expected"]["submesh"]["id"] == 3  # ttnn names the mesh...
    assert [e["device"] for e in allocs(third)] == [4, 5, 6, 7]  # ...the buffer is on its chips


def test_innermost_names_the_function_that_allocated(recorded):
    data, meshes = recorded
    events = tt_metal.Translator(meshes, op_level="innermost").translate(data["graphs"][0])
    ops = [op for op, *_ in ops_of(events)]
    assert ops[:16] == ["Tensor::to_device"] * 16
    assert ops[16:] == ["tt::tt_metal::create_device_tensor"] * 16  # C, and the add's output inside the add


def test_without_meshes_the_chips_come_from_the_tensor_nodes_and_are_not_described(recorded):
    data, _ = recorded
    t = tt_metal.Translator()
    first = t.translate(data["graphs"][0])
    assert t.learned == {1: set(range(8))}
    assert sorted({e["device"] for e in allocs(first)}) == list(range(8))
    registration = next(e for e in first if e["kind"] == "register")
    assert (registration["mesh_row"], registration["architecture"], registration["capacity"]) == (-1, None, {})
    t.translate(data["graphs"][1])  # frees only: no tensor node needed, the buffer is known
    third = t.translate(data["graphs"][2])
    assert [e["device"] for e in allocs(third)] == [4, 5, 6, 7]


def test_an_unknown_mesh_is_an_error_that_changes_nothing():
    t = tt_metal.Translator()
    graph = [{"counter": 0, "node_type": "capture_start", "params": None, "connections": [1]},
             {"counter": 1, "node_type": "buffer_allocate", "connections": [],
              "params": {"address": 1048640, "buffer_type": 0, "device_id": 5, "size": 2048, "page_size": 2048}}]
    with pytest.raises(tt_metal.UnknownDeviceError, match=r"graph node 1\) on device 5: no mesh"):
        t.translate(graph)
    assert t.live == {} and t.stats["graphs"] == 0 and t.next_buffer_id == 1
    # a graph whose tensor node names a mesh, then fails further on, teaches nothing either
    tensor = {"counter": 2, "node_type": "tensor",
              "params": {"device_tensors": '[{"address": 0, "device_id": 10, "mesh_device_id": 5}]'}}
    with pytest.raises(tt_metal.GraphFormatError, match="graph node 3"):
        t.translate(graph + [tensor, buffer_node(3, size="x")])
    assert t.learned == {} and t.stats["graphs"] == 0
    t.add_mesh(tt_metal.MeshInfo(5, [10, 11]))
    assert [e["device"] for e in allocs(t.translate(graph))] == [10, 11]


def buffer_node(counter, kind="buffer_allocate", **params):
    base = {"address": 4096, "buffer_type": 0, "device_id": 0, "size": 2048, "page_size": 2048,
            "layout": "INTERLEAVED", "num_cores": 0}
    base.update(params)
    return {"counter": counter, "node_type": kind, "params": {k: v for k, v in base.items() if v is not None},
            "connections": [100 + counter]}


@pytest.mark.parametrize("graph, message", [
    ({"nodes": []}, "needs a 'graph' list"),
    (42, "a graph is a list of nodes, not int"),
    ("{not json", "the graph is not JSON"),
    ([{"counter": 0}], "node #0 has no node_type"),
    ([buffer_node(3, address=None)], r"buffer_allocate without address \(graph node 3\)"),
    ([buffer_node(4, size="big")], r"size: 'big' is not a number \(graph node 4\)"),
    ([buffer_node(5, buffer_type=9)], r"unknown buffer_type 9 \(graph node 5\)"),
    ([buffer_node(6, buffer_type=None, type="HBM")], r"unknown buffer type 'HBM' \(graph node 6\)"),
    ([buffer_node(7, size=-1)], r"negative size -1 \(graph node 7\)"),
    ([{"counter": 8, "node_type": "function_start", "params": {}}], r"function_start without a name"),
    ([{"counter": 9, "node_type": "tensor", "params": {"device_tensors": "[{\"address\": 1}]"}}],
     "without device_id and mesh_device_id"),
])
def test_bad_graphs_are_named_errors(graph, message):
    t = tt_metal.Translator([tt_metal.MeshInfo(0, [0])])
    with pytest.raises(tt_metal.GraphFormatError, match=message):
        t.translate(graph)


def test_older_graphs_with_string_params_and_frees_without_an_address():
    # Older tt-metal: every param a string, "type" DRAM/L1 only, deallocate nodes without address: matched
    # through the buffer node they connect to.
    t = tt_metal.Translator([tt_metal.MeshInfo(0, [0, 1], shape=(1, 2), architecture="wormhole_b0",
                                               capacity={"L1": 1 << 20})])
    graph = [
        {"counter": 0, "node_type": "capture_start", "params": {}, "connections": []},
        {"counter": 1, "node_type": "function_start", "params": {"name": "ttnn::empty", "inputs": "2"}},
        {"counter": 2, "node_type": "buffer", "params": {"size": "4096", "type": "L1", "device_id": "0"}},
        {"counter": 3, "node_type": "buffer_allocate", "connections": [2],
         "params": {"size": "4096", "address": "1499136", "type": "L1", "layout": "HEIGHT_SHARDED",
                    "num_cores": "4", "page_size": "1024", "device_id": "0"}},
        {"counter": 4, "node_type": "function_end", "params": {"name": "ttnn::empty"}},
        {"counter": 5, "node_type": "buffer_deallocate", "connections": [2],
         "params": {"size": "4096", "type": "L1", "layout": "HEIGHT_SHARDED", "device_id": "0"}},
    ]
    events = t.translate(graph)
    # the op context changes only where an allocation needs another one (frees carry none)
    assert [e["kind"] for e in events] == ["op_begin", "register", "register", "alloc", "alloc", "free", "free",
                                           "op_end"]
    assert events[0]["op"] == "ttnn::empty"
    alloc = allocs(events)[0]
    assert (alloc["memory_type"], alloc["size"], alloc["address"], alloc["layout"], alloc["shard_count"],
            alloc["page_size"]) == (1, 4096, 1499136, tt_metal.LAYOUT_SHARDED, 4, 1024)
    assert t.live == {} and t.stats["frees"] == 1


def test_frees_never_seen_allocated_are_counted_and_a_reused_address_frees_the_old_buffer():
    t = tt_metal.Translator([tt_metal.MeshInfo(0, [0])])
    assert t.translate([buffer_node(1, kind="buffer_deallocate", address=999)]) == []
    assert t.stats["frees_unseen"] == 1
    first = t.translate([buffer_node(1)])
    old = allocs(first)[0]["buffer_id"]
    second = t.translate([buffer_node(1, size=4096)])  # same mesh, type and address: the old one was freed
    assert [e["kind"] for e in second] == ["free", "alloc"]
    assert second[0]["buffer_id"] == old and second[1]["buffer_id"] != old
    assert t.stats["frees_inferred"] == 1
    # host buffers and circular buffers are not forwarded, only counted
    assert t.translate([buffer_node(2, address=0, buffer_type=2),
                        {"counter": 3, "node_type": "circular_buffer_allocate",
                         "params": {"size": 1024, "address": 0, "device_id": 0}}]) == []
    assert (t.stats["host_buffers_skipped"], t.stats["circular_buffers_skipped"]) == (1, 1)
    assert [e["kind"] for e in t.release_all()] == ["free"]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="op_level"):
        tt_metal.Translator(op_level="middle")
    with pytest.raises(ValueError, match="shape"):
        tt_metal.MeshInfo(0, [0, 1, 2], shape=(2, 2))
    with pytest.raises(ValueError, match="repeat"):
        tt_metal.MeshInfo(0, [1, 1])
    with pytest.raises(ValueError, match="unknown memory type 'HBM'"):
        tt_metal.MeshInfo(0, [0], capacity={"HBM": 1})
    t = tt_metal.Translator([tt_metal.MeshInfo(0, [0, 1])])
    with pytest.raises(ValueError, match=r"mesh 0 was \[0, 1\], now \[2, 3\]"):
        t.add_mesh(tt_metal.MeshInfo(0, [2, 3]))
    with pytest.raises(FileNotFoundError, match="/nonexistent/liballocmon.so"):
        tt_metal.load_library("/nonexistent/liballocmon.so")
    with pytest.raises(TypeError, match="MeshDevice or a MeshInfo"):
        tt_metal.capture(mesh=object(), ttnn=types.SimpleNamespace())


def test_the_module_needs_neither_ttnn_nor_the_package(tmp_path):
    assert "ttnn" not in sys.modules  # importing allocmon.tt_metal imported no ttnn
    spec = importlib.util.spec_from_file_location("standalone_tt_metal", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # by path, as under the ttnn wheel's Python
    assert module.Translator().stats["graphs"] == 0
    if importlib.util.find_spec("ttnn") is None:
        with pytest.raises(ImportError, match="needs ttnn"):
            tt_metal.capture().__enter__()


def leak_records(socket):
    return sorted(([b["device"], b["type"], b["size"], b["address"], b.get("op")]
                   for p in allocmon.leaks(socket=socket)["processes"] if p["pid"] == os.getpid()
                   for b in p["buffers"]), key=lambda r: (r[0], r[3]))


def test_the_recorded_capture_sent_to_a_server_gives_per_buffer_records_with_ops(recorded, server):
    data, meshes = recorded
    expected = data["expected"]
    lib = tt_metal.load_library()
    translator = tt_metal.Translator(meshes)
    status, _ = tt_metal.send_graph(data["graphs"][0], meshes, socket=server.socket, library=lib,
                                    translator=translator)
    assert status == tt_metal.FLUSH_OK
    a, b, c, addr = expected["size_a"], expected["size_b"], expected["size_c"], expected["addresses"]
    assert leak_records(server.socket) == sorted(
        [[d, "DRAM", a, addr["A"], "Tensor::to_device"] for d in range(8)] +
        [[d, "DRAM", b, addr["B"], "Tensor::to_device"] for d in range(8)] +
        [[d, "L1", c, addr["C"], "tt::tt_metal::create_device_tensor"] for d in range(8)],
        key=lambda r: (r[0], r[3]))
    assert allocmon.holders("op", socket=server.socket) == [("Tensor::to_device", 8 * (a + b)),
                                                            ("tt::tt_metal::create_device_tensor", 8 * c)]
    snap = allocmon.snapshot(server.socket)
    device0 = next(d for d in snap["devices"] if d["id"] == 0)
    assert device0["architecture"] == "wormhole_b0" and device0["memory"]["DRAM"]["capacity"] == 12 * 1072693184
    mine = next(p for p in snap["processes"] if p["pid"] == os.getpid())
    assert {d["id"]: d["memory"]["DRAM"]["peak"] for d in mine["devices"]} == {d: a + 2 * b for d in range(8)}
    assert not mine["problems"]
    for graph in data["graphs"][1:]:
        assert tt_metal.send_graph(graph, meshes, socket=server.socket, library=lib,
                                   translator=translator)[0] == tt_metal.FLUSH_OK
    assert leak_records(server.socket) == []
    assert lib.client_stats()["client_errors"] == 0


class FakeGraphApi:
    """ttnn._ttnn.graph replaying recorded graphs: each end_graph_capture returns the next one."""

    class RunMode:
        NORMAL = "NORMAL"

    def __init__(self, graphs):
        self.graphs = list(graphs)
        self.calls = []

    def begin_graph_capture(self, mode):
        self.calls.append(("begin", mode))

    def end_graph_capture(self):
        self.calls.append(("end",))
        return self.graphs.pop(0)


class FakeMesh:
    def __init__(self, mesh_id, chips, shape, submeshes=()):
        self._id, self._chips, self.shape, self._subs = mesh_id, chips, shape, list(submeshes)

    def id(self):
        return self._id

    def get_device_ids(self):
        return list(self._chips)

    def arch(self):
        return types.SimpleNamespace(name="WORMHOLE_B0")

    def compute_with_storage_grid_size(self):
        return types.SimpleNamespace(x=8, y=8)

    def get_submeshes(self):
        return self._subs


def fake_ttnn(graphs):
    api = FakeGraphApi(graphs)
    views = {"DRAM": (12, 1072693184), "L1": (64, 1393312), "L1_SMALL": (0, 0), "TRACE": (12, 0)}
    module = types.SimpleNamespace(
        _ttnn=types.SimpleNamespace(graph=api),
        BufferType=types.SimpleNamespace(**{k: k for k in views}),
        get_memory_view=lambda mesh, kind: types.SimpleNamespace(num_banks=views[kind][0],
                                                                 total_bytes_per_bank=views[kind][1]))
    return module, api


def test_capture_sends_at_each_send_and_at_the_end_and_finds_submeshes_made_meanwhile(recorded, server):
    data, _ = recorded
    module, api = fake_ttnn(data["graphs"])
    mesh = FakeMesh(1, range(8), [2, 4])
    with tt_metal.capture(mesh, socket=server.socket, scope="seed", ttnn=module) as cap:
        # 8 registrations, 32 allocs (A, B, C and the failed add's output on 8 chips), 8 frees (that output),
        # 3 op_begin and 3 op_end
        assert cap.send() == {"events": 54, "flush": tt_metal.FLUSH_OK}
        records = [b for p in allocmon.leaks(socket=server.socket)["processes"] if p["pid"] == os.getpid()
                   for b in p["buffers"]]
        assert len(records) == 24 and {b["scope"] for b in records} == {"seed"}
        assert cap.send()["flush"] == tt_metal.FLUSH_OK
        mesh._subs = [FakeMesh(2, range(4), [1, 4]), FakeMesh(3, range(4, 8), [1, 4])]  # create_submeshes
        assert cap.send()["flush"] == tt_metal.FLUSH_OK
        assert sorted(b[0] for b in leak_records(server.socket)) == [4, 5, 6, 7]
    assert cap.last["flush"] == tt_metal.FLUSH_OK
    assert leak_records(server.socket) == []
    assert api.calls == [("begin", "NORMAL"), ("end",)] * 4
    assert cap.stats["allocs"] == 5 and cap.stats["frees"] == 5


def test_a_body_that_raises_still_sends_and_release_frees_what_is_left(recorded, server):
    data, meshes = recorded
    module, _ = fake_ttnn(data["graphs"][:1])
    with pytest.raises(KeyError):
        with tt_metal.capture(meshes[0], socket=server.socket, ttnn=module) as cap:
            raise KeyError("the user's error")
    assert len(leak_records(server.socket)) == 24  # sent on the way out
    assert cap.release() == tt_metal.FLUSH_OK
    assert leak_records(server.socket) == []


def test_python_ops_uses_ttnn_graphs_python_wrappers(recorded):
    data, meshes = recorded
    module, api = fake_ttnn([])
    wrappers = FakeGraphApi([[{"counter": 0, "node_type": "capture_start", "params": None}]])
    module.graph = wrappers
    cap = tt_metal.capture(meshes[0], python_ops=True, ttnn=module)
    if importlib.util.find_spec("torch") is None:
        with pytest.raises(ImportError, match="imports torch"):
            cap.__enter__()
        return
    with cap:
        pass
    assert wrappers.calls == [("begin", "NORMAL"), ("end",)] and api.calls == []


def test_memory_type_codes_are_liballocmons():
    """tt_metal.py carries the wire codes itself (it loads without the compiled module): they must be the ones the
    compiled module has from include/allocmon/memory_types.h."""
    assert list(tt_metal.MEMORY_TYPES) == list(allocmon.memory_types)
    assert list(tt_metal.MEMORY_TYPES.values()) == list(range(len(allocmon.memory_types)))
