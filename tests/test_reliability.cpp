// Faults and hostile peers against real processes: a stalled server, flooding and over-limit clients, other
// users, unsafe socket locations.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "common/unix_socket.hpp"
#include "protocol/wire.hpp"
#include "support/processes.hpp"

using namespace allocmon;
using namespace allocmon::test;
using nlohmann::json;

namespace {

constexpr int kNobody = 65534;

uint64_t dram(const json& snapshot, int device) {
  for (const auto& d : snapshot["devices"])
    if (d["id"] == device) return d["memory"]["DRAM"]["allocated"].get<uint64_t>();
  return 0;
}

std::string frames_registering(int device) {
  std::string s;
  wire::RegisterDevice r{};
  r.device_id = device;
  r.mesh_row = r.mesh_col = -1;
  wire::append_message(s, wire::MessageType::kRegisterDevice, r);
  return s;
}

std::string alloc_batch(int device, uint64_t first, uint64_t count) {
  std::vector<wire::Event> events;
  for (uint64_t id = first; id < first + count; ++id)
    events.push_back({id, 64, 0, device, static_cast<uint8_t>(wire::EventKind::kAlloc), ALLOCMON_DRAM, 0});
  std::string s;
  wire::append_frame(s, wire::MessageType::kEventBatch, events.data(), events.size() * sizeof(wire::Event));
  return s;
}

// Everything the server says until it closes the connection.
std::string read_until_closed(int fd) {
  std::string all;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) all.append(buffer, static_cast<size_t>(n));
  return all;
}

uint64_t rss_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      uint64_t kb;
      status >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

}  // namespace

TEST(Reliability, StalledServerNeverBlocksTheClientAndTotalsBecomeExact) {
  Server server(temp_socket_path("stall"), {"--quiet"});
  Client client(server.socket());
  client.command("register 0");
  client.command("alloc 0 DRAM 1000 1");
  ASSERT_EQ(client.flush(), 0);

  server.process().kill(SIGSTOP);
  // 700 000 events (22 MB) while the server reads nothing: the calls return, nothing blocks.
  EXPECT_EQ(client.command("bulk 0 700000 100 64"), "ok");
  EXPECT_EQ(client.flush(1500), -2);  // ALLOCMON_FLUSH_TIMEOUT: the barrier cannot pass a stopped server
  EXPECT_EQ(client.command("free 0 1"), "ok");
  server.process().kill(SIGCONT);

  ASSERT_EQ(client.flush(30000), 0);
  const json s = query_snapshot(server.socket());
  EXPECT_EQ(dram(s, 0), 700000u * 64);
  EXPECT_EQ(s["totals"]["buffers"], 700000);
}

TEST(Reliability, ClientOverTheLiveBufferLimitIsDisconnectedOthersStayExact) {
  Server server(temp_socket_path("limit"), {"--quiet", "--max-buffers-per-client", "1000"});
  Client good(server.socket());
  good.command("register 0");
  good.command("bulk 0 900 1 100");
  ASSERT_EQ(good.flush(), 0);

  const int flooder = connect_unix(server.socket(), false);
  ASSERT_GE(flooder, 0);
  std::string flood = frames_registering(0);
  for (uint64_t first = 1; first < 20001; first += 2000) flood += alloc_batch(0, first, 2000);
  write_all(flooder, flood.data(), flood.size());
  const std::string reply = read_until_closed(flooder);
  ::close(flooder);
  EXPECT_NE(reply.find("more than 1000 live buffers on one connection"), std::string::npos);

  const json s = query_snapshot(server.socket());
  EXPECT_EQ(dram(s, 0), 900u * 100);  // the flooder's 1000 accepted buffers were reclaimed at disconnect
  EXPECT_EQ(s["totals"]["buffers"], 900);
  EXPECT_EQ(s["counters"]["frames_invalid"], 1);
  EXPECT_LT(rss_bytes(server.process().pid()), 64u << 20);
}

