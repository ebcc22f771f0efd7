// Attribution on the server (docs/attribution.md): contexts a client names, Context events, marks, what leak
// reports and snapshots say of them, and what a client may not make the server do.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "protocol/frame_decoder.hpp"
#include "server/leak_stream.hpp"
#include "server/session.hpp"
#include "server/snapshot_json.hpp"
#include "support/session_harness.hpp"

using namespace allocmon;
using namespace allocmon::server;

namespace {

using Harness = allocmon::testing::SessionHarness;
using allocmon::testing::register_frame;

std::string define_frame(uint32_t id, std::string scope, std::string op, std::string site,
                         std::string tensor = "", uint16_t version = wire::kProtocolVersion) {
  wire::DefineContext header{id, static_cast<uint16_t>(scope.size()), static_cast<uint16_t>(op.size()),
                             static_cast<uint16_t>(site.size()), static_cast<uint16_t>(tensor.size())};
  std::string payload(reinterpret_cast<const char*>(&header), sizeof(header));
  payload += scope + op + site + tensor;
  std::string s;
  wire::append_frame(s, wire::MessageType::kDefineContext, payload.data(), payload.size(), version);
  return s;
}

wire::Event context_event(uint32_t id) {
  wire::Event e{};
  e.kind = static_cast<uint8_t>(wire::EventKind::kContext);
  e.buffer_id = id;
  return e;
}

wire::Event alloc(uint64_t id, uint64_t size, int device = 0) {
  return wire::Event{
      id, size, 4096 * id, device, static_cast<uint8_t>(wire::EventKind::kAlloc), ALLOCMON_DRAM, 0};
}

std::string batch(std::initializer_list<wire::Event> events) {
  std::string s;
  wire::append_frame(s, wire::MessageType::kEventBatch, events.begin(), events.size() * sizeof(wire::Event));
  return s;
}

std::string mark_frame(const std::string& name) {
  std::string s;
  wire::append_frame(s, wire::MessageType::kMark, name.data(), name.size());
  return s;
}

nlohmann::json leaks(const Accounting& a) {
  return nlohmann::json::parse(leaks_json(a, -1, 2000));
}
nlohmann::json snapshot(const Accounting& a, uid_t viewer = 0) {
  return nlohmann::json::parse(snapshot_json(a, ServerInfo{}, 2000, viewer));
}

}  // namespace

TEST(Attribution, BuffersCarryTheContextInForceWhenAllocated) {
  Harness h;
  Session client(h.context, 1, PeerIdentity{10, 0, "x"});
  std::string out;
  ASSERT_TRUE(client.receive(register_frame(0) + define_frame(1, "model/layer.0", "ttnn.add", "m.py:7") +
                                 define_frame(2, "model/layer.1", "ttnn.matmul", "m.py:9"),
                             out));
  ASSERT_TRUE(client.receive(batch({alloc(1, 100), context_event(1), alloc(2, 200), context_event(2),
                                    alloc(3, 300), context_event(0), alloc(4, 400)}),
                             out));
  std::map<uint64_t, nlohmann::json> by_id;
  const auto report = leaks(h.accounting);
  for (const auto& b : report["processes"][0]["buffers"]) by_id[b["buffer_id"].get<uint64_t>()] = b;
  ASSERT_EQ(by_id.size(), 4u) << report.dump();
  EXPECT_EQ(by_id[1]["scope"], "");  // before any Context event: none (but placed in the order: seq)
  EXPECT_EQ(by_id[2]["scope"], "model/layer.0");
  EXPECT_EQ(by_id[2]["op"], "ttnn.add");
  EXPECT_EQ(by_id[2]["site"], "m.py:7");
  EXPECT_EQ(by_id[3]["op"], "ttnn.matmul");
  EXPECT_EQ(by_id[4]["scope"], "");  // context 0: none
  EXPECT_LT(by_id[2]["seq"].get<uint64_t>(), by_id[3]["seq"].get<uint64_t>());

  const auto holders = snapshot(h.accounting)["holders"];
  ASSERT_EQ(holders["op"].size(), 2u);
  EXPECT_EQ(holders["op"][0]["name"], "ttnn.matmul");  // largest first
  EXPECT_EQ(holders["op"][0]["bytes"], 300);
  EXPECT_EQ(holders["op"][0]["devices"][0]["memory"]["DRAM"], 300);
  EXPECT_EQ(holders["scope"][1]["name"], "model/layer.0");

  // Freed buffers leave the holders.
  wire::Event free3{3, 0, 0, 0, static_cast<uint8_t>(wire::EventKind::kFree), 0, 0};
  ASSERT_TRUE(client.receive(batch({free3}), out));
  EXPECT_EQ(snapshot(h.accounting)["holders"]["op"].size(), 1u);
}

