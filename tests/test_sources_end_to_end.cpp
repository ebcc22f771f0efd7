// The polled sources through a real allocation_server: fixture regions and a fake /proc, read by the server's
// poller thread, seen through the query API like any other device.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/processes.hpp"
#include "support/tt_shm_fixture.hpp"

using namespace allocmon;
using namespace allocmon::test;
using nlohmann::json;

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

struct Folders {
  std::string shm = make_temp_dir("e2e-shm");
  std::string proc = make_temp_dir("e2e-proc");
  std::string dev = make_temp_dir("e2e-dev");
  ~Folders() {
    remove_tree(shm);
    remove_tree(proc);
    remove_tree(dev);
  }
  std::vector<std::string> args(int interval_ms = 250) const {
    return {"--tt-shm-dir", shm,           "--proc-root",     proc,
            "--dev-root",   dev,           "--sys-root",      dev,
            "--tt-arch",    "wormhole_b0", "--poll-interval", std::to_string(interval_ms)};
  }
};

const json& device(const json& snapshot, int id) {
  for (const auto& d : snapshot["devices"])
    if (d["id"] == id) return d;
  throw std::runtime_error("no device " + std::to_string(id));
}

const json* process(const json& snapshot, int pid) {
  for (const auto& p : snapshot["processes"])
    if (p["pid"] == pid) return &p;
  return nullptr;
}

uint64_t rounds(const json& snapshot, const std::string& source) {
  for (const auto& s : snapshot["sources"])
    if (s["name"] == source) return s["rounds"];
  return 0;
}

// GET http://HOST:PORT/metrics with a plain socket (the URL as the server printed it).
std::string fetch_metrics(const std::string& url) {
  const auto host_port = url.substr(7, url.find('/', 7) - 7);
  const int port = std::stoi(host_port.substr(host_port.rfind(':') + 1));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
    throw std::runtime_error("connect");
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size()))
    throw std::runtime_error("write");
  std::string reply;
  char chunk[4096];
  for (ssize_t n; (n = ::read(fd, chunk, sizeof(chunk))) > 0;) reply.append(chunk, static_cast<size_t>(n));
  ::close(fd);
  return reply;
}

}  // namespace

