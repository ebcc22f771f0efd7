// Address-ordered first-fit free list over one address range, as tt-metal's bank managers configure theirs:
// bottom-up takes the lowest free block that fits and cuts from its low end; top-down the highest, cut from
// its high end. Blocks are multiples of the alignment; freeing coalesces with free neighbours.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace allocmon::mesh {

struct FreeListStats {
  uint64_t total = 0;  // allocatable bytes
  uint64_t allocated = 0;
  uint64_t free = 0;
  uint64_t largest_free_block = 0;
  std::optional<uint64_t> lowest_occupied;
};

class FreeList {
 public:
  FreeList(uint64_t base, uint64_t size, uint64_t alignment);

  // `size` is rounded up to the alignment. nullopt when no free block fits.
  std::optional<uint64_t> allocate(uint64_t size, bool bottom_up);
  // Reserves [address, address + size) exactly; false if any part is not free.
  bool allocate_at(uint64_t address, uint64_t size);
  // Unknown addresses are ignored (as tt-metal does); returns the size freed, 0 if unknown.
  uint64_t deallocate(uint64_t address);
  void clear();

  FreeListStats stats() const;
  uint64_t alignment() const { return alignment_; }
  uint64_t base() const { return base_; }
  uint64_t size() const { return size_; }

 private:
  void insert_free(uint64_t address, uint64_t size);  // coalescing

  uint64_t base_, size_, alignment_;
  std::map<uint64_t, uint64_t> free_;       // address -> size
  std::map<uint64_t, uint64_t> allocated_;  // address -> size
};

}  // namespace allocmon::mesh
