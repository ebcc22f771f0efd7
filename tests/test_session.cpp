// The server's per-connection protocol logic, driven without sockets; includes regressions found by fuzzing.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "server/session.hpp"
#include "support/session_harness.hpp"

using namespace allocmon;
using namespace allocmon::server;

namespace {

using Harness = allocmon::testing::SessionHarness;
using allocmon::testing::register_frame;

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

// A process linked against the version-1 client library keeps reporting to a version-2 server: its 32-byte
// events are widened, and its replies come back in version 1 so its decoder accepts them.
TEST(Session, VersionOneClientsAreAcceptedAndAnsweredInVersionOne) {
  Harness h;
  Session client(h.context, 1, PeerIdentity{10, 0, "old"});
  std::string stream;
  wire::RegisterDevice r{};
  r.device_id = 2;
  r.mesh_row = r.mesh_col = -1;
  wire::append_frame(stream, wire::MessageType::kRegisterDevice, &r, sizeof(r), 1);
  const wire::EventV1 events[2] = {
      {7, 8192, 96, 2, static_cast<uint8_t>(wire::EventKind::kAlloc), ALLOCMON_DRAM, 0},
      {8, 2048, 1497088, 2, static_cast<uint8_t>(wire::EventKind::kAlloc), ALLOCMON_L1, 0}};
  wire::append_frame(stream, wire::MessageType::kEventBatch, events, sizeof(events), 1);
  const wire::Flush flush{77};
  wire::append_frame(stream, wire::MessageType::kFlush, &flush, sizeof(flush), 1);
  std::string out;
  ASSERT_TRUE(client.receive(stream, out));
  const auto& device = h.accounting.devices().at(2);
  EXPECT_EQ(device.totals[ALLOCMON_DRAM].bytes, 8192u);
  EXPECT_EQ(device.totals[ALLOCMON_L1].bytes, 2048u);
  ASSERT_EQ(out.size(), sizeof(wire::FrameHeader) + sizeof(wire::Flush));
  wire::FrameHeader header;
  std::memcpy(&header, out.data(), sizeof(header));
  EXPECT_EQ(header.type, static_cast<uint16_t>(wire::MessageType::kFlushAck));
  EXPECT_EQ(header.version, 1);

  // A version-2 batch must be a multiple of 40 bytes: a 32-byte one is a framing error.
  Session current(h.context, 2, PeerIdentity{11, 0, "new"});
  std::string bad;
  wire::append_frame(bad, wire::MessageType::kEventBatch, events, sizeof(events[0]));
  out.clear();
  EXPECT_FALSE(current.receive(bad, out));

  // Versions outside 1..current are refused.
  std::string future;
  wire::append_frame(future, wire::MessageType::kFlush, &flush, sizeof(flush), wire::kProtocolVersion + 1);
  Session newer(h.context, 3, PeerIdentity{12, 0, "future"});
  out.clear();
  EXPECT_FALSE(newer.receive(future, out));
  EXPECT_NE(
      out.find(
          "wrong protocol version (this server speaks protocol versions 1 to 4; upgrade the older side)"),
      std::string::npos);
}
