"""ttnn.device: opening and closing emulated devices and meshes, and the names tt-metal's test harness uses
(CreateDevice, GetPCIeDeviceID, DispatchCoreConfig, ...). Options that only matter on hardware are accepted
and have no effect."""

import contextlib as _contextlib
import enum as _enum
import weakref as _weakref
import os as _os
import sys as _sys
import types as _types

from .. import _allocmon
from .errors import not_emulated
from .types import CoreCoord, CoreGrid, MeshShape, SubDeviceManagement

__all__ = [
    "Arch", "DispatchCoreType", "DispatchCoreAxis", "DispatchCoreConfig", "Device", "MeshDevice",
    "open_device", "close_device", "open_mesh_device", "close_mesh_device", "CreateDevice", "CloseDevice",
    "CreateDevices", "CloseDevices", "GetDefaultDevice", "SetDefaultDevice", "GetPCIeDeviceID",
    "GetNumPCIeDevices", "GetNumAvailableDevices", "get_num_devices", "get_num_pcie_devices",
    "get_pcie_device_ids", "get_device_ids", "get_arch_name", "synchronize_device", "DumpDeviceProfiler",
    "ReadDeviceProfiler", "EnablePersistentKernelCache", "DisablePersistentKernelCache", "manage_device",
    "create_mesh_device",
]


class Arch(_enum.Enum):
    GRAYSKULL = "grayskull"
    WORMHOLE_B0 = "wormhole_b0"
    BLACKHOLE = "blackhole"
    QUASAR = "quasar"  # named so that tests can compare with it; the emulator offers no such devices


class DispatchCoreType(_enum.Enum):
    WORKER = 0
    ETH = 1


class DispatchCoreAxis(_enum.Enum):
    ROW = 0
    COL = 1


class DispatchCoreConfig:
    """Where dispatch runs on hardware; the emulated devices take it and ignore it."""

    def __init__(self, type=DispatchCoreType.WORKER, axis=None):  # noqa: A002 (ttnn's keyword)
        self.type = type
        self.axis = axis

    def __repr__(self):
        return f"DispatchCoreConfig(type={self.type}, axis={self.axis})"


def get_arch_name():
    """The emulated architecture: ALLOCMON_ARCH (python3 -m allocmon.emulate --arch), default wormhole_b0."""
    return _os.environ.get("ALLOCMON_ARCH", "wormhole_b0")


def get_device_ids():
    """Every device the emulated system has (ALLOCMON_EMULATED_DEVICES, default 32)."""
    return list(range(int(_os.environ.get("ALLOCMON_EMULATED_DEVICES", "32"))))


def GetNumAvailableDevices():  # noqa: N802 (ttnn's names)
    return len(get_device_ids())


def GetNumPCIeDevices():  # noqa: N802
    """Every emulated device is reachable directly (there are no remote chips behind an Ethernet link)."""
    return len(get_device_ids())


def GetPCIeDeviceID(device_id):  # noqa: N802
    return int(device_id)


get_num_devices = GetNumAvailableDevices
get_num_pcie_devices = GetNumPCIeDevices


def get_pcie_device_ids():
    return get_device_ids()


class Device:
    """One device of a mesh (what MeshDevice.get_devices returns)."""

    def __init__(self, mesh, index):
        self._mesh = mesh
        self._index = index

    def id(self):
        return self._mesh.get_device_ids()[self._index]

    def arch(self):
        return self._mesh.arch()

    def __repr__(self):
        return f"Device(id={self.id()})"


OPEN_MESHES = _weakref.WeakSet()


