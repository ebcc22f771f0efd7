// Framing rules: what is accepted, what is rejected, and that partial input waits for more.
#include <gtest/gtest.h>

#include <string>

#include "protocol/frame_decoder.hpp"

using namespace allocmon::wire;

namespace {
std::string header_bytes(uint16_t type, uint16_t version, uint32_t size) {
  FrameHeader h{type, version, size};
  return std::string(reinterpret_cast<const char*>(&h), sizeof(h));
}
}  // namespace

TEST(Protocol, MemoryTypeNamesComeFromTheOneList) {
  EXPECT_EQ(kNumMemoryTypes, 6);
  EXPECT_EQ(memory_type_name(ALLOCMON_DRAM), "DRAM");
  EXPECT_EQ(memory_type_name(ALLOCMON_KERNEL), "KERNEL");
  EXPECT_EQ(memory_type_from_name("L1_SMALL"), ALLOCMON_L1_SMALL);
  EXPECT_FALSE(memory_type_from_name("HBM").has_value());
  EXPECT_EQ(memory_type_name(99), "?");
}

TEST(Protocol, EncodeThenDecodeRoundTripsEveryMessage) {
  std::string stream;
  RegisterDevice registration{};
  registration.device_id = 7;
  registration.capacity[ALLOCMON_DRAM] = 123;
  append_message(stream, MessageType::kRegisterDevice, registration);
  Event events[2] = {{1, 100, 64, 7, static_cast<uint8_t>(EventKind::kAlloc), ALLOCMON_L1, 0},
                     {1, 0, 0, 7, static_cast<uint8_t>(EventKind::kFree), 0, 0}};
  append_frame(stream, MessageType::kEventBatch, events, sizeof(events));
  append_message(stream, MessageType::kFlush, Flush{42});

  FrameDecoder decoder(Direction::kFromClient);
  decoder.append(stream.data(), stream.size());
  Frame frame;
  ErrorCode error;
  ASSERT_EQ(decoder.next(frame, error), DecodeStatus::kFrame);
  EXPECT_EQ(frame.type, MessageType::kRegisterDevice);
  RegisterDevice decoded;
  std::memcpy(&decoded, frame.payload.data(), sizeof(decoded));
  EXPECT_EQ(decoded.device_id, 7);
  EXPECT_EQ(decoded.capacity[ALLOCMON_DRAM], 123u);
  ASSERT_EQ(decoder.next(frame, error), DecodeStatus::kFrame);
  EXPECT_EQ(frame.type, MessageType::kEventBatch);
  EXPECT_EQ(frame.payload.size(), 2 * sizeof(Event));
  ASSERT_EQ(decoder.next(frame, error), DecodeStatus::kFrame);
  EXPECT_EQ(frame.type, MessageType::kFlush);
  EXPECT_EQ(decoder.next(frame, error), DecodeStatus::kNeedMore);
}

TEST(Protocol, PartialFramesWaitForTheRest) {
  std::string stream;
  append_message(stream, MessageType::kFlush, Flush{9});
  FrameDecoder decoder(Direction::kFromClient);
  Frame frame;
  ErrorCode error;
  for (size_t i = 0; i + 1 < stream.size(); ++i) {
    decoder.append(stream.data() + i, 1);
    EXPECT_EQ(decoder.next(frame, error), DecodeStatus::kNeedMore) << "after " << i + 1 << " bytes";
  }
  decoder.append(stream.data() + stream.size() - 1, 1);
  EXPECT_EQ(decoder.next(frame, error), DecodeStatus::kFrame);
}

struct BadFrame {
  const char* name;
  std::string bytes;
  ErrorCode expected;
};

TEST(Protocol, BadFramesAreRejectedWithTheRightReason) {
  const BadFrame cases[] = {
      {"wrong version", header_bytes(static_cast<uint16_t>(MessageType::kFlush), 99, 8),
       ErrorCode::kBadVersion},
      {"unknown type", header_bytes(777, kProtocolVersion, 0), ErrorCode::kUnknownMessage},
      {"fixed size mismatch",
       header_bytes(static_cast<uint16_t>(MessageType::kRegisterDevice), kProtocolVersion, 12),
       ErrorCode::kBadSize},
      {"partial event", header_bytes(static_cast<uint16_t>(MessageType::kEventBatch), kProtocolVersion, 33),
       ErrorCode::kBadSize},
      {"too large",
       header_bytes(static_cast<uint16_t>(MessageType::kEventBatch), kProtocolVersion, 64u << 20),
       ErrorCode::kFrameTooLarge},
      {"query with payload",
       header_bytes(static_cast<uint16_t>(MessageType::kQuerySnapshot), kProtocolVersion, 4),
       ErrorCode::kBadSize},
      // A server reply from a client is refused at its header, however large it announces itself (it was
      // exempt from the limit and buffered whole: 192 MiB of server memory per attacker).
      {"reply type from a client, huge",
       header_bytes(static_cast<uint16_t>(MessageType::kSnapshotJson), kProtocolVersion, 0xFFFFFFFFu),
       ErrorCode::kUnknownMessage},
      {"error frame from a client",
       header_bytes(static_cast<uint16_t>(MessageType::kError), kProtocolVersion, 16),
       ErrorCode::kUnknownMessage},
      {"leak chunk from a client",
       header_bytes(static_cast<uint16_t>(MessageType::kLeakChunk), kProtocolVersion, 48),
       ErrorCode::kUnknownMessage},
  };
  for (const auto& c : cases) {
    FrameDecoder decoder(Direction::kFromClient);
    decoder.append(c.bytes.data(), c.bytes.size());
    Frame frame;
    ErrorCode error{};
    EXPECT_EQ(decoder.next(frame, error), DecodeStatus::kError) << c.name;
    EXPECT_EQ(error, c.expected) << c.name;
  }
}

TEST(Protocol, RepliesMayBeLargeButOnlyFromTheServer) {
  FrameDecoder client(Direction::kFromServer);
  const std::string big =
      header_bytes(static_cast<uint16_t>(MessageType::kSnapshotJson), kProtocolVersion, 8u << 20);
  client.append(big.data(), big.size());
  Frame frame;
  ErrorCode error{};
  EXPECT_EQ(client.next(frame, error), DecodeStatus::kNeedMore);  // waits for the 8 MiB snapshot
  FrameDecoder confused(Direction::kFromServer);
  const std::string request = header_bytes(static_cast<uint16_t>(MessageType::kFlush), kProtocolVersion, 8);
  confused.append(request.data(), request.size());
  EXPECT_EQ(confused.next(frame, error), DecodeStatus::kError);
  EXPECT_EQ(error, ErrorCode::kUnknownMessage);
}

#include "server/host_port.hpp"

TEST(HostPort, OnlyWhatItWillListenOnIsAccepted) {
  using allocmon::server::parse_host_port;
  std::string why;
  auto a = parse_host_port("127.0.0.1:9464", &why);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9464);
  auto b = parse_host_port("[::1]:9464", &why);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->url_authority(), "[::1]:9464");
  auto c = parse_host_port(":0", &why);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->port, 0);
  for (const char* bad : {"127.0.0.1:99999", "127.0.0.1", ":9464x", "::1:9464", "[::1]9464", "host:", "9464",
                          "[]:1", "a b:1", "127.0.0.1:-1", "127.0.0.1:+80"})
    EXPECT_FALSE(parse_host_port(bad, &why)) << bad;
  parse_host_port("127.0.0.1", &why);
  EXPECT_NE(why.find("expected HOST:PORT"), std::string::npos);
}
