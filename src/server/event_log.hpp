// The server's human-readable log, in the seed's style. stdout is line-buffered so nothing hides in a buffer.
#pragma once

#include <cstdio>
#include <string_view>

#include "accounting.hpp"

namespace allocmon::server {

class EventLog {
 public:
  EventLog(std::FILE* out, bool quiet) : out_(out), quiet_(quiet) {}
  bool quiet() const { return quiet_; }

  void allocated(pid_t pid, const wire::Event& event);
  void freed(pid_t pid, const wire::Event& event, uint64_t size);
  void registered(pid_t pid, const std::string& name, const wire::RegisterDevice& registration);
  void unregistered(pid_t pid, int32_t device_id, const ReclaimReport& report);
  void problem(pid_t pid, EventProblem problem, const wire::Event& event);
  void conflicting_device(pid_t pid, const wire::RegisterDevice& registration);
  void protocol_error(pid_t pid, std::string_view what);
  void reclaimed(pid_t pid, const std::string& name, std::string_view why, const ReclaimReport& report);
  // The statistics block. `periodic` (the --stats-interval timer): with --quiet it is left out while nothing
  // changed since the last one. Devices with nothing allocated share one line.
  void statistics(const Accounting& accounting, bool periodic = false);
  // Always printed, even with --quiet.
  void notice(std::string_view text);

 private:
  std::FILE* out_;
  bool quiet_;
  uint64_t last_events_ = UINT64_MAX;  // events applied at the last statistics block
};

}  // namespace allocmon::server