class MeshDevice(SubDeviceManagement):
    """A mesh of emulated devices (also what open_device returns: a 1x1 mesh)."""

    def __init__(self, native, requested_shape=None, parent=None, coordinates=None):
        self._native = native
        self._requested_shape = requested_shape  # under ALLOCMON_MESH_SHAPE: the shape the script asked for
        # A submesh (create_submesh): `coordinates` (a MeshCoordinateRange) of `parent`'s devices. It shares the
        # parent's native mesh, so what it allocates is allocated in lock-step on every device of the parent
        # (tt-metal gives a submesh an allocator of its own over the same devices; the emulated allocator is one
        # per opened mesh): replicated tensors work, tensors split over a submesh smaller than its parent are
        # not emulated (distributed.TensorToMesh).
        self._parent = parent
        self._coordinates = coordinates
        self._submeshes = []
        self._closed = False
        self._root = self

    @property
    def shape(self):
        if self._coordinates is not None:
            return self._coordinates.shape()
        return MeshShape(self._native.rows, self._native.cols)

    def get_num_devices(self):
        if self._coordinates is not None:
            return self.shape.mesh_size()
        return self._native.get_num_devices()

    def get_device_ids(self):
        if self._coordinates is None:
            return self._native.get_device_ids()
        ids, cols = self._root.get_device_ids(), self._root.shape.cols  # coordinates are in the opened mesh
        return [ids[c[0] * cols + c[-1]] for c in self._coordinates]

    def is_parent_mesh(self):
        return self._parent is None

    def get_parent_mesh(self):
        return self._parent

    def spans_whole_native_mesh(self):
        """Whether this mesh (or submesh) covers every device of the native mesh that holds its tensors."""
        return self.get_num_devices() == self._native.get_num_devices()

    def create_submesh(self, submesh_shape, offset=None):
        """A view of `submesh_shape` devices of this mesh starting at `offset` (a MeshCoordinate, default the
        origin), as tt-metal's MeshDevice.create_submesh."""
        from .distributed import MeshCoordinate, MeshCoordinateRange

        submesh_shape = MeshShape(submesh_shape)
        if len(submesh_shape) != len(self.shape):
            raise RuntimeError(f"Submesh shape {submesh_shape} and mesh device shape {self.shape} must have the "
                               "same number of dimensions.")
        offset = MeshCoordinate([0] * len(submesh_shape)) if offset is None else MeshCoordinate(offset)
        if offset.dims() != len(submesh_shape):
            raise RuntimeError(f"Submesh shape {submesh_shape} and offset {offset} must have the same number of "
                               "dimensions.")
        end = [o + d - 1 for o, d in zip(offset, submesh_shape)]
        if any(e >= d for e, d in zip(end, self.shape)):
            raise RuntimeError(f"Submesh shape {submesh_shape} and offset {offset} does not fit within parent mesh "
                               f"({self.shape}).")
        return self._submesh(MeshCoordinateRange(offset, MeshCoordinate(end)))

    def create_submeshes(self, submesh_shape):
        """This mesh cut into submeshes of `submesh_shape` (which must divide it), in row-major order."""
        from .distributed import MeshCoordinate, MeshCoordinateRange

        submesh_shape = MeshShape(submesh_shape)
        if len(submesh_shape) != len(self.shape):
            raise RuntimeError(f"Submesh shape {submesh_shape} and mesh device shape {self.shape} must have the "
                               "same number of dimensions.")
        steps = []
        for dim, (size, part) in enumerate(zip(self.shape, submesh_shape)):
            if size % part:
                raise RuntimeError(f"Shape {self.shape} is not divisible by submesh shape {submesh_shape} along "
                                   f"dimension {dim}")
            steps.append(size // part)
        return [self.create_submesh(submesh_shape, MeshCoordinate([s * p for s, p in zip(step, submesh_shape)]))
                for step in MeshCoordinateRange(MeshShape(steps))]

    def create_overlapped_submeshes(self, coordinate_ranges):
        """One submesh per MeshCoordinateRange; the ranges may share devices."""
        submeshes = []
        for coordinate_range in coordinate_ranges:
            if not self._whole_range().contains(coordinate_range):
                raise RuntimeError(f"Submesh range {coordinate_range} does not fit within parent mesh "
                                   f"({self.shape}).")
            submeshes.append(self._submesh(coordinate_range))
        return submeshes

    def _whole_range(self):
        from .distributed import MeshCoordinateRange

        return MeshCoordinateRange(self.shape)

    def _submesh(self, coordinate_range):
        if self._closed or not self._native.is_open():
            raise RuntimeError("create_submesh: the mesh device is closed")
        if self._coordinates is not None:  # a submesh of a submesh: coordinates in the mesh that was opened
            from .distributed import MeshCoordinate, MeshCoordinateRange

            base = self._coordinates.start_coord()
            coordinate_range = MeshCoordinateRange(
                MeshCoordinate([b + s for b, s in zip(base, coordinate_range.start_coord())]),
                MeshCoordinate([b + e for b, e in zip(base, coordinate_range.end_coord())]))
            root = self._root
        else:
            root = self
        submesh = MeshDevice(self._native, parent=self, coordinates=coordinate_range)
        submesh._root = root
        self._submeshes.append(submesh)
        return submesh

    def get_info(self, tag, coord=None):
        """ttnn.experimental.info's device query: one value for the whole mesh, or the device at `coord`."""
        return _info_value(self, tag, coord)

    def get_info_per_device(self, tag):
        from .distributed import MeshCoordinateRange

        return {coord: _info_value(self, tag, coord) for coord in MeshCoordinateRange(self.shape)}

    def get_devices(self):
        return [Device(self, i) for i in range(self.get_num_devices())]

    def id(self):
        return self._native.get_device_ids()[0]

    def arch(self):
        return Arch(self._native.architecture)

    def compute_with_storage_grid_size(self):
        x, y = self._native.grid
        return CoreCoord(x, y)

    @property
    def core_grid(self):
        x, y = self._native.grid
        return CoreGrid(y=y, x=x)

    def enable_program_cache(self):
        self._native.enable_program_cache()

    def disable_and_clear_program_cache(self):
        self._native.clear_program_cache()

    def clear_program_cache(self):
        self._native.clear_program_cache()

    def num_program_cache_entries(self):
        return self._native.program_cache_entries()

    def enable_async(self, enabled=True):
        """Async dispatch changes nothing the allocator sees."""

    # Sub-devices (create_sub_device_manager, ...): types.SubDeviceManagement.

    def get_submeshes(self):
        return [m for m in self._submeshes if not m._closed]

    def dram_grid_size(self):
        return CoreCoord(self._native.dram_banks, 1)

    def num_dram_channels(self):
        return self._native.dram_banks

    def reshape(self, mesh_shape):
        if self._coordinates is not None and tuple(MeshShape(mesh_shape)) != tuple(self.shape):
            raise not_emulated("MeshDevice.reshape of a submesh")
        if self._coordinates is None and tuple(MeshShape(mesh_shape)) != (self._native.rows, self._native.cols):
            raise not_emulated("MeshDevice.reshape", "an emulated mesh keeps the shape it was opened with")

    def __repr__(self):
        return repr(self._native)


def _memory_only():
    """ALLOCMON_MEMORY_ONLY=1 (python3 -m allocmon.emulate --no-data): tensors carry no values."""
    return _os.environ.get("ALLOCMON_MEMORY_ONLY") == "1"


def _open(rows, cols, physical_ids=(), l1_small_size=0, trace_region_size=0, requested_shape=None):
    native = _allocmon.open_mesh(rows, cols, get_arch_name(), list(physical_ids), int(l1_small_size),
                                 int(trace_region_size), hold_data=not _memory_only())
    mesh = MeshDevice(native, requested_shape)
    OPEN_MESHES.add(mesh)
    return mesh


def open_meshes():
    """The meshes open now (what ttnn's buffer reports cover)."""
    return [m for m in list(OPEN_MESHES) if m._native.is_open()]


def _mesh_shape_override():
    """ALLOCMON_MESH_SHAPE=RxC (python3 -m allocmon.emulate --mesh-shape): what if this script ran on another mesh?"""
    text = _os.environ.get("ALLOCMON_MESH_SHAPE")
    if not text:
        return None
    try:
        rows, cols = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"ALLOCMON_MESH_SHAPE wants ROWSxCOLS (e.g. 1x8), got {text!r}") from None
    return MeshShape(rows, cols)


