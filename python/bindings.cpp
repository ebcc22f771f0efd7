// allocmon._allocmon: the Python face of the client library, the query API and the emulated mesh.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <stdexcept>

#include "allocmon/client.hpp"
#include "common/unix_socket.hpp"
#include "mesh/mesh_device.hpp"
#include "mesh/ops.hpp"
#include "mesh/tensor.hpp"
#include "protocol/wire.hpp"
#include "query/query_client.hpp"

namespace py = pybind11;

void bind_replay(py::module_& m);  // replay_bindings.cpp

using namespace allocmon;
using namespace allocmon::mesh;

namespace {

std::string valid_memory_types() {
  std::string names;
  for (auto name : wire::kMemoryTypeNames) {
    if (!names.empty()) names += ", ";
    names += name;
  }
  return names;
}

MemoryType memory_type_from(const std::string& name) {
  auto code = wire::memory_type_from_name(name);
  if (!code)
    throw py::value_error("unknown memory type '" + name + "' (valid: " + valid_memory_types() + ")");
  return static_cast<MemoryType>(*code);
}

int32_t device_id_from(int64_t device) {
  if (device < 0 || device > INT32_MAX)
    throw py::value_error("device id must be from 0 to 2147483647, got " + std::to_string(device));
  return static_cast<int32_t>(device);
}

// A device the caller reports on must be registered first, as the server would otherwise ignore its events.
int32_t registered_device(int64_t device) {
  const int32_t id = device_id_from(device);
  if (!allocmon_device_registered(id))
    throw py::value_error("device " + std::to_string(id) + " is not registered: call register_device(" +
                          std::to_string(id) + ", ...) first");
  return id;
}

uint64_t non_negative(int64_t value, const char* what) {
  if (value < 0)
    throw py::value_error(std::string(what) + " must be 0 or more, got " + std::to_string(value));
  return static_cast<uint64_t>(value);
}

BufferType buffer_type_from(const std::string& name) {
  if (name == "DRAM") return BufferType::DRAM;
  if (name == "L1") return BufferType::L1;
  if (name == "L1_SMALL") return BufferType::L1_SMALL;
  if (name == "TRACE") return BufferType::TRACE;
  throw py::value_error("unknown buffer type '" + name + "' (DRAM, L1, L1_SMALL, TRACE)");
}

constexpr std::pair<DataType, const char*> kDataTypeNames[] = {
    {DataType::BFloat16, "bfloat16"},  {DataType::Float32, "float32"}, {DataType::BFloat8B, "bfloat8_b"},
    {DataType::BFloat4B, "bfloat4_b"}, {DataType::UInt32, "uint32"},   {DataType::Int32, "int32"},
    {DataType::UInt16, "uint16"},      {DataType::UInt8, "uint8"},     {DataType::Int8, "int8"},
    {DataType::Fp8E4M3, "fp8_e4m3"}};

DataType dtype_from(const std::string& name) {
  std::string valid;
  for (const auto& [dtype, dtype_text] : kDataTypeNames) {
    if (name == dtype_text) return dtype;
    valid += std::string(valid.empty() ? "" : ", ") + dtype_text;
  }
  throw py::value_error("unsupported dtype '" + name + "' (" + valid + ")");
}

const char* dtype_name(DataType dtype) {
  for (const auto& [known, dtype_text] : kDataTypeNames)
    if (known == dtype) return dtype_text;
  return "?";
}

// An op's output memory: none given keeps the input's (type and sharding).
std::optional<MemoryConfig> optional_memory(const std::optional<std::string>& name, uint32_t shards) {
  if (!name) return std::nullopt;
  return MemoryConfig(buffer_type_from(*name), shards);
}

BinaryOp binary_op_from(const std::string& name) {
  if (name == "add") return BinaryOp::Add;
  if (name == "subtract") return BinaryOp::Subtract;
  if (name == "multiply") return BinaryOp::Multiply;
  throw py::value_error("unknown binary op '" + name + "'");
}

Layout layout_from(const std::string& name) {
  if (name == "tile") return Layout::Tile;
  if (name == "row_major") return Layout::RowMajor;
  throw py::value_error("unknown layout '" + name + "' (tile, row_major)");
}

Distribution distribution_from(const std::optional<std::pair<int, int>>& dims, int flat_dim) {
  Distribution d;
  if (dims) {
    d.row_dim = dims->first;
    d.col_dim = dims->second;
  }
  d.flat_dim = flat_dim;
  return d;
}

std::string query(bool leaks, int device, const std::optional<std::string>& socket, int timeout_ms) {
  QueryClient client;
  std::string error;
  if (!client.connect(socket.value_or(socket_path_from_env()), &error)) throw std::runtime_error(error);
  auto text = leaks ? client.leaks(device, timeout_ms, &error) : client.snapshot(timeout_ms, &error);
  if (!text) throw std::runtime_error(error);
  return *text;
}

py::array_t<float> to_array(HostBuffer&& data, const std::vector<int64_t>& shape) {
  auto* owned = new HostBuffer(std::move(data));
  py::capsule release(owned, [](void* p) { delete static_cast<HostBuffer*>(p); });
  std::vector<py::ssize_t> dims(shape.begin(), shape.end());
  return py::array_t<float>(dims, owned->data(), release);
}

py::array_t<double> to_double_array(std::vector<double>&& data, const std::vector<int64_t>& shape) {
  auto* owned = new std::vector<double>(std::move(data));
  py::capsule release(owned, [](void* p) { delete static_cast<std::vector<double>*>(p); });
  std::vector<py::ssize_t> dims(shape.begin(), shape.end());
  return py::array_t<double>(dims, owned->data(), release);
}

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

py::dict free_list_stats(const BankAllocator& allocator) {
  const FreeListStats s = allocator.stats();
  py::dict d;
  d["banks"] = allocator.banks();
  d["bank_size"] = allocator.bank_size();
  d["total_allocatable"] = s.total;
  d["allocated"] = s.allocated;
  d["free"] = s.free;
  d["largest_free_block"] = s.largest_free_block;
  d["lowest_occupied"] = s.lowest_occupied ? py::cast(*s.lowest_occupied) : py::none();
  return d;
}

}  // namespace

