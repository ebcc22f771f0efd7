"""ttnn.Tensor: a tensor on the host (values per device, as numpy arrays) or on an emulated mesh (an allocmon
MeshTensor: one lock-step buffer on every device, reported to allocmon).

A tensor's shape is its shape on each device, as in ttnn: a tensor sharded over a mesh has the shard's shape,
and ttnn.to_torch needs a mesh composer to put the shards back together.
"""

import enum as _enum

import numpy as _np

from .. import _allocmon
from .errors import not_emulated
from .types import (
    DataType,
    Layout,
    MemoryConfig,
    Shape,
    TILE_SIZE,
    BufferType,
    TensorMemoryLayout,
    bfloat16,
    float32,
    int8,
    int32,
    uint8,
    uint16,
    uint32,
    ROW_MAJOR_LAYOUT,
    TILE_LAYOUT,
)

__all__ = ["Tensor", "StorageType", "set_printoptions"]


class StorageType(str, _enum.Enum):
    HOST = "HOST"
    DEVICE = "DEVICE"

    def __repr__(self):
        return f"StorageType.{self.name}"


def host_float_type(dtype):
    """The numpy type host values of a ttnn dtype are held in: float64 for int32/uint32 (a float32 holds their
    values only up to 2^24; a float64 holds them all), float32 otherwise."""
    return _np.float64 if dtype in (int32, uint32) else _np.float32


def as_float_array(data):
    """torch tensors, numpy arrays and nested lists as a contiguous float numpy array: float64 for float64 data
    and integer data of 32 bits or more (so that int32/uint32 values stay exact), float32 otherwise; rounded()
    then gives the target dtype's host type."""
    if hasattr(data, "detach") and hasattr(data, "numpy"):  # torch.Tensor
        import torch

        wide = data.dtype == torch.float64 or (not data.dtype.is_floating_point and not data.dtype.is_complex
                                               and data.dtype.itemsize >= 4)
        return _np.ascontiguousarray(data.detach().to(torch.float64 if wide else torch.float32).cpu().numpy())
    array = _np.asarray(data)
    wide = array.dtype == _np.float64 or (array.dtype.kind in "iu" and array.dtype.itemsize >= 4)
    return _np.ascontiguousarray(array, dtype=_np.float64 if wide else _np.float32)


def dtype_of_source(data):
    """The ttnn dtype from_torch picks when none is given."""
    name = str(getattr(data, "dtype", ""))
    for torch_name, dtype in (("bfloat16", bfloat16), ("uint8", uint8), ("int8", int8), ("int16", uint16),
                              ("int32", int32),
                              ("int64", uint32), ("uint", uint32)):
        if torch_name in name:
            return dtype
    return float32


def check_layout(dtype, layout, call):
    if dtype.is_block_float and layout != TILE_LAYOUT:
        raise RuntimeError(f"{call}: {dtype.value} requires TILE_LAYOUT (block floating point exists only in tiles)")


def holds_exactly(data, dtype):
    """Whether every value of the source is already one the dtype holds (bfloat16 into bfloat16, ...), so that
    rounding it (seconds for a large tensor) can be skipped."""
    name = str(getattr(data, "dtype", "")).replace("torch.", "")
    return dtype == float32 or (not dtype.is_block_float and name == dtype.value)


def rounded(array, dtype, exact=False):
    """Host values as the dtype holds them (ttnn converts on the host, too), in host_float_type(dtype)."""
    if exact or dtype == float32:
        return _np.asarray(array, dtype=host_float_type(dtype))
    return _allocmon.round_values(array, dtype.value)