TEST(SourcesEndToEnd, PrometheusLabelsARegionsChipWithItsSourceAndAsicId) {
  Folders f;
  write_fake_process(f.proc, 4000, ::getuid(), "python3");
  write_region(f.shm, make_region(4, 123456789, 2, {{4000, "python3", 5 * kMiB}, {4999, "gone", 1 * kMiB}}));
  std::vector<std::string> args = f.args();
  args.insert(args.end(),
              {"--metrics-address", "127.0.0.1:0", "--metrics-processes", "--metrics-host-label", "h7"});
  Server server(temp_socket_path("sources-metrics"), args);
  const std::string& seen = server.startup_log();
  ASSERT_NE(seen.find("metrics on "), std::string::npos) << seen;
  std::string url = seen.substr(seen.find("metrics on ") + 11);
  url = url.substr(0, url.find_first_of(" \n"));
  sync_sources(server.socket());
  const std::string text = fetch_metrics(url);
  EXPECT_NE(
      text.find("allocmon_device_allocated_bytes{device=\"2\",source=\"tt-metal-shm\",asic_id=\"123456789\","
                "type=\"DRAM\",host=\"h7\"} 5242880"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find("allocmon_device_stale_bytes{device=\"2\",source=\"tt-metal-shm\",asic_id=\"123456789\","
                "type=\"DRAM\",host=\"h7\"} 1048576"),
      std::string::npos);
  EXPECT_NE(text.find("allocmon_process_allocated_bytes{pid=\"4000\",name=\"python3\",source=\"tt-metal-"
                      "shm\",device=\"2\",host=\"h7\"} 5242880"),
            std::string::npos);
}

TEST(SourcesEndToEnd, AT3000SeenOnlyThroughItsRegions) {
  Folders f;
  const uid_t me = ::getuid();
  write_fake_process(f.proc, 5000, me, "python3", {"python3", "-m", "pytest", "tests/ttnn/unit_tests"});
  write_fake_process(f.proc, 5001, me + 1, "python3");  // another user's: counted, not named
  write_fake_process(f.proc, 5003, me, "tt-smi", {"tt-smi", "-s"});
  std::filesystem::create_directories(f.proc + "/driver/tenstorrent/0");
  std::ofstream(f.proc + "/driver/tenstorrent/0/pids") << "5000\n5003\n";
  for (uint32_t id = 0; id < 8; ++id)
    write_region(f.shm, make_region(4, 0xA000 + id, id,
                                    {{5000, "python3", 100 * kMiB, 1 * kMiB},
                                     {5001, "python3", 10 * kMiB},
                                     {5002, "killed", 50 * kMiB}}));  // pid 5002 is gone: stale
  write_region(f.shm, make_region(7, 0xB000, 8, {}));                 // a layout from the future
  ASSERT_EQ(::mkfifo((f.shm + "/tt_device_1_memory").c_str(), 0600), 0);

  Server server(temp_socket_path("sources-t3000"), f.args());
  sync_sources(server.socket());
  sync_sources(server.socket());  // a second round: problems are not reported again
  const json s = query_snapshot(server.socket());
  for (int id = 0; id < 8; ++id) {
    const json& d = device(s, id);
    EXPECT_EQ(d["source"], "tt-metal-shm");
    EXPECT_EQ(d["asic_id"], 0xA000 + id);
    EXPECT_EQ(d["architecture"], "wormhole_b0");
    EXPECT_EQ(d["memory"]["DRAM"]["allocated"], 110 * kMiB);  // held: 100 named + 10 unattributed
    EXPECT_EQ(d["memory"]["DRAM"]["unattributed"], 10 * kMiB);
    EXPECT_EQ(d["memory"]["DRAM"]["stale"], 50 * kMiB);
    EXPECT_EQ(d["memory"]["L1"]["allocated"], 1 * kMiB);
    EXPECT_EQ(d["memory"]["DRAM"]["capacity"], 12ull * 1'073'741'792);
    EXPECT_TRUE(d["active"]);
    ASSERT_EQ(d["stale_processes"].size(), 1u);
    EXPECT_EQ(d["stale_processes"][0]["pid"], 5002);
  }
  const json* p = process(s, 5000);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ((*p)["source"], "tt-metal-shm");
  EXPECT_EQ((*p)["cmdline"], "python3 -m pytest tests/ttnn/unit_tests");
  EXPECT_EQ((*p)["allocated"], 8 * 101 * kMiB);
  EXPECT_EQ((*p)["devices"].size(), 8u);
  EXPECT_EQ((*p)["holds"], json::array({"/dev/tenstorrent/0"}));
  EXPECT_EQ(process(s, 5001), nullptr);
  EXPECT_EQ(process(s, 5002), nullptr);
  const json* smi = process(s, 5003);  // holds the device, reports nothing
  ASSERT_NE(smi, nullptr);
  EXPECT_EQ((*smi)["allocated"], 0);
  EXPECT_EQ((*smi)["cmdline"], "tt-smi -s");

  // Each bad file is named with its reason, once, however often it is polled.
  server.process().kill(SIGTERM);
  std::string log;
  server.process().wait_for("allocation_server stopped", 10000, &log);
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("tt_device_45056_memory: unknown layout version 7 (this server reads versions 2 to 4)"),
            1u);
  EXPECT_EQ(count("tt_device_1_memory: not a regular file"), 1u);
}

TEST(SourcesEndToEnd, AnUpdateIsVisibleWithinTwoPolls) {
  Folders f;
  write_fake_process(f.proc, 6000, ::getuid(), "python3");
  write_region(f.shm, make_region(4, 77, 0, {{6000, "python3", 1 * kMiB}}));
  Server server(temp_socket_path("sources-update"), f.args(/*interval_ms=*/50));
  sync_sources(server.socket());
  EXPECT_EQ(device(query_snapshot(server.socket()), 0)["memory"]["DRAM"]["allocated"], 1 * kMiB);

  write_region(f.shm, make_region(4, 77, 0, {{6000, "python3", 64 * kMiB}}));
  // A round that began after the write is complete two rounds after the first snapshot taken after it.
  const uint64_t first = rounds(query_snapshot(server.socket()), "tt-metal-shm");
  json s;
  for (int tries = 0; tries < 10000; ++tries) {
    s = query_snapshot(server.socket());
    if (rounds(s, "tt-metal-shm") >= first + 2) break;
  }
  ASSERT_GE(rounds(s, "tt-metal-shm"), first + 2);
  EXPECT_EQ(device(s, 0)["memory"]["DRAM"]["allocated"], 64 * kMiB);
}

TEST(SourcesEndToEnd, ALiballocmonClientAlsoInARegionIsCountedOnce) {
  Folders f;
  Server server(temp_socket_path("sources-once"), f.args());
  Client client(server.socket());
  const int pid = client.process().pid();
  write_fake_process(f.proc, pid, ::getuid(), "allocmon_test_c");
  write_fake_process(f.proc, 7001, ::getuid(), "other_tt_metal");
  // tt-metal inside the same process counts the same 100 MiB buffer in its region.
  write_region(
      f.shm,
      make_region(4, 88, 0, {{pid, "allocmon_test_c", 100 * kMiB}, {7001, "other_tt_metal", 3 * kMiB}}));
  ASSERT_EQ(client.command("register 0"), "ok");
  ASSERT_EQ(client.command("alloc 0 DRAM 104857600 1"), "ok");
  ASSERT_EQ(client.flush(), 0);
  sync_sources(server.socket());
  const json s = query_snapshot(server.socket());
  EXPECT_EQ(device(s, 0)["memory"]["DRAM"]["allocated"], 103 * kMiB);
  EXPECT_EQ(device(s, 0)["memory"]["DRAM"]["buffers"], 1);
  EXPECT_EQ(device(s, 0)["sources"], json::array({"allocmon", "tt-metal-shm"}));
  int shown = 0;
  for (const auto& p : s["processes"]) shown += p["pid"] == pid;
  EXPECT_EQ(shown, 1);
  EXPECT_EQ(process(s, pid)->at("source"), "allocmon");
  ASSERT_NE(process(s, 7001), nullptr);
}

TEST(SourcesEndToEnd, ManyBadFilesNeverStallTheServer) {
  Folders f;
  for (int i = 0; i < 300; ++i) {  // beyond the 256 regions read per round
    const std::string path = f.shm + "/tt_device_" + std::to_string(1000 + i) + "_memory";
    if (i % 3 == 0)
      ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
    else
      std::ofstream(path) << std::string(static_cast<size_t>(i), '\xff');
  }
  Server server(temp_socket_path("sources-bad"), f.args(/*interval_ms=*/10));
  Client client(server.socket());
  ASSERT_EQ(client.command("register 0"), "ok");
  for (int round = 0; round < 5; ++round) {
    sync_sources(server.socket());
    ASSERT_EQ(client.command("alloc 0 DRAM 4096 " + std::to_string(round + 1)), "ok");
    ASSERT_EQ(client.flush(), 0);
  }
  const json s = query_snapshot(server.socket());
  EXPECT_EQ(device(s, 0)["memory"]["DRAM"]["allocated"], 5 * 4096);
  for (const auto& source : s["sources"])
    if (source["name"] == "tt-metal-shm") {
      EXPECT_EQ(source["items_read"], 256);
      EXPECT_EQ(source["problems"].size(), 257u);  // 256 unreadable files and the 44 not read
    }
}
