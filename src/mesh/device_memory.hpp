// The allocators of one device (or of a lock-step mesh): DRAM, L1, and the L1_SMALL and TRACE regions carved
// from the top of L1 and DRAM at open. Shared by the emulated mesh and the what-if replay, so a replay places
// buffers exactly where the emulated device would.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bank_allocator.hpp"
#include "common/tt_architecture.hpp"

namespace allocmon::mesh {

enum class BufferType { DRAM, L1, L1_SMALL, TRACE };
std::string_view buffer_type_name(BufferType type);

struct MemoryOptions {
  uint64_t l1_small_size = 0;      // per core, from the top of L1
  uint64_t trace_region_size = 0;  // per DRAM bank, from the top of DRAM
};

class DeviceMemory {
 public:
  // Throws std::invalid_argument when a region does not fit in the memory it is carved from.
  DeviceMemory(const Architecture& architecture, MemoryOptions options);

  // nullptr when the type's region has size 0 (TRACE without a trace region falls back to plain DRAM, as in
  // tt-metal).
  BankAllocator* allocator(BufferType type);
  const BankAllocator* allocator(BufferType type) const;
  bool has_trace_region() const { return trace_ != nullptr; }
  // Bytes over all banks of the type's own region (0: none).
  uint64_t capacity(BufferType type) const;
  const Architecture& architecture() const { return arch_; }

  // tt-metal's launch check for a program whose static circular buffers take `cb_bytes` per core from the
  // L1 base: its error text when they would overlap the lowest L1 buffer or run past L1, else nullopt.
  std::optional<std::string> circular_buffer_conflict(uint64_t cb_bytes, const std::string& program) const;
  // Where such CBs end: placed up from the L1 base, DRAM-aligned.
  uint64_t circular_buffer_end(uint64_t cb_bytes) const;

 private:
  Architecture arch_;
  std::unique_ptr<BankAllocator> dram_, l1_, l1_small_, trace_;
};

}  // namespace allocmon::mesh
