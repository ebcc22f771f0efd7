"""The Python API refuses what it cannot do, with an error that names the valid values (each case was accepted
silently, or failed with pybind's raw TypeError, before)."""

import re
import warnings

import numpy as np
import pytest

import allocmon


def test_version_is_the_projects():
    assert re.fullmatch(r"\d+\.\d+\.\d+", allocmon.__version__)


def test_report_on_an_unregistered_or_impossible_device_is_refused(server):
    with pytest.raises(ValueError, match=r"device 99 is not registered: call register_device\(99, \.\.\.\) first"):
        allocmon.report_alloc(99, "DRAM", 4096, 0, 1)
    with pytest.raises(ValueError, match="device id must be from 0 to 2147483647, got -1"):
        allocmon.report_alloc(-1, "DRAM", 4096, 0, 1)
    with pytest.raises(ValueError, match="device 98 is not registered"):
        allocmon.report_free(98, 1)


def test_memory_types_sizes_and_layouts_are_checked(server):
    allocmon.register_device(7, "wormhole_b0", {"DRAM": 1 << 30})
    with pytest.raises(ValueError, match=r"unknown memory type 'dram' \(valid: DRAM, L1, L1_SMALL, TRACE, CB, KERNEL\)"):
        allocmon.report_alloc(7, "dram", 4096, 0, 1)
    with pytest.raises(ValueError, match="size must be 0 or more, got -5"):
        allocmon.report_alloc(7, "DRAM", -5, 0, 1)
    with pytest.raises(ValueError, match="layout must be 'interleaved' or 'sharded'"):
        allocmon.report_alloc(7, "DRAM", 4096, 0, 1, layout="blocked")
    with pytest.raises(ValueError, match="unknown memory type 'HBM'"):
        allocmon.register_device(8, "wormhole_b0", {"HBM": 1})
    allocmon.report_alloc(7, "DRAM", 4096, 0, 1)  # and what is valid still works
    allocmon.report_free(7, 1)
    allocmon.unregister_device(7)
    assert allocmon.flush() == allocmon.FLUSH_OK
    snap = allocmon.snapshot(server.socket)
    assert all(v == 0 for v in snap["counters"]["problems"].values())


def test_an_unknown_architecture_is_named_and_a_bad_one_refused(server):
    with pytest.warns(UserWarning, match="architecture 'tenstorent' is not one allocmon's emulated mesh and replay know"):
        allocmon.register_device(9, "tenstorent")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        allocmon.register_device(10, "blackhole")  # a known one: no warning
    with pytest.raises(ValueError, match="at most 31 characters"):
        allocmon.register_device(11, "x" * 40)
    allocmon.unregister_device(9)
    allocmon.unregister_device(10)


def test_a_tensor_says_what_it_is(server):
    mesh = allocmon.open_mesh(2, 4)
    try:
        t = allocmon.from_numpy(np.zeros((2, 4, 64, 64), dtype=np.float32), mesh, shard_dims=(0, 1))
        assert repr(t) == ("MeshTensor(shape=[2, 4, 64, 64], dtype=bfloat16, layout=tile, memory=DRAM interleaved, "
                           "devices=8 devices (2x4 mesh), shard_shape=[1, 1, 64, 64])")
        allocmon.deallocate(t)
        assert repr(t).endswith(", deallocated)")
    finally:
        mesh.close()