def open_mesh_device(mesh_shape=None, device_ids=None, *, l1_small_size=0, trace_region_size=0,
                     physical_device_ids=(), **hardware_options):
    """Open a mesh (default 2x4). Hardware options (dispatch_core_config, num_command_queues, ...) are
    accepted."""
    shape = MeshShape(mesh_shape) if mesh_shape is not None else MeshShape(2, 4)
    ids = list(physical_device_ids or device_ids or ())[: shape.mesh_size()]
    override = _mesh_shape_override()
    if override is not None and (override.rows, override.cols) != (shape.rows, shape.cols):
        print(f"allocmon.emulate: opening a {override.rows}x{override.cols} mesh where the script asks for "
              f"{shape.rows}x{shape.cols} (ALLOCMON_MESH_SHAPE)", file=_sys.stderr)
        return _open(override.rows, override.cols, (), l1_small_size, trace_region_size,
                     requested_shape=(shape.rows, shape.cols))
    return _open(shape.rows, shape.cols, ids, l1_small_size, trace_region_size)


def _with_submeshes(mesh_device):
    yield mesh_device
    for submesh in list(getattr(mesh_device, "_submeshes", ())):
        yield from _with_submeshes(submesh)


def close_mesh_device(mesh_device):
    """Closes a mesh and its submeshes; closing a submesh leaves its parent open. ttnn's default device is
    forgotten when it is one of the meshes closed."""
    global _default_device
    parent = getattr(mesh_device, "_parent", None)
    if parent is None:
        mesh_device._native.close()  # first: when it raises (as tt-metal's may), the mesh stays open
    closing = list(_with_submeshes(mesh_device))
    if any(_default_device is m for m in closing):
        _default_device = None
    for m in closing:
        m._closed = True
    if parent is not None:
        parent._submeshes = [m for m in parent._submeshes if m is not mesh_device]


