#include "snapshot_poller.hpp"

namespace allocmon::monitor {

Frame SnapshotPoller::poll() {
  Frame frame;
  frame.socket_path = socket_path_;
  std::string error;
  if (!client_.connected() && !client_.connect(socket_path_, &error)) {
    snapshot_.reset();
    frame.status = error;
    return frame;
  }
  auto json = client_.snapshot(2000, &error);
  if (!json) {
    snapshot_.reset();
    frame.status = error;
    return frame;
  }
  auto parsed = parse_snapshot(*json, &error);
  if (!parsed) {
    snapshot_.reset();
    frame.status = error;
    return frame;
  }
  if (previous_ms_ && parsed->time_unix_ms > previous_ms_ && parsed->events_applied >= previous_events_) {
    rate_ = static_cast<double>(parsed->events_applied - previous_events_) * 1000.0 /
            static_cast<double>(parsed->time_unix_ms - previous_ms_);
    rate_known_ = true;
  }
  previous_ms_ = parsed->time_unix_ms;
  previous_events_ = parsed->events_applied;
  json_ = std::move(*json);
  snapshot_ = std::move(parsed);
  frame.snapshot = &*snapshot_;
  frame.events_per_second = rate_;
  frame.rate_known = rate_known_;
  return frame;
}

}  // namespace allocmon::monitor
