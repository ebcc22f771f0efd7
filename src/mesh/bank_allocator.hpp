// One buffer type's banks (DRAM, L1, L1_SMALL or TRACE) moving in lock-step over one shared free list, as in
// tt-metal: an interleaved buffer puts page p in bank p mod banks, so every bank holds the same number of
// pages at the same address.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "free_list.hpp"

namespace allocmon::mesh {

class OutOfMemory : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Placement {
  uint64_t address = 0;
  // tt-metal's Buffer::aligned_size_per_bank(): pages per bank x the page rounded to the type's alignment.
  uint64_t bytes_per_bank = 0;
  uint64_t block_per_bank = 0;  // what the free list reserves in each bank: that, rounded to its alignment
  uint32_t banks = 0;
};

class BankAllocator {
 public:
  // base/bank_size: the type's address range in every bank. page_alignment rounds pages (L1 16 B, DRAM 32/64
  // B); block_alignment is the free list's (the DRAM alignment, for every type).
  BankAllocator(std::string type_name, uint32_t banks, uint64_t base, uint64_t bank_size,
                uint32_t page_alignment, uint32_t block_alignment, bool bottom_up_by_default);

  // Throws OutOfMemory with tt-metal's wording. shard_count > 0: a sharded buffer, its pages split over that
  // many banks (one shard per core); its block is still reserved at the same address in every bank.
  Placement allocate(uint64_t size, uint64_t page_size, std::optional<bool> bottom_up = std::nullopt,
                     uint32_t shard_count = 0);
  uint64_t deallocate(uint64_t address) { return free_list_.deallocate(address); }
  void clear() { free_list_.clear(); }

  // Per bank, like tt-metal's statistics.
  FreeListStats stats() const { return free_list_.stats(); }
  uint32_t banks() const { return banks_; }
  uint64_t bank_size() const { return free_list_.size(); }
  uint64_t base() const { return free_list_.base(); }
  uint32_t page_alignment() const { return page_alignment_; }
  uint64_t block_alignment() const { return free_list_.alignment(); }
  // tt-metal's aligned size per bank, and the free-list block it takes (banks 0: all banks).
  uint64_t aligned_size_per_bank(uint64_t size, uint64_t page_size, uint32_t banks = 0) const;
  uint64_t block_per_bank(uint64_t size, uint64_t page_size, uint32_t banks = 0) const;
  const std::string& type_name() const { return type_name_; }

 private:
  std::string type_name_;
  uint32_t banks_;
  uint32_t page_alignment_;
  bool bottom_up_;
  FreeList free_list_;
};

}  // namespace allocmon::mesh