PYBIND11_MODULE(_allocmon, m) {
  m.doc() = "allocmon: device-memory tracking client, server queries and the emulated device mesh";
  py::register_exception<OutOfMemory>(m, "OutOfMemoryError", PyExc_MemoryError);
  bind_replay(m);

  // ---- client ----
  m.def("tracking_enabled", [] { return allocmon_tracking_enabled != 0; });
  m.def(
      "configure",
      [](bool enabled, std::optional<std::string> socket) {
        allocmon_configure(enabled ? 1 : 0, socket ? socket->c_str() : nullptr);
      },
      py::arg("enabled"), py::arg("socket") = py::none(),
      "Turn tracking on/off and choose the server socket (overrides TT_ALLOC_TRACKING_ENABLED).");
  m.def("flush", &allocmon::flush, py::arg("timeout_ms") = 5000, py::call_guard<py::gil_scoped_release>(),
        "Wait until the server applied every event reported so far. 0 ok, 1 tracking off, -1 no server, -2 "
        "timeout.");
  // Attribution (docs/attribution.md): the C ABI's scope/op/tensor stacks and marks, for allocmon.scope / op
  // / tensor / mark.
  m.def(
      "scope_push", [](const std::string& name) { allocmon_scope_push(name.c_str()); }, py::arg("name"));
  m.def("scope_pop", [] { allocmon_scope_pop(); });
  m.def(
      "op_begin",
      [](const std::string& op, const std::string& site) { allocmon_op_begin(op.c_str(), site.c_str()); },
      py::arg("op"), py::arg("site") = "");
  m.def("op_end", [] { allocmon_op_end(); });
  m.def(
      "tensor_begin", [](const std::string& description) { allocmon_tensor_begin(description.c_str()); },
      py::arg("description"));
  m.def("tensor_end", [] { allocmon_tensor_end(); });
  m.def(
      "mark", [](const std::string& name) { allocmon_mark(name.c_str()); }, py::arg("name"));
  m.def("client_stats", [] {
    allocmon_client_stats s;
    allocmon_get_client_stats(&s);
    py::dict d;
    d["events_reported"] = s.events_reported;
    d["events_sent"] = s.events_sent;
    d["resyncs"] = s.resyncs;
    d["events_superseded"] = s.events_superseded;
    d["client_errors"] = s.client_errors;
    d["live_buffers"] = s.live_buffers;
    d["connected"] = s.connected != 0;
    return d;
  });
  m.def(
      "register_device",
      [](int64_t device_id, const std::string& architecture, std::map<std::string, int64_t> capacity,
         int mesh_row, int mesh_col, std::optional<std::pair<uint16_t, uint16_t>> grid) {
        DeviceInfo info;
        info.device_id = device_id_from(device_id);
        if (architecture.size() >= sizeof(wire::RegisterDevice::architecture) ||
            architecture.find('\0') != std::string::npos)
          throw py::value_error("architecture must be at most 31 characters without NUL, got '" +
                                architecture + "'");
        if (!architecture.empty() && !find_architecture(architecture))
          PyErr_WarnEx(PyExc_UserWarning,
                       ("architecture '" + architecture +
                        "' is not one allocmon's emulated mesh and replay know (wormhole_b0, blackhole): the "
                        "server shows it, allocmon-replay cannot replay it")
                           .c_str(),
                       1);
        info.architecture = architecture;
        info.mesh_row = mesh_row;
        info.mesh_col = mesh_col;
        if (grid) std::tie(info.grid_x, info.grid_y) = *grid;
        for (const auto& [type, bytes] : capacity)
          info.capacity[static_cast<int>(memory_type_from(type))] = non_negative(bytes, "capacity");
        register_device(info);
      },
      py::arg("device_id"), py::arg("architecture") = "",
      py::arg("capacity") = std::map<std::string, int64_t>{}, py::arg("mesh_row") = -1,
      py::arg("mesh_col") = -1, py::arg("grid") = py::none(),
      "grid: the worker core grid (x, y), which a replay of a recording needs to count L1 banks.");
  m.def(
      "unregister_device", [](int64_t device_id) { unregister_device(registered_device(device_id)); },
      py::arg("device_id"));
  m.def(
      "report_alloc",
      [](int64_t device, const std::string& type, int64_t size, int64_t address, int64_t buffer_id,
         int64_t page_size, const std::string& layout, int64_t shard_count, std::optional<bool> bottom_up) {
        const MemoryType code = memory_type_from(type);
        if (layout != "interleaved" && layout != "sharded")
          throw py::value_error("layout must be 'interleaved' or 'sharded', not '" + layout + "'");
        BufferLayout l;
        l.page_size = non_negative(page_size, "page_size");
        l.kind = layout == "sharded" ? ALLOCMON_LAYOUT_SHARDED : ALLOCMON_LAYOUT_INTERLEAVED;
        if (shard_count < 0 || shard_count > UINT32_MAX)
          throw py::value_error("shard_count must be from 0 to 4294967295, got " +
                                std::to_string(shard_count));
        l.shard_count = static_cast<uint32_t>(shard_count);
        l.bottom_up = bottom_up ? int32_t{*bottom_up} : -1;
        track_alloc(registered_device(device), code, non_negative(size, "size"),
                    non_negative(address, "address"), non_negative(buffer_id, "buffer_id"), l);
      },
      py::arg("device"), py::arg("type"), py::arg("size"), py::arg("address"), py::arg("buffer_id"),
      py::arg("page_size") = 0, py::arg("layout") = "interleaved", py::arg("shard_count") = 0,
      py::arg("bottom_up") = py::none(),
      "page_size/layout/shard_count/bottom_up: how the allocator placed it, for allocmon-replay (0/None: "
      "unknown).");
  m.def(
      "report_free",
      [](int64_t device, int64_t buffer_id) {
        track_free(registered_device(device), non_negative(buffer_id, "buffer_id"));
      },
      py::arg("device"), py::arg("buffer_id"));
  m.attr("__version__") = ALLOCMON_VERSION;
  m.attr("memory_types") = [] {
    py::list names;
    for (auto name : wire::kMemoryTypeNames) names.append(std::string(name));
    return names;
  }();
  m.attr("default_socket") = std::string(wire::kDefaultSocketPath);

  // ---- queries (JSON text; the Python layer parses it) ----
  m.def(
      "snapshot_json",
      [](std::optional<std::string> socket, int timeout_ms) { return query(false, -1, socket, timeout_ms); },
      py::arg("socket") = py::none(), py::arg("timeout_ms") = 5000, py::call_guard<py::gil_scoped_release>());
  m.def(
      "leaks_json",
      [](int device, std::optional<std::string> socket, int timeout_ms) {
        return query(true, device, socket, timeout_ms);
      },
      py::arg("device") = -1, py::arg("socket") = py::none(), py::arg("timeout_ms") = 5000,
      py::call_guard<py::gil_scoped_release>());
  m.def(
      "sync_sources",
      [](std::optional<std::string> socket, int timeout_ms) {
        QueryClient client;
        std::string error;
        if (!client.connect(socket.value_or(socket_path_from_env()), &error) ||
            !client.sync_sources(timeout_ms, &error))
          throw std::runtime_error(error);
      },
      py::arg("socket") = py::none(), py::arg("timeout_ms") = 10000, py::call_guard<py::gil_scoped_release>(),
      "Returns once the server has read its polled sources (tt-metal's shared-memory regions, /proc) after "
      "this "
      "call, so the next snapshot shows what they say now.");

  // ---- emulated mesh ----
  py::class_<MeshDevice, std::shared_ptr<MeshDevice>>(m, "MeshDevice")
      .def_property_readonly("rows", &MeshDevice::rows)
      .def_property_readonly("cols", &MeshDevice::cols)
      .def_property_readonly("architecture", [](const MeshDevice& d) { return d.architecture().name; })
      .def_property_readonly(
          "grid",
          [](const MeshDevice& d) {
            return std::make_pair(d.architecture().grid_x, d.architecture().grid_y);
          },
          "The worker core grid (x, y) of each device.")
      .def_property_readonly(
          "dram_banks", [](const MeshDevice& d) { return d.architecture().dram_banks; },
          "DRAM channels (banks) of each device.")
      .def(
          "live_buffers",
          [](MeshDevice& d) {
            py::list out;
            for (const auto& b : d.live_buffers()) {
              py::dict row;
              row["id"] = b.id;
              row["buffer_type"] = buffer_type_name(b.type);
              row["size"] = b.size;
              row["page_size"] = b.page_size;
              row["address"] = b.placement.address;
              row["banks"] = b.placement.banks;
              row["bytes_per_bank"] = b.placement.bytes_per_bank;
              out.append(row);
            }
            return out;
          },
          "Every buffer allocated now on each device of the mesh (lock-step), in allocation order.")
      .def("get_num_devices", &MeshDevice::num_devices)
      .def("get_device_ids", &MeshDevice::physical_ids)
      .def("topology", &MeshDevice::topology)
      .def("is_open", &MeshDevice::is_open)
      .def_property_readonly("holds_data", &MeshDevice::holds_data)
      .def("close", &MeshDevice::close)
      .def("enable_program_cache", &MeshDevice::enable_program_cache)
      .def("clear_program_cache", &MeshDevice::clear_program_cache)
      .def("program_cache_entries", &MeshDevice::program_cache_entries)
      .def("begin_program", &MeshDevice::begin_program, py::arg("name"), py::arg("cb_bytes"),
           py::arg("kernel_bytes"),
           "A program starts on every device: its CBs (per device) exist until end_program, its kernels stay "
           "in the program cache. Raises tt-metal's error when the CBs would clash with L1 buffers.")
      .def("end_program", &MeshDevice::end_program, py::arg("cb_bytes"))
      .def(
          "allocator_stats",
          [](const MeshDevice& d, const std::string& type) {
            return free_list_stats(d.allocator(buffer_type_from(type)));
          },
          py::arg("buffer_type") = "DRAM",
          "Per-bank statistics of one buffer type (the same on every device).")
      .def("__repr__", [](const MeshDevice& d) {
        return "MeshDevice(" + std::to_string(d.rows()) + "x" + std::to_string(d.cols()) + " grid, " +
               std::to_string(d.num_devices()) + " devices)";
      });

  m.def(
      "open_mesh",
      [](int rows, int cols, const std::string& architecture, std::vector<int> physical_ids,
         uint64_t l1_small_size, uint64_t trace_region_size, int available_devices, bool hold_data) {
        MeshOptions options;
        options.rows = rows;
        options.cols = cols;
        options.architecture = architecture;
        options.physical_ids = std::move(physical_ids);
        options.l1_small_size = l1_small_size;
        options.trace_region_size = trace_region_size;
        options.available_devices = available_devices;
        options.hold_data = hold_data;
        return MeshDevice::open(options);
      },
      py::arg("rows") = 2, py::arg("cols") = 4, py::arg("architecture") = "wormhole_b0",
      py::arg("physical_ids") = std::vector<int>{}, py::arg("l1_small_size") = 0,
      py::arg("trace_region_size") = 0, py::arg("available_devices") = -1, py::arg("hold_data") = true,
      "hold_data=False: memory only (tensors have buffers, no values; ops allocate and free exactly as with "
      "data and compute nothing; to_numpy returns zeros).");

  py::class_<MeshTensor, std::shared_ptr<MeshTensor>>(m, "MeshTensor")
      .def_property_readonly("shape", [](const MeshTensor& t) { return t.shape; })
      .def_property_readonly("shard_shape", [](const MeshTensor& t) { return t.shard_shape; })
      .def_property_readonly("dtype", [](const MeshTensor& t) { return dtype_name(t.dtype); })
      .def_property_readonly(
          "description", &tensor_description,
          "What allocmon's holders say of it: type, layout, shape, memory and distribution.")
      .def_property_readonly(
          "layout", [](const MeshTensor& t) { return t.layout == Layout::Tile ? "tile" : "row_major"; })
      .def_property_readonly("buffer_type",
                             [](const MeshTensor& t) { return std::string(buffer_type_name(t.memory.type)); })
      .def_property_readonly(
          "shards", [](const MeshTensor& t) { return t.memory.shards; },
          "Cores the buffer is sharded over on each device; 0: interleaved.")
      .def_property_readonly("mesh", [](const MeshTensor& t) { return t.mesh; })
      .def_property_readonly(
          "shard_dims",
          [](const MeshTensor& t) { return std::make_pair(t.distribution.row_dim, t.distribution.col_dim); })
      .def_property_readonly("address",
                             [](const MeshTensor& t) { return t.buffer ? t.buffer->address() : 0; })
      .def_property_readonly("buffer_size",
                             [](const MeshTensor& t) { return t.buffer ? t.buffer->size() : 0; })
      .def_property_readonly("page_size",
                             [](const MeshTensor& t) { return t.buffer ? t.buffer->page_size() : 0; })
      .def_property_readonly("flat_dim", [](const MeshTensor& t) { return t.distribution.flat_dim; })
      .def("is_allocated", &MeshTensor::allocated)
      .def("deallocate", &MeshTensor::deallocate)
      .def("__repr__", [](const MeshTensor& t) {
        auto dims = [](const std::vector<int64_t>& shape) {
          std::string out = "[";
          for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
          return out + "]";
        };
        std::string memory = std::string(buffer_type_name(t.memory.type)) +
                             (t.memory.shards ? " sharded over " + std::to_string(t.memory.shards) + " cores"
                                              : " interleaved");
        std::string where = t.mesh ? std::to_string(t.mesh->num_devices()) + " devices (" +
                                         std::to_string(t.mesh->rows()) + "x" +
                                         std::to_string(t.mesh->cols()) + " mesh)"
                                   : "host";
        return "MeshTensor(shape=" + dims(t.shape) + ", dtype=" + dtype_name(t.dtype) +
               ", layout=" + (t.layout == Layout::Tile ? "tile" : "row_major") + ", memory=" + memory +
               ", devices=" + where + ", shard_shape=" + dims(t.shard_shape) +
               (t.allocated() ? "" : ", deallocated") + ")";
      });

  m.def(
      "from_numpy",
      [](const py::array& values, std::shared_ptr<MeshDevice> mesh, const std::string& dtype,
         const std::string& layout, const std::string& buffer_type,
         std::optional<std::pair<int, int>> shard_dims, int flat_dim, uint32_t shards) {
        const DataType type = dtype_from(dtype);
        const MemoryConfig memory(buffer_type_from(buffer_type), shards);
        const Distribution distribution = distribution_from(shard_dims, flat_dim);
        if (is_wide_integer(type)) {  // int32/uint32: every value exact, through doubles
          DoubleArray array = DoubleArray::ensure(values);
          if (!array) throw py::error_already_set();
          std::vector<int64_t> shape(array.shape(), array.shape() + array.ndim());
          py::gil_scoped_release release;
          return std::make_shared<MeshTensor>(
              distribute_double(mesh, array.data(), shape, type, layout_from(layout), memory, distribution));
        }
        FloatArray array = FloatArray::ensure(values);
        if (!array) throw py::error_already_set();
        std::vector<int64_t> shape(array.shape(), array.shape() + array.ndim());
        py::gil_scoped_release release;
        return std::make_shared<MeshTensor>(
            distribute(mesh, array.data(), shape, type, layout_from(layout), memory, distribution));
      },
      py::arg("array"), py::arg("mesh"), py::arg("dtype") = "bfloat16", py::arg("layout") = "tile",
      py::arg("buffer_type") = "DRAM", py::arg("shard_dims") = py::none(), py::arg("flat_dim") = -1,
      py::arg("shards") = 0,
      "Distribute a host array over the mesh (converted to float32, or to float64 for int32/uint32, whose "
      "values stay exact; shards > 0: each device's buffer sharded over that many "
      "cores). shard_dims=(row_dim, col_dim): the tensor dims split over mesh "
      "rows "
      "and columns (None in either place replicates along that axis); None replicates on every device.");
  m.def(
      "from_bfloat16_bits",
      [](py::array_t<uint16_t, py::array::c_style> bits, std::shared_ptr<MeshDevice> mesh,
         const std::string& dtype, const std::string& layout, const std::string& buffer_type,
         std::optional<std::pair<int, int>> shard_dims, int flat_dim, uint32_t shards) {
        std::vector<int64_t> shape(bits.shape(), bits.shape() + bits.ndim());
        const uint16_t* data = bits.data();
        py::gil_scoped_release release;
        return std::make_shared<MeshTensor>(distribute_bfloat16(
            mesh, data, shape, dtype_from(dtype), layout_from(layout),
            MemoryConfig(buffer_type_from(buffer_type), shards), distribution_from(shard_dims, flat_dim)));
      },
      py::arg("bits"), py::arg("mesh"), py::arg("dtype") = "bfloat16", py::arg("layout") = "tile",
      py::arg("buffer_type") = "DRAM", py::arg("shard_dims") = py::none(), py::arg("flat_dim") = -1,
      py::arg("shards") = 0,
      "from_numpy for bfloat16 host data given as its bits (a uint16 array, e.g. a torch bfloat16 tensor's "
      "storage): no float32 copy on the way.");
  m.def(
      "allocate_tensor",
      [](std::shared_ptr<MeshDevice> mesh, const std::vector<int64_t>& shard_shape, const std::string& dtype,
         const std::string& layout, const std::string& buffer_type, uint32_t shards,
         std::optional<std::pair<int, int>> shard_dims, int flat_dim) {
        return std::make_shared<MeshTensor>(allocate_tensor(
            mesh, shard_shape, dtype_from(dtype), layout_from(layout),
            MemoryConfig(buffer_type_from(buffer_type), shards), distribution_from(shard_dims, flat_dim)));
      },
      py::arg("mesh"), py::arg("shard_shape"), py::arg("dtype"), py::arg("layout"), py::arg("buffer_type"),
      py::arg("shards") = 0, py::arg("shard_dims") = py::none(), py::arg("flat_dim") = -1,
      py::call_guard<py::gil_scoped_release>(),
      "A tensor allocated on every device of the mesh with this per-device shape (contents zero): an op's "
      "output before its program runs.");
  m.def(
      "round_values",
      [](const py::array& values, const std::string& dtype) -> py::object {
        const DataType type = dtype_from(dtype);
        if (is_wide_integer(type)) {
          DoubleArray array = DoubleArray::ensure(values);
          if (!array) throw py::error_already_set();
          std::vector<double> rounded(array.data(), array.data() + array.size());
          round_to_dtype(type, rounded.data(), rounded.size());
          return to_double_array(std::move(rounded),
                                 std::vector<int64_t>(array.shape(), array.shape() + array.ndim()));
        }
        FloatArray array = FloatArray::ensure(values);
        if (!array) throw py::error_already_set();
        HostBuffer rounded(array.data(), array.data() + array.size());
        round_to_dtype(type, rounded.data(), rounded.size());
        return to_array(std::move(rounded),
                        std::vector<int64_t>(array.shape(), array.shape() + array.ndim()));
      },
      py::arg("values"), py::arg("dtype"),
      "A copy of the values as the dtype holds them (block floats: blocks of 16 consecutive values): "
      "float32,\n"
      "or float64 for int32/uint32 (every value exact).");
  m.def(
      "read_shard",
      [](const MeshTensor& t, int device_index, int64_t start, std::optional<int64_t> count) -> py::object {
        if (!t.allocated()) throw std::runtime_error("tensor is deallocated");
        if (device_index < 0 || device_index >= static_cast<int>(t.shards.size()))
          throw py::index_error("device index " + std::to_string(device_index) + " out of range");
        const auto elements = static_cast<int64_t>(t.shard_elements());
        const int64_t n = count.value_or(elements - start);
        if (start < 0 || n < 0 || start + n > elements)
          throw py::index_error("read_shard: values [" + std::to_string(start) + ", " +
                                std::to_string(start + n) + ") are outside a shard of " +
                                std::to_string(elements));
        const Shard& shard = t.shards[device_index];
        const bool held = static_cast<int64_t>(shard.size()) == elements;  // memory only: no values held
        const std::vector<int64_t> shape = count ? std::vector<int64_t>{n} : t.shard_shape;
        if (is_wide_integer(t.dtype)) {
          std::vector<double> values(static_cast<size_t>(n), 0.0);
          if (held) shard.read(static_cast<size_t>(start), values.size(), values.data());
          return to_double_array(std::move(values), shape);
        }
        HostBuffer values(static_cast<size_t>(n));
        if (held)
          shard.read(static_cast<size_t>(start), values.size(), values.data());
        else
          std::fill(values.begin(), values.end(), 0.0f);
        return to_array(std::move(values), shape);
      },
      py::arg("tensor"), py::arg("device_index"), py::arg("start") = 0, py::arg("count") = py::none(),
      "One device's shard (mesh row-major index) as float32 (float64 for int32/uint32, every value exact), "
      "as\n"
      "the device holds it; with count, the flat\n"
      "values [start, start + count) of it, so a large shard can be checked in slices.");
  m.def(
      "write_shard",
      [](MeshTensor& t, int device_index, const py::array& values) {
        if (!t.allocated()) throw std::runtime_error("tensor is deallocated");
        if (device_index < 0 || device_index >= static_cast<int>(t.shards.size()))
          throw py::index_error("device index " + std::to_string(device_index) + " out of range");
        Shard& shard = t.shards[device_index];
        if (shard.empty()) return;  // memory only
        if (static_cast<size_t>(values.size()) != shard.size())
          throw py::value_error("write_shard: " + std::to_string(values.size()) + " values for a shard of " +
                                std::to_string(shard.size()));
        if (shard.wide()) {  // int32/uint32: through doubles, every value exact
          DoubleArray array = DoubleArray::ensure(values);
          if (!array) throw py::error_already_set();
          shard.write(0, shard.size(), array.data());
          return;
        }
        FloatArray array = FloatArray::ensure(values);
        if (!array) throw py::error_already_set();
        HostBuffer scratch(array.data(), array.data() + array.size());
        round_to_dtype(shard.dtype(), scratch.data(), scratch.size());
        shard.write_rounded(0, scratch.size(), scratch.data());
      },
      py::arg("tensor"), py::arg("device_index"), py::arg("values"),
      "Stores one device's shard, rounded to the tensor's dtype as the device's packer rounds.");
  m.def(
      "to_numpy",
      [](const MeshTensor& t, std::optional<std::pair<int, int>> concat_dims, int flat_dim) -> py::object {
        std::vector<int64_t> shape;
        if (is_wide_integer(t.dtype)) {
          std::vector<double> data;
          {
            py::gil_scoped_release release;
            data = aggregate_double(t, distribution_from(concat_dims, flat_dim), &shape);
          }
          return to_double_array(std::move(data), shape);
        }
        HostBuffer data;
        {
          py::gil_scoped_release release;
          data = aggregate(t, distribution_from(concat_dims, flat_dim), &shape);
        }
        return to_array(std::move(data), shape);
      },
      py::arg("tensor"), py::arg("concat_dims") = py::none(), py::arg("flat_dim") = -1,
      "Gather shards back (float32; float64 for int32/uint32, every value exact): concat_dims=(row_dim, "
      "col_dim); None returns the first device's shard.");
  m.def(
      "to_bfloat16_bits",
      [](const MeshTensor& t, std::optional<std::pair<int, int>> concat_dims, int flat_dim) {
        std::vector<int64_t> shape;
        auto data = std::make_unique<Bfloat16Buffer>();
        {
          py::gil_scoped_release release;
          *data = aggregate_bfloat16(t, distribution_from(concat_dims, flat_dim), &shape);
        }
        auto* owned = data.release();
        py::capsule release(owned, [](void* p) { delete static_cast<Bfloat16Buffer*>(p); });
        return py::array_t<uint16_t>(std::vector<py::ssize_t>(shape.begin(), shape.end()), owned->data(),
                                     release);
      },
      py::arg("tensor"), py::arg("concat_dims") = py::none(), py::arg("flat_dim") = -1,
      "to_numpy as bfloat16 bits (uint16): exact for bfloat16 and block-float tensors, half the memory.");
  using OptionalType = std::optional<std::string>;
  m.def(
      "add", [](const MeshTensor& a, const MeshTensor& b) { return std::make_shared<MeshTensor>(add(a, b)); },
      py::call_guard<py::gil_scoped_release>());
  m.def(
      "add",
      [](const MeshTensor& a, float scalar) { return std::make_shared<MeshTensor>(add_scalar(a, scalar)); },
      py::call_guard<py::gil_scoped_release>());
  m.def(
      "binary",
      [](const MeshTensor& a, const MeshTensor& b, const std::string& op, OptionalType buffer_type,
         uint32_t shards) {
        return std::make_shared<MeshTensor>(
            binary(a, b, binary_op_from(op), optional_memory(buffer_type, shards)));
      },
      py::arg("a"), py::arg("b"), py::arg("op"), py::arg("buffer_type") = py::none(), py::arg("shards") = 0,
      py::call_guard<py::gil_scoped_release>());
  m.def(
      "binary",
      [](const MeshTensor& a, float b, const std::string& op, OptionalType buffer_type, uint32_t shards) {
        return std::make_shared<MeshTensor>(
            binary_scalar(a, b, binary_op_from(op), optional_memory(buffer_type, shards)));
      },
      py::arg("a"), py::arg("b"), py::arg("op"), py::arg("buffer_type") = py::none(), py::arg("shards") = 0,
      py::call_guard<py::gil_scoped_release>());
  m.def(
      "relu",
      [](const MeshTensor& a, OptionalType buffer_type, uint32_t shards) {
        return std::make_shared<MeshTensor>(relu(a, optional_memory(buffer_type, shards)));
      },
      py::arg("a"), py::arg("buffer_type") = py::none(), py::arg("shards") = 0,
      py::call_guard<py::gil_scoped_release>());
  m.def(
      "sum",
      [](const MeshTensor& a, int dim, OptionalType buffer_type, uint32_t shards) {
        return std::make_shared<MeshTensor>(sum(a, dim, optional_memory(buffer_type, shards)));
      },
      py::arg("a"), py::arg("dim"), py::arg("buffer_type") = py::none(), py::arg("shards") = 0,
      py::call_guard<py::gil_scoped_release>());
  m.def(
      "matmul",
      [](const MeshTensor& a, const MeshTensor& b, OptionalType buffer_type, uint32_t shards) {
        return std::make_shared<MeshTensor>(matmul(a, b, optional_memory(buffer_type, shards)));
      },
      py::arg("a"), py::arg("b"), py::arg("buffer_type") = py::none(), py::arg("shards") = 0,
      py::call_guard<py::gil_scoped_release>());
  m.def(
      "relocate",
      [](const MeshTensor& t, const std::string& buffer_type, const std::string& layout, uint32_t shards) {
        return std::make_shared<MeshTensor>(
            relocate(t, MemoryConfig(buffer_type_from(buffer_type), shards), layout_from(layout)));
      },
      py::arg("tensor"), py::arg("buffer_type"), py::arg("layout"), py::arg("shards") = 0,
      py::call_guard<py::gil_scoped_release>(),
      "The same contents in a new buffer of another buffer type and/or layout; the original stays "
      "allocated.");
  m.def("deallocate", [](MeshTensor& t) { t.deallocate(); });
}
