// Incremental frame decoder: bytes in, validated frames out. Shared by server, client and monitor so that
// every side applies the same framing rules (docs/protocol.md, "Framing").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "wire.hpp"

namespace allocmon::wire {

struct Frame {
  MessageType type;
  uint16_t version;          // kMinProtocolVersion..kProtocolVersion
  std::string_view payload;  // valid until the next call to append() or next()
};

enum class DecodeStatus { kNeedMore, kFrame, kError };

// Which way frames travel: the server decodes what clients send (every frame within the limit, no server
// messages); clients decode the server's replies (snapshots and leak chunks may be larger).
enum class Direction { kFromClient, kFromServer };

// Checks one header against the framing rules; returns the error, or nullopt when it is acceptable.
std::optional<ErrorCode> validate_header(const FrameHeader& header, Direction direction,
                                         uint32_t max_payload = kMaxPayloadBytes);

// Human-readable text for an error code.
std::string_view error_code_name(ErrorCode code);

class FrameDecoder {
 public:
  explicit FrameDecoder(Direction direction, uint32_t max_payload = kMaxPayloadBytes)
      : direction_(direction), max_payload_(max_payload) {}

  // Space to read into: at least `min_bytes` writable bytes; call commit() with how many were written.
  char* prepare(size_t min_bytes);
  void commit(size_t bytes) { end_ += bytes; }
  void append(const void* data, size_t bytes);

  // Extracts the next complete frame. After kError the stream cannot be trusted: close it.
  DecodeStatus next(Frame& frame, ErrorCode& error);

  size_t buffered() const { return end_ - begin_; }

 private:
  std::vector<char> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  Direction direction_;
  uint32_t max_payload_;
};

}  // namespace allocmon::wire
