// Bytes held per device and memory type over the recording's time, in columns (the highest value in each, so
// no peak is lost), with every peak and where it happened.
#pragma once

#include <map>
#include <utility>
#include <vector>

#include "recording.hpp"

namespace allocmon::report {

struct Timeline {
  int64_t t0 = 0;      // first event (unix ms)
  int64_t t_end = 1;   // last event
  int64_t t_axis = 1;  // the time axis ends here: past the last event, so what happened last stays visible
  int columns = 0;
  std::map<int, std::vector<std::vector<int64_t>>> series;  // device -> type -> column -> bytes
  std::map<std::pair<int, int>, int64_t> peak;              // (device, type) -> highest bytes
  std::map<std::pair<int, int>, size_t> peak_event;         // ... reached at this event
  std::map<std::pair<int, int>, int64_t> final_bytes;       // ... at the end of the recording

  int column_of(int64_t time_ms) const;
  bool has(int device, int type) const { return peak.count({device, type}) > 0; }
};

Timeline build_timeline(const Recording& recording, int columns);

}  // namespace allocmon::report
