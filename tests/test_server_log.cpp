// The server's log as an operator reads it: the statistics block of an idle --quiet server, devices holding
// nothing, and what an ordinary free looks like.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "server/accounting.hpp"
#include "server/event_log.hpp"

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
