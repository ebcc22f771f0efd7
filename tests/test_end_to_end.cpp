// The whole chain with real processes: tracked clients -> allocation_server -> query API / monitor.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "common/unix_socket.hpp"
#include "query/query_client.hpp"
#include "support/processes.hpp"

using namespace allocmon::test;
using nlohmann::json;

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

const json* find_device(const json& snapshot, int id) {
  for (const auto& d : snapshot["devices"])
    if (d["id"] == id) return &d;
  return nullptr;
}

uint64_t device_bytes(const json& snapshot, int id, const char* type) {
  const json* d = find_device(snapshot, id);
  return d ? (*d)["memory"][type]["allocated"].get<uint64_t>() : 0;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST(EndToEnd, SingleDeviceSequenceOfTheSeed) {
  Server server(temp_socket_path("single"));
  Client client(server.socket());
  ASSERT_EQ(client.command("register 0"), "ok");
  ASSERT_EQ(client.command("alloc 0 DRAM 104857600 1"), "ok");
  ASSERT_EQ(client.flush(), 0);

  json s = query_snapshot(server.socket());
  EXPECT_EQ(device_bytes(s, 0, "DRAM"), 100 * kMiB);
  EXPECT_EQ(s["totals"]["buffers"], 1);
  ASSERT_EQ(s["processes"].size(), 1u);
  EXPECT_EQ(s["processes"][0]["pid"], client.process().pid());  // from SO_PEERCRED
  EXPECT_EQ(s["processes"][0]["name"], "allocmon_test_c");      // /proc/PID/comm (15 characters)

  ASSERT_EQ(client.command("free 0 1"), "ok");
  ASSERT_EQ(client.flush(), 0);
  s = query_snapshot(server.socket());
  EXPECT_EQ(device_bytes(s, 0, "DRAM"), 0u);
  EXPECT_EQ(s["totals"]["buffers"], 0);
  EXPECT_EQ(find_device(s, 0)->at("memory")["DRAM"]["peak"], 100 * kMiB);

  std::string log;
  server.process().kill(SIGUSR1);
  EXPECT_TRUE(server.process().wait_for("Active allocations: 0", 5000, &log));
}

TEST(EndToEnd, EightDevicesReportWithTheirOwnIds) {
  Server server(temp_socket_path("eight"));
  Client client(server.socket());
  const int order[8] = {4, 0, 3, 7, 5, 1, 2, 6};  // the seed's 2x4 mesh, row by row
  for (int i = 0; i < 8; ++i)
    client.command("register " + std::to_string(order[i]) + " " + std::to_string(i / 4) + " " +
                   std::to_string(i % 4));
  for (int d = 0; d < 8; ++d) {
    client.command("alloc " + std::to_string(d) + " DRAM " + std::to_string(100 * kMiB) + " " +
                   std::to_string(10 + d));
    client.command("alloc " + std::to_string(d) + " DRAM " + std::to_string(100 * kMiB) + " " +
                   std::to_string(20 + d));
  }
  ASSERT_EQ(client.flush(), 0);
  json s = query_snapshot(server.socket());
  std::vector<int> ids;
  for (const auto& d : s["devices"]) ids.push_back(d["id"]);
  EXPECT_EQ(ids, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  for (int i = 0; i < 8; ++i) {
    const json& d = *find_device(s, order[i]);
    EXPECT_EQ(d["memory"]["DRAM"]["allocated"], 200 * kMiB) << "device " << order[i];
    EXPECT_EQ(d["buffers"], 2);
    EXPECT_EQ(d["mesh"]["row"], i / 4);
    EXPECT_EQ(d["mesh"]["col"], i % 4);
  }
  for (int d = 0; d < 8; ++d) {
    client.command("free " + std::to_string(d) + " " + std::to_string(10 + d));
    client.command("free " + std::to_string(d) + " " + std::to_string(20 + d));
  }
  ASSERT_EQ(client.flush(), 0);
  s = query_snapshot(server.socket());
  for (int d = 0; d < 8; ++d) EXPECT_EQ(find_device(s, d)->at("allocated"), 0) << "device " << d;
}

TEST(EndToEnd, KilledClientIsReclaimedWithinOneSecond) {
  Server server(temp_socket_path("kill"));
  Client victim(server.socket());
  Client survivor(server.socket());
  for (int d = 0; d < 8; ++d) {
    victim.command("register " + std::to_string(d));
    survivor.command("register " + std::to_string(d));
    victim.command("alloc " + std::to_string(d) + " DRAM 5000 " + std::to_string(d + 1));
    victim.command("alloc " + std::to_string(d) + " CB 300 " + std::to_string(d + 100));
    victim.command("alloc " + std::to_string(d) + " KERNEL 700 " + std::to_string(d + 200));
    survivor.command("alloc " + std::to_string(d) + " DRAM " + std::to_string(1000 + d) + " 1");
  }
  ASSERT_EQ(victim.flush(), 0);
  ASSERT_EQ(survivor.flush(), 0);
  ASSERT_EQ(device_bytes(query_snapshot(server.socket()), 3, "DRAM"), 5000u + 1003u);

  const int64_t killed_at = now_ms();
  victim.process().kill(SIGKILL);
  bool exact = false;
  while (!exact && now_ms() - killed_at < 1000) {
    const json s = query_snapshot(server.socket());
    exact = true;
    for (int d = 0; d < 8; ++d)
      exact = exact && device_bytes(s, d, "DRAM") == 1000u + d && device_bytes(s, d, "CB") == 0 &&
              device_bytes(s, d, "KERNEL") == 0;
    exact = exact && s["processes"].size() == 1;
  }
  EXPECT_TRUE(exact) << "totals did not drop to the survivor's within 1 s";
  std::string log;
  EXPECT_TRUE(server.process().wait_for("reclaimed 24 buffers", 5000, &log)) << log;
}

// The shipper leaves a thread that is mid-burst alone (docs/performance.md), but never for long: an event
// becomes visible without a flush both when its thread goes quiet and when the thread never pauses.
TEST(EndToEnd, EventsBecomeVisibleWithoutAFlushWhetherTheThreadPausesOrNot) {
  Server server(temp_socket_path("visible"), {"--quiet"});
  Client client(server.socket());
  ASSERT_EQ(client.command("register 0"), "ok");
  ASSERT_EQ(client.flush(), 0);
  auto visible_within = [&](uint64_t dram_bytes, int64_t deadline_ms) {
    const int64_t start = now_ms();
    while (now_ms() - start < deadline_ms)
      if (device_bytes(query_snapshot(server.socket()), 0, "DRAM") == dram_bytes) return true;
    return false;
  };
  // Quiet after one event.
  ASSERT_EQ(client.command("alloc 0 DRAM 1000 1"), "ok");
  EXPECT_TRUE(visible_within(1000, 1000)) << "a quiet thread's event was not shipped within 1 s";
  // A thread that never pauses: an event pair every 2 us (1 M events/s, which the shipper keeps up with).
  ASSERT_EQ(client.command("drip 0 100 2"), "ok");
  EXPECT_TRUE(visible_within(1000 + 4096, 1000)) << "a steadily reporting thread was never drained";
  ASSERT_EQ(client.command("drip_end"), "ok");
  ASSERT_EQ(client.flush(), 0);
  const json s = query_snapshot(server.socket());
  EXPECT_EQ(device_bytes(s, 0, "DRAM"), 1000u + 4096u);
  EXPECT_EQ(device_bytes(s, 0, "L1"), 0u);
}

// The server logs a line per allocation; a log nobody reads (its stdout pipe here is read only at startup)
// must not stop it: past a bounded backlog the lines are dropped, counted, and the count is logged once read.
TEST(EndToEnd, AServerWhoseLogNobodyReadsKeepsServing) {
  Server server(temp_socket_path("unread-log"));
  Client client(server.socket());
  ASSERT_EQ(client.command("register 0"), "ok");
  ASSERT_EQ(client.command("bulk 0 300000 1 64"), "ok");  // ~27 MB of log lines: pipe and backlog overflow
  ASSERT_EQ(client.flush(), 0);
  EXPECT_EQ(device_bytes(query_snapshot(server.socket()), 0, "DRAM"), 300000u * 64u);
  std::string seen;
  EXPECT_TRUE(server.process().wait_for("log lines dropped", 10000, &seen));
  EXPECT_NE(seen.find("Allocated 64 bytes of DRAM on device 0 (buffer_id=0x1)"), std::string::npos);
}

TEST(EndToEnd, RestartedServerGetsTheClientsLiveSetBack) {
  const std::string socket = temp_socket_path("restart");
  auto server = std::make_unique<Server>(socket);
  Client client(socket);
  client.command("register 0");
  client.command("register 1");
  client.command("alloc 0 DRAM 4096 1");
  client.command("alloc 1 L1 2048 2");
  client.command("alloc 1 DRAM 999 3");
  client.command("free 0 1");
  ASSERT_EQ(client.flush(), 0);

  server->process().kill(SIGKILL);
  server->process().wait();
  server = std::make_unique<Server>(socket);  // replaces the stale socket file
  client.command("alloc 0 TRACE 512 4");
  ASSERT_EQ(client.flush(), 0);  // reconnects, re-registers devices and live buffers, then the barrier

  const json s = query_snapshot(socket);
  EXPECT_EQ(device_bytes(s, 0, "DRAM"), 0u);
  EXPECT_EQ(device_bytes(s, 0, "TRACE"), 512u);
  EXPECT_EQ(device_bytes(s, 1, "L1"), 2048u);
  EXPECT_EQ(device_bytes(s, 1, "DRAM"), 999u);
  EXPECT_EQ(s["totals"]["buffers"], 3);
  EXPECT_NE(client.command("stats").find("resyncs=2"), std::string::npos);
}

TEST(EndToEnd, GarbageFromOneClientLeavesOthersExact) {
  Server server(temp_socket_path("garbage"));
  const int fd = allocmon::connect_unix(server.socket(), false);
  ASSERT_GE(fd, 0);
  const char garbage[] = "GET / HTTP/1.1\r\nHost: nonsense\r\n\r\n\x01\x02\x03";
  ASSERT_TRUE(allocmon::write_all(fd, garbage, sizeof(garbage)));
  char reply[256];
  const ssize_t n = ::read(fd, reply, sizeof(reply));  // the server answers with an error frame, then closes
  EXPECT_GT(n, 0);
  ::close(fd);

  Client client(server.socket());
  client.command("register 2");
  client.command("alloc 2 DRAM 777 1");
  ASSERT_EQ(client.flush(), 0);
  const json s = query_snapshot(server.socket());
  EXPECT_EQ(device_bytes(s, 2, "DRAM"), 777u);
  EXPECT_EQ(s["counters"]["frames_invalid"], 1);
}

TEST(EndToEnd, ProblemsAreCountedPerKind) {
  Server server(temp_socket_path("problems"));
  Client client(server.socket());
  client.command("register 0");
  client.command("alloc 0 DRAM 100 1");
  client.command("free 0 1");
  client.command("free 0 1");           // double free
  client.command("free 0 55");          // never allocated
  client.command("alloc 5 DRAM 10 2");  // device 5 never registered
  ASSERT_EQ(client.flush(), 0);
  const json s = query_snapshot(server.socket());
  EXPECT_EQ(s["counters"]["problems"]["double_free"], 1);
  EXPECT_EQ(s["counters"]["problems"]["unknown_free"], 1);
  EXPECT_EQ(s["counters"]["problems"]["unregistered_device"], 1);
  EXPECT_EQ(device_bytes(s, 0, "DRAM"), 0u);
  EXPECT_EQ(find_device(s, 5), nullptr);
}

TEST(EndToEnd, AllocOnOneThreadFreeOnAnotherStaysExact) {
  Server server(temp_socket_path("threads"), {"--quiet"});
  Client client(server.socket());
  client.command("register 0");
  ASSERT_EQ(client.command("pingpong 0 3000"), "ok");
  ASSERT_EQ(client.flush(), 0);
  const json s = query_snapshot(server.socket());
  EXPECT_EQ(device_bytes(s, 0, "L1"), 0u);
  EXPECT_EQ(s["totals"]["buffers"], 0);
  EXPECT_EQ(s["counters"]["events_applied"], 6000);
  for (const auto& [name, count] : s["counters"]["problems"].items()) EXPECT_EQ(count, 0) << name;
}

TEST(EndToEnd, LeakReportListsLiveBuffersPerProcess) {
  Server server(temp_socket_path("leaks"));
  Client client(server.socket());
  client.command("register 0");
  client.command("register 1");
  client.command("alloc 0 DRAM 100 1");
  client.command("alloc 1 CB 64 2");
  ASSERT_EQ(client.flush(), 0);
  json leaks = query_leaks(server.socket());
  ASSERT_EQ(leaks["processes"].size(), 1u);
  EXPECT_EQ(leaks["processes"][0]["count"], 2);
  leaks = query_leaks(server.socket(), 1);
  ASSERT_EQ(leaks["processes"][0]["buffers"].size(), 1u);
  EXPECT_EQ(leaks["processes"][0]["buffers"][0]["type"], "CB");
  EXPECT_EQ(leaks["processes"][0]["buffers"][0]["size"], 64);
}

// Tensors across the mesh (docs/attribution.md): what a runtime says of a tensor through the C ABI
// (allocmon_tensor_begin/end) reaches the server's leak report (JSON, QueryLeaks) and the binary leak stream.
TEST(EndToEnd, ATensorDescriptionSaidThroughTheCAbiReachesTheServersReports) {
  Server server(temp_socket_path("tensor"));
  Client client(server.socket());
  const std::string described = "bfloat16 TILE [1, 1, 1024, 1024] DRAM interleaved, sharded dim 3 over 2";
  for (const std::string& line : std::vector<std::string>{
           "register 0", "register 1", "scope model", "tensor " + described, "alloc 0 DRAM 1048576 1",
           "alloc 1 DRAM 1048576 1", "tensor_end", "alloc 0 DRAM 64 2", "scope_end"})
    ASSERT_EQ(client.command(line), "ok") << line;
  ASSERT_EQ(client.flush(), 0);
  auto tensors_by_id = [](const json& leaks) {
    std::map<std::pair<int, uint64_t>, std::string> out;
    for (const auto& b : leaks["processes"][0]["buffers"])
      out[{b["device"].get<int>(), b["buffer_id"].get<uint64_t>()}] = b.value("tensor", "(none)");
    return out;
  };
  const std::map<std::pair<int, uint64_t>, std::string> expected = {
      {{0, 1}, described}, {{1, 1}, described}, {{0, 2}, ""}};
  EXPECT_EQ(tensors_by_id(query_leaks(server.socket())), expected);  // the binary stream
  allocmon::QueryClient query;
  std::string error;
  ASSERT_TRUE(query.connect(server.socket(), &error)) << error;
  const auto text = query.largest_buffers(-1, 0, 5000, &error);  // the server's own JSON
  ASSERT_TRUE(text) << error;
  EXPECT_EQ(tensors_by_id(json::parse(*text)), expected);
  const json holders = query_snapshot(server.socket())["holders"]["tensor"];
  ASSERT_EQ(holders.size(), 1u) << holders.dump();
  EXPECT_EQ(holders[0]["name"], described);
  EXPECT_EQ(holders[0]["bytes"], 2 * kMiB);
}

// Every distinct description is a context the connection names; past what one connection may name the client
// sends the allocations unattributed instead of having the server close the connection.
TEST(EndToEnd, MoreTensorDescriptionsThanAConnectionMayNameStayTrackedAndConnected) {
  Server server(temp_socket_path("descriptions"), {"--quiet"});  // no line per allocation
  Client client(server.socket());
  client.command("register 0");
  constexpr uint64_t kCount = (1u << 16) + 100;
  ASSERT_EQ(client.command("described 0 " + std::to_string(kCount) + " 1 64"), "ok");
  ASSERT_EQ(client.flush(30000), 0);
  EXPECT_EQ(client.command("stats").rfind("ok connected=1 resyncs=1 ", 0), 0u);  // never reconnected
  EXPECT_EQ(device_bytes(query_snapshot(server.socket()), 0, "DRAM"), kCount * 64);
  uint64_t described = 0, plain = 0;
  const json leaks = query_leaks(server.socket());
  for (const auto& b : leaks["processes"][0]["buffers"])
    (b.value("tensor", "").empty() ? plain : described) += 1;
  EXPECT_EQ(described, uint64_t{1} << 16);
  EXPECT_EQ(plain, kCount - (uint64_t{1} << 16));
}

TEST(EndToEnd, SecondServerOnALiveSocketRefusesToStart) {
  Server server(temp_socket_path("twice"));
  Child second({build_dir() + "/allocation_server", "--socket", server.socket()}, {});
  EXPECT_EQ(second.wait(5000), 1);
  Client client(server.socket());  // the first one still serves
  client.command("register 0");
  EXPECT_EQ(client.flush(), 0);
}

TEST(EndToEnd, CleanShutdownRemovesTheSocket) {
  const std::string socket = temp_socket_path("shutdown");
  Server server(socket);
  server.process().kill(SIGTERM);
  EXPECT_EQ(server.process().wait(5000), 0);
  EXPECT_NE(::access(socket.c_str(), F_OK), 0);
}

TEST(EndToEnd, NoServerMeansOneWarningAndNoHang) {
  const std::string socket = temp_socket_path("absent");
  Client client(socket);
  client.command("register 0");
  client.command("alloc 0 DRAM 100 1");
  const int64_t start = now_ms();
  EXPECT_EQ(client.flush(1000), -1);  // ALLOCMON_FLUSH_NO_SERVER, at once
  EXPECT_LT(now_ms() - start, 900);
  EXPECT_EQ(client.command("exit"), "ok");
  EXPECT_EQ(client.process().wait(5000), 0);
}

TEST(EndToEnd, MonitorJsonEqualsServerState) {
  Server server(temp_socket_path("monitor"));
  Client client(server.socket());
  client.command("register 3");
  client.command("alloc 3 L1 4096 1");
  ASSERT_EQ(client.flush(), 0);
  Child monitor({build_dir() + "/allocation_monitor_client", "--json", "--once", "--socket", server.socket()},
                {});
  std::string text;
  ASSERT_TRUE(monitor.read_line(text));
  EXPECT_EQ(monitor.wait(), 0);
  json from_monitor = json::parse(text);
  json direct = query_snapshot(server.socket());
  for (json* doc : {&from_monitor, &direct}) {  // everything but the moment and the query clients
    doc->erase("time_unix_ms");
    (*doc)["server"].erase("uptime_ms");
  }
  EXPECT_EQ(from_monitor["devices"], direct["devices"]);
  EXPECT_EQ(from_monitor["processes"], direct["processes"]);
  EXPECT_EQ(from_monitor["totals"], direct["totals"]);
  EXPECT_EQ(device_bytes(from_monitor, 3, "L1"), 4096u);

  Child plain({build_dir() + "/allocation_monitor_client", "--once", "-d", "3", "--socket", server.socket()},
              {});
  std::string frame;
  EXPECT_TRUE(plain.wait_for("Device 3", 5000, &frame)) << frame;
  EXPECT_EQ(plain.wait(), 0);
  // A one-shot query for a device the server does not know is a mistake, said so (the live view waits for
  // it).
  Child unknown({build_dir() + "/allocation_monitor_client", "--once", "-d", "3", "-d", "9", "--socket",
                 server.socket()},
                {}, -1, /*merge_stderr=*/true);
  EXPECT_TRUE(unknown.wait_for("the server knows no device 9 (it knows: 3)", 5000, &frame)) << frame;
  EXPECT_EQ(unknown.wait(), 2);
}

TEST(EndToEnd, MonitorWithoutServerExitsWithStatus1) {
  // A runtime failure (1), not a usage error (2): the command line was right, the server is not there.
  Child monitor({build_dir() + "/allocation_monitor_client", "--once", "--socket", temp_socket_path("none")},
                {});
  EXPECT_EQ(monitor.wait(5000), 1);
}
