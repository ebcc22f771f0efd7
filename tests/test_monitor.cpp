// The monitor's arithmetic: where mesh cells go at each screen size, the history ring, the address map,
// queries.
#include <gtest/gtest.h>

#include <algorithm>

#include "monitor/address_map.hpp"
#include "monitor/history.hpp"
#include "monitor/mesh_layout.hpp"
#include "monitor/query_output.hpp"

using namespace allocmon::monitor;

namespace {

std::vector<Placeable> mesh(int rows, int cols, const std::vector<int>& ids) {
  std::vector<Placeable> out;
  for (int i = 0; i < rows * cols; ++i)
    out.push_back({ids.empty() ? i : ids[static_cast<size_t>(i)], i / cols, i % cols});
  return out;
}

const PlacedCell* cell(const MeshLayout& layout, int id) {
  for (const auto& c : layout.cells)
    if (c.id == id) return &c;
  return nullptr;
}

}  // namespace

TEST(MeshLayout, AT3000KeepsItsRowsAtEveryWidth) {
  const auto t3000 = mesh(2, 4, {4, 0, 3, 7, 5, 1, 2, 6});
  for (int width : {80, 120, 200}) {
    const MeshLayout layout = layout_mesh(t3000, width, 16);
    EXPECT_EQ(layout.hidden, 0) << width;
    EXPECT_EQ(layout.columns, 4) << width;
    EXPECT_LE(layout.columns * layout.cell.width, width);
    // Row 0 reads 4 0 3 7 left to right, row 1 5 1 2 6.
    EXPECT_LT(cell(layout, 4)->x, cell(layout, 0)->x);
    EXPECT_LT(cell(layout, 3)->x, cell(layout, 7)->x);
    EXPECT_EQ(cell(layout, 4)->y, cell(layout, 7)->y);
    EXPECT_GT(cell(layout, 5)->y, cell(layout, 4)->y);
    EXPECT_EQ(cell(layout, 5)->x, cell(layout, 4)->x);
  }
  EXPECT_EQ(layout_mesh(t3000, 80, 16).cell.width, 20);  // cells per row at 80 columns: 4 of 20
  EXPECT_EQ(layout_mesh(t3000, 120, 16).cell.width, 30);
}

TEST(MeshLayout, AllOfAGalaxyFitsAt80x24) {
  const auto galaxy = mesh(4, 8, {});
  const MeshLayout layout = layout_mesh(galaxy, 80, 18);  // 24 lines less title, key line, four for processes
  EXPECT_EQ(layout.hidden, 0);
  EXPECT_EQ(layout.cells.size(), 32u);
  EXPECT_EQ(layout.cell.width, 10);
  EXPECT_LE(layout.height, 18);
  EXPECT_EQ(cell(layout, 8)->y, layout.cell.height);  // row 1 starts with device 8
  EXPECT_EQ(cell(layout, 31)->x, 7 * layout.cell.width);
  const MeshLayout big = layout_mesh(galaxy, 200, 50);
  EXPECT_EQ(big.cell.width, 25);  // 8 of 25 in 200 columns: the cells grow to the screen
  EXPECT_EQ(big.hidden, 0);
}

TEST(MeshLayout, AGalaxyBelow80ColumnsKeepsCellsOfThreeOrFourLines) {
  // A split tmux pane: 79x24, 64x24 (17 lines for the mesh) and 70x20 (13 lines): 8 columns of cells at least
  // 8 wide and 3 high, so each keeps its id, its position and both percentages.
  const auto galaxy = mesh(4, 8, {});
  for (auto [width, room] : {std::pair{79, 17}, {64, 17}, {70, 13}}) {
    const MeshLayout layout = layout_mesh(galaxy, width, room);
    EXPECT_EQ(layout.hidden, 0) << width;
    EXPECT_EQ(layout.columns, 8) << width;
    EXPECT_GE(layout.cell.width, 8) << width;
    EXPECT_GE(layout.cell.height, 3) << width;
    EXPECT_LE(layout.height, room) << width;
    EXPECT_LE(8 * layout.cell.width, width) << width;
  }
}

TEST(MeshLayout, CellsGrowToFillALargeScreen) {
  const auto t3000 = mesh(2, 4, {4, 0, 3, 7, 5, 1, 2, 6});
  const MeshLayout big = layout_mesh(t3000, 200, 53);              // 200x60
  EXPECT_EQ(big.cell.width, kMaxCell.width);                       // 192 of 200 columns
  EXPECT_EQ(big.cell.height, kMaxCell.height);                     // room for the history in every cell
  const MeshLayout galaxy = layout_mesh(mesh(4, 8, {}), 120, 33);  // 120x40
  EXPECT_EQ(galaxy.cell.width, 15);
  EXPECT_EQ(galaxy.cell.height, 8);
  EXPECT_LE(galaxy.height, 33);
}

