"""What tt-metal's own ttnn tests need beyond the ops: mesh coordinates and ranges, submeshes (views of an opened
mesh's devices), the experimental device query (ttnn.experimental.info), program descriptors and their hash,
the expect_error fixture of the pytest plugin, and the breadth tool's per-file architecture."""

import gc
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from allocmon import ttnn
from allocmon.ttnn import device as ttnn_device


# ---- MeshCoordinate, MeshCoordinateRange, MeshCoordinateRangeSet ----


def test_mesh_coordinates_compare_and_hash_by_value():
    a, b = ttnn.MeshCoordinate(1, 2), ttnn.MeshCoordinate([1, 2])
    assert a == b and hash(a) == hash(b) and a is not b and a != ttnn.MeshCoordinate(2, 1)
    assert a.coords() == [1, 2] and a.dims() == 2 and a[1] == 2 and repr(a) == "MeshCoordinate([1, 2])"
    with pytest.raises(ValueError):
        ttnn.MeshCoordinate(-1, 0)


def test_mesh_coordinate_range_from_corners_or_shape():
    whole = ttnn.MeshCoordinateRange(ttnn.MeshShape(2, 4))
    assert whole == ttnn.MeshCoordinateRange(ttnn.MeshCoordinate(0, 0), ttnn.MeshCoordinate(1, 3))
    assert whole.shape() == ttnn.MeshShape(2, 4) and len(whole) == 8
    assert [c.coords() for c in whole][:5] == [[0, 0], [0, 1], [0, 2], [0, 3], [1, 0]]  # row-major
    part = ttnn.MeshCoordinateRange(ttnn.MeshCoordinate(0, 2), ttnn.MeshCoordinate(1, 3))
    assert whole.contains(part) and not part.contains(whole) and part.contains(ttnn.MeshCoordinate(1, 2))
    assert {ttnn.MeshCoordinateRange(ttnn.MeshShape(2, 2)): "a"}[
        ttnn.MeshCoordinateRange(ttnn.MeshCoordinate(0, 0), ttnn.MeshCoordinate(1, 1))] == "a"
    left = ttnn.MeshCoordinateRange(ttnn.MeshShape(2, 3))
    assert left.intersection(part) == ttnn.MeshCoordinateRange(ttnn.MeshCoordinate(0, 2), ttnn.MeshCoordinate(1, 2))
    assert not ttnn.MeshCoordinateRange(ttnn.MeshShape(1, 1)).intersects(part)
    with pytest.raises(ValueError):
        ttnn.MeshCoordinateRange(ttnn.MeshCoordinate(1, 1), ttnn.MeshCoordinate(0, 1))


def test_mesh_coordinate_range_set_merges_adjacent_ranges():
    row0 = ttnn.MeshCoordinateRange(ttnn.MeshCoordinate(0, 0), ttnn.MeshCoordinate(0, 3))
    row1 = ttnn.MeshCoordinateRange(ttnn.MeshCoordinate(1, 0), ttnn.MeshCoordinate(1, 3))
    merged = ttnn.MeshCoordinateRangeSet(row0)
    merged.merge(row1)
    assert merged.ranges() == [ttnn.MeshCoordinateRange(ttnn.MeshShape(2, 4))]
    apart = ttnn.MeshCoordinateRangeSet(row0)
    apart.merge(ttnn.MeshCoordinateRange(ttnn.MeshCoordinate(1, 0), ttnn.MeshCoordinate(1, 1)))
    assert apart.size() == 2 and len(apart.coords()) == 6
    assert ttnn.MeshCoordinateRangeSet(row0) == ttnn.MeshCoordinateRangeSet(row0) != ttnn.MeshCoordinateRangeSet()


# ---- submeshes ----


