// Accounting rules, exercised directly on the server's bookkeeping.
#include <gtest/gtest.h>

#include "server/accounting.hpp"

using namespace allocmon;
using namespace allocmon::server;

namespace {

wire::RegisterDevice device(int id, uint64_t dram_capacity = 1000) {
  wire::RegisterDevice r{};
  r.device_id = id;
  r.mesh_row = r.mesh_col = -1;
  r.capacity[ALLOCMON_DRAM] = dram_capacity;
  std::strcpy(r.architecture, "wormhole_b0");
  return r;
}

wire::Event alloc(int dev, int type, uint64_t size, uint64_t id) {
  return {id, size, id * 32, dev, static_cast<uint8_t>(wire::EventKind::kAlloc), static_cast<uint8_t>(type),
          0};
}
wire::Event release(int dev, uint64_t id) {
  return {id, 0, 0, dev, static_cast<uint8_t>(wire::EventKind::kFree), 0, 0};
}

class AccountingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a.add_client(1, 100, 0, "alpha");
    a.add_client(2, 200, 0, "beta");
    a.register_device(1, device(0));
    a.register_device(1, device(1));
    a.register_device(2, device(0));
  }
  const TypeTotals& dev(int id, int type) { return a.devices().at(id).totals[type]; }
  Accounting a;
};

}  // namespace

TEST_F(AccountingTest, AllocAndFreeUpdateDeviceAndProcessTotals) {
  EXPECT_EQ(a.apply(1, alloc(0, ALLOCMON_DRAM, 100, 1), 0).problem, EventProblem::kNone);
  EXPECT_EQ(a.apply(1, alloc(0, ALLOCMON_L1, 30, 2), 0).problem, EventProblem::kNone);
  EXPECT_EQ(a.apply(2, alloc(0, ALLOCMON_DRAM, 7, 1), 0).problem,
            EventProblem::kNone);  // same id, other process
  EXPECT_EQ(dev(0, ALLOCMON_DRAM).bytes, 107u);
  EXPECT_EQ(dev(0, ALLOCMON_DRAM).buffers, 2u);
  EXPECT_EQ(dev(0, ALLOCMON_L1).bytes, 30u);
  EXPECT_EQ(a.process(1)->per_device.at(0)[ALLOCMON_DRAM].bytes, 100u);
  EXPECT_EQ(a.process(2)->per_device.at(0)[ALLOCMON_DRAM].bytes, 7u);
  EXPECT_EQ(a.live_buffers(), 3u);

  const ApplyResult freed = a.apply(1, release(0, 1), 0);
  EXPECT_EQ(freed.problem, EventProblem::kNone);
  EXPECT_EQ(freed.size, 100u);
  EXPECT_EQ(dev(0, ALLOCMON_DRAM).bytes, 7u);
  EXPECT_EQ(a.process(2)->per_device.at(0)[ALLOCMON_DRAM].bytes, 7u);
  EXPECT_EQ(a.live_buffers(), 2u);
}

TEST_F(AccountingTest, PeakIsTheHighWaterMark) {
  a.apply(1, alloc(0, ALLOCMON_DRAM, 100, 1), 0);
  a.apply(1, alloc(0, ALLOCMON_DRAM, 50, 2), 0);
  a.apply(1, release(0, 1), 0);
  a.apply(1, alloc(0, ALLOCMON_DRAM, 20, 3), 0);
  EXPECT_EQ(dev(0, ALLOCMON_DRAM).bytes, 70u);
  EXPECT_EQ(dev(0, ALLOCMON_DRAM).peak, 150u);
  EXPECT_EQ(a.process(1)->per_device.at(0)[ALLOCMON_DRAM].peak, 150u);
}

