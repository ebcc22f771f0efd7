// The emulated allocator against known layouts from tt-metal's behaviour
// (shared/reference/tt-metal-allocator.md).
#include <gtest/gtest.h>

#include "mesh/bank_allocator.hpp"
#include "mesh/mesh_device.hpp"
#include "mesh/ops.hpp"
#include "mesh/tensor.hpp"
#include "support/processes.hpp"

using namespace allocmon;
using namespace allocmon::mesh;

namespace {
BankAllocator wormhole_dram() {
  const Architecture& a = wormhole_b0();
  return BankAllocator("DRAM", a.dram_banks, a.dram_base, a.dram_bank_size, a.dram_alignment,
                       a.dram_alignment, true);
}
BankAllocator wormhole_l1() {
  const Architecture& a = wormhole_b0();
  return BankAllocator("L1", a.l1_banks(), a.l1_base, a.l1_bank_size(), a.l1_alignment, a.dram_alignment,
                       false);
}
}  // namespace

TEST(Allocator, WorkedExampleInterleavedDramIsBottomUp) {
  BankAllocator dram = wormhole_dram();
  const Placement p = dram.allocate(1'048'576, 2'048);  // 512 pages over 12 banks = 43 pages per bank
  EXPECT_EQ(p.address, 32u);
  EXPECT_EQ(p.bytes_per_bank, 88'064u);
  EXPECT_EQ(dram.allocate(4'096, 4'096).address, 88'096u);
}

TEST(Allocator, WorkedExampleL1IsTopDown) {
  BankAllocator l1 = wormhole_l1();
  const Placement p = l1.allocate(65'536, 2'048);  // 32 pages over 64 banks: one page per bank
  EXPECT_EQ(p.address, 1'499'136u - 2'048u);
  EXPECT_EQ(l1.allocate(65'536, 2'048).address, 1'499'136u - 2 * 2'048u);
  EXPECT_EQ(l1.allocate(2'048, 2'048, /*bottom_up=*/true).address, 103'712u);
}

TEST(Allocator, PagesAreAlignedPerTypeAndBlocksToDramAlignment) {
  BankAllocator l1 = wormhole_l1();
  // 100-B pages round to 112 (L1 alignment 16), one per bank; the block rounds to 128 (DRAM alignment 32).
  EXPECT_EQ(l1.aligned_size_per_bank(6'400, 100), 112u);  // tt-metal's Buffer::aligned_size_per_bank()
  EXPECT_EQ(l1.block_per_bank(6'400, 100), 128u);
  const Placement p = l1.allocate(6'400, 100);
  EXPECT_EQ(p.bytes_per_bank, 112u);
  EXPECT_EQ(p.block_per_bank, 128u);
  BankAllocator dram = wormhole_dram();
  EXPECT_EQ(dram.aligned_size_per_bank(12 * 100, 100), 128u);  // 100 -> 128 per page, one page per bank
  EXPECT_EQ(dram.block_per_bank(12 * 100, 100), 128u);
}

TEST(Allocator, FirstFitReusesHolesAndCoalescesOnFree) {
  BankAllocator dram = wormhole_dram();
  const uint64_t block = 12 * 1024;  // 1 KiB per bank
  const uint64_t a = dram.allocate(block, 1024).address;
  const uint64_t b = dram.allocate(block, 1024).address;
  const uint64_t c = dram.allocate(block, 1024).address;
  EXPECT_EQ(b, a + 1024);
  EXPECT_EQ(c, b + 1024);
  dram.deallocate(a);
  dram.deallocate(b);                                    // a and b coalesce into one 2 KiB hole
  EXPECT_EQ(dram.allocate(2 * block, 1024).address, a);  // fits the coalesced hole, lowest address first
  const FreeListStats s = dram.stats();
  EXPECT_EQ(s.allocated, 3 * 1024u);
  EXPECT_EQ(s.lowest_occupied, a);
}

TEST(Allocator, FragmentationShowsInLargestFreeBlockAndOom) {
  const Architecture& arch = wormhole_b0();
  BankAllocator l1 = wormhole_l1();
  // Fill L1 with 1 KiB-per-bank buffers, then free every other one: half the memory is free, in 1 KiB holes.
  std::vector<uint64_t> addresses;
  try {
    for (;;) addresses.push_back(l1.allocate(64 * 1024, 1024).address);
  } catch (const OutOfMemory&) {
  }
  ASSERT_GT(addresses.size(), 100u);
  for (size_t i = 0; i < addresses.size(); i += 2) l1.deallocate(addresses[i]);
  const FreeListStats s = l1.stats();
  EXPECT_GE(s.free, arch.l1_bank_size() / 2 - 1024);
  // 1362 blocks fit (the 736-B remainder sits at the bottom, next to the lowest block, which stays
  // allocated).
  ASSERT_EQ(addresses.size(), arch.l1_bank_size() / 1024);
  EXPECT_EQ(s.largest_free_block, 1024u);
  try {
    l1.allocate(64 * 2048, 2048);
    FAIL() << "a 2 KiB-per-bank buffer must not fit in 1 KiB holes";
  } catch (const OutOfMemory& e) {
    const std::string text = e.what();
    EXPECT_NE(
        text.find(
            "Out of Memory: Not enough space to allocate 131072 B L1 buffer across 64 banks, where each "
            "bank needs to store 2048 B, but bank size is 1395424 B"),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("largest free block: " + std::to_string(s.largest_free_block) + " B"),
              std::string::npos);
  }
}

TEST(Allocator, BlackholeUsesItsOwnBanksAndAlignment) {
  const Architecture& a = blackhole();
  BankAllocator dram("DRAM", a.dram_banks, a.dram_base, a.dram_bank_size, a.dram_alignment, a.dram_alignment,
                     true);
  const Placement p = dram.allocate(1'048'576, 2'048);  // 512 pages over 8 banks = 64 pages per bank
  EXPECT_EQ(p.address, 64u);
  EXPECT_EQ(p.bytes_per_bank, 131'072u);
  EXPECT_EQ(a.l1_banks(), 130u);
}

TEST(Mesh, NotEnoughDevicesIsAClearError) {
  MeshOptions options;
  options.available_devices = 4;
  try {
    MeshDevice::open(options);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "Not enough devices: requested 8, system has 4");
  }
}

// int32/uint32 shards hold the integers themselves: every value exact (a float holds them only up to 2^24),
// through distribute/aggregate in doubles and in the ops, and integer data is taken modulo 2^32.
TEST(Mesh, WideIntegerShardsAreExact) {
  Shard ints(DataType::Int32, 4);
  const double in[4] = {2147483647.0, -2147483648.0, 16777217.0, 2147483648.0};
  ints.write(0, 4, in);
  double out[4];
  ints.read(0, 4, out);
  EXPECT_EQ(out[0], 2147483647.0);
  EXPECT_EQ(out[1], -2147483648.0);
  EXPECT_EQ(out[2], 16777217.0);
  EXPECT_EQ(out[3], -2147483648.0);  // 2^31 wraps, as int64 -> int32 does
  Shard uints(DataType::UInt32, 2);
  const double u[2] = {4294967295.0, -100.0};
  uints.write(0, 2, u);
  uints.read(0, 2, out);
  EXPECT_EQ(out[0], 4294967295.0);
  EXPECT_EQ(out[1], 4294967196.0);

  MeshOptions one;
  one.rows = one.cols = 1;
  one.physical_ids = {9};
  auto mesh = MeshDevice::open(one);
  const std::vector<double> values = {2147483647.0, 16777217.0, -16777219.0, 5.0};
  const MeshTensor a = distribute_double(mesh, values.data(), {1, 4}, DataType::Int32, Layout::RowMajor,
                                         BufferType::DRAM, Distribution{});
  EXPECT_EQ(aggregate_double(a, Distribution{}, nullptr), values);
  const MeshTensor doubled = add(a, a);  // computed in doubles, wrapping as the device's int32 add
  EXPECT_EQ(aggregate_double(doubled, Distribution{}, nullptr),
            (std::vector<double>{-2.0, 33554434.0, -33554438.0, 10.0}));
  const MeshTensor total = sum(a, 1);
  EXPECT_EQ(aggregate_double(total, Distribution{}, nullptr),
            (std::vector<double>{-2147483646.0}));  // 2^31 + 2 wraps
}

// What the holders view shows of a tensor (docs/attribution.md): type, layout, global shape, memory and how
// it lies on the mesh, for inputs (distribute), op outputs (allocate_tensor) and copies (relocate).
TEST(Mesh, TensorsDescribeWhatTheyAre) {
  MeshOptions options;
  options.hold_data = false;
  auto mesh = MeshDevice::open(options);  // 2x4
  const std::vector<float> none;
  const MeshTensor flat = distribute(mesh, none.data(), {1, 1, 1024, 1024}, DataType::BFloat16, Layout::Tile,
                                     BufferType::DRAM, Distribution{-1, -1, 3});
  EXPECT_EQ(tensor_description(flat),
            "bfloat16 TILE [1, 1, 1024, 1024] DRAM interleaved, sharded dim 3 over 8");
  const MeshTensor replicated = distribute(mesh, none.data(), {32, 64}, DataType::Float32, Layout::RowMajor,
                                           MemoryConfig(BufferType::L1, 8), Distribution{});
  EXPECT_EQ(tensor_description(replicated), "float32 ROW_MAJOR [32, 64] L1 sharded over 8 cores, replicated");
  const MeshTensor grid = distribute(mesh, none.data(), {64, 128}, DataType::BFloat8B, Layout::Tile,
                                     BufferType::DRAM, Distribution{0, 1, -1});
  EXPECT_EQ(tensor_description(grid),
            "bfloat8_b TILE [64, 128] DRAM interleaved, sharded dim 0 over 2 rows, dim 1 over 4 columns");
  const MeshTensor rows = distribute(mesh, none.data(), {64, 128}, DataType::BFloat16, Layout::Tile,
                                     BufferType::DRAM, Distribution{1, -1, -1});
  EXPECT_EQ(tensor_description(rows),
            "bfloat16 TILE [64, 128] DRAM interleaved, sharded dim 1 over 2 rows, replicated over 4 columns");
  // An op's output: the global shape from the per-device one.
  const MeshTensor out = allocate_like(flat, {1, 1, 1024, 128});
  EXPECT_EQ(tensor_description(out),
            "bfloat16 TILE [1, 1, 1024, 1024] DRAM interleaved, sharded dim 3 over 8");
  EXPECT_EQ(tensor_description(relocate(flat, BufferType::L1, Layout::RowMajor)),
            "bfloat16 ROW_MAJOR [1, 1, 1024, 1024] L1 interleaved, sharded dim 3 over 8");
  MeshOptions one;
  one.rows = one.cols = 1;
  one.physical_ids = {9};
  one.hold_data = false;
  const MeshTensor alone = allocate_tensor(MeshDevice::open(one), {32, 32}, DataType::UInt32, Layout::Tile,
                                           BufferType::DRAM, Distribution{});
  EXPECT_EQ(tensor_description(alone), "uint32 TILE [32, 32] DRAM interleaved");  // one device: no mesh
}

TEST(Mesh, MeshBuffersAreLockStepAndFreedAtClose) {
  auto mesh = MeshDevice::open(MeshOptions{});
  EXPECT_EQ(mesh->physical_ids(), (std::vector<int>{4, 0, 3, 7, 5, 1, 2, 6}));
  const uint64_t baseline = mesh->allocator(BufferType::DRAM).stats().allocated;
  EXPECT_GT(baseline, 0u);  // system buffers
  auto buffer = mesh->allocate(BufferType::DRAM, 104'857'600, 2'048);
  EXPECT_EQ(buffer->placement().bytes_per_bank, (104'857'600u / 2'048 + 11) / 12 * 2'048);
  buffer->deallocate();
  EXPECT_EQ(mesh->allocator(BufferType::DRAM).stats().allocated, baseline);
  auto kept = mesh->allocate(BufferType::L1, 65'536, 2'048);
  mesh->close();
  EXPECT_FALSE(kept->allocated());
}

TEST(Mesh, L1SmallAndTraceRegionsAreCarvedFromTheTop) {
  MeshOptions options;
  options.rows = 1;
  options.cols = 2;
  options.l1_small_size = 32 * 1024;
  options.trace_region_size = 1 << 20;
  auto mesh = MeshDevice::open(options);
  const Architecture& a = wormhole_b0();
  auto small = mesh->allocate(BufferType::L1_SMALL, 64 * 2048, 2048);
  EXPECT_EQ(small->address(), a.l1_size - 2048);
  auto trace = mesh->allocate(BufferType::TRACE, 12 * 4096, 4096, true);
  EXPECT_EQ(trace->address(), a.dram_base + a.dram_bank_size - (1 << 20));
  auto l1 = mesh->allocate(BufferType::L1, 64 * 2048, 2048);
  // Below L1_SMALL and below the system L1 buffer allocated at open (one 2 KiB page per bank).
  EXPECT_EQ(l1->address(), a.l1_size - 32 * 1024 - 2 * 2048);
  mesh->close();
}

// tt-metal launches a program only if its static CBs end below the lowest L1 buffer; the emulated mesh too.
TEST(Mesh, ProgramWhoseCircularBuffersReachAnL1BufferIsRefused) {
  MeshOptions options;
  options.rows = options.cols = 1;
  auto mesh = MeshDevice::open(options);
  // 1290240 B per bank, top-down below the system buffer's 2048 B: the lowest L1 buffer is at 206848.
  auto big = mesh->allocate(BufferType::L1, 82575360, 2048);
  EXPECT_EQ(big->address(), 206848u);
  try {
    mesh->begin_program("matmul", 110000, 24576);
    FAIL() << "the program was launched";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(
        e.what(),
        "Statically allocated circular buffers in program matmul clash with L1 buffers on core range "
        "[0-0 - 7-7]. L1 buffer allocated at 206848 and static circular buffer region ends at 213728");
  }
  mesh->begin_program("matmul", 100000, 24576);  // ends at 203712: fits
  mesh->end_program(100000);
}

// A mesh that nobody closed goes away with its last user (its system buffers used to keep it alive forever).
TEST(Mesh, AMeshNobodyClosedIsFreedWithItsLastUser) {
  std::weak_ptr<MeshDevice> watch;
  std::shared_ptr<MeshBuffer> survivor;
  {
    MeshOptions options;
    options.rows = 1;
    options.cols = 2;
    auto mesh = MeshDevice::open(options);
    watch = mesh;
    survivor = mesh->allocate(BufferType::DRAM, 4096, 2048);
  }
  EXPECT_TRUE(watch.expired());
  EXPECT_FALSE(survivor->allocated());  // closing freed it; its own destructor then has nothing to do
}

// tt-metal opens a mesh over devices another open mesh holds (its device manager activates only devices not
// active yet) and gives every mesh its own allocator. The process's registration of a device with the tracker
// lasts until the last mesh holding it closes, whichever closes first: the server keeps every byte of the
// mesh still open, and sees no free on an unregistered device.
TEST(Mesh, AMeshOpensOverADeviceAnotherMeshHoldsAndTheLastCloseUnregistersIt) {
  test::Server server(test::temp_socket_path("shared_device"));
  allocmon_configure(1, server.socket().c_str());
  const uint64_t system = wormhole_b0().system_dram_bytes;
  const uint64_t mib = 1 << 20;
  auto dram = [&](int device) {
    EXPECT_EQ(allocmon_flush(5000), ALLOCMON_FLUSH_OK);
    const auto snapshot = test::query_snapshot(server.socket());
    for (const auto& d : snapshot["devices"])
      if (d["id"] == device) return d["memory"]["DRAM"]["allocated"].get<uint64_t>();
    return uint64_t{0};
  };
  for (const bool wide_closes_first : {true, false}) {
    SCOPED_TRACE(wide_closes_first ? "2x4 closed first" : "1x1 closed first");
    MeshOptions one;
    one.rows = one.cols = 1;
    one.physical_ids = {0};
    auto single = MeshDevice::open(one);
    auto wide = MeshDevice::open(MeshOptions{});  // 2x4 over devices 4, 0, 3, 7, 5, 1, 2, 6
    // Each has its own allocator, system buffers included, over the same memory: tt-metal's meshes do not
    // coordinate their placements either.
    EXPECT_EQ(wide->allocator(BufferType::DRAM).stats().allocated,
              single->allocator(BufferType::DRAM).stats().allocated);
    auto on_single = single->allocate(BufferType::DRAM, mib, 2048);
    auto on_wide = wide->allocate(BufferType::DRAM, mib, 2048);
    EXPECT_EQ(on_single->address(), on_wide->address());
    EXPECT_NE(on_single->id(), on_wide->id());  // buffer ids stay unique in the process
    for (int device = 0; device < 8; ++device) EXPECT_EQ(allocmon_device_registered(device), 1) << device;
    EXPECT_EQ(dram(0), 2 * (system + mib));
    EXPECT_EQ(dram(4), system + mib);

    auto& first = wide_closes_first ? wide : single;
    auto& second = wide_closes_first ? single : wide;
    first->close();
    EXPECT_EQ(allocmon_device_registered(0), 1);  // the other mesh still holds device 0
    EXPECT_EQ(allocmon_device_registered(4), wide_closes_first ? 0 : 1);
    EXPECT_EQ(dram(0), system + mib);
    EXPECT_EQ(dram(4), wide_closes_first ? 0 : system + mib);
    auto more = second->allocate(BufferType::DRAM, mib, 2048);  // the other mesh keeps working
    EXPECT_EQ(dram(0), system + 2 * mib);
    if (wide_closes_first) {
      second->close();  // its only device was closed by the 2x4 mesh's close: tt-metal closes it (and warns)
    } else {
      // The 1x1 mesh's close closed device 0 (the only device active when it opened) under the 2x4 mesh,
      // whose close then throws as tt-metal's does (its devices disagree) and leaves it open.
      EXPECT_THROW(second->close(), std::runtime_error);
      EXPECT_TRUE(second->is_open());
      EXPECT_EQ(dram(0), system + 2 * mib);
      second.reset();  // the last reference: the destructor closes it without the check
    }
    for (int device = 0; device < 8; ++device) EXPECT_EQ(allocmon_device_registered(device), 0) << device;
    EXPECT_EQ(dram(0), 0u);
  }
  const auto snapshot = test::query_snapshot(server.socket());
  EXPECT_EQ(snapshot["counters"]["problems"]["unregistered_device"], 0);
  EXPECT_EQ(snapshot["totals"]["buffers"], 0);
  // One mesh naming a device twice stays an error, and leaves nothing registered.
  MeshOptions twice;
  twice.rows = 1;
  twice.cols = 2;
  twice.physical_ids = {3, 3};
  try {
    MeshDevice::open(twice);
    FAIL() << "a mesh opened device 3 twice";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "physical_ids lists device 3 twice");
  }
  EXPECT_EQ(allocmon_device_registered(3), 0);
  allocmon_configure(0, nullptr);
}
