// Asks the server for its state: a snapshot or a leak report, as the JSON documents of docs/snapshot.md.
// Used by the monitor, the tests and the Python module; speaks only the wire protocol.
#pragma once

#include <optional>
#include <string>

#include "protocol/frame_decoder.hpp"

namespace allocmon {

class QueryClient {
 public:
  QueryClient() = default;
  QueryClient(QueryClient&& other) noexcept;
  QueryClient& operator=(QueryClient&& other) noexcept;
  QueryClient(const QueryClient&) = delete;
  QueryClient& operator=(const QueryClient&) = delete;
  ~QueryClient();

  // Connects to the server on `socket_path`; false with a message naming the path and the fix on failure.
  bool connect(const std::string& socket_path, std::string* error);
  bool connected() const { return fd_ >= 0; }

  std::optional<std::string> snapshot(int timeout_ms, std::string* error);
  std::optional<std::string> leaks(int device_id, int timeout_ms, std::string* error);
  // Barrier: returns once the server has read every polled source (tt-metal regions, /proc) after this call,
  // so the next snapshot shows what those files say now.
  bool sync_sources(int timeout_ms, std::string* error);

 private:
  std::optional<std::string> request(wire::MessageType type, const void* payload, size_t size,
                                     wire::MessageType reply, int timeout_ms, std::string* error);
  void close();

  int fd_ = -1;
  uint64_t sync_token_ = 0;
  wire::FrameDecoder decoder_;
};

}  // namespace allocmon