def test_submesh_is_a_view_of_its_parents_devices():
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    try:
        ids = mesh.get_device_ids()
        right = mesh.create_submesh(ttnn.MeshShape(2, 2), ttnn.MeshCoordinate(0, 2))
        assert right.shape == ttnn.MeshShape(2, 2) and right.get_num_devices() == 4
        assert right.get_device_ids() == [ids[2], ids[3], ids[6], ids[7]]
        assert not right.is_parent_mesh() and right.get_parent_mesh() is mesh and mesh.is_parent_mesh()
        assert mesh.get_submeshes() == [right]
        with pytest.raises(RuntimeError, match="does not fit within parent mesh"):
            mesh.create_submesh(ttnn.MeshShape(2, 2), ttnn.MeshCoordinate(1, 0))
        # a replicated tensor on a submesh reads back as written
        values = torch.arange(64, dtype=torch.float32).reshape(2, 32)
        placed = ttnn.from_torch(values, dtype=ttnn.float32, device=right, memory_config=ttnn.L1_MEMORY_CONFIG)
        assert placed.device() is right and placed.is_allocated()
        doubled = ttnn.add(placed, placed)
        assert torch.equal(ttnn.to_torch(ttnn.get_device_tensors(doubled)[0]), values * 2)
        # splitting a tensor over fewer devices than the opened mesh holds is not emulated
        with pytest.raises(ttnn.NotEmulatedError, match="submesh"):
            ttnn.from_torch(values, device=right, mesh_mapper=ttnn.ShardTensorToMesh(right, dim=1))
        # a submesh of the whole mesh splits as the mesh does
        whole = mesh.create_submesh(ttnn.MeshShape(2, 4))
        split = ttnn.from_torch(torch.arange(256.0).reshape(1, 256), device=whole,
                                mesh_mapper=ttnn.ShardTensorToMesh(whole, dim=1))
        assert tuple(ttnn.get_device_tensors(split)[1].shape) == (1, 32)
    finally:
        ttnn.close_mesh_device(mesh)
    assert mesh.get_submeshes() == []


def test_create_submeshes_and_overlapped_submeshes():
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    try:
        rows = mesh.create_submeshes(ttnn.MeshShape(1, 4))
        assert [s.get_device_ids() for s in rows] == [mesh.get_device_ids()[:4], mesh.get_device_ids()[4:]]
        with pytest.raises(RuntimeError, match="not divisible"):
            mesh.create_submeshes(ttnn.MeshShape(1, 3))
        overlapped = mesh.create_overlapped_submeshes([ttnn.MeshCoordinateRange(ttnn.MeshShape(2, 3)),
                                                       ttnn.MeshCoordinateRange(ttnn.MeshCoordinate(0, 1),
                                                                                ttnn.MeshCoordinate(1, 3))])
        assert [s.shape for s in overlapped] == [ttnn.MeshShape(2, 3)] * 2
        assert set(overlapped[0].get_device_ids()) & set(overlapped[1].get_device_ids())
        inner = overlapped[1].create_submesh(ttnn.MeshShape(1, 1), ttnn.MeshCoordinate(1, 2))
        assert inner.get_device_ids() == [mesh.get_device_ids()[7]]  # (1, 1 + 2) of the opened mesh
        with pytest.raises(RuntimeError, match="does not fit"):
            mesh.create_overlapped_submeshes([ttnn.MeshCoordinateRange(ttnn.MeshShape(3, 1))])
    finally:
        ttnn.close_mesh_device(mesh)


def test_closing_forgets_the_default_device_of_a_mesh_or_its_submesh():
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(1, 2))
    submesh = mesh.create_submesh(ttnn.MeshShape(1, 1), ttnn.MeshCoordinate(0, 1))
    ttnn.SetDefaultDevice(mesh)
    ttnn.close_mesh_device(submesh)  # the parent stays open and stays the default
    assert ttnn.GetDefaultDevice() is mesh and mesh._native.is_open() and mesh.get_submeshes() == []
    other = mesh.create_submesh(ttnn.MeshShape(1, 1))
    ttnn.SetDefaultDevice(other)
    ttnn.close_mesh_device(mesh)
    assert ttnn.GetDefaultDevice() is None and not mesh._native.is_open()
    reopened = ttnn.open_mesh_device(ttnn.MeshShape(1, 2))  # the devices are free again
    ttnn.close_mesh_device(reopened)


