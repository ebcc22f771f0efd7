#include "frame_decoder.hpp"

namespace allocmon::wire {

namespace {
bool known_type(uint16_t type) {
  switch (static_cast<MessageType>(type)) {
    case MessageType::kHello:
    case MessageType::kRegisterDevice:
    case MessageType::kUnregisterDevice:
    case MessageType::kEventBatch:
    case MessageType::kFlush:
    case MessageType::kReset:
    case MessageType::kQuerySnapshot:
    case MessageType::kQueryLeaks:
    case MessageType::kSyncSources:
    case MessageType::kQueryLeakStream:
    case MessageType::kDefineContext:
    case MessageType::kMark:
    case MessageType::kLeakChunk:
    case MessageType::kLeakContext:
    case MessageType::kLeakOrigins:
    case MessageType::kLeakEnd:
    case MessageType::kFlushAck:
    case MessageType::kSnapshotJson:
    case MessageType::kLeaksJson:
    case MessageType::kError:
      return true;
  }
  return false;
}
}  // namespace

std::optional<ErrorCode> validate_header(const FrameHeader& header, Direction direction,
                                         uint32_t max_payload) {
  if (header.version < kMinProtocolVersion || header.version > kProtocolVersion)
    return ErrorCode::kBadVersion;
  if (!known_type(header.type)) return ErrorCode::kUnknownMessage;
  const bool reply = header.type >= kFirstServerMessage;
  if (direction == Direction::kFromClient) {
    // Decided at the header, before a byte of the payload is buffered: a client may never announce more than
    // the limit, whatever the type, nor send what only the server sends.
    if (reply) return ErrorCode::kUnknownMessage;
    if (header.payload_size > max_payload) return ErrorCode::kFrameTooLarge;
  } else if (!reply) {
    return ErrorCode::kUnknownMessage;  // a server never sends requests
  }
  const auto type = static_cast<MessageType>(header.type);
  switch (type) {
    case MessageType::kEventBatch:
      if (header.payload_size % event_size(header.version) != 0) return ErrorCode::kBadSize;
      break;
    case MessageType::kReset:
    case MessageType::kQuerySnapshot:
      if (header.payload_size != 0) return ErrorCode::kBadSize;
      break;
    case MessageType::kSnapshotJson:
    case MessageType::kLeaksJson:
      break;
    case MessageType::kDefineContext:
    case MessageType::kLeakContext:
      if (header.version < 3 || header.payload_size < sizeof(DefineContext) ||
          header.payload_size >
              sizeof(DefineContext) + context_string_count(header.version) * kMaxAttributionString)
        return ErrorCode::kBadSize;
      break;
    case MessageType::kMark:
      if (header.version < 3 || header.payload_size > kMaxAttributionString) return ErrorCode::kBadSize;
      break;
    case MessageType::kLeakOrigins:
      if (header.version < 3 || header.payload_size % sizeof(LeakOrigin) != 0) return ErrorCode::kBadSize;
      break;
    case MessageType::kLeakChunk:
      if (header.payload_size < sizeof(LeakChunkHeader) ||
          (header.payload_size - sizeof(LeakChunkHeader)) % sizeof(LeakBuffer) != 0)
        return ErrorCode::kBadSize;
      break;
    case MessageType::kError:
      if (header.payload_size < sizeof(ErrorHeader)) return ErrorCode::kBadSize;
      break;
    default:
      if (header.payload_size != fixed_payload_size(type)) return ErrorCode::kBadSize;
  }
  return std::nullopt;
}

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadVersion:
      return "wrong protocol version";
    case ErrorCode::kUnknownMessage:
      return "unknown message type";
    case ErrorCode::kBadSize:
      return "payload size does not match the message type";
    case ErrorCode::kFrameTooLarge:
      return "frame larger than the limit";
    case ErrorCode::kLimitExceeded:
      return "per-connection limit exceeded";
  }
  return "unknown error";
}

char* FrameDecoder::prepare(size_t min_bytes) {
  if (begin_ == end_) begin_ = end_ = 0;
  if (buffer_.size() - end_ < min_bytes) {
    // Compact before growing: consumed bytes at the front are dead.
    if (begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buffer_.size() - end_ < min_bytes) buffer_.resize(end_ + min_bytes);
  }
  return buffer_.data() + end_;
}

void FrameDecoder::append(const void* data, size_t bytes) {
  if (bytes == 0) return;  // memcpy from a null pointer is undefined even for 0 bytes
  std::memcpy(prepare(bytes), data, bytes);
  commit(bytes);
}

DecodeStatus FrameDecoder::next(Frame& frame, ErrorCode& error) {
  const size_t available = end_ - begin_;
  if (available < sizeof(FrameHeader)) return DecodeStatus::kNeedMore;
  FrameHeader header;
  std::memcpy(&header, buffer_.data() + begin_, sizeof(header));
  if (auto bad = validate_header(header, direction_, max_payload_)) {
    error = *bad;
    return DecodeStatus::kError;
  }
  if (available < sizeof(FrameHeader) + header.payload_size) return DecodeStatus::kNeedMore;
  frame.type = static_cast<MessageType>(header.type);
  frame.version = header.version;
  frame.payload = std::string_view(buffer_.data() + begin_ + sizeof(FrameHeader), header.payload_size);
  begin_ += sizeof(FrameHeader) + header.payload_size;
  return DecodeStatus::kFrame;
}

}  // namespace allocmon::wire
