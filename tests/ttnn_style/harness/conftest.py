"""A conftest.py that opens devices the way tt-metal's root conftest does (the same ttnn calls, in the same
order: get_arch_name in pytest_addoption, GetPCIeDeviceID / GetNumPCIeDevices / CreateDevice with a
DispatchCoreConfig / SetDefaultDevice, DumpDeviceProfiler / synchronize_device / close_device afterwards, and
get_device_ids / open_mesh_device / get_devices for meshes). Its fixtures take precedence over
allocmon.pytest_plugin's, as a checkout's conftest would."""

import pytest


def pytest_addoption(parser):
    import ttnn

    parser.addoption("--tt-arch", default=ttnn.get_arch_name(), help="target architecture")
    parser.addoption("--device-id", type=int, default=0, help="device to open")


def _with_dispatch_config(device_params):
    import ttnn

    params = dict(device_params)
    axis = params.pop("dispatch_core_axis", ttnn.DispatchCoreAxis.COL if ttnn.get_arch_name() == "blackhole"
                      else ttnn.DispatchCoreAxis.ROW)
    params["dispatch_core_config"] = ttnn.DispatchCoreConfig(ttnn.device.DispatchCoreType.WORKER, axis)
    return params


@pytest.fixture
def device_params(request):
    return getattr(request, "param", {})


@pytest.fixture
def device(request, device_params):
    import ttnn

    device_id = request.config.getoption("device_id")
    request.node.pci_ids = [ttnn.GetPCIeDeviceID(device_id)]
    assert device_id < ttnn.GetNumPCIeDevices()
    opened = ttnn.CreateDevice(device_id=device_id, **_with_dispatch_config(device_params))
    ttnn.SetDefaultDevice(opened)
    yield opened
    ttnn.DumpDeviceProfiler(opened)
    ttnn.synchronize_device(opened)
    ttnn.close_device(opened)


@pytest.fixture
def mesh_device(request, device_params):
    import ttnn

    ids = ttnn.get_device_ids()
    param = getattr(request, "param", len(ids))
    shape = ttnn.MeshShape(*param) if isinstance(param, tuple) else ttnn.MeshShape(1, min(param, len(ids)))
    request.node.pci_ids = [ttnn.GetPCIeDeviceID(i) for i in ids[: shape.mesh_size()]]
    mesh = ttnn.open_mesh_device(mesh_shape=shape, **_with_dispatch_config(device_params))
    yield mesh
    for one in mesh.get_devices():
        ttnn.DumpDeviceProfiler(one)
    ttnn.close_mesh_device(mesh)


@pytest.fixture(autouse=True)
def reset_default_device():
    import ttnn

    previous = ttnn.GetDefaultDevice()
    yield
    ttnn.SetDefaultDevice(previous)