def test_a_mesh_opens_over_a_device_an_open_device_holds_and_each_keeps_working_after_the_other_closes():
    # tt-metal's base_functionality conftest keeps ttnn.CreateDevice(0) open while a test's mesh_device fixture
    # opens a 2x4 mesh over device 0 too: tt-metal's device manager activates only the devices not active yet,
    # and each mesh has its own allocator. A mesh's close closes every device active when it opened, so after
    # the device's close the mesh's own close raises, as tt-metal's does (real ttnn 0.81.1, mock T3000).
    for close_mesh_first in (True, False):
        device = ttnn.open_device(0)
        mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
        assert 0 in mesh.get_device_ids()
        data = torch.arange(32 * 32, dtype=torch.float32).reshape(1, 1, 32, 32)
        on_device = ttnn.from_torch(data, layout=ttnn.TILE_LAYOUT, device=device)
        on_mesh = ttnn.from_torch(data, layout=ttnn.TILE_LAYOUT, device=mesh,
                                  mesh_mapper=ttnn.ReplicateTensorToMesh(mesh))
        first, second = (mesh, device) if close_mesh_first else (device, mesh)
        kept = on_device if close_mesh_first else on_mesh
        ttnn.close_mesh_device(first)
        assert second._native.is_open() and not first._native.is_open()
        composer = None if close_mesh_first else ttnn.ConcatMeshToTensor(mesh, dim=0)
        assert torch.equal(ttnn.to_torch(kept, mesh_composer=composer)[:1], data)
        more = ttnn.add(kept, kept)  # the device left open still runs ops
        assert torch.equal(ttnn.to_torch(more, mesh_composer=composer)[:1], data * 2)
        if close_mesh_first:
            ttnn.close_mesh_device(second)
        else:
            with pytest.raises(RuntimeError, match="differs from reference"):
                ttnn.close_mesh_device(second)
            assert second._native.is_open()
            del first, second, kept, more, on_mesh, on_device, mesh, device, composer
            gc.collect()  # the last reference gone, the mesh closes without the check
        assert ttnn_device.open_meshes() == []
    with pytest.raises(ValueError, match="physical_ids lists device 1 twice"):
        ttnn.open_mesh_device(ttnn.MeshShape(1, 2), physical_device_ids=[1, 1])


# ---- ttnn.experimental.info ----


def test_experimental_info_tags_and_values(monkeypatch):
    info = ttnn.experimental.info
    assert [t.name for t in info.all_tags()] == ["l1_alignment", "dram_alignment", "architecture",
                                                 "architecture_name"]
    assert info.l1_alignment == info.all_tags()[0] and info.l1_alignment != info.dram_alignment
    assert repr(info.dram_alignment) == "InfoTag(dram_alignment)" and not hasattr(info, "no_such_tag")
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(1, 2))
    try:
        assert mesh.get_info(info.dram_alignment) == 32 == ttnn._ttnn.device.get_dram_alignment()
        assert mesh.get_info(info.architecture) == ttnn.device.Arch.WORMHOLE_B0
        per_device = mesh.get_info_per_device(info.l1_alignment)
        assert list(per_device) == [ttnn.MeshCoordinate(0, 0), ttnn.MeshCoordinate(0, 1)]
        assert set(per_device.values()) == {16}
        with pytest.raises(RuntimeError, match="Cannot query architecture_name at"):
            mesh.get_info(info.architecture_name, ttnn.MeshCoordinate(1, 0))
        with pytest.raises(TypeError, match="incompatible function arguments"):
            mesh.get_info("l1_alignment")
    finally:
        ttnn.close_mesh_device(mesh)
    monkeypatch.setenv("ALLOCMON_ARCH", "blackhole")
    blackhole = ttnn.open_mesh_device(ttnn.MeshShape(1, 1))
    try:
        assert blackhole.get_info(info.dram_alignment) == 64 == ttnn._ttnn.device.get_dram_alignment()
        assert blackhole.get_info(info.architecture_name) == "blackhole"
    finally:
        ttnn.close_mesh_device(blackhole)


# ---- program descriptors ----


def _program(face_geometry=None, page_size=2048):
    fmt = ttnn.CBFormatDescriptor(buffer_index=0, data_format=ttnn.bfloat16, page_size=page_size)
    fmt.face_geometry = face_geometry
    cores = ttnn.CoreRangeSet([ttnn.CoreRange(ttnn.CoreCoord(0, 0), ttnn.CoreCoord(1, 0))])
    return ttnn.ProgramDescriptor(kernels=[], semaphores=[], cbs=[ttnn.CBDescriptor(
        total_size=2048, core_ranges=cores, format_descriptors=[fmt])])


def test_program_descriptor_hash_follows_every_field():
    base = ttnn.compute_program_descriptor_hash(_program())
    assert base == ttnn.compute_program_descriptor_hash(_program()) and 0 <= base < 2 ** 64
    assert base != ttnn.compute_program_descriptor_hash(_program(ttnn.FaceGeometry(1, 4)))
    assert base != ttnn.compute_program_descriptor_hash(_program(page_size=1024))
    assert ttnn.FaceGeometry() == ttnn.FaceGeometry(16, 4) != ttnn.FaceGeometry(8, 2)
    with pytest.raises(TypeError, match="incompatible function arguments"):
        ttnn.compute_program_descriptor_hash("program")