TEST_F(AccountingTest, UnknownAndDoubleFreesAreCountedAndChangeNothing) {
  a.apply(1, alloc(0, ALLOCMON_DRAM, 100, 1), 0);
  EXPECT_EQ(a.apply(1, release(0, 99), 0).problem, EventProblem::kUnknownFree);
  EXPECT_EQ(a.apply(1, release(0, 1), 0).problem, EventProblem::kNone);
  EXPECT_EQ(a.apply(1, release(0, 1), 0).problem, EventProblem::kDoubleFree);
  EXPECT_EQ(a.apply(2, release(0, 1), 0).problem, EventProblem::kUnknownFree);  // not beta's buffer
  EXPECT_EQ(dev(0, ALLOCMON_DRAM).bytes, 0u);
  EXPECT_EQ(a.counters().problems[static_cast<size_t>(EventProblem::kUnknownFree)], 2u);
  EXPECT_EQ(a.counters().problems[static_cast<size_t>(EventProblem::kDoubleFree)], 1u);
}

TEST_F(AccountingTest, OneProcessCannotFreeAnothersBuffer) {
  a.apply(1, alloc(0, ALLOCMON_DRAM, 100, 5), 0);
  EXPECT_EQ(a.apply(2, release(0, 5), 0).problem, EventProblem::kUnknownFree);
  EXPECT_EQ(dev(0, ALLOCMON_DRAM).bytes, 100u);
}

TEST_F(AccountingTest, DuplicateAllocUnregisteredDeviceAndBadTypeAreRejected) {
  a.apply(1, alloc(0, ALLOCMON_DRAM, 100, 1), 0);
  EXPECT_EQ(a.apply(1, alloc(0, ALLOCMON_DRAM, 100, 1), 0).problem, EventProblem::kDuplicateAlloc);
  EXPECT_EQ(a.apply(2, alloc(1, ALLOCMON_DRAM, 100, 1), 0).problem, EventProblem::kUnregisteredDevice);
  EXPECT_EQ(a.apply(1, alloc(0, 77, 100, 2), 0).problem, EventProblem::kBadMemoryType);
  wire::Event weird = alloc(0, ALLOCMON_DRAM, 1, 3);
  weird.kind = 42;
  EXPECT_EQ(a.apply(1, weird, 0).problem, EventProblem::kBadEventKind);
  EXPECT_EQ(dev(0, ALLOCMON_DRAM).bytes, 100u);
  EXPECT_EQ(a.devices().count(1), 1u);
  EXPECT_EQ(dev(1, ALLOCMON_DRAM).bytes, 0u);
}

TEST_F(AccountingTest, RemovingAClientReclaimsEveryTypeOnEveryDevice) {
  a.apply(1, alloc(0, ALLOCMON_DRAM, 100, 1), 0);
  a.apply(1, alloc(1, ALLOCMON_CB, 40, 2), 0);
  a.apply(1, alloc(1, ALLOCMON_KERNEL, 12, 3), 0);
  a.apply(2, alloc(0, ALLOCMON_DRAM, 9, 1), 0);
  const ReclaimReport report = a.remove_client(1);
  EXPECT_EQ(report.buffers, 3u);
  EXPECT_EQ(report.bytes, 152u);
  EXPECT_EQ(report.bytes_per_device.at(0), 100u);
  EXPECT_EQ(report.bytes_per_device.at(1), 52u);
  EXPECT_EQ(dev(0, ALLOCMON_DRAM).bytes, 9u);
  EXPECT_EQ(dev(1, ALLOCMON_CB).bytes, 0u);
  EXPECT_EQ(dev(1, ALLOCMON_KERNEL).bytes, 0u);
  EXPECT_EQ(a.devices().at(1).registrations, 0);
  EXPECT_EQ(a.devices().at(0).registrations, 1);
  EXPECT_EQ(a.process(1), nullptr);
  EXPECT_EQ(a.counters().reclaimed_bytes, 152u);
}

TEST_F(AccountingTest, UnregisteringADeviceReleasesWhatTheProcessHeldThere) {
  a.apply(1, alloc(0, ALLOCMON_DRAM, 100, 1), 0);
  a.apply(1, alloc(1, ALLOCMON_DRAM, 50, 2), 0);
  const ReclaimReport report = a.unregister_device(1, 1);
  EXPECT_EQ(report.bytes, 50u);
  EXPECT_EQ(dev(1, ALLOCMON_DRAM).bytes, 0u);
  EXPECT_EQ(dev(0, ALLOCMON_DRAM).bytes, 100u);
  EXPECT_EQ(a.apply(1, alloc(1, ALLOCMON_DRAM, 5, 3), 0).problem, EventProblem::kUnregisteredDevice);
}