namespace {

// What a leak stream of `version` says: each buffer's context strings, by buffer id ("" where none).
std::map<uint64_t, std::vector<std::string>> streamed(const Accounting& a, uint16_t version) {
  LeakStream stream(-1, 0, version);
  std::string bytes;
  while (!stream.produce(a, 2000, 1 << 20, bytes)) {
  }
  wire::FrameDecoder decoder(wire::Direction::kFromServer);
  decoder.append(bytes.data(), bytes.size());
  std::map<uint32_t, std::vector<std::string>> contexts;
  std::vector<uint64_t> chunk;  // the last chunk's buffer ids
  std::map<uint64_t, std::vector<std::string>> out;
  wire::Frame frame;
  wire::ErrorCode error;
  while (decoder.next(frame, error) == wire::DecodeStatus::kFrame) {
    EXPECT_EQ(frame.version, version);
    if (frame.type == wire::MessageType::kLeakContext) {
      const auto named = wire::parse_context(frame.payload, frame.version);
      EXPECT_TRUE(named.has_value());
      if (named)
        contexts[named->id] = {std::string(named->scope), std::string(named->op), std::string(named->site),
                               std::string(named->tensor)};
    } else if (frame.type == wire::MessageType::kLeakChunk) {
      chunk.clear();
      for (size_t at = sizeof(wire::LeakChunkHeader); at < frame.payload.size();
           at += sizeof(wire::LeakBuffer)) {
        wire::LeakBuffer b;
        std::memcpy(&b, frame.payload.data() + at, sizeof(b));
        chunk.push_back(b.buffer_id);
        out[b.buffer_id] = {"", "", "", ""};
      }
    } else if (frame.type == wire::MessageType::kLeakOrigins) {
      for (size_t i = 0; i < chunk.size() && (i + 1) * sizeof(wire::LeakOrigin) <= frame.payload.size();
           ++i) {
        wire::LeakOrigin origin;
        std::memcpy(&origin, frame.payload.data() + i * sizeof(origin), sizeof(origin));
        if (origin.context) out[chunk[i]] = contexts.at(origin.context);
      }
    }
  }
  return out;
}

}  // namespace

