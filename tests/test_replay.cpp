// What-if replay: text traces with known layouts, both architectures, OOM wording, and the CLI's exit codes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "replay/replayer.hpp"

using namespace allocmon::replay;
using allocmon::mesh::BufferType;

namespace {

std::vector<LineResult> run(Replayer& replayer, const Trace& trace) {
  std::vector<LineResult> results;
  for (const auto& c : trace.commands) results.push_back(replayer.apply(c));
  return results;
}

}  // namespace

TEST(Replay, BytesPerBankIsTtMetalsAlignedSizeAndTheBlockIsNamedApart) {
  // A 100-B L1 page, one per bank: tt-metal's aligned_size_per_bank() is 112 (16-B L1 alignment); the free
  // list reserves a 128-B block (32-B DRAM alignment). The JSON said 128 under bytes_per_bank.
  const Trace trace = parse_trace("arch wormhole_b0\nalloc a L1 6400 100\n");
  Replayer replayer(*trace.target);
  const auto results = run(replayer, trace);
  const auto j = nlohmann::json::parse(format_line_json(results[0]));
  EXPECT_EQ(j["bytes_per_bank"], 112);
  EXPECT_EQ(j["block_per_bank"], 128);
  EXPECT_NE(format_line(results[0]).find("(112 B in each of 64 banks, a block of 128 B)"), std::string::npos);
}

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
  // Peaks: what the buffers asked for (as the monitor counts) and what the banks reserved.
  EXPECT_EQ(replayer.summary().peak_requested.at(BufferType::DRAM), 1048576u + 4096u);
  EXPECT_EQ(replayer.summary().peak_bytes.at(BufferType::DRAM), (88064u + 4096u) * 12u);
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

TEST(Replay, ShardedBuffersSplitOverTheirCoresOnly) {
  const Trace trace = parse_trace(
      "alloc s L1 65536 2048 shards=4   # 32 pages over 4 cores: 8 pages each\n"
      "alloc i L1 65536 2048            # interleaved over 64 banks: 1 page each\n"
      "alloc w L1 2048 2048 shards=65\n");
  Replayer replayer(Target{});
  const auto r = run(replayer, trace);
  EXPECT_EQ(r[0].placement.banks, 4u);
  EXPECT_EQ(r[0].placement.bytes_per_bank, 16384u);
  EXPECT_EQ(r[0].placement.address, 1499136u - 16384u);
  EXPECT_EQ(r[1].placement.address, 1499136u - 16384u - 2048u);  // below it in every bank: lock-step
  ASSERT_EQ(r[2].outcome, LineResult::kOutOfMemory);
  EXPECT_EQ(r[2].message, "a L1 buffer sharded over 65 cores, but there are only 64 L1 banks");
}

TEST(Replay, CircularBuffersThatReachTheLowestL1BufferClashAsInTtMetal) {
  const Trace trace = parse_trace(
      "alloc big L1 82575360 2048   # 1290240 B per bank, top-down: lowest at 208896\n"
      "cb fits 100000               # ends at 103712 + 100000 = 203712\n"
      "free fits\n"
      "cb p 110000                  # ends at 213728 (DRAM-aligned): clash\n"
      "free p\n"
      "free big\n"
      "cb huge 1400000\n");
  Replayer replayer(Target{});
  const auto r = run(replayer, trace);
  ASSERT_EQ(r[1].outcome, LineResult::kCircularBuffers);
  EXPECT_EQ(r[1].cb_region_end, 203712u);
  EXPECT_EQ(r[2].outcome, LineResult::kFreed);
  ASSERT_EQ(r[3].outcome, LineResult::kCbClash);
  EXPECT_EQ(
      r[3].message,
      "Statically allocated circular buffers in program p clash with L1 buffers on core range [0-0 - 7-7]. "
      "L1 buffer allocated at 208896 and static circular buffer region ends at 213728");
  EXPECT_EQ(r[4].outcome, LineResult::kSkippedFree);
  EXPECT_EQ(
      r[6].message,
      "Statically allocated circular buffers on core range [0-0 - 7-7] grow to 1503712 B which is beyond "
      "max L1 size of 1499136 B");
  const Summary& s = replayer.summary();
  EXPECT_FALSE(s.fits());
  EXPECT_EQ(s.cb_clashes, 2);
  EXPECT_EQ(*s.first_oom_line, 4);
  ASSERT_EQ(s.live_at_first_oom.size(), 1u);  // the buffer that would have to go
  EXPECT_EQ(s.live_at_first_oom[0].id, "big");
  EXPECT_EQ(s.peak_cb_bytes, 100000u);
}

TEST(Replay, UnknownPageSizeSpreadsEvenlyAndIsSaidSo) {
  Command c{Command::kAlloc, 1, "old"};
  c.type = BufferType::DRAM;
  c.size = 1000;  // no page size: recorded from a version-1 client
  Replayer replayer(Target{});
  const LineResult r = replayer.apply(c);
  ASSERT_EQ(r.outcome, LineResult::kPlaced);
  EXPECT_TRUE(r.page_size_assumed);
  EXPECT_EQ(r.placement.bytes_per_bank, 96u);  // 1024 B in 32-B pages: 32 pages over 12 banks, 3 each
  EXPECT_EQ(replayer.summary().page_sizes_assumed, 1);
}

TEST(Replay, NewSyntaxErrorsNameTheLine) {
  EXPECT_THROW(parse_trace("alloc a L1 2048 2048 shards=0\n"), TraceError);
  EXPECT_THROW(parse_trace("alloc a L1 2048 2048 sideways\n"), TraceError);
  EXPECT_THROW(parse_trace("cb x\n"), TraceError);
  const Trace t = parse_trace("alloc a L1 2048 2048 top_down shards=2\ncb b 4096\n");
  EXPECT_EQ(t.commands[0].shards, 2u);
  EXPECT_EQ(t.commands[0].bottom_up, false);
  EXPECT_EQ(t.commands[1].kind, Command::kCircularBuffers);
}