TEST(MeshLayout, WhatDoesNotFitIsCountedNotCut) {
  const auto galaxy = mesh(4, 8, {});
  const MeshLayout layout = layout_mesh(galaxy, 80, 4);  // room for two rows of the smallest cells
  EXPECT_EQ(layout.cells.size(), 16u);
  EXPECT_EQ(layout.hidden, 16);
  EXPECT_EQ(layout_mesh(galaxy, 5, 20).hidden, 32);  // narrower than any cell
}

TEST(MeshLayout, DevicesOutsideAMeshComeAfterIt) {
  auto devices = mesh(2, 2, {});
  devices.push_back({1000, -1, -1});  // a GPU from DRM fdinfo
  devices.push_back({9, -1, -1});
  const MeshLayout layout = layout_mesh(devices, 120, 20);
  EXPECT_EQ(layout.hidden, 0);
  EXPECT_GT(cell(layout, 9)->y, cell(layout, 2)->y);     // below the mesh's last row
  EXPECT_LT(cell(layout, 9)->x, cell(layout, 1000)->x);  // by id
}

TEST(History, TheRingKeepsTheNewestInOrder) {
  Ring<MemorySample> ring(3);
  EXPECT_EQ(ring.size(), 0u);
  for (int i = 1; i <= 5; ++i) ring.push({i, static_cast<uint64_t>(i * 10), 0});
  ASSERT_EQ(ring.size(), 3u);
  EXPECT_EQ(ring[0].time_ms, 3);
  EXPECT_EQ(ring[2].time_ms, 5);
  EXPECT_EQ(ring.newest().dram, 50u);
  ring.clear();
  EXPECT_EQ(ring.size(), 0u);
}

TEST(AddressMap, BuffersArePlacedAsTheBankAllocatorPlacesThem) {
  // Wormhole L1: 64 banks from 103712, 1395424 B each, 16-B pages, 32-B blocks.
  const RegionView l1{103712, 1395424, 64, 16, 32};
  EXPECT_EQ(block_per_bank(l1, {0, 6400, 100, 0}), 128u);  // 100-B pages: 112 each, one per bank, block 128
  EXPECT_EQ(block_per_bank(l1, {0, 262144, 2048, 1}),
            262144u);                                     // sharded on one core: all of it in each bank
  EXPECT_EQ(block_per_bank(l1, {0, 22528, 0, 0}), 352u);  // page size unknown: spread evenly
  const uint64_t top = 103712 + 1395424;
  const AddressMap map =
      build_address_map(l1, {{top - 4096, 4096, 4096, 1}, {top - 4096 - 8192 - 65536, 65536, 2048, 1}});
  // used: [top-4096, top) and [top-77824, top-12288); free: the 8 KiB hole and everything below.
  ASSERT_EQ(map.blocks.size(), 4u);
  EXPECT_EQ(map.used, 4096u + 65536u);
  EXPECT_EQ(map.largest_free, 1395424u - 4096 - 8192 - 65536);
  EXPECT_EQ(map.largest_free_start, 103712u);
  const std::string strip = render_strip(map, 20);
  EXPECT_EQ(strip.size(), 20u);
  EXPECT_EQ(strip.front(), '=');  // the largest gap, at the bottom
  EXPECT_EQ(strip.back(), '#');
}

TEST(Query, FieldsAreCheckedAndRowsFollowThem) {
  std::string why;
  EXPECT_FALSE(parse_query_fields("device,colour", &why));
  EXPECT_NE(why.find("unknown query field 'colour'"), std::string::npos);
  const auto fields = *parse_query_fields("device, type,allocated,largest_free", &why);
  Snapshot s;
  DeviceView d;
  d.id = 3;
  MemoryView m;
  m.type = "L1";
  m.allocated = 42;
  m.largest_free_block = 7;
  d.memory.push_back(m);
  s.devices.push_back(d);
  EXPECT_EQ(query_rows(s, fields, true, {}, true), "device,type,allocated,largest_free\n3,L1,42,7\n");
  EXPECT_EQ(query_rows(s, fields, false, {}, false),
            "[{\"device\":3,\"type\":\"L1\",\"allocated\":42,\"largest_free\":7}]\n");  // in the order asked
  EXPECT_EQ(query_rows(s, fields, true, {5}, false), "");                               // -d filters
}
