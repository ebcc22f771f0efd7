"""Tests that run under a tt-metal-style conftest.py (this folder's) instead of allocmon.pytest_plugin."""

import pytest
import torch

import ttnn


def test_device_comes_from_the_conftest(request, device):
    assert request.node.pci_ids == [0] and ttnn.GetDefaultDevice() is device
    assert device.arch().name == "WORMHOLE_B0" and request.config.getoption("--tt-arch") == "wormhole_b0"
    x = ttnn.from_torch(torch.ones((32, 32)), layout=ttnn.TILE_LAYOUT, device=device)
    assert torch.equal(ttnn.to_torch(ttnn.multiply(x, 3.0)).float(), torch.full((32, 32), 3.0))


@pytest.mark.parametrize("device_params", [{"l1_small_size": 8192, "trace_region_size": 65536}], indirect=True)
def test_device_params_reach_the_device(device):
    assert device.get_num_devices() == 1


@pytest.mark.parametrize("mesh_device", [(2, 4), 4], indirect=True)
def test_mesh_from_the_conftest(request, mesh_device):
    assert len(request.node.pci_ids) == mesh_device.get_num_devices() in (8, 4)
    assert [d.id() for d in mesh_device.get_devices()] == mesh_device.get_device_ids()
