#include "device_memory.hpp"

#include <stdexcept>

namespace allocmon::mesh {

std::string_view buffer_type_name(BufferType type) {
  switch (type) {
    case BufferType::DRAM:
      return "DRAM";
    case BufferType::L1:
      return "L1";
    case BufferType::L1_SMALL:
      return "L1_SMALL";
    case BufferType::TRACE:
      return "TRACE";
  }
  return "?";
}

DeviceMemory::DeviceMemory(const Architecture& architecture, MemoryOptions options) : arch_(architecture) {
  const Architecture& a = arch_;
  if (options.l1_small_size >= a.l1_bank_size() || options.trace_region_size >= a.dram_bank_size)
    throw std::invalid_argument(
        "l1_small_size / trace_region_size larger than the memory they are carved from");
  const uint64_t trace = options.trace_region_size / a.dram_alignment * a.dram_alignment;
  const uint64_t dram_top = a.dram_base + a.dram_bank_size;
  dram_ = std::make_unique<BankAllocator>("DRAM", a.dram_banks, a.dram_base, a.dram_bank_size - trace,
                                          a.dram_alignment, a.dram_alignment, /*bottom_up=*/true);
  if (trace)
    trace_ = std::make_unique<BankAllocator>("TRACE", a.dram_banks, dram_top - trace, trace, a.dram_alignment,
                                             a.dram_alignment, /*bottom_up=*/true);
  const uint64_t l1_small = options.l1_small_size / a.dram_alignment * a.dram_alignment;
  l1_ = std::make_unique<BankAllocator>("L1", a.l1_banks(), a.l1_base, a.l1_bank_size() - l1_small,
                                        a.l1_alignment, a.dram_alignment, /*bottom_up=*/false);
  if (l1_small)
    l1_small_ = std::make_unique<BankAllocator>("L1_SMALL", a.l1_banks(), a.l1_size - l1_small, l1_small,
                                                a.l1_alignment, a.dram_alignment, /*bottom_up=*/false);
}

BankAllocator* DeviceMemory::allocator(BufferType type) {
  switch (type) {
    case BufferType::DRAM:
      return dram_.get();
    case BufferType::L1:
      return l1_.get();
    case BufferType::L1_SMALL:
      return l1_small_.get();
    case BufferType::TRACE:
      return trace_ ? trace_.get() : dram_.get();
  }
  return nullptr;
}

const BankAllocator* DeviceMemory::allocator(BufferType type) const {
  return const_cast<DeviceMemory*>(this)->allocator(type);
}

uint64_t DeviceMemory::circular_buffer_end(uint64_t cb_bytes) const {
  // CBs start at the L1 base, DRAM-aligned, as tt-metal places them.
  return arch_.l1_base + (cb_bytes + arch_.dram_alignment - 1) / arch_.dram_alignment * arch_.dram_alignment;
}

std::optional<std::string> DeviceMemory::circular_buffer_conflict(uint64_t cb_bytes,
                                                                  const std::string& program) const {
  const Architecture& a = arch_;
  const uint64_t end = circular_buffer_end(cb_bytes);
  const std::string cores =
      "[0-0 - " + std::to_string(a.grid_x - 1) + "-" + std::to_string(a.grid_y - 1) + "]";
  if (end > a.l1_size)
    return "Statically allocated circular buffers on core range " + cores + " grow to " +
           std::to_string(end) + " B which is beyond max L1 size of " + std::to_string(a.l1_size) + " B";
  std::optional<uint64_t> lowest;
  for (const BankAllocator* bank : {l1_.get(), l1_small_.get()}) {
    if (!bank) continue;
    const FreeListStats s = bank->stats();
    if (s.lowest_occupied && (!lowest || *s.lowest_occupied < *lowest)) lowest = s.lowest_occupied;
  }
  if (lowest && *lowest < end)
    return "Statically allocated circular buffers in program " + program +
           " clash with L1 buffers on core range " + cores + ". L1 buffer allocated at " +
           std::to_string(*lowest) + " and static circular buffer region ends at " + std::to_string(end);
  return std::nullopt;
}

uint64_t DeviceMemory::capacity(BufferType type) const {
  const BankAllocator* a = type == BufferType::TRACE ? trace_.get() : allocator(type);
  return a ? uint64_t{a->banks()} * a->bank_size() : 0;
}

}  // namespace allocmon::mesh