TEST_F(AccountingTest, ResetForgetsTheClientsStateButKeepsTheClient) {
  a.apply(1, alloc(0, ALLOCMON_DRAM, 100, 1), 0);
  a.reset_client(1);
  EXPECT_EQ(dev(0, ALLOCMON_DRAM).bytes, 0u);
  ASSERT_NE(a.process(1), nullptr);
  a.register_device(1, device(0));
  EXPECT_EQ(a.apply(1, alloc(0, ALLOCMON_DRAM, 100, 1), 0).problem, EventProblem::kNone);
  EXPECT_EQ(dev(0, ALLOCMON_DRAM).bytes, 100u);
  EXPECT_EQ(a.devices().at(0).registrations, 2);
}

TEST_F(AccountingTest, FreeSpaceReportsAreStoredPerDeviceAndType) {
  wire::Event e{0, 900, 400, 0, static_cast<uint8_t>(wire::EventKind::kFreeSpace), ALLOCMON_L1, 0};
  EXPECT_EQ(a.apply(1, e, 0).problem, EventProblem::kNone);
  const FreeSpace& space = a.devices().at(0).free_space[ALLOCMON_L1];
  EXPECT_TRUE(space.known);
  EXPECT_EQ(space.free_bytes, 900u);
  EXPECT_EQ(space.largest_free_block, 400u);
}

TEST(AccountingFreeSpace, AllocatorStatisticsGoWithTheLastRegistrant) {
  // Was: a finished process's "largest free block" stayed in every snapshot.
  Accounting a;
  a.add_client(1, 100, 0, "p");
  wire::RegisterDevice r{};
  r.device_id = 0;
  a.register_device(1, r);
  wire::Event stats{0, 5000, 4096, 0, static_cast<uint8_t>(wire::EventKind::kFreeSpace), ALLOCMON_L1, 0};
  a.apply(1, stats, 0);
  EXPECT_TRUE(a.devices().at(0).free_space[ALLOCMON_L1].known);
  a.remove_client(1);
  EXPECT_FALSE(a.devices().at(0).free_space[ALLOCMON_L1].known);
}

// Issue 24: a device pushed to 175 % of its capacity passed without a word. Crossing the capacity is counted
// (once per crossing, not per alloc above it) and the alloc still applies: the totals stay what was reported.
TEST_F(AccountingTest, CrossingADevicesCapacityIsCountedOncePerCrossing) {
  const auto over = [&] { return a.counters().problems[static_cast<size_t>(EventProblem::kOverCapacity)]; };
  EXPECT_EQ(a.apply(1, alloc(1, ALLOCMON_DRAM, 900, 1), 0).problem, EventProblem::kNone);
  EXPECT_EQ(over(), 0u);
  EXPECT_EQ(a.apply(1, alloc(1, ALLOCMON_DRAM, 500, 2), 0).problem, EventProblem::kNone);  // 1400 of 1000
  EXPECT_EQ(a.apply(1, alloc(1, ALLOCMON_DRAM, 350, 3), 0).problem, EventProblem::kNone);  // 175 %
  EXPECT_EQ(dev(1, ALLOCMON_DRAM).bytes, 1750u);
  EXPECT_EQ(over(), 1u);
  EXPECT_EQ(a.process(1)->problems[static_cast<size_t>(EventProblem::kOverCapacity)], 1u);
  a.apply(1, release(1, 2), 0);
  a.apply(1, release(1, 3), 0);                    // back to 900
  a.apply(1, alloc(1, ALLOCMON_DRAM, 200, 4), 0);  // over again
  EXPECT_EQ(over(), 2u);
  a.apply(1, alloc(1, ALLOCMON_L1, 1u << 30, 5), 0);  // no L1 capacity described: nothing to cross
  EXPECT_EQ(over(), 2u);
  EXPECT_EQ(problem_name(EventProblem::kOverCapacity), "over_capacity");
}
