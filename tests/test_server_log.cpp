// The server's log as an operator reads it: the statistics block of an idle --quiet server, devices holding
// nothing, and what an ordinary free looks like.
#include <fcntl.h>
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

namespace {

// A pipe of one page (4 KiB): what the log backlog must absorb does not depend on the machine's pipe size.
void small_pipe(int fds[2]) {
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_GE(::fcntl(fds[1], F_SETPIPE_SZ, 4096), 4096);
}

// Checks what a LogWriter's reader got for `lines` numbered lines: runs in order, and at every gap the notice
// with the exact number of lines missing there. Returns the lines dropped in all.
uint64_t check_gaps_are_counted(const std::string& received, int lines) {
  const std::string notice_start = "⚠ allocation_server: ";
  int next = 0;
  uint64_t dropped = 0;
  for (size_t at = 0; at < received.size();) {
    const size_t end = received.find('\n', at);
    EXPECT_NE(end, std::string::npos) << "an unterminated last line";
    if (end == std::string::npos) break;
    const std::string line = received.substr(at, end - at);
    at = end + 1;
    if (line.starts_with(notice_start)) {
      const uint64_t missing = std::stoull(line.substr(notice_start.size()));
      EXPECT_NE(line.find(" log lines dropped: the log output was not read fast enough"), std::string::npos);
      next += static_cast<int>(missing);
      dropped += missing;
      continue;
    }
    int number = -1;
    EXPECT_EQ(std::sscanf(line.c_str(), "line %d", &number), 1) << line;
    EXPECT_EQ(number, next) << "a line missing without a notice, or out of order";
    next = number + 1;
  }
  EXPECT_EQ(next, lines) << "the last lines are neither received nor counted";
  return dropped;
}

// Writes `lines` numbered lines, every other one long (line lengths differ, as the server's do).
void write_lines(LogWriter& writer, int lines) {
  const std::string padding(200, '.');
  for (int i = 0; i < lines; ++i)
    std::fprintf(writer.file(), "line %06d of the allocation log %s\n", i, i % 2 ? padding.c_str() : "");
}

}  // namespace

// A log nobody reads must not stop the server: lines past the backlog are dropped, counted, and the count is
// written where they are missing once the reader catches up.
TEST(LogWriter, AnUnreadPipeNeverBlocksTheServerAndTheDroppedLinesAreCounted) {
  int fds[2];
  small_pipe(fds);
  constexpr int kLines = 20000;  // ~2.4 MB: far more than the pipe and the backlog hold
  uint64_t dropped = 0;
  std::string received;
  std::thread reader;
  {
    LogWriter writer(fds[1], 64 * 1024);
    write_lines(writer, kLines);
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
  EXPECT_EQ(check_gaps_are_counted(received, kLines), dropped);
}

// A slow reader: the writer takes the backlog many times, and every gap is marked where it is.
TEST(LogWriter, ASlowReaderGetsEveryGapMarkedWhereItIs) {
  int fds[2];
  small_pipe(fds);
  constexpr int kLines = 20000;
  std::string received;
  std::thread reader([&] {
    char chunk[512];  // small reads: the writer keeps waiting for room
    for (ssize_t n; (n = ::read(fds[0], chunk, sizeof(chunk))) > 0;) received.append(chunk, n);
  });
  uint64_t dropped = 0;
  {
    LogWriter writer(fds[1], 4096);
    write_lines(writer, kLines);
    dropped = writer.dropped_lines();
  }
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  EXPECT_EQ(check_gaps_are_counted(received, kLines), dropped);
}

// A terminal nobody reads (a stalled ssh session): a terminal that polls writable still blocks a write larger
// than its room, so the writer writes through a non-blocking description of its own and shutdown finishes.
TEST(LogWriter, ShutdownFinishesOnATerminalNobodyReads) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  const int terminal = ::open(::ptsname(master), O_WRONLY | O_NOCTTY);
  ASSERT_GE(terminal, 0);
  {
    LogWriter writer(terminal, 64 * 1024);
    write_lines(writer, 10000);
    EXPECT_GT(writer.dropped_lines(), 0u);
  }  // hung here in write() before
  ::close(terminal);
  ::close(master);
}

// Shutdown with a reader that never reads, or one that is gone, still finishes (what is pending is given up).
TEST(LogWriter, ShutdownFinishesWhetherTheReaderNeverReadsOrIsGone) {
  for (const bool reader_gone : {false, true}) {
    int fds[2];
    small_pipe(fds);
    if (reader_gone) ::close(fds[0]);
    {
      LogWriter writer(fds[1], 64 * 1024);
      write_lines(writer, 10000);
      if (!reader_gone) {
        EXPECT_GT(writer.dropped_lines(), 0u);
      }
    }  // returns after at most LogWriter::kShutdownWaitMs without progress
    ::close(fds[1]);
    if (!reader_gone) ::close(fds[0]);
  }
}