// Tensors across the mesh (docs/attribution.md): a context's fourth string says what the buffers hold.
TEST(Attribution, ATensorDescriptionReachesLeakReportsSnapshotsAndTheLeakStream) {
  Harness h;
  Session client(h.context, 1, PeerIdentity{10, 0, "x"});
  std::string out;
  const std::string described = "bfloat16 TILE [1, 1, 1024, 1024] DRAM interleaved, sharded dim 3 over 8";
  ASSERT_TRUE(client.receive(register_frame(0) + register_frame(1) +
                                 define_frame(1, "model", "ttnn.from_torch", "m.py:3", described) +
                                 define_frame(2, "model", "ttnn.from_torch", "m.py:3"),
                             out));
  ASSERT_TRUE(client.receive(
      batch({context_event(1), alloc(1, 4096, 0), alloc(2, 4096, 1), context_event(2), alloc(3, 64, 0)}),
      out));
  EXPECT_EQ(h.accounting.attribution().contexts(), 2u);  // the same scope, op and site, two tensors

  std::map<uint64_t, nlohmann::json> by_id;
  const auto report = leaks(h.accounting);
  for (const auto& b : report["processes"][0]["buffers"]) by_id[b["buffer_id"].get<uint64_t>()] = b;
  ASSERT_EQ(by_id.size(), 3u) << report.dump() << out;
  EXPECT_EQ(by_id[1]["tensor"], described);
  EXPECT_EQ(by_id[2]["tensor"], described);
  EXPECT_EQ(by_id[2]["scope"], "model");
  EXPECT_EQ(by_id[3]["tensor"], "");  // said of none
  EXPECT_EQ(by_id[3]["op"], "ttnn.from_torch");

  const auto holders = snapshot(h.accounting)["holders"]["tensor"];
  ASSERT_EQ(holders.size(), 1u) << holders.dump();
  EXPECT_EQ(holders[0]["name"], described);
  EXPECT_EQ(holders[0]["bytes"], 8192);
  EXPECT_EQ(holders[0]["devices"].size(), 2u);

  // The binary leak stream: a version-4 reader gets the description, a version-3 one the same contexts
  // without it (it would drop a context whose lengths it cannot add up).
  const auto v4 = streamed(h.accounting, wire::kProtocolVersion);
  ASSERT_EQ(v4.size(), 3u);
  EXPECT_EQ(v4.at(1), (std::vector<std::string>{"model", "ttnn.from_torch", "m.py:3", described}));
  EXPECT_EQ(v4.at(2)[3], described);
  EXPECT_EQ(v4.at(3)[3], "");
  const auto v3 = streamed(h.accounting, 3);
  EXPECT_EQ(v3.at(1), (std::vector<std::string>{"model", "ttnn.from_torch", "m.py:3", ""}));
}

// A version-3 client's DefineContext has a reserved field where version 4 has tensor_length: it is ignored,
// as a version-3 server ignored it, and the context names no tensor.
TEST(Attribution, AVersion3DefinitionNamesNoTensorWhateverItsReservedField) {
  Harness h;
  Session client(h.context, 1, PeerIdentity{10, 0, "x"});
  std::string frame = define_frame(1, "s", "op", "site", "", 3);
  wire::DefineContext header;
  std::memcpy(&header, frame.data() + sizeof(wire::FrameHeader), sizeof(header));
  header.tensor_length = 7;  // reserved in v3
  std::memcpy(frame.data() + sizeof(wire::FrameHeader), &header, sizeof(header));
  std::string out;
  ASSERT_TRUE(client.receive(register_frame(0) + frame, out)) << out;
  std::string events;
  const wire::Event list[] = {context_event(1), alloc(1, 100)};
  wire::append_frame(events, wire::MessageType::kEventBatch, list, sizeof(list), 3);
  ASSERT_TRUE(client.receive(events, out)) << out;
  const auto b = leaks(h.accounting)["processes"][0]["buffers"][0];
  EXPECT_EQ(b["site"], "site");
  EXPECT_EQ(b["tensor"], "");
  // The same frame as version 4 claims 7 bytes more than it holds.
  Session v4(h.context, 2, PeerIdentity{11, 0, "y"});
  frame = define_frame(1, "s", "op", "site", "", 4);
  std::memcpy(frame.data() + sizeof(wire::FrameHeader), &header, sizeof(header));
  EXPECT_FALSE(v4.receive(frame, out));
  EXPECT_NE(out.find("do not add up"), std::string::npos);
}

TEST(Attribution, TwoClientsNamingTheSameContextShareItAndAnUndefinedIdMeansNone) {
  Harness h;
  Session a(h.context, 1, PeerIdentity{10, 0, "a"});
  Session b(h.context, 2, PeerIdentity{11, 0, "b"});
  std::string out;
  ASSERT_TRUE(a.receive(
      register_frame(0) + define_frame(5, "s", "op", "") + batch({context_event(5), alloc(1, 64)}), out));
  ASSERT_TRUE(b.receive(register_frame(0) + define_frame(9, "s", "op", "") +
                            batch({context_event(9), alloc(1, 32), context_event(77), alloc(2, 16)}),
                        out));
  EXPECT_EQ(h.accounting.attribution().contexts(), 1u);
  const auto holders = snapshot(h.accounting)["holders"]["scope"];
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_EQ(holders[0]["bytes"], 96);
  EXPECT_EQ(holders[0]["buffers"], 2);
}

