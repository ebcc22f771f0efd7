// Replay input from a recording made by `allocation_server --record` (docs/recording.md): one process's
// events on one device, in the order the server applied them, with the device's architecture, grid and
// regions as the target.
#pragma once

#include <optional>
#include <string>

#include "common/sqlite.hpp"
#include "trace.hpp"

namespace allocmon::replay {

struct RecordingSelection {
  std::optional<int> pid;     // required when several processes allocated
  std::optional<int> device;  // default: the lowest device the process allocated on
};

// A recording that cannot be read or does not hold what was asked for (also SQLite's own errors).
using RecordingError = sqlite::Error;

// Throws RecordingError with a message saying what to choose or what is wrong with the file.
Trace load_recording(const std::string& path, const RecordingSelection& selection);

// One line per process that allocated: pid, name, allocations, devices (allocmon-replay --list).
std::string describe_recording(const std::string& path);

// Either format, chosen by content ("-": text from standard input). Throws TraceError, RecordingError, or
// std::runtime_error when the file cannot be read.
Trace load_trace_file(const std::string& path, const RecordingSelection& selection);

// What the command line or the Python call may change about the trace's own target.
struct TargetOverrides {
  std::string architecture;  // empty: keep
  std::optional<std::pair<uint32_t, uint32_t>> grid;
  std::optional<uint64_t> l1_small, trace_region;
};
// The trace's target with the overrides applied. A recorded grid belongs to the recorded architecture, so
// choosing another architecture for a recording also selects that architecture's own grid.
Target resolve_target(const Trace& trace, const TargetOverrides& overrides);
// Recorded addresses are expected only on the trace's own target.
inline bool is_own_target(const Trace& trace, const Target& target) {
  return !trace.target || target == *trace.target;
}

}  // namespace allocmon::replay
