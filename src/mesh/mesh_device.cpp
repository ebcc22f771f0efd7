#include "mesh_device.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "tt_shm_publisher.hpp"

namespace allocmon::mesh {

namespace {

// Buffer ids for the tracker: unique within this process across meshes (high bits: mesh sequence number).
uint64_t next_mesh_serial() {
  static std::atomic<uint64_t> serial{0};
  return ++serial;
}

MemoryType memory_type(BufferType type) {
  switch (type) {
    case BufferType::DRAM:
      return MemoryType::DRAM;
    case BufferType::L1:
      return MemoryType::L1;
    case BufferType::L1_SMALL:
      return MemoryType::L1_SMALL;
    case BufferType::TRACE:
      return MemoryType::TRACE;
  }
  return MemoryType::DRAM;
}

// The devices open meshes of this process hold. As in tt-metal, a mesh may open over devices another open
// mesh holds (its device manager activates only the devices not active yet; every mesh builds its own
// allocator). The device's registration with the tracker (and the shared-memory slot) belongs to the process:
// the first mesh to hold the device registers it, the last one to close unregisters it, so closing one mesh
// never drops what another still has on the device.
struct OpenDevice {
  int holders = 0;  // open meshes over the device
  // tt-metal's Device::is_initialized(): a mesh's close closes every device that was active when it opened
  // (CreateDevices hands its ScopedDevices all active devices), those other meshes hold included.
  bool active = false;
};
std::mutex open_devices_mutex;
std::map<int, OpenDevice> open_devices;

int available_devices(const MeshOptions& options) {
  if (options.available_devices >= 0) return options.available_devices;
  if (const char* env = std::getenv("ALLOCMON_EMULATED_DEVICES")) return std::atoi(env);
  return 32;
}

}  // namespace

// ---- MeshBuffer ----

MeshBuffer::MeshBuffer(std::shared_ptr<MeshDevice> mesh, uint64_t id, BufferType type, uint64_t size,
                       uint64_t page_size, Placement placement)
    : mesh_(std::move(mesh)),
      id_(id),
      type_(type),
      size_(size),
      page_size_(page_size),
      placement_(placement) {}

MeshBuffer::~MeshBuffer() {
  deallocate();
}

void MeshBuffer::deallocate() {
  if (!allocated_) return;
  if (auto mesh = mesh_.lock()) mesh->release(*this);
}

// ---- MeshDevice ----

std::shared_ptr<MeshDevice> MeshDevice::open(const MeshOptions& options) {
  const Architecture* arch = find_architecture(options.architecture);
  if (!arch)
    throw std::invalid_argument("unknown architecture '" + options.architecture +
                                "' (wormhole_b0, blackhole)");
  if (options.rows <= 0 || options.cols <= 0) throw std::invalid_argument("mesh shape must be positive");
  const int requested = options.rows * options.cols;
  const int available = available_devices(options);
  if (requested > available)
    throw std::runtime_error("Not enough devices: requested " + std::to_string(requested) + ", system has " +
                             std::to_string(available));
  std::vector<int> ids = options.physical_ids;
  if (ids.empty()) {
    if (options.rows == 2 && options.cols == 4)
      ids = {4, 0, 3, 7, 5, 1, 2, 6};  // T3000, as the seed prints it
    else
      for (int i = 0; i < requested; ++i) ids.push_back(i);
  }
  if (static_cast<int>(ids.size()) != requested)
    throw std::invalid_argument("physical_ids has " + std::to_string(ids.size()) + " entries for a " +
                                std::to_string(options.rows) + "x" + std::to_string(options.cols) + " mesh");
  for (size_t i = 0; i < ids.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (ids[i] == ids[j])
        throw std::invalid_argument("physical_ids lists device " + std::to_string(ids[i]) + " twice");
  std::shared_ptr<MeshDevice> mesh(new MeshDevice(options, *arch, ids));

  {
    std::lock_guard lock(open_devices_mutex);
    for (int index = 0; index < requested; ++index) {
      const int device = mesh->physical_ids_[index];
      if (auto* shm = TtShmPublisher::instance()) shm->attach(device);  // counts its users itself
      ++mesh->held_devices_;
      OpenDevice& state = open_devices[device];
      state.active = true;                // activated again if another mesh's close closed it
      if (state.holders++ > 0) continue;  // registered by the mesh that opened it first
      DeviceInfo info;
      info.device_id = device;
      info.architecture = arch->name;
      info.mesh_row = index / options.cols;
      info.mesh_col = index % options.cols;
      info.grid_x = static_cast<uint16_t>(arch->grid_x);
      info.grid_y = static_cast<uint16_t>(arch->grid_y);
      info.capacity[ALLOCMON_DRAM] = mesh->memory_.capacity(BufferType::DRAM);
      info.capacity[ALLOCMON_L1] = mesh->memory_.capacity(BufferType::L1);
      info.capacity[ALLOCMON_L1_SMALL] = mesh->memory_.capacity(BufferType::L1_SMALL);
      info.capacity[ALLOCMON_TRACE] = mesh->memory_.capacity(BufferType::TRACE);
      register_device(info);
      // Each type's region, so the monitor's address map places buffers as this allocator does.
      for (BufferType type : {BufferType::DRAM, BufferType::L1, BufferType::L1_SMALL, BufferType::TRACE})
        if (const BankAllocator* a = type == BufferType::TRACE && !mesh->memory_.has_trace_region()
                                         ? nullptr
                                         : mesh->memory_.allocator(type))
          track_region(info.device_id, memory_type(type), a->base(), a->bank_size(), a->banks(),
                       a->page_alignment(), static_cast<uint32_t>(a->block_alignment()));
    }
    for (const auto& [device, state] : open_devices)
      if (state.active) mesh->closes_.push_back(device);
  }
  // System buffers at open, as tt-metal's dispatch and fabric allocate them; freed at close. Every mesh has
  // its own allocator, and tt-metal's device manager sets dispatch up again on every active device (those
  // another mesh opened too) whenever a mesh opens, so a mesh over a device already open gets them as well.
  mesh->system_buffers_.push_back(mesh->allocate(BufferType::DRAM, arch->system_dram_bytes, 2048));
  mesh->system_buffers_.push_back(mesh->allocate(BufferType::L1, arch->system_l1_bytes, 2048));
  return mesh;
}

MeshDevice::MeshDevice(const MeshOptions& options, const Architecture& arch, std::vector<int> ids)
    : memory_(arch, MemoryOptions{options.l1_small_size, options.trace_region_size}),
      rows_(options.rows),
      cols_(options.cols),
      physical_ids_(std::move(ids)),
      hold_data_(options.hold_data) {
  next_id_ = next_mesh_serial() << 40;
}

MeshDevice::~MeshDevice() {
  shut();
}

BankAllocator* MeshDevice::allocator_for(BufferType type) {
  return memory_.allocator(type);
}

const BankAllocator& MeshDevice::allocator(BufferType type) const {
  const BankAllocator* a = const_cast<MeshDevice*>(this)->allocator_for(type);
  if (!a) throw std::runtime_error(std::string(buffer_type_name(type)) + " region has size 0 on this mesh");
  return *a;
}

void MeshDevice::report_free_space(BufferType type) {
  const BankAllocator* a = allocator_for(type);
  if (!a || !tracking_enabled()) return;
  const FreeListStats s = a->stats();
  for (int id : physical_ids_)
    track_free_space(id, memory_type(type), s.free * a->banks(), s.largest_free_block);
}

std::shared_ptr<MeshBuffer> MeshDevice::allocate(BufferType type, uint64_t size, uint64_t page_size,
                                                 std::optional<bool> bottom_up, uint32_t shard_count) {
  std::lock_guard lock(mutex_);
  if (!open_) throw std::runtime_error("mesh device is closed");
  BankAllocator* a = allocator_for(type);
  if (!a)
    throw OutOfMemory(
        "Out of Memory: the " + std::string(buffer_type_name(type)) +
        " region has size 0 on this mesh (open it with a non-zero l1_small_size / trace_region_size)");
  if (size == 0) {
    // An empty tensor: tt-metal places no memory for a zero-byte buffer, so nothing is allocated or reported.
    return std::make_shared<MeshBuffer>(shared_from_this(), next_id_++, type, 0, page_size, Placement{});
  }
  Placement placement;
  try {
    placement = a->allocate(size, page_size, bottom_up, shard_count);
  } catch (const OutOfMemory& e) {
    std::string ids;
    for (int id : physical_ids_) {
      if (!ids.empty()) ids += ',';
      ids += std::to_string(id);
    }
    throw OutOfMemory(std::string(e.what()) + " [mesh " + std::to_string(rows_) + "x" +
                      std::to_string(cols_) + ", devices " + ids + "]");
  }
  const uint64_t id = next_id_++;
  auto buffer = std::make_shared<MeshBuffer>(shared_from_this(), id, type, size, page_size, placement);
  live_[id] = buffer.get();
  // One mesh buffer, one report per device: frees must reach every device the same way (the proof of concept
  // saw frees on device 0 only). The layout lets allocmon-replay place it again.
  const BufferLayout layout{page_size, shard_count ? ALLOCMON_LAYOUT_SHARDED : ALLOCMON_LAYOUT_INTERLEAVED,
                            shard_count, bottom_up ? int32_t{*bottom_up} : -1};
  for (int device : physical_ids_)
    track_alloc(device, memory_type(type), size, placement.address, id, layout);
  publish(memory_type(type), static_cast<int64_t>(size));
  report_free_space(type);
  return buffer;
}

std::vector<MeshDevice::LiveBuffer> MeshDevice::live_buffers() {
  std::lock_guard lock(mutex_);
  std::vector<LiveBuffer> out;
  out.reserve(live_.size());
  for (const auto& [id, buffer] : live_)
    out.push_back({id, buffer->type_, buffer->size_, buffer->page_size_, buffer->placement_});
  return out;
}

void MeshDevice::release(MeshBuffer& buffer) {
  std::lock_guard lock(mutex_);
  if (!buffer.allocated_) return;
  buffer.allocated_ = false;
  if (buffer.size_ == 0) return;  // an empty tensor's buffer: never placed (allocate)
  live_.erase(buffer.id_);
  if (!open_) return;
  allocator_for(buffer.type_)->deallocate(buffer.placement_.address);
  for (int device : physical_ids_) track_free(device, buffer.id_);
  publish(memory_type(buffer.type_), -static_cast<int64_t>(buffer.size_));
  report_free_space(buffer.type_);
}

void MeshDevice::publish(MemoryType type, int64_t delta_per_device) {
  if (auto* shm = TtShmPublisher::instance())
    for (int device : physical_ids_)
      shm->record(device, static_cast<allocmon_memory_type>(type), delta_per_device);
}

void MeshDevice::begin_program(const std::string& name, uint64_t cb_bytes, uint64_t kernel_bytes) {
  std::lock_guard lock(mutex_);
  if (auto conflict = memory_.circular_buffer_conflict(cb_bytes, name)) throw std::runtime_error(*conflict);
  if (!program_cache_.count(name)) {
    // Kernel binaries live in the kernel-config region (not allocator-managed); tracked as KERNEL memory.
    const uint64_t id = next_id_++;
    program_cache_[name] = id;
    for (int device : physical_ids_)
      track_alloc(device, MemoryType::KERNEL, kernel_bytes, next_kernel_address_, id);
    next_kernel_address_ += kernel_bytes;
  }
  // Circular buffers are placed upward from the L1 unreserved base for the program's run.
  for (int device : physical_ids_) track_alloc(device, MemoryType::CB, cb_bytes, arch().l1_base, 0);
  publish(MemoryType::CB, static_cast<int64_t>(cb_bytes));
}

void MeshDevice::end_program(uint64_t cb_bytes) {
  std::lock_guard lock(mutex_);
  for (int device : physical_ids_) track_free(device, 0);
  publish(MemoryType::CB, -static_cast<int64_t>(cb_bytes));
  if (!program_cache_enabled_) {
    for (auto& [name, id] : program_cache_)
      for (int device : physical_ids_) track_free(device, id);
    program_cache_.clear();
  }
}

void MeshDevice::clear_program_cache() {
  std::lock_guard lock(mutex_);
  for (auto& [name, id] : program_cache_)
    for (int device : physical_ids_) track_free(device, id);
  program_cache_.clear();
}

void MeshDevice::close() {
  if (!open_) return;
  {
    // tt-metal's close asks MeshDevice::is_initialized(), which throws when its devices disagree: another
    // mesh's close closed some of them (those active when that mesh opened) and not the others.
    std::lock_guard lock(open_devices_mutex);
    auto active = [&](int device) {
      auto it = open_devices.find(device);
      return it != open_devices.end() && it->second.active;
    };
    for (size_t i = 1; i < physical_ids_.size(); ++i)
      if (active(physical_ids_[i]) != active(physical_ids_[0]))
        throw std::runtime_error("MeshDevice::is_initialized() failed: Device at index " + std::to_string(i) +
                                 " returned value that differs from reference. Expected: " +
                                 (active(physical_ids_[0]) ? "true" : "false") +
                                 ", Actual: " + (active(physical_ids_[i]) ? "true" : "false") +
                                 " (tt-metal closes every device that was open when a mesh " +
                                 "opened at that mesh's close, so closing another mesh closed some of this "
                                 "mesh's devices; tt-metal's " +
                                 "process then aborts at exit)");
  }
  shut();
}

void MeshDevice::shut() {
  if (!open_) return;
  clear_program_cache();
  // System buffers go through the normal free path, explicitly: when the last reference to the mesh is gone,
  // their own destructors can no longer reach it.
  std::vector<std::shared_ptr<MeshBuffer>> system;
  system.swap(system_buffers_);
  for (auto& buffer : system) release(*buffer);
  system.clear();
  {
    std::lock_guard lock(mutex_);
    // Buffers still held by tensors: freed now and reported, so nothing is left behind on any device.
    for (auto& [id, buffer] : live_) {
      buffer->allocated_ = false;
      allocator_for(buffer->type_)->deallocate(buffer->placement_.address);
      for (int device : physical_ids_) track_free(device, id);
      publish(memory_type(buffer->type_), -static_cast<int64_t>(buffer->size_));
    }
    live_.clear();
    open_ = false;
  }
  std::lock_guard lock(open_devices_mutex);
  for (; held_devices_ > 0; --held_devices_) {
    const int device = physical_ids_[held_devices_ - 1];
    if (auto* shm = TtShmPublisher::instance()) shm->detach(device);
    if (auto it = open_devices.find(device); it != open_devices.end() && --it->second.holders == 0) {
      open_devices.erase(it);
      unregister_device(device);
    }
  }
  for (int device : closes_)
    if (auto it = open_devices.find(device); it != open_devices.end()) it->second.active = false;
  closes_.clear();
}

std::string MeshDevice::topology() const {
  // Box drawing as in the seed's "Mesh topology" table.
  const int width = 14;
  auto line = [&](const char* left, const char* mid, const char* right) {
    std::string s = left;
    for (int c = 0; c < cols_; ++c) {
      for (int i = 0; i < width; ++i) s += "─";
      s += c + 1 < cols_ ? mid : right;
    }
    return s + "\n";
  };
  std::string out = line("┌", "┬", "┐");
  for (int r = 0; r < rows_; ++r) {
    out += "│";
    for (int c = 0; c < cols_; ++c) {
      std::string cell = "Dev. ID: " + std::to_string(physical_ids_[r * cols_ + c]);
      const int pad = width - static_cast<int>(cell.size());
      out += std::string(pad / 2, ' ') + cell + std::string(pad - pad / 2, ' ') + "│";
    }
    out += "\n";
    out += r + 1 < rows_ ? line("├", "┼", "┤") : line("└", "┴", "┘");
  }
  return out;
}

}  // namespace allocmon::mesh
