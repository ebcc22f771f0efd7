// Replay input from a recording made by `allocation_server --record` (docs/recording.md): one process's
// events on one device, in the order the server applied them, with the device's architecture, grid and
// regions as the target.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "trace.hpp"

namespace allocmon::replay {

struct RecordingSelection {
  std::optional<int> pid;     // required when several processes allocated
  std::optional<int> device;  // default: the lowest device the process allocated on
};

class RecordingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws RecordingError with a message saying what to choose or what is wrong with the file.
Trace load_recording(const std::string& path, const RecordingSelection& selection);

}  // namespace allocmon::replay
