// A recording (allocation_server --record, schema in docs/recording.md) as allocmon-report reads it: every
// event in time order, polled sources' samples merged in, processes and devices.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace allocmon::report {

struct Event {
  int64_t seq = 0;  // -1 for a sample
  int64_t time_ms = 0;
  int64_t client = 0;
  int pid = 0;
  int device = 0;
  int type = 0;
  enum Kind { kAlloc, kFree, kReclaim, kSample } kind = kAlloc;
  uint64_t size = 0;  // a sample: the source's total for the device and type
  uint64_t address = 0;
  uint64_t buffer_id = 0;
};

struct Process {
  int pid = 0;
  std::string name;
  int64_t start_ms = 0, end_ms = 0;
};

struct Device {
  int row = -1, col = -1;
  std::string architecture;
  std::vector<uint64_t> capacity;  // per memory type; empty when never described
};

struct Recording {
  std::vector<Event> events;
  std::map<int64_t, Process> processes;  // by client
  std::map<int, Device> devices;
};

// Throws allocmon::sqlite::Error with a message naming the file.
Recording load_recording(const std::string& path);

}  // namespace allocmon::report
