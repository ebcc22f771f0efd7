// An emulated mesh of devices. Buffers are allocated once on the mesh's allocators (lock-step: same address
// on every device) and reported to allocmon once per device with that device's physical id, like a real
// runtime.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "allocmon/client.hpp"
#include "bank_allocator.hpp"
#include "common/tt_architecture.hpp"
#include "device_memory.hpp"

namespace allocmon::mesh {

struct MeshOptions {
  int rows = 2;
  int cols = 4;
  std::vector<int> physical_ids;  // row-major; empty: the T3000 order for 2x4, else 0..n-1
  std::string architecture = "wormhole_b0";
  uint64_t l1_small_size = 0;      // per core, carved from the top of L1
  uint64_t trace_region_size = 0;  // per DRAM bank, carved from the top of DRAM
  int available_devices = -1;      // devices the emulated system has; -1: ALLOCMON_EMULATED_DEVICES or 32
  // false: memory only. Tensors have shapes, dtypes, layouts and buffers but no values; ops allocate, run
  // their programs (CBs, kernels) and free exactly as with data, and compute nothing (a large model's
  // allocation sequence in seconds).
  bool hold_data = true;
};

class MeshDevice;

class MeshBuffer {
 public:
  MeshBuffer(std::shared_ptr<MeshDevice> mesh, uint64_t id, BufferType type, uint64_t size,
             uint64_t page_size, Placement placement);
  ~MeshBuffer();
  MeshBuffer(const MeshBuffer&) = delete;
  MeshBuffer& operator=(const MeshBuffer&) = delete;

  void deallocate();
  bool allocated() const { return allocated_; }
  uint64_t id() const { return id_; }
  BufferType type() const { return type_; }
  uint64_t size() const { return size_; }  // per device
  uint64_t page_size() const { return page_size_; }
  uint64_t address() const { return placement_.address; }
  const Placement& placement() const { return placement_; }

 private:
  friend class MeshDevice;
  // Weak: the mesh owns its system buffers, so a strong reference back would keep a mesh nobody closed alive
  // forever. Tensors hold the mesh themselves.
  std::weak_ptr<MeshDevice> mesh_;
  uint64_t id_;
  BufferType type_;
  uint64_t size_;
  uint64_t page_size_;
  Placement placement_;
  bool allocated_ = true;
};

class MeshDevice : public std::enable_shared_from_this<MeshDevice> {
 public:
  // Throws std::runtime_error("Not enough devices: requested 8, system has N") and the like.
  static std::shared_ptr<MeshDevice> open(const MeshOptions& options);
  ~MeshDevice();

  // Frees every buffer still allocated (system buffers included) and the program cache, and unregisters the
  // devices no other open mesh of the process holds. Throws std::runtime_error, as tt-metal does, and stays
  // open when another mesh's close closed some of its devices but not all (the destructor then closes it
  // quietly).
  void close();
  bool is_open() const { return open_; }

  // shard_count > 0: sharded over that many cores (banks) of every device; 0: interleaved over all banks.
  std::shared_ptr<MeshBuffer> allocate(BufferType type, uint64_t size_per_device, uint64_t page_size,
                                       std::optional<bool> bottom_up = std::nullopt,
                                       uint32_t shard_count = 0);

  // A program run on every device: its circular buffers (CB, L1) exist while it runs; its kernel binaries
  // (KERNEL) stay in the program cache until clear_program_cache(). Throws std::runtime_error with tt-metal's
  // text when the CBs would clash with the lowest L1 buffer (run it after allocating the op's outputs, as
  // tt-metal launches a program after its outputs exist).
  void begin_program(const std::string& name, uint64_t cb_bytes, uint64_t kernel_bytes);
  void end_program(uint64_t cb_bytes);
  void enable_program_cache() { program_cache_enabled_ = true; }
  void clear_program_cache();
  size_t program_cache_entries() const { return program_cache_.size(); }

  bool holds_data() const { return hold_data_; }
  int rows() const { return rows_; }
  int cols() const { return cols_; }
  int num_devices() const { return rows_ * cols_; }
  const std::vector<int>& physical_ids() const { return physical_ids_; }  // row-major
  const Architecture& architecture() const { return memory_.architecture(); }
  const BankAllocator& allocator(BufferType type) const;
  // Every buffer allocated now (system buffers included), in allocation order: what ttnn's buffer reports
  // list.
  struct LiveBuffer {
    uint64_t id;
    BufferType type;
    uint64_t size;  // per device
    uint64_t page_size;
    Placement placement;
  };
  std::vector<LiveBuffer> live_buffers();
  // The seed's topology table: one box per device with its physical id, laid out in mesh rows.
  std::string topology() const;

 private:
  friend class MeshBuffer;
  MeshDevice(const MeshOptions& options, const Architecture& arch, std::vector<int> ids);
  const Architecture& arch() const { return memory_.architecture(); }
  void release(MeshBuffer& buffer);
  void shut();  // close() without tt-metal's consistency check
  void report_free_space(BufferType type);
  // tt-metal's shared-memory counters, when the emulated mesh publishes them (tt_shm_publisher.hpp).
  void publish(MemoryType type, int64_t delta_per_device);
  BankAllocator* allocator_for(BufferType type);

  std::mutex mutex_;
  DeviceMemory memory_;
  int rows_, cols_;
  std::vector<int> physical_ids_;
  std::map<uint64_t, MeshBuffer*> live_;
  std::vector<std::shared_ptr<MeshBuffer>> system_buffers_;
  std::map<std::string, uint64_t> program_cache_;  // program -> kernel bytes (per device)
  bool program_cache_enabled_ = true;
  uint64_t next_id_ = 1;
  uint64_t next_kernel_address_ = 0;
  bool open_ = true;
  // How many of physical_ids_ (from the first) this mesh counts as a holder of (open_devices in the .cpp).
  int held_devices_ = 0;
  // The devices tt-metal's close of this mesh closes: every device active when it opened.
  std::vector<int> closes_;
  bool hold_data_ = true;
};

}  // namespace allocmon::mesh
