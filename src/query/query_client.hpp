// Asks the server for its state: a snapshot or a leak report, as the JSON documents of docs/snapshot.md.
// Used by the monitor, the tests and the Python module; speaks only the wire protocol.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/frame_decoder.hpp"

namespace allocmon {

// Every live buffer the viewer may see, as the server streamed it (QueryLeakStream), grouped by process.
struct LeakReport {
  struct Process {
    int32_t pid = 0;
    std::string name;
    std::vector<wire::LeakBuffer> buffers;
    std::vector<wire::LeakOrigin> origins;  // per buffer where the server said (attribution); may be shorter
  };
  struct Context {
    std::string scope, op, site;
    std::string tensor;  // what the buffer holds ("bfloat16 TILE [1, 1, 1024, 1024] DRAM ..."); empty: unsaid
  };
  int64_t time_unix_ms = 0;
  int32_t device_id = -1;
  std::vector<Process> processes;
  std::map<uint32_t, Context> contexts;  // the server's context indexes named in this report
};

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
  // Every live buffer (streamed, so any number), as the allocmon.leaks/1 JSON document.
  std::optional<std::string> leaks(int device_id, int timeout_ms, std::string* error);
  // The same, decoded from the binary stream without JSON (fast at millions of buffers).
  std::optional<LeakReport> leak_report(int device_id, int timeout_ms, std::string* error);
  // Only the `largest` buffers of each process, as JSON (what a live view shows each refresh).
  std::optional<std::string> largest_buffers(int device_id, uint32_t largest, int timeout_ms,
                                             std::string* error);
  // Barrier: returns once the server has read every polled source (tt-metal regions, /proc) after this call,
  // so the next snapshot shows what those files say now.
  bool sync_sources(int timeout_ms, std::string* error);

 private:
  std::optional<std::string> request(wire::MessageType type, const void* payload, size_t size,
                                     wire::MessageType reply, int timeout_ms, std::string* error);
  bool send_request(wire::MessageType type, const void* payload, size_t size, std::string* error);
  // The next frame from the server (an Error frame fails), waiting until `deadline_ms` (steady clock).
  bool next_frame(wire::Frame& frame, int64_t deadline_ms, int timeout_ms, std::string* error);
  void close();

  int fd_ = -1;
  uint64_t sync_token_ = 0;
  wire::FrameDecoder decoder_{wire::Direction::kFromServer};
};

}  // namespace allocmon