TEST(Attribution, MarksAreOrderedWithAllocationsAndHiddenFromOtherUsers) {
  Harness h;
  Session client(h.context, 1, PeerIdentity{10, 1000, "x"});
  std::string out;
  ASSERT_TRUE(client.receive(register_frame(0) + mark_frame("iter-1") + batch({alloc(1, 8)}) +
                                 mark_frame("iter-2") + batch({alloc(2, 8)}),
                             out));
  const auto marks = snapshot(h.accounting)["marks"];
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_EQ(marks[0]["name"], "iter-1");
  const auto report = leaks(h.accounting);
  for (const auto& b : report["processes"][0]["buffers"]) {
    const uint64_t seq = b["seq"];
    if (b["buffer_id"] == 1) {
      EXPECT_TRUE(marks[0]["seq"] < seq && seq <= marks[1]["seq"]);
    } else {
      EXPECT_GT(seq, marks[1]["seq"].get<uint64_t>());
    }
  }
  EXPECT_EQ(snapshot(h.accounting, 2000)["marks"][0]["name"], "(other user)");
  EXPECT_EQ(snapshot(h.accounting, 2000)["marks"][0]["pid"], 0);
}

TEST(Attribution, ADefinitionWhoseLengthsDoNotAddUpClosesTheConnectionWithAReason) {
  Harness h;
  Session client(h.context, 1, PeerIdentity{10, 0, "x"});
  std::string frame = define_frame(1, "abc", "d", "e");
  // Claim a longer scope than the payload holds.
  wire::DefineContext header;
  std::memcpy(&header, frame.data() + sizeof(wire::FrameHeader), sizeof(header));
  header.scope_length = 60;
  std::memcpy(frame.data() + sizeof(wire::FrameHeader), &header, sizeof(header));
  std::string out;
  EXPECT_FALSE(client.receive(frame, out));
  EXPECT_NE(out.find("do not add up"), std::string::npos);
}

TEST(Attribution, AClientCannotMakeTheServerKeepUnboundedContexts) {
  Harness h;
  Session client(h.context, 1, PeerIdentity{10, 0, "x"});
  std::string out;
  std::string frames;
  bool open = true;
  uint32_t id = 1;
  for (; open && id <= (1u << 16) + 1; ++id) {
    frames = define_frame(id, "scope-" + std::to_string(id), "", "");
    open = client.receive(frames, out);
  }
  EXPECT_FALSE(open);
  EXPECT_EQ(id - 1, (1u << 16) + 1);  // the one past the limit closed it
  EXPECT_NE(out.find("contexts on one connection"), std::string::npos);
}

// Contexts outlive the connections that name them, so neither one connection nor all of them together may
// make the server keep more than a bounded number of bytes of names.
TEST(Attribution, ContextNamesAreBoundedPerConnectionAndServerWide) {
  Harness h;
  Session client(h.context, 1, PeerIdentity{10, 0, "x"});
  std::string out;
  const std::string long_name(3000, 's');
  bool open = true;
  uint32_t id = 1;
  for (; open && id < 10000; ++id)
    open = client.receive(define_frame(id, long_name + std::to_string(id), "", ""), out);
  EXPECT_FALSE(open);
  EXPECT_LT(id, 1500u);  // 4 MiB of 3 KB names
  EXPECT_NE(out.find("MiB of context names on one connection"), std::string::npos);

  Attribution small(
      1 << 16);  // server-wide: past the cap, new contexts are none (0), known ones still resolve
  uint32_t last = 0;
  int refused = 0;
  for (int i = 0; i < 100; ++i) {
    const uint32_t index = small.intern({long_name.substr(0, 1000) + std::to_string(i), "", ""});
    if (index) last = index;
    refused += index == 0;
  }
  EXPECT_GT(refused, 0);
  EXPECT_LE(small.bytes(), size_t{1} << 16);
  EXPECT_EQ(small.intern({long_name.substr(0, 1000) + "0", "", ""}), 1u);
  EXPECT_GT(last, 1u);
}
