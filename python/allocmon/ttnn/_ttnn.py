"""ttnn._ttnn, the namespace of ttnn's native module, as far as tests reach into it: the buffer reports
(reports.get_buffers / get_buffer_pages: every buffer on every open device, from the emulated allocator) and the
system mesh descriptor (multi_device.SystemMeshDescriptor)."""

import types as _types

from . import device as _device
from .types import BufferType, MeshShape


class Buffer:
    """One buffer on one device, as ttnn.reports lists it."""

    def __init__(self, device_id, address, max_size_per_bank, buffer_type):
        self.device_id = device_id
        self.address = address
        self.max_size_per_bank = max_size_per_bank
        self.buffer_type = buffer_type

    def __repr__(self):
        return (f"Buffer(device_id={self.device_id}, address={self.address}, "
                f"max_size_per_bank={self.max_size_per_bank}, buffer_type={self.buffer_type})")


class BufferPage:
    """One page of a buffer: interleaved pages go round-robin over the banks, as tt-metal places them."""

    def __init__(self, device_id, address, bank_id, page_index, page_address, page_size, buffer_type):
        self.device_id = device_id
        self.address = address
        self.bank_id = bank_id
        self.page_index = page_index
        self.page_address = page_address
        self.page_size = page_size
        self.buffer_type = buffer_type
        self.core_x = self.core_y = 0


def _buffers(device=None):
    for mesh in _device.open_meshes():
        # a mesh, a submesh (it shares its parent's native mesh) or one Device of a mesh
        of = getattr(device, "_mesh", device)
        if device is not None and getattr(of, "_native", None) is not mesh._native:
            continue
        for buffer in mesh._native.live_buffers():
            for device_id in mesh.get_device_ids():
                yield device_id, buffer


def get_buffers(device=None):
    return [Buffer(device_id, b["address"], b["bytes_per_bank"], BufferType(b["buffer_type"]))
            for device_id, b in _buffers(device)]


def get_buffer_pages(device=None):
    pages = []
    for device_id, b in _buffers(device):
        if not b["page_size"] or not b["banks"]:
            continue
        count = b["size"] // b["page_size"]
        aligned = b["bytes_per_bank"] // max(1, -(-count // b["banks"]))  # the page as aligned in each bank
        for index in range(count):
            bank, row = index % b["banks"], index // b["banks"]
            pages.append(BufferPage(device_id, b["address"], bank, index, b["address"] + row * aligned,
                                    b["page_size"], BufferType(b["buffer_type"])))
    return pages


# Tensor files (types.dump_tensor_flatbuffer / load_tensor_flatbuffer: as_tensor's cache writes through here).
tensor = _types.ModuleType("ttnn._ttnn.tensor", "Tensor files of the emulated ttnn.")
from .types import dump_tensor_flatbuffer as _dump, load_tensor_flatbuffer as _load  # noqa: E402
tensor.dump_tensor_flatbuffer, tensor.load_tensor_flatbuffer = _dump, _load

reports = _types.ModuleType("ttnn._ttnn.reports", "Buffer reports of the emulated devices.")
reports.Buffer, reports.BufferPage = Buffer, BufferPage
reports.get_buffers, reports.get_buffer_pages = get_buffers, get_buffer_pages


class SystemMeshDescriptor:
    """The emulated system as one mesh: every device in one row (as tt-metal describes a system it cannot lay
    out as a 2-D mesh), or a T3000's 2x4 / a Galaxy's 4x8."""

    def shape(self):
        n = _device.get_num_devices()
        return {8: MeshShape(2, 4), 32: MeshShape(4, 8)}.get(n, MeshShape(1, n))


multi_device = _types.ModuleType("ttnn._ttnn.multi_device", "The emulated system's mesh.")
multi_device.SystemMeshDescriptor = SystemMeshDescriptor


device = _types.ModuleType("ttnn._ttnn.device", "The emulated architecture's memory alignments.")
device.get_l1_alignment = _device.get_l1_alignment
device.get_dram_alignment = _device.get_dram_alignment
