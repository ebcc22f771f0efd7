// The server's per-connection protocol logic, driven without sockets; includes regressions found by fuzzing.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "server/session.hpp"

using namespace allocmon;
using namespace allocmon::server;

namespace {

struct Harness {
  Accounting accounting;
  std::FILE* sink = std::fopen("/dev/null", "w");
  EventLog log{sink, true};
  ServerContext context{accounting, log, SessionLimits{},
                        [] {
                          return ServerInfo{"/test", 1, 0, 1};
                        },
                        [] { return int64_t{1000}; }};
  ~Harness() { std::fclose(sink); }
};

std::string register_frame(int device, const char* architecture) {
  wire::RegisterDevice r{};
  r.device_id = device;
  r.mesh_row = r.mesh_col = -1;
  std::strncpy(r.architecture, architecture, sizeof(r.architecture) - 1);
  std::string s;
  wire::append_message(s, wire::MessageType::kRegisterDevice, r);
  return s;
}

std::string query_frame() {
  std::string s;
  wire::append_frame(s, wire::MessageType::kQuerySnapshot, nullptr, 0);
  return s;
}

}  // namespace

// fuzz_session crash: an architecture name that is not UTF-8 made the snapshot's JSON serializer throw, which
// terminated the server. Now the bytes are replaced and the snapshot is valid JSON.
TEST(Session, InvalidUtf8FromAClientDoesNotBreakSnapshots) {
  Harness h;
  Session client(h.context, 1, PeerIdentity{10, 0, "bad\xff name"});
  std::string out;
  ASSERT_TRUE(client.receive(register_frame(3, "\xff\xfe\xc3"), out));
  ASSERT_TRUE(client.receive(query_frame(), out));
  ASSERT_GT(out.size(), sizeof(wire::FrameHeader));
  const auto doc = nlohmann::json::parse(out.substr(sizeof(wire::FrameHeader)));
  EXPECT_EQ(doc["devices"][0]["id"], 3);
  EXPECT_EQ(doc["devices"][0]["architecture"], "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // three U+FFFD
}

// fuzz_session: an empty read passed a null pointer to memcpy (undefined even for 0 bytes).
TEST(Session, EmptyInputIsHarmless) {
  Harness h;
  Session client(h.context, 1, PeerIdentity{10, 0, "x"});
  std::string out;
  EXPECT_TRUE(client.receive(std::string_view(), out));
  EXPECT_TRUE(out.empty());
}

TEST(Session, ByteAtATimeFramingGivesTheSameResult) {
  Harness h;
  Session client(h.context, 1, PeerIdentity{10, 0, "x"});
  std::string stream = register_frame(0, "wormhole_b0");
  wire::Event e{1, 4096, 0, 0, static_cast<uint8_t>(wire::EventKind::kAlloc), ALLOCMON_L1, 0};
  wire::append_frame(stream, wire::MessageType::kEventBatch, &e, sizeof(e));
  std::string out;
  for (char c : stream) ASSERT_TRUE(client.receive(std::string_view(&c, 1), out));
  EXPECT_EQ(h.accounting.devices().at(0).totals[ALLOCMON_L1].bytes, 4096u);
  client.end("done");
  EXPECT_EQ(h.accounting.devices().at(0).totals[ALLOCMON_L1].bytes, 0u);
}
