#include "address_map.hpp"

#include <algorithm>

namespace allocmon::monitor {

namespace {
uint64_t round_up(uint64_t value, uint64_t alignment) {
  return alignment > 1 ? (value + alignment - 1) / alignment * alignment : value;
}
uint64_t ceil_div(uint64_t a, uint64_t b) {
  return b ? a / b + (a % b != 0) : 0;
}
}  // namespace

uint64_t block_per_bank(const RegionView& region, const MappedBuffer& buffer) {
  const uint64_t banks = buffer.shard_count ? buffer.shard_count : std::max<uint32_t>(region.banks, 1);
  uint64_t per_bank;
  if (buffer.page_size) {
    const uint64_t pages = ceil_div(buffer.size, buffer.page_size);
    per_bank = ceil_div(pages, banks) * round_up(buffer.page_size, region.page_alignment);
  } else {
    per_bank = round_up(ceil_div(buffer.size, banks), region.page_alignment);
  }
  return round_up(per_bank, region.block_alignment);
}

AddressMap build_address_map(const RegionView& region, const std::vector<MappedBuffer>& buffers) {
  AddressMap map;
  map.base = region.base;
  map.end = region.base + region.bank_size;
  std::vector<std::pair<uint64_t, uint64_t>> used;
  for (const auto& b : buffers) {
    const uint64_t start = std::clamp(b.address, map.base, map.end);
    const uint64_t end = std::clamp(b.address + block_per_bank(region, b), map.base, map.end);
    if (end > start) used.emplace_back(start, end);
  }
  std::sort(used.begin(), used.end());
  uint64_t cursor = map.base;
  auto gap_to = [&](uint64_t until) {
    if (until <= cursor) return;
    map.blocks.push_back({cursor, until, false});
    if (until - cursor > map.largest_free) {
      map.largest_free = until - cursor;
      map.largest_free_start = cursor;
    }
  };
  for (const auto& [start, end] : used) {
    gap_to(start);
    if (end <= cursor) continue;  // inside one already placed (overlapping reports)
    const uint64_t from = std::max(start, cursor);
    if (!map.blocks.empty() && map.blocks.back().used && map.blocks.back().end == from)
      map.blocks.back().end = end;  // adjacent buffers: one used block
    else
      map.blocks.push_back({from, end, true});
    map.used += end - from;
    cursor = end;
  }
  gap_to(map.end);
  return map;
}

std::string render_strip(const AddressMap& map, int width) {
  if (width <= 0 || map.end <= map.base) return {};
  std::string strip(static_cast<size_t>(width), '-');
  const double span = static_cast<double>(map.end - map.base);
  auto column = [&](uint64_t address) {
    return std::clamp(static_cast<int>(static_cast<double>(address - map.base) / span * width), 0, width - 1);
  };
  // The largest gap first, then every used block over it: a character that holds any used byte is used.
  if (map.largest_free)
    for (int c = column(map.largest_free_start); c <= column(map.largest_free_start + map.largest_free - 1);
         ++c)
      strip[static_cast<size_t>(c)] = '=';
  for (const auto& b : map.blocks)
    if (b.used)
      for (int c = column(b.start); c <= column(b.end - 1); ++c) strip[static_cast<size_t>(c)] = '#';
  return strip;
}

}  // namespace allocmon::monitor
