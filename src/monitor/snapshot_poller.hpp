// Fetches a fresh snapshot per refresh, reconnecting when the server went away, and derives events/s.
#pragma once

#include <optional>
#include <string>

#include "query/query_client.hpp"
#include "view.hpp"

namespace allocmon::monitor {

class SnapshotPoller {
 public:
  explicit SnapshotPoller(std::string socket_path) : socket_path_(std::move(socket_path)) {}
  // The newest frame; frame.snapshot is null while the server is unreachable (frame.status says why).
  Frame poll();
  const std::string& last_json() const { return json_; }

 private:
  std::string socket_path_;
  QueryClient client_;
  std::optional<Snapshot> snapshot_;
  std::string json_;
  std::string status_;
  uint64_t previous_events_ = 0;
  int64_t previous_ms_ = 0;
  double rate_ = 0;
  bool rate_known_ = false;
};

}  // namespace allocmon::monitor
