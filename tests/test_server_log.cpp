// The server's log as an operator reads it: the statistics block of an idle --quiet server, devices holding
// nothing, and what an ordinary free looks like.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "server/accounting.hpp"
#include "server/event_log.hpp"
#include "server/log_writer.hpp"

using namespace allocmon;
using namespace allocmon::server;

namespace {

struct Captured {
  char* text = nullptr;
  size_t size = 0;
  size_t taken = 0;
  std::FILE* file = open_memstream(&text, &size);
  ~Captured() {
    if (file) std::fclose(file);
    std::free(text);
  }
  // What was written since the last take(). The stream stays open: the log under test holds this FILE*.
  std::string take() {
    std::fflush(file);
    std::string out(text + taken, size - taken);
    taken = size;
    return out;
  }
};

wire::RegisterDevice device(int id) {
  wire::RegisterDevice r{};
  r.device_id = id;
  r.mesh_row = r.mesh_col = -1;
  r.capacity[ALLOCMON_DRAM] = 1 << 30;
  std::strcpy(r.architecture, "wormhole_b0");
  return r;
}

}  // namespace

TEST(ServerLog, AnIdleQuietServerPrintsNoPeriodicStatisticsAndEmptyDevicesShareOneLine) {
  Accounting a;
  a.add_client(1, 100, 0, "alpha");
  for (int id = 0; id < 32; ++id) a.register_device(1, device(id));
  Captured out;
  EventLog log(out.file, /*quiet=*/true);
  log.statistics(a, /*periodic=*/true);
  const std::string first = out.take();
  EXPECT_NE(first.find("Current Statistics"), std::string::npos);
  EXPECT_NE(first.find("Devices with nothing allocated: 0 1 2"), std::string::npos) << first;
  EXPECT_EQ(first.find("Device 5:"), std::string::npos) << first;
  EXPECT_LT(std::count(first.begin(), first.end(), '\n'), 8) << first;
  log.statistics(a, /*periodic=*/true);  // nothing changed: nothing printed
  EXPECT_EQ(out.take(), "");
  log.statistics(a);  // asked for (SIGUSR1, shutdown): always printed
  EXPECT_NE(out.take().find("Current Statistics"), std::string::npos);
}

TEST(ServerLog, AnOrdinaryFreeIsNotMarkedAsAFailure) {
  Captured out;
  EventLog log(out.file, /*quiet=*/false);
  wire::Event e{};
  e.buffer_id = 7;
  e.device_id = 0;
  log.freed(100, e, 4096);
  const std::string text = out.take();
  EXPECT_NE(text.find("Freed buffer 0x7"), std::string::npos) << text;
  EXPECT_EQ(text.find("✗"), std::string::npos) << text;
}

// A log nobody reads must not stop the server: lines past the backlog are dropped, counted, and the count is
// written once the reader catches up; what arrives is the first lines, in order.
TEST(LogWriter, AnUnreadPipeNeverBlocksTheServerAndTheDroppedLinesAreCounted) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  constexpr int kLines = 20000;  // ~1 MiB: far more than the pipe (64 KiB) and the backlog hold
  uint64_t dropped = 0;
  std::string received;
  std::thread reader;
  {
    LogWriter writer(fds[1], 64 * 1024);
    for (int i = 0; i < kLines; ++i) std::fprintf(writer.file(), "line %06d of the allocation log\n", i);
    dropped = writer.dropped_lines();
    EXPECT_GT(dropped, 0u);
    reader = std::thread([&] {  // the reader comes back; the destructor then writes what is pending
      char chunk[65536];
      for (ssize_t n; (n = ::read(fds[0], chunk, sizeof(chunk))) > 0;) received.append(chunk, n);
    });
  }
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  const std::string notice = "⚠ allocation_server: " + std::to_string(dropped) +
                             " log lines dropped: the log output was not read fast enough\n";
  ASSERT_GE(received.size(), notice.size());
  EXPECT_EQ(received.substr(received.size() - notice.size()), notice);
  const std::string lines = received.substr(0, received.size() - notice.size());
  char expected[64];
  size_t at = 0;
  int i = 0;
  for (; at < lines.size(); ++i) {
    const int length = std::snprintf(expected, sizeof(expected), "line %06d of the allocation log\n", i);
    ASSERT_EQ(lines.compare(at, length, expected), 0) << "at line " << i;
    at += length;
  }
  EXPECT_EQ(static_cast<uint64_t>(i) + dropped, static_cast<uint64_t>(kLines));
}

// Shutdown with a reader that never reads, or one that is gone, still finishes (what is pending is given up).
TEST(LogWriter, ShutdownFinishesWhetherTheReaderNeverReadsOrIsGone) {
  for (const bool reader_gone : {false, true}) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    if (reader_gone) ::close(fds[0]);
    {
      LogWriter writer(fds[1], 64 * 1024);
      for (int i = 0; i < 10000; ++i) std::fprintf(writer.file(), "line %06d of the allocation log\n", i);
    }  // returns after at most LogWriter::kShutdownWaitMs without progress
    ::close(fds[1]);
    if (!reader_gone) ::close(fds[0]);
  }
}