def open_device(device_id=0, *, l1_small_size=0, trace_region_size=0, **hardware_options):
    return _open(1, 1, [int(device_id)], l1_small_size, trace_region_size)


close_device = close_mesh_device


def CreateDevice(device_id=0, **options):  # noqa: N802
    return open_device(device_id, **options)


def CloseDevice(device):  # noqa: N802
    close_device(device)


def CreateDevices(device_ids, **options):  # noqa: N802
    """{device id: device}, each a single emulated device."""
    return {int(i): open_device(int(i), **options) for i in device_ids}


def CloseDevices(devices):  # noqa: N802
    for device in (devices.values() if isinstance(devices, dict) else devices):
        close_device(device)


_default_device = None


def SetDefaultDevice(device):  # noqa: N802
    global _default_device
    _default_device = device


def GetDefaultDevice():  # noqa: N802
    return _default_device


def synchronize_device(device, *args, **kwargs):
    """Emulated ops finish before they return: nothing to wait for."""


def DumpDeviceProfiler(device, *args, **kwargs):  # noqa: N802
    """No device profiler on the emulated mesh."""


ReadDeviceProfiler = DumpDeviceProfiler


def EnablePersistentKernelCache():  # noqa: N802
    pass


def DisablePersistentKernelCache():  # noqa: N802
    pass


@_contextlib.contextmanager
def create_mesh_device(*args, **kwargs):
    """`with ttnn.create_mesh_device(ttnn.MeshShape(2, 4)) as mesh:` opens a mesh and closes it afterwards."""
    mesh = open_mesh_device(*args, **kwargs)
    try:
        yield mesh
    finally:
        close_mesh_device(mesh)


class manage_device:  # noqa: N801 (ttnn's name)
    """`with ttnn.manage_device(device_id=0) as device:` opens a device and closes it afterwards."""

    def __init__(self, device_id=0, **options):
        self._device = open_device(device_id, **options)

    def __enter__(self):
        return self._device

    def __exit__(self, *exc):
        close_device(self._device)
        return False


# ---- ttnn.experimental.info: device properties by tag (MeshDevice.get_info) ----

# Per architecture: (L1 alignment, DRAM alignment) in bytes, as src/common/tt_architecture.cpp has them.
_ALIGNMENTS = {"wormhole_b0": (16, 32), "blackhole": (16, 64)}


def get_l1_alignment():
    return _ALIGNMENTS[get_arch_name()][0]


def get_dram_alignment():
    return _ALIGNMENTS[get_arch_name()][1]


class InfoTag:
    """A device property that MeshDevice.get_info reads; tags compare and hash by name."""

    def __init__(self, name, read):
        self.name = name
        self._read = read

    def __eq__(self, other):
        return isinstance(other, InfoTag) and other.name == self.name

    def __hash__(self):
        return hash(("InfoTag", self.name))

    def __repr__(self):
        return f"InfoTag({self.name})"


_INFO_TAGS = [
    InfoTag("l1_alignment", lambda mesh: _ALIGNMENTS[mesh._native.architecture][0]),
    InfoTag("dram_alignment", lambda mesh: _ALIGNMENTS[mesh._native.architecture][1]),
    InfoTag("architecture", lambda mesh: mesh.arch()),
    InfoTag("architecture_name", lambda mesh: mesh._native.architecture),
]


def _info_value(mesh, tag, coord):
    if not isinstance(tag, InfoTag):
        raise TypeError(f"get_info(): incompatible function arguments: the tag must be a "
                        f"ttnn.experimental.info.InfoTag, got {type(tag).__name__} {tag!r}")
    if coord is not None:
        from .distributed import MeshCoordinate, MeshCoordinateRange

        coord = MeshCoordinate(coord)
        if not MeshCoordinateRange(mesh.shape).contains(coord):
            raise RuntimeError(f"Cannot query {tag.name} at {coord}: the coordinate is outside the mesh of shape "
                               f"{mesh.shape}")
    # The emulated devices of a mesh are alike: every coordinate has the mesh's value.
    return tag._read(mesh)


experimental_info = _types.ModuleType("ttnn.experimental.info",
                                      "Device properties by tag: mesh_device.get_info(info.l1_alignment).")
experimental_info.InfoTag = InfoTag
for _tag in _INFO_TAGS:
    setattr(experimental_info, _tag.name, _tag)
experimental_info.all_tags = lambda: list(_INFO_TAGS)