class Tensor:
    """A ttnn tensor. Constructed like ttnn's: Tensor(torch_or_numpy, dtype=None, device=None, layout=...),
    Tensor(tensor=..., data_type=..., layout=...), or Tensor(flat_values, shape, dtype, layout[, device])."""

    def __init__(self, *args, **kwargs):
        data = kwargs.pop("tensor", None)
        args = list(args)
        if data is None:
            if not args:
                raise TypeError("ttnn.Tensor() needs data (a torch tensor, numpy array or list)")
            data = args.pop(0)
        dtype = kwargs.pop("data_type", None) or kwargs.pop("dtype", None)
        layout = kwargs.pop("layout", None)
        device = kwargs.pop("device", None)
        memory_config = kwargs.pop("memory_config", None)
        kwargs.pop("tile", None)
        if kwargs:
            raise not_emulated(f"ttnn.Tensor(..., {', '.join(sorted(kwargs))}=...)")
        if isinstance(data, (list, tuple)) and args and isinstance(args[0], (list, tuple, Shape)):
            shape = tuple(int(d) for d in args.pop(0))  # Tensor(flat_values, shape, dtype, layout[, device])
            values = as_float_array(data).reshape(shape)
        else:
            values = data
        if args and isinstance(args[0], DataType):
            dtype = args.pop(0)
        if args and isinstance(args[0], Layout):
            layout = args.pop(0)
        if args:
            device = args.pop(0)
        if args:  # Tensor(data, shape, dtype, layout, device, memory_config): ttnn's positional order
            memory_config = args.pop(0)
        if args:
            raise TypeError(f"ttnn.Tensor(): unexpected arguments {args!r}")
        dtype = dtype or dtype_of_source(values)
        # Block floats exist only as tiles: with no layout named, ttnn makes such a host tensor in tiles.
        layout = layout or (TILE_LAYOUT if dtype.is_block_float else ROW_MAJOR_LAYOUT)
        check_layout(dtype, layout, "ttnn.Tensor")
        array = as_float_array(values)
        _init_host(self, [rounded(array, dtype)], dtype, layout)
        if device is not None:
            from .operations.core import to_device

            placed = to_device(self, device, memory_config)
            self.__dict__.update(placed.__dict__)

    # ---- what it is ----

    @property
    def shape(self):
        return self._shape

    @property
    def logical_shape(self):
        return self._shape

    @property
    def padded_shape(self):
        if self.layout != TILE_LAYOUT:
            # a row-major tensor sharded by a 2-D shard spec holds its rows in shard-wide pages: the width is
            # padded to a multiple of the shard width, as ttnn's row-major page alignment does
            spec = self._memory_config.shard_spec if self._memory_config is not None else None
            if spec is None or not self._shape or spec.shape[1] <= 0 or self._shape[-1] % spec.shape[1] == 0:
                return self._shape
            dims = list(self._shape)
            dims[-1] = -(-dims[-1] // spec.shape[1]) * spec.shape[1]
            return Shape(dims)
        dims = list(self._shape) if len(self._shape) >= 2 else [1] + list(self._shape)
        dims[-1] = -(-dims[-1] // TILE_SIZE) * TILE_SIZE
        dims[-2] = -(-dims[-2] // TILE_SIZE) * TILE_SIZE
        return Shape(dims)

    def get_dtype(self):
        return self.dtype

    def get_layout(self):
        return self.layout

    def volume(self):
        return self._shape.volume()

    def logical_volume(self):
        return self._shape.volume()

    def storage_type(self):
        return StorageType.DEVICE if self._device is not None else StorageType.HOST

    def is_allocated(self):
        if self._device is not None:
            return self._device.is_allocated()
        return self._host is not None

    def memory_config(self):
        if self._device is None:
            raise RuntimeError("a host tensor has no memory config; move it to a device with ttnn.to_device")
        return self._memory_config

    def device(self):
        return self._mesh

    def devices(self):
        return self._mesh.get_devices() if self._mesh is not None else []

    def is_sharded(self):
        return self._memory_config is not None and self._memory_config.is_sharded()

    def item(self):
        """The value of a one-element tensor as a Python number (int for the integer types), read from the
        device or the host as ttnn reads it back."""
        if self.volume() != 1:
            raise RuntimeError(f"ttnn.Tensor.item(): the tensor has {self.volume()} values; item() needs exactly one")
        if self.num_shards != 1:
            raise RuntimeError("ttnn.Tensor.item(): the tensor is on more than one device; take one device's "
                               "tensor with ttnn.get_device_tensors")
        value = self.shard_values()[0].reshape(-1)[0]
        return int(value) if self.dtype.is_integer else float(value)

    def buffer_address(self):
        return self._device.address if self._device is not None else None

    @property
    def num_shards(self):
        """How many devices' values it holds."""
        if self._device is not None:
            return 1 if self._device_index is not None else self._mesh.get_num_devices()
        return len(self._host) if self._host is not None else 0

    # ---- values ----

    def shard_values(self):
        """Each device's values as numpy arrays of this tensor's shape (mesh row-major order): float32, float64
        for int32/uint32 (every value exact)."""
        if self._device is not None:
            if not self._device.is_allocated():
                raise RuntimeError("the tensor was deallocated")
            indices = [self._device_index] if self._device_index is not None else range(self.num_shards)
            return [_allocmon.read_shard(self._device, d).reshape(self._shape) for d in indices]
        if self._host is None:
            raise RuntimeError("the tensor was deallocated")
        return [a.reshape(self._shape) for a in self._host]

    # ---- methods that forward to ttnn functions ----

    def deallocate(self, force=True):
        from .operations.core import deallocate

        deallocate(self, force)

    def cpu(self, blocking=True, **ignored):
        from .operations.core import from_device

        return from_device(self)

    def to(self, target, memory_config=None, **ignored):
        """Tensor.to(device[, memory_config]) moves it to a device; Tensor.to(layout) changes its layout."""
        from .operations.core import to_device, to_layout

        if isinstance(target, Layout):
            return to_layout(self, target)
        return to_device(self, target, memory_config)

    def to_torch(self, mesh_composer=None, **ignored):
        from .operations.core import to_torch

        return to_torch(self, mesh_composer=mesh_composer)

    def to_numpy(self, mesh_composer=None, **ignored):
        from .operations.core import to_numpy

        return to_numpy(self, mesh_composer=mesh_composer)

    def reshape(self, *shape):
        from .operations.data_movement import reshape

        if len(shape) == 1 and isinstance(shape[0], (tuple, list, Shape)):
            shape = tuple(shape[0])
        return reshape(self, shape)

    def pad(self, output_tensor_shape, input_tensor_start, pad_value):
        """Host tensors: pad to output_tensor_shape with the values placed at input_tensor_start."""
        from .operations.data_movement import pad_to_shape

        return pad_to_shape(self, output_tensor_shape, input_tensor_start, pad_value)

    def pad_to_tile(self, pad_value):
        target = list(self.padded_shape) if self.layout == TILE_LAYOUT else _tile_padded(self._shape)
        return self.pad(target, [0] * len(target), pad_value)

    def unpad(self, start, end):
        from .operations.data_movement import slice as slice_op

        return slice_op(self, list(start), list(end))

    def unpad_from_tile(self, output_tensor_shape):
        return self.unpad([0] * len(output_tensor_shape), list(output_tensor_shape))

    def __getitem__(self, index):
        from .operations.data_movement import getitem

        return getitem(self, index)

    # ---- operators (ttnn binds them to its ops) ----

    def _binary(self, name, other, reverse=False):
        from .operations import eltwise

        op = getattr(eltwise, name)
        return op(other, self) if reverse else op(self, other)

    def __add__(self, other):
        return self._binary("add", other)

    def __radd__(self, other):
        return self._binary("add", other)

    def __sub__(self, other):
        return self._binary("subtract", other)

    def __rsub__(self, other):
        from .operations import eltwise

        return eltwise.rsub(self, other)

    def __mul__(self, other):
        return self._binary("multiply", other)

    def __rmul__(self, other):
        return self._binary("multiply", other)

    def __truediv__(self, other):
        return self._binary("divide", other)

    def __pow__(self, exponent):
        from .operations import eltwise

        return eltwise.pow(self, exponent)

    def __neg__(self):
        from .operations import eltwise

        return eltwise.neg(self)

    def __matmul__(self, other):
        from .operations.matmul import matmul

        return matmul(self, other)

    def __eq__(self, other):
        return self._binary("eq", other)

    def __ne__(self, other):
        return self._binary("ne", other)

    def __gt__(self, other):
        return self._binary("gt", other)

    def __lt__(self, other):
        return self._binary("lt", other)

    def __ge__(self, other):
        return self._binary("ge", other)

    def __le__(self, other):
        return self._binary("le", other)

    __hash__ = object.__hash__

    def __repr__(self):
        return format_tensor(self)

    __str__ = __repr__


def _tile_padded(shape):
    dims = list(shape) if len(shape) >= 2 else [1] + list(shape)
    dims[-1] = -(-dims[-1] // TILE_SIZE) * TILE_SIZE
    dims[-2] = -(-dims[-2] // TILE_SIZE) * TILE_SIZE
    return dims


def _blank(dtype, layout, shape):
    t = Tensor.__new__(Tensor)
    t.dtype = dtype
    t.layout = layout
    t._shape = Shape(shape)
    t._host = None
    t._device = None
    t._device_index = None
    t._mesh = None
    t._memory_config = None
    t._mapper = None  # host tensors made by a mesh mapper: how to_device distributes them in one step
    t._source = None  # ... and the whole host array it split
    return t


def _init_host(t, arrays, dtype, layout, mapper=None, source=None):
    fresh = _blank(dtype, layout, arrays[0].shape)
    t.__dict__.update(fresh.__dict__)
    t._host = list(arrays)
    t._mapper = mapper
    t._source = source


def host_tensor(arrays, dtype, layout, mapper=None, source=None):
    """A host tensor holding one array per device (one array: a single-device tensor)."""
    t = Tensor.__new__(Tensor)
    _init_host(t, arrays, dtype, layout, mapper, source)
    return t


def device_tensor(native, dtype, layout, mesh, memory_config, shape=None):
    """A tensor on `mesh` backed by the native MeshTensor (shape: its per-device shape; a view may differ)."""
    t = _blank(dtype, layout, shape if shape is not None else native.shard_shape)
    t._device = native
    t._mesh = mesh
    t._memory_config = memory_config
    return t


def default_memory_config(native):
    return MemoryConfig(TensorMemoryLayout.INTERLEAVED, BufferType(native.buffer_type))


_said_memory_only = False

# How tensors print (ttnn.set_printoptions): "short" summarises large tensors with their first and last values
# (torch's summary), "full" prints every value, "empty" prints no values, only what the tensor is.
_print_options = {"profile": "short", "sci_mode": None, "precision": None}


def set_printoptions(*, profile="short", sci_mode=None, precision=None):
    """How ttnn tensors print from now on: profile "empty", "short" or "full" (or a ttnn TensorPrintProfile of
    those names), sci_mode (True/False: always/never scientific notation; None: as torch chooses) and precision
    (digits after the point)."""
    name = str(getattr(profile, "name", profile)).rsplit(".", 1)[-1].lower()
    if name not in ("empty", "short", "full"):
        raise ValueError(f"ttnn.set_printoptions: profile must be 'empty', 'short' or 'full', got {profile!r}")
    if precision is not None and int(precision) < 0:
        raise ValueError(f"ttnn.set_printoptions: precision must not be negative, got {precision!r}")
    _print_options.update(profile=name, sci_mode=None if sci_mode is None else bool(sci_mode),
                          precision=None if precision is None else int(precision))


def _values_text(shown):
    """torch's text of the values, under the print options (torch's own options restored after)."""
    import torch
    from torch._tensor_str import PRINT_OPTS

    saved = {name: getattr(PRINT_OPTS, name) for name in ("threshold", "edgeitems", "precision", "sci_mode")}
    try:
        torch.set_printoptions(threshold=2 ** 62 if _print_options["profile"] == "full" else 1000, edgeitems=3,
                               precision=_print_options["precision"] if _print_options["precision"] is not None
                               else 4, sci_mode=_print_options["sci_mode"])
        return repr(shown)
    finally:
        torch.set_printoptions(**saved)


def format_tensor(t):
    """As ttnn prints a tensor: its values, then shape, dtype and layout (one block per device)."""
    global _said_memory_only
    header = f"shape={t._shape!r}, dtype={t.dtype!r}, layout={t.layout!r}"
    if not t.is_allocated():
        return f"ttnn.Tensor(<deallocated>, {header})"
    if t._device is not None and not t._device.mesh.holds_data:
        return f"ttnn.Tensor(<no values: allocmon.emulate --no-data>, {header})"
    import torch

    blocks = []
    values = t.shard_values()
    for index, array in enumerate(values):
        shown = torch.from_numpy(_np.array(array))
        if t.dtype == bfloat16 or t.dtype.is_block_float:
            shown = shown.to(torch.bfloat16)
        elif t.dtype.is_integer:
            shown = shown.to(torch.int64)
        if _print_options["profile"] == "empty":
            body = "..."
        else:
            text = _values_text(shown)
            body = text[len("tensor("):].rsplit(", dtype=", 1)[0].rstrip(")")
            body = body.replace("\n       ", "\n            ")
        block = f"ttnn.Tensor({body}, {header})"
        if len(values) > 1:
            block = f"device_id:{index}\n{block}"
        blocks.append(block)
    return "\n".join(blocks)