# ---- the pytest plugin's expect_error fixture ----


def test_expect_error_fixture(tmp_path):
    test = tmp_path / "test_expect.py"
    test.write_text(textwrap.dedent("""
        def test_matching_message(expect_error):
            with expect_error(RuntimeError, "bad shape"):
                raise RuntimeError("a bad shape was given")

        def test_other_message(expect_error):
            with expect_error(RuntimeError, "bad shape"):
                raise RuntimeError("something else")

        def test_nothing_raised(expect_error):
            with expect_error(TypeError, "x"):
                pass
    """))
    import allocmon

    package_root = os.path.dirname(os.path.dirname(os.path.abspath(allocmon.__file__)))
    env = dict(os.environ, PYTHONPATH=package_root)
    result = subprocess.run([sys.executable, "-m", "allocmon.emulate", "-m", "pytest", "-q", "-p",
                             "no:cacheprovider", str(test)], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, env=env)
    assert "1 passed" in result.stdout and "2 failed" in result.stdout, result.stdout + result.stderr
    assert "expected RuntimeError with 'bad shape' in its message" in result.stdout


# ---- tools/ttmetal_breadth.py: the architecture a file runs on ----


def _breadth_tool(repo_root):
    import importlib.util

    spec = importlib.util.spec_from_file_location("ttmetal_breadth", os.path.join(repo_root, "tools",
                                                                                    "ttmetal_breadth.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_breadth_manifest_names_each_files_architecture(repo_root, tmp_path):
    tool = _breadth_tool(repo_root)
    rows = tool.read_manifest(os.path.join(repo_root, "tools", "ttmetal_breadth_manifest.tsv"))
    assert len(rows) >= 143 and {arch for *_, arch in rows} == {"wormhole_b0", "blackhole"}
    assert ("tests/ttnn/unit_tests/base_functionality/test_bfloat16_nan_identity_ops.py", "blackhole") in {
        (file, arch) for file, _, _, arch in rows}
    old = tmp_path / "old.tsv"  # a manifest without the column: every file on a Wormhole T3000
    old.write_text("# comment\npath\tfamily\tcommit\ntests/x.py\teltwise\tabc\n")
    assert tool.read_manifest(str(old)) == [("tests/x.py", "eltwise", "abc", "wormhole_b0")]


def test_breadth_tool_runs_a_file_on_its_architecture(repo_root, tmp_path):
    tool = _breadth_tool(repo_root)
    (tmp_path / "test_arch.py").write_text("import ttnn\n\ndef test_arch():\n    assert ttnn.get_arch_name() == "
                                           "'blackhole' and ttnn.get_num_devices() == 8\n")
    import allocmon

    build = tmp_path / "build"
    (build).mkdir()
    os.symlink(os.path.dirname(os.path.dirname(os.path.abspath(allocmon.__file__))), build / "python")
    on_blackhole = tool.run_file(str(tmp_path), str(build), "test_arch.py", 120, "blackhole")
    assert on_blackhole["passed"] and on_blackhole["counts"] == {"passed": 1}, on_blackhole
    assert not tool.run_file(str(tmp_path), str(build), "test_arch.py", 120)["passed"]


# ---- distributing, aggregating, and to_torch's default composer ----


def test_to_torch_without_composer_concatenates_a_1d_split_only():
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(1, 2))
    try:
        values = torch.randn(1, 1, 64, 128).to(torch.bfloat16)
        split = ttnn.from_torch(values, mesh_mapper=ttnn.shard_tensor_to_mesh_mapper(mesh, dim=3))
        assert torch.equal(split.to_torch(), values)  # host: concatenated along the split dim
        on_device = ttnn.to_device(ttnn.from_torch(values, layout=ttnn.TILE_LAYOUT,
                                                   mesh_mapper=ttnn.ShardTensorToMesh(mesh, dim=3)), mesh)
        assert torch.equal(ttnn.to_torch(on_device), values)
        back = ttnn.from_device(on_device)  # the split is still known on the host
        assert torch.equal(back.to_torch(), values)
        assert torch.equal(ttnn.to_torch(ttnn.to_device(back, mesh)), values)
        replicated = ttnn.from_torch(values, mesh_mapper=ttnn.ReplicateTensorToMesh(mesh))
        with pytest.raises(RuntimeError, match="Supply a mesh composer"):
            replicated.to_torch()
        two_d = ttnn.from_torch(values, device=mesh, mesh_mapper=ttnn.ShardTensor2dMesh(mesh, (1, 2), dims=(2, 3)))
        with pytest.raises(RuntimeError, match="distributed over 2 devices; pass mesh_composer="):
            ttnn.to_torch(two_d)
    finally:
        ttnn.close_mesh_device(mesh)


def test_distribute_and_aggregate_device_tensors():
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    try:
        values = torch.randn(1, 1, 32, 256)
        on_mesh = ttnn.from_torch(values, dtype=ttnn.float32, layout=ttnn.TILE_LAYOUT, device=mesh)
        # a replicated device tensor is read back and split, as ttnn's binding does
        split = ttnn.distribute_tensor(on_mesh, ttnn.shard_tensor_to_mesh_mapper(mesh, dim=3), mesh)
        shards = ttnn.get_device_tensors(split)
        assert len(shards) == 8 and torch.equal(ttnn.to_torch(shards[2]), values[..., 64:96])
        with pytest.raises(RuntimeError, match="single host tensor"):
            ttnn.distribute_tensor(split, ttnn.shard_tensor_to_mesh_mapper(mesh, dim=2), mesh)
        whole = ttnn.aggregate_as_tensor(shards)  # every view of one tensor: that tensor again
        assert whole._device is split._device and torch.equal(ttnn.to_torch(whole), values)
        with pytest.raises(ttnn.NotEmulatedError):
            ttnn.aggregate_as_tensor(shards[:4])
        # the older composer signature (dim only) and aggregate_tensor of a list of device tensors
        composer = ttnn.concat_mesh_to_tensor_composer(dim=3)
        assert torch.equal(ttnn.to_torch(ttnn.aggregate_tensor(shards, composer)), values)
        assert torch.equal(ttnn.to_torch(ttnn.aggregate_tensor(split, ttnn.concat_mesh_to_tensor_composer(mesh, 3))),
                           values)
        hosts = [ttnn.from_torch(values[..., i * 32:(i + 1) * 32], dtype=ttnn.float32) for i in range(8)]
        host = ttnn.aggregate_as_tensor(hosts)
        assert host.num_shards == 8 and torch.equal(ttnn.to_torch(host, mesh_composer=composer), values)
    finally:
        ttnn.close_mesh_device(mesh)


def test_mesh_shape_override_that_lines_up_every_device(capsys):
    mesh = ttnn.open_mesh_device(ttnn.MeshShape(2, 4))
    try:
        values = torch.arange(8 * 32 * 32, dtype=torch.float32).reshape(1, 1, 32, 256)
        for override, placements in ((ttnn.MeshShape(1, 8), [ttnn.PlacementReplicate(), ttnn.PlacementShard(3)]),
                                     (ttnn.MeshShape([8]), [ttnn.PlacementShard(3)]),
                                     (ttnn.MeshShape(8, 1), [ttnn.PlacementShard(3), ttnn.PlacementReplicate()])):
            mapper = ttnn.create_mesh_mapper(mesh, ttnn.MeshMapperConfig(placements, mesh_shape_override=override))
            host = ttnn.from_torch(values, mesh_mapper=mapper)
            assert host.num_shards == 8 and tuple(host.shape) == (1, 1, 32, 32)
            ttnn.visualize_tensor(host)
            assert "split over a 2x4 mesh, shard (1, 1, 32, 32) per device" in capsys.readouterr().out
            placed = host.to(mesh)
            assert torch.equal(ttnn.to_torch(ttnn.get_device_tensors(placed)[5]), values[..., 160:192])
        composer = ttnn.create_mesh_composer(mesh, ttnn.MeshComposerConfig([0, 3], mesh_shape_override=(1, 8)))
        assert torch.equal(ttnn.to_torch(placed, mesh_composer=composer), values)
        with pytest.raises(ttnn.NotEmulatedError, match=r"over a \(2, 2\) mesh shape on a 2x4 mesh"):
            ttnn.create_mesh_mapper(mesh, ttnn.MeshMapperConfig([ttnn.PlacementShard(3)] * 2,
                                                                mesh_shape_override=ttnn.MeshShape(2, 2)))
    finally:
        ttnn.close_mesh_device(mesh)
