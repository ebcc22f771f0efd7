// Thin C++ layer over allocmon/client.h: inline wrappers whose disabled path is one predictable branch.
#pragma once

#include <string>

#include "allocmon/client.h"

namespace allocmon {

enum class MemoryType : int {
#define ALLOCMON_CXX_ENTRY(name, code) name = code,
  ALLOCMON_MEMORY_TYPES(ALLOCMON_CXX_ENTRY)
#undef ALLOCMON_CXX_ENTRY
};

inline bool tracking_enabled() {
  return __builtin_expect(allocmon_tracking_enabled != 0, 0);
}

inline void track_alloc(int32_t device, MemoryType type, uint64_t size, uint64_t address,
                        uint64_t buffer_id) {
  if (tracking_enabled())
    allocmon_alloc(device, static_cast<allocmon_memory_type>(type), size, address, buffer_id);
}

// How the allocator laid a buffer out (allocmon_buffer_layout); what a what-if replay needs.
struct BufferLayout {
  uint64_t page_size = 0;
  allocmon_layout_kind kind = ALLOCMON_LAYOUT_INTERLEAVED;
  uint32_t shard_count = 0;
  int32_t bottom_up = -1;  // -1: the memory type's default direction
};

inline void track_alloc(int32_t device, MemoryType type, uint64_t size, uint64_t address, uint64_t buffer_id,
                        const BufferLayout& layout) {
  if (!tracking_enabled()) return;
  const allocmon_buffer_layout c{layout.page_size, static_cast<uint32_t>(layout.kind), layout.shard_count,
                                 layout.bottom_up};
  allocmon_alloc_with_layout(device, static_cast<allocmon_memory_type>(type), size, address, buffer_id, &c);
}

inline void track_free(int32_t device, uint64_t buffer_id) {
  if (tracking_enabled()) allocmon_free(device, buffer_id);
}

inline void track_free_space(int32_t device, MemoryType type, uint64_t free_bytes,
                             uint64_t largest_free_block) {
  if (tracking_enabled())
    allocmon_report_free_space(device, static_cast<allocmon_memory_type>(type), free_bytes,
                               largest_free_block);
}

inline void track_region(int32_t device, MemoryType type, uint64_t base, uint64_t bank_size, uint32_t banks,
                         uint32_t page_alignment, uint32_t block_alignment) {
  if (tracking_enabled())
    allocmon_describe_region(device, static_cast<allocmon_memory_type>(type), base, bank_size, banks,
                             page_alignment, block_alignment);
}

struct DeviceInfo {
  int32_t device_id = 0;
  std::string architecture;
  uint64_t capacity[ALLOCMON_MAX_MEMORY_TYPES] = {};
  int32_t mesh_row = -1;
  int32_t mesh_col = -1;
  uint16_t grid_x = 0;  // worker core grid, 0 = unknown
  uint16_t grid_y = 0;
};

inline void register_device(const DeviceInfo& info) {
  if (!tracking_enabled()) return;
  allocmon_device_info c{};
  c.device_id = info.device_id;
  c.mesh_row = info.mesh_row;
  c.mesh_col = info.mesh_col;
  c.architecture = info.architecture.c_str();
  c.grid_x = info.grid_x;
  c.grid_y = info.grid_y;
  for (int i = 0; i < ALLOCMON_MAX_MEMORY_TYPES; ++i) c.capacity[i] = info.capacity[i];
  allocmon_register_device(&c);
}

inline void unregister_device(int32_t device) {
  if (tracking_enabled()) allocmon_unregister_device(device);
}

inline int flush(int timeout_ms = 5000) {
  return allocmon_flush(timeout_ms);
}

}  // namespace allocmon
