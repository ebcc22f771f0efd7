"""ttnn's comparison helpers that tests call on host results, and the generic op's program descriptors with
their hash (what ttnn's program cache keys a ttnn.generic_op program by)."""

import hashlib as _hashlib

__all__ = ["pearson_correlation_coefficient", "get_golden_function", "FaceGeometry", "CBFormatDescriptor",
           "CBDescriptor", "SemaphoreDescriptor", "ProgramDescriptor", "compute_program_descriptor_hash"]


def _as_torch(value):
    import torch

    if isinstance(value, torch.Tensor):
        return value
    from .operations.core import to_torch

    return to_torch(value)


def pearson_correlation_coefficient(expected, actual):
    """ttnn's PCC of two tensors (torch or ttnn): 1.0 when both are equal, including all-equal constants."""
    import numpy as np
    import torch

    expected, actual = _as_torch(expected), _as_torch(actual)
    if expected.shape != actual.shape:
        raise RuntimeError(f"list(expected.shape)={list(expected.shape)} vs list(actual.shape)={list(actual.shape)}")
    a = expected.detach().to(torch.float64).flatten().numpy()
    b = actual.detach().to(torch.float64).flatten().numpy()
    if np.array_equal(a, b, equal_nan=True):
        return 1.0
    if a.size < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return 0.0
    return float(np.ma.corrcoef(np.ma.masked_invalid(a), np.ma.masked_invalid(b))[0, 1])


def get_golden_function(operation):
    """The host (torch) function ttnn checks `operation` against: the backward ops' autograd goldens, and for
    elementwise and other ops the torch function they compute."""
    from .errors import not_emulated
    from .operations import backward, eltwise, normalization

    while hasattr(operation, "__wrapped__"):  # the op as defined, not its attribution wrapper
        operation = operation.__wrapped__
    for goldens in (backward.GOLDEN, normalization.GOLDEN):
        if operation in goldens:
            return goldens[operation]
    name = getattr(operation, "__name__", None)
    forward = eltwise.golden(name) if name else None
    if forward is None:
        raise not_emulated(f"ttnn.get_golden_function({name or operation!r})")
    return forward


# ---- program descriptors (ttnn.generic_op's program, described in Python) ----


class _Descriptor:
    """Fields as attributes; descriptors compare by value."""

    _fields = ()

    def _key(self):
        return (type(self).__name__,) + tuple(_key_of(getattr(self, f)) for f in self._fields)

    def __eq__(self, other):
        return type(other) is type(self) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self._fields)})"


def _key_of(value):
    """A value as a tuple of plain values, the same for equal descriptors (lists, core ranges, enums)."""
    if isinstance(value, _Descriptor):
        return value._key()
    if isinstance(value, (list, tuple)):
        return tuple(_key_of(v) for v in value)
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    name = getattr(value, "name", None)
    if isinstance(name, str):  # an enum (a DataType, ...)
        return (type(value).__name__, name)
    return (type(value).__name__, repr(value))


class FaceGeometry(_Descriptor):
    """How a tile's operand is cut into faces: face_r_dim rows per face, num_faces faces (16 and 4 for a full
    32x32 tile)."""

    _fields = ("face_r_dim", "num_faces")

    def __init__(self, face_r_dim=16, num_faces=4):
        self.face_r_dim = int(face_r_dim)
        self.num_faces = int(num_faces)


class CBFormatDescriptor(_Descriptor):
    """One circular buffer index's data format and page size (and optional tile and face geometry)."""

    _fields = ("buffer_index", "data_format", "page_size", "tile", "face_geometry")

    def __init__(self, buffer_index=0, data_format=None, page_size=0, tile=None):
        self.buffer_index = int(buffer_index)
        self.data_format = data_format
        self.page_size = int(page_size)
        self.tile = tile
        self.face_geometry = None


class CBDescriptor(_Descriptor):
    """A circular buffer of total_size bytes on core_ranges, with its format descriptors."""

    _fields = ("total_size", "core_ranges", "format_descriptors", "remote_format_descriptors")

    def __init__(self, total_size=0, core_ranges=None, format_descriptors=(), remote_format_descriptors=(),
                 buffer=None, global_circular_buffer=None):
        self.total_size = int(total_size)
        self.core_ranges = core_ranges
        self.format_descriptors = list(format_descriptors)
        self.remote_format_descriptors = list(remote_format_descriptors)
        self.buffer = buffer
        self.global_circular_buffer = global_circular_buffer


class SemaphoreDescriptor(_Descriptor):
    _fields = ("core_type", "core_ranges", "initial_value")

    def __init__(self, core_type=None, core_ranges=None, initial_value=0):
        self.core_type = core_type
        self.core_ranges = core_ranges
        self.initial_value = int(initial_value)


class ProgramDescriptor(_Descriptor):
    """A program: its kernels, semaphores and circular buffers."""

    _fields = ("kernels", "semaphores", "cbs")

    def __init__(self, kernels=(), semaphores=(), cbs=()):
        self.kernels = list(kernels)
        self.semaphores = list(semaphores)
        self.cbs = list(cbs)


def compute_program_descriptor_hash(program_descriptor):
    """A 64-bit hash of everything that defines the program (kernels, semaphores, every circular buffer's sizes,
    cores and formats including the face geometry): equal for equal descriptors, so the program cache reuses
    a program only for the same descriptor."""
    if not isinstance(program_descriptor, ProgramDescriptor):
        raise TypeError("compute_program_descriptor_hash(): incompatible function arguments: wants a "
                        f"ttnn.ProgramDescriptor, got {type(program_descriptor).__name__}")
    digest = _hashlib.blake2b(repr(program_descriptor._key()).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")
