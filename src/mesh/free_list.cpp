#include "free_list.hpp"

#include <iterator>

namespace allocmon::mesh {

namespace {
uint64_t round_up(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}
}  // namespace

FreeList::FreeList(uint64_t base, uint64_t size, uint64_t alignment)
    : base_(base), size_(size), alignment_(alignment) {
  clear();
}

void FreeList::clear() {
  free_.clear();
  allocated_.clear();
  if (size_ > 0) free_[base_] = size_;
}

std::optional<uint64_t> FreeList::allocate(uint64_t size, bool bottom_up) {
  if (size == 0) return std::nullopt;
  size = round_up(size, alignment_);
  if (bottom_up) {
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second < size) continue;
      const uint64_t address = it->first, block = it->second;
      free_.erase(it);
      if (block > size) free_[address + size] = block - size;
      allocated_[address] = size;
      return address;
    }
  } else {
    for (auto it = free_.rbegin(); it != free_.rend(); ++it) {
      if (it->second < size) continue;
      const uint64_t block_start = it->first, block = it->second;
      const uint64_t address = block_start + block - size;
      if (block > size)
        free_[block_start] = block - size;
      else
        free_.erase(std::next(it).base());
      allocated_[address] = size;
      return address;
    }
  }
  return std::nullopt;
}

bool FreeList::allocate_at(uint64_t address, uint64_t size) {
  size = round_up(size, alignment_);
  auto it = free_.upper_bound(address);
  if (it == free_.begin()) return false;
  --it;
  const uint64_t block_start = it->first, block_end = it->first + it->second;
  if (address + size > block_end) return false;
  free_.erase(it);
  if (address > block_start) free_[block_start] = address - block_start;
  if (address + size < block_end) free_[address + size] = block_end - address - size;
  allocated_[address] = size;
  return true;
}

uint64_t FreeList::deallocate(uint64_t address) {
  auto it = allocated_.find(address);
  if (it == allocated_.end()) return 0;
  const uint64_t size = it->second;
  allocated_.erase(it);
  insert_free(address, size);
  return size;
}

void FreeList::insert_free(uint64_t address, uint64_t size) {
  auto next = free_.lower_bound(address);
  if (next != free_.end() && address + size == next->first) {
    size += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto previous = std::prev(next);
    if (previous->first + previous->second == address) {
      previous->second += size;
      return;
    }
  }
  free_[address] = size;
}

FreeListStats FreeList::stats() const {
  FreeListStats s;
  s.total = size_;
  for (const auto& [address, size] : free_) {
    s.free += size;
    if (size > s.largest_free_block) s.largest_free_block = size;
  }
  s.allocated = size_ - s.free;
  if (!allocated_.empty()) s.lowest_occupied = allocated_.begin()->first;
  return s;
}

}  // namespace allocmon::mesh