TEST(Reliability, ClientAboveTheEventRateIsDisconnected) {
  Server server(temp_socket_path("rate"),
                {"--quiet", "--max-events-per-second", "1000", "--event-burst", "5000"});
  const int fd = connect_unix(server.socket(), false);
  std::string burst = frames_registering(0) + alloc_batch(0, 1, 4000) + alloc_batch(0, 5000, 4000);
  write_all(fd, burst.data(), burst.size());
  const std::string reply = read_until_closed(fd);
  ::close(fd);
  EXPECT_NE(reply.find("more than 1000 events/s sustained (burst 5000)"), std::string::npos);
  EXPECT_EQ(query_snapshot(server.socket())["totals"]["buffers"], 0);
}

TEST(Reliability, SocketIsGroupOnlyAndAnotherUserGetsAClearMessage) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as another user";
  Server server(temp_socket_path("perm"));
  struct stat st {};
  ASSERT_EQ(::stat(server.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  Client stranger(server.socket(), kNobody, /*merge_stderr=*/true);
  stranger.process().write_line("register 0");
  stranger.process().write_line("flush 1000");
  std::string seen;
  EXPECT_TRUE(stranger.process().wait_for("ok -1", 10000, &seen)) << seen;  // ALLOCMON_FLUSH_NO_SERVER
  EXPECT_NE(seen.find("permission denied on the allocation server socket"), std::string::npos) << seen;
  EXPECT_NE(seen.find("--socket-group"), std::string::npos) << seen;
}

TEST(Reliability, OtherUsersSeeTotalsButNotWhoHoldsThem) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as another user";
  Server server(temp_socket_path("privacy"), {"--socket-mode", "0666"});
  Client root_client(server.socket());
  root_client.command("register 0");
  root_client.command("alloc 0 DRAM 4096 1");
  ASSERT_EQ(root_client.flush(), 0);
  Client stranger(server.socket(), kNobody);
  stranger.command("register 1");
  stranger.command("alloc 1 DRAM 512 1");
  ASSERT_EQ(stranger.flush(), 0);
  stranger.command("register 0");
  stranger.command(
      "free 0 1");  // root's buffer 1 on device 0, not the stranger's: refused, counted, nothing changes
  ASSERT_EQ(stranger.flush(), 0);

  // The stranger's view, through a query made as the stranger (the monitor with --json).
  Child monitor({build_dir() + "/allocation_monitor_client", "--json", "--socket", server.socket()}, {},
                kNobody);
  std::string text;
  ASSERT_TRUE(monitor.read_line(text));
  const json theirs = json::parse(text);
  EXPECT_EQ(dram(theirs, 0), 4096u);  // device totals stay exact for everyone
  int redacted = 0, own = 0;
  for (const auto& p : theirs["processes"]) {
    if (p["name"] == "(other user)") {
      ++redacted;
      EXPECT_EQ(p["pid"], 0);
    }
    if (p["pid"] == stranger.process().pid()) ++own;
  }
  EXPECT_EQ(redacted, 1);
  EXPECT_EQ(own, 1);
  const json root_view = query_snapshot(server.socket());  // the test runs as root: sees everyone
  EXPECT_EQ(root_view["processes"].size(), 2u);
  EXPECT_EQ(root_view["counters"]["problems"]["unknown_free"], 1);
  EXPECT_EQ(dram(root_view, 0), 4096u);
}

TEST(Reliability, WorldWritableDirectoryWithoutStickyBitIsRefused) {
  char dir[] = "/tmp/allocmon-unsafe-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  ASSERT_EQ(::chmod(dir, 0777), 0);
  Child server({build_dir() + "/allocation_server", "--socket", std::string(dir) + "/s.sock"}, {}, -1, true);
  std::string seen;
  EXPECT_TRUE(server.wait_for("world-writable without the sticky bit", 5000, &seen)) << seen;
  EXPECT_EQ(server.wait(5000), 1);
  ::rmdir(dir);
}
