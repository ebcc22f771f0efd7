// What-if replay: text traces with known layouts, both architectures, OOM wording, and the CLI's exit codes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "replay/replayer.hpp"

using namespace allocmon::replay;

namespace {

std::vector<LineResult> run(Replayer& replayer, const Trace& trace) {
  std::vector<LineResult> results;
  for (const auto& c : trace.commands) results.push_back(replayer.apply(c));
  return results;
}

}  // namespace

TEST(Replay, WormholeWorkedExample) {
  const Trace trace = parse_trace(
      "arch wormhole_b0\n"
      "alloc a DRAM 1048576 2048   # 512 pages over 12 banks: 43 pages per bank\n"
      "alloc b DRAM 4096 4096\n"
      "alloc c L1 65536 2048\n"
      "stats L1\n");
  Replayer replayer(*trace.target);
  const auto r = run(replayer, trace);
  EXPECT_EQ(r[0].placement.address, 32u);
  EXPECT_EQ(r[0].placement.bytes_per_bank, 88064u);
  EXPECT_EQ(r[1].placement.address, 88096u);
  EXPECT_EQ(r[2].placement.address, 1499136u - 2048u);
  EXPECT_EQ(r[3].stats.allocated, 2048u);
  EXPECT_EQ(r[3].stats.largest_free_block, 1395424u - 2048u);
  EXPECT_EQ(format_line(r[0]), "L2 alloc a DRAM 1048576 -> address 32 (88064 B in each of 12 banks)");
  EXPECT_TRUE(replayer.summary().fits());
}

TEST(Replay, BlackholeLayout) {
  const Trace trace = parse_trace("arch blackhole\nalloc a DRAM 1048576 2048\nalloc b L1 262144 2048\n");
  Replayer replayer(*trace.target);
  const auto r = run(replayer, trace);
  EXPECT_EQ(r[0].placement.address, 64u);               // BH unreserved base
  EXPECT_EQ(r[0].placement.bytes_per_bank, 131072u);    // 512 pages over 8 banks
  EXPECT_EQ(r[1].placement.banks, 130u);                // 13x10 grid
  EXPECT_EQ(r[1].placement.bytes_per_bank, 2048u);      // 128 pages over 130 banks: 1 page each
  EXPECT_EQ(r[1].placement.address, 1572864u - 2048u);  // top-down from the top of L1
}

TEST(Replay, OutOfMemoryUsesTtMetalsWordingAndListsLiveBuffers) {
  const Trace trace = parse_trace(
      "alloc keep L1 8388608 2048\n"
      "alloc huge L1 134217728 2048\n"
      "free huge\n"
      "free never\n");
  Replayer replayer(Target{});
  const auto r = run(replayer, trace);
  ASSERT_EQ(r[1].outcome, LineResult::kOutOfMemory);
  EXPECT_EQ(
      r[1].message,
      "Out of Memory: Not enough space to allocate 134217728 B L1 buffer across 64 banks, where each bank "
      "needs "
      "to store 2097152 B, but bank size is 1395424 B (allocated: 131072 B, free: 1264352 B, largest free "
      "block: 1264352 B)");
  EXPECT_EQ(r[2].outcome, LineResult::kSkippedFree);
  EXPECT_EQ(r[3].outcome, LineResult::kUnknownFree);
  const Summary& s = replayer.summary();
  EXPECT_FALSE(s.fits());
  EXPECT_EQ(*s.first_oom_line, 2);
  ASSERT_EQ(s.live_at_first_oom.size(), 1u);
  EXPECT_EQ(s.live_at_first_oom[0].id, "keep");
}

TEST(Replay, SmallerGridRunsOutWhereTheFullGridFits) {
  const Trace trace = parse_trace("alloc a L1 33554432 2048\nalloc b L1 33554432 2048\n");
  Target full;
  Target small;
  small.grid = std::make_pair(4u, 4u);
  Replayer a(full), b(small);
  run(a, trace);
  run(b, trace);
  EXPECT_TRUE(a.summary().fits());
  EXPECT_FALSE(b.summary().fits());
  EXPECT_EQ(*b.summary().first_oom_line, 1);  // 2 MiB per bank does not fit 1.36 MB banks
}

TEST(Replay, RegionsAndDirections) {
  const Trace trace = parse_trace(
      "arch wormhole_b0 l1_small=32768 trace=1048576\n"
      "alloc s L1_SMALL 131072 2048\n"
      "alloc t TRACE 49152 4096\n"
      "alloc u L1 131072 2048 bottom_up\n");
  Replayer replayer(*trace.target);
  const auto r = run(replayer, trace);
  EXPECT_EQ(r[0].placement.address, 1499136u - 2048u);
  EXPECT_EQ(r[1].placement.address, 32u + 1073741792u - 1048576u);
  EXPECT_EQ(r[2].placement.address, 103712u);
}

TEST(Replay, BadInputNamesTheLine) {
  try {
    parse_trace("arch wormhole_b0\nalloc x DRAM 1000 300\n");
    FAIL();
  } catch (const TraceError& e) {
    EXPECT_EQ(e.line(), 2);
    EXPECT_STREQ(e.what(), "line 2: size 1000 is not a multiple of the page size 300");
  }
  EXPECT_THROW(parse_trace("alloc x HBM 4096 4096\n"), TraceError);
  EXPECT_THROW(parse_trace("arch wormhole_b0 grid=8y8\n"), TraceError);
  EXPECT_THROW(parse_trace("frobnicate\n"), TraceError);
}

TEST(Replay, CliExitCodes) {
  const std::string bin = std::string(ALLOCMON_BUILD_DIR) + "/allocmon-replay";
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "fits.trace") << "alloc a L1 33554432 2048\n";
  std::ofstream(dir + "bad.trace") << "alloc a L1 33554432\n";
  auto status = [](const std::string& command) {
    const int raw = std::system((command + " > /dev/null 2>&1").c_str());
    return WEXITSTATUS(raw);
  };
  EXPECT_EQ(status(bin + " " + dir + "fits.trace"), 0);
  EXPECT_EQ(status(bin + " " + dir + "fits.trace --grid 4x4"), 3);
  EXPECT_EQ(status(bin + " " + dir + "fits.trace --compare wormhole_b0:4x4"), 3);
  EXPECT_EQ(status(bin + " " + dir + "bad.trace"), 1);
  EXPECT_EQ(status(bin + " " + dir + "fits.trace --json"), 0);
}
