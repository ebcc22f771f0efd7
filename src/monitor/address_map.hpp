// One memory type's address map on one device: its region in a bank split into used blocks and free gaps,
// each live buffer placed as an interleaved (or sharded) bank allocator places it — the picture of
// fragmentation that explains an out-of-memory with plenty of bytes free. Pure arithmetic, unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "snapshot_model.hpp"

namespace allocmon::monitor {

struct MappedBuffer {
  uint64_t address = 0;      // the same in every bank
  uint64_t size = 0;         // over all banks
  uint32_t page_size = 0;    // 0: unknown (spread evenly)
  uint32_t shard_count = 0;  // sharded over this many banks; 0: interleaved over all
};

struct MapBlock {
  uint64_t start = 0, end = 0;
  bool used = false;
};

struct AddressMap {
  uint64_t base = 0, end = 0;    // the region in one bank
  std::vector<MapBlock> blocks;  // in address order, covering [base, end)
  uint64_t used = 0;             // bytes per bank
  uint64_t largest_free = 0;
  uint64_t largest_free_start = 0;
};

// What one buffer takes in each bank: pages per bank times the page rounded to the page alignment, rounded to
// the block alignment.
uint64_t block_per_bank(const RegionView& region, const MappedBuffer& buffer);

AddressMap build_address_map(const RegionView& region, const std::vector<MappedBuffer>& buffers);

// `width` characters: '#' used, '-' free, '=' the largest free gap.
std::string render_strip(const AddressMap& map, int width);

}  // namespace allocmon::monitor
