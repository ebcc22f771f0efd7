"""The fixtures tt-metal's root conftest.py gives its tests, on the emulated mesh, for test files run without a
tt-metal checkout: `python3 -m allocmon.emulate -m pytest test_x.py` loads this plugin. A conftest.py that
defines the same fixtures (tt-metal's own, in a checkout) takes precedence, as pytest gives conftest fixtures
priority over a plugin's.

device, mesh_device (indirect parametrisation: an int N is a 1xN mesh, a tuple (rows, cols) that mesh),
t3k_mesh_device (1x8), n300_mesh_device (1x2), device_params (l1_small_size, trace_region_size, ...),
silicon_arch_name / silicon_arch_<arch>, use_program_cache, reset_seeds, function_level_defaults, expect_error
(`with expect_error(RuntimeError, "text"):` the block must raise that exception type with the text in its
message)."""

import contextlib

import pytest


def _ttnn():
    import ttnn

    return ttnn


def _device_options(ttnn, device_params):
    options = dict(device_params)
    axis = options.pop("dispatch_core_axis", None)
    options["dispatch_core_config"] = ttnn.DispatchCoreConfig(ttnn.device.DispatchCoreType.WORKER, axis)
    return options


@pytest.fixture
def device_params(request):
    return getattr(request, "param", {})


@pytest.fixture
def device(request, device_params):
    ttnn = _ttnn()
    device_id = request.config.getoption("device_id", default=0) or 0
    if device_id >= ttnn.GetNumPCIeDevices():
        pytest.fail(f"device {device_id} does not exist: the emulated system has {ttnn.GetNumPCIeDevices()}")
    opened = ttnn.CreateDevice(device_id=device_id, **_device_options(ttnn, device_params))
    previous = ttnn.GetDefaultDevice()
    ttnn.SetDefaultDevice(opened)
    yield opened
    ttnn.DumpDeviceProfiler(opened)
    ttnn.synchronize_device(opened)
    ttnn.close_device(opened)
    ttnn.SetDefaultDevice(previous)


def _open_mesh(ttnn, shape, device_params):
    if shape.mesh_size() > len(ttnn.get_device_ids()):
        pytest.skip(f"needs {shape.mesh_size()} devices, the emulated system has {len(ttnn.get_device_ids())} "
                    "(ALLOCMON_EMULATED_DEVICES)")
    return ttnn.open_mesh_device(mesh_shape=shape, **_device_options(ttnn, device_params))


def _close_mesh(ttnn, mesh):
    for one in mesh.get_devices():
        ttnn.DumpDeviceProfiler(one)
    ttnn.close_mesh_device(mesh)


@pytest.fixture
def mesh_device(request, device_params):
    ttnn = _ttnn()
    available = len(ttnn.get_device_ids())
    param = getattr(request, "param", available)
    if isinstance(param, tuple):
        if len(param) != 2:
            pytest.fail(f"mesh_device: a mesh shape has two dims, got {param}")
        shape = ttnn.MeshShape(*param)
    else:
        shape = ttnn.MeshShape(1, min(int(param), available))
    mesh = _open_mesh(ttnn, shape, device_params)
    yield mesh
    _close_mesh(ttnn, mesh)


def _fixed_mesh_fixture(name, devices):
    """tt-metal's fixtures for one system's mesh (t3k: 8 devices, n300: 2), opened as a 1xN mesh."""

    @pytest.fixture(name=name)
    def fixture(device_params):
        ttnn = _ttnn()
        mesh = _open_mesh(ttnn, ttnn.MeshShape(1, devices), device_params)
        yield mesh
        _close_mesh(ttnn, mesh)

    return fixture


t3k_mesh_device = _fixed_mesh_fixture("t3k_mesh_device", 8)
n300_mesh_device = _fixed_mesh_fixture("n300_mesh_device", 2)


@pytest.fixture
def silicon_arch_name():
    return _ttnn().get_arch_name()


def _arch_only(name):
    @pytest.fixture
    def only(silicon_arch_name):
        if silicon_arch_name != name:
            pytest.skip(f"needs {name}, the emulated devices are {silicon_arch_name} (--arch)")
        return True

    return only


silicon_arch_wormhole_b0 = _arch_only("wormhole_b0")
silicon_arch_blackhole = _arch_only("blackhole")
silicon_arch_grayskull = _arch_only("grayskull")


@pytest.fixture
def use_program_cache(request):
    meshes = [request.getfixturevalue(name) for name in ("device", "mesh_device", "t3k_mesh_device")
              if name in request.fixturenames]
    for mesh in meshes:
        mesh.enable_program_cache()
    yield
    for mesh in meshes:
        mesh.disable_and_clear_program_cache()


@pytest.fixture
def reset_seeds():
    import random

    import numpy
    import torch

    torch.manual_seed(213919)
    numpy.random.seed(213919)
    random.seed(213919)
    yield


@pytest.fixture
def function_level_defaults(reset_seeds):
    yield


@pytest.fixture
def expect_error():
    """`with expect_error(ExceptionType, "part of the message"):`: fails the test unless the block raises an
    exception of that type (or a subclass) whose message contains the text."""

    @contextlib.contextmanager
    def expect(exception_type, text=""):
        with pytest.raises(exception_type) as raised:
            yield raised
        if text not in str(raised.value):
            pytest.fail(f"expected {exception_type.__name__} with {text!r} in its message, got: {raised.value}")

    return expect
