// The data behind allocmon-report --html (html_report.hpp): memory over time per device, and all devices
// summed, per memory type, stacked by scope and by op; for each time column the moment it shows (its peak);
// the buffers live at those moments with what they are. Bounded whatever the recording's length: a fixed
// number of columns, of groups per chart and of buffers in all (the largest at each moment first).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "contexts.hpp"
#include "recording.hpp"

namespace allocmon::report {

struct HtmlLimits {
  int columns = 600;       // time columns per chart, each showing the highest moment of its interval
  int groups = 12;         // scopes (or ops) drawn per chart; the others are summed as "other"
  int per_moment = 128;    // largest buffers kept per device at each column's moment (the sum: x devices)
  size_t buffers = 60000;  // buffer records in the file in all
  size_t marks = 1000;     // marks drawn (evenly chosen when there are more)
};

// The page's data; `name` is what the page calls the recording. Format 1:
//   recording, start_unix_ms, end_ms and span_ms (the time axis, past the last event), columns, events,
//   types: the memory type names by code; devices: [{id, row, col, arch, capacity: bytes by type, polled}];
//   processes: {pid: name}; marks: [{name, t_ms, pid}] (ms since start_unix_ms);
//   groupings: {scope: [names], op: [names]}, by largest peak, "other" last;
//   contexts: [[scope, op, site, tensor]] (0: none); pool: run-length arrays [value, count, value, count,
//   ...]; views: [{device: null (all summed) | id, types: {TYPE: {peak, total, moments, scope: [[group,
//   series]],
//           op: [[group, series]]}}}]: total, moments (the event index each column shows) and series are
//           indices into pool; a column's groups add up to its total;
//   buffers: columns device, type, size, address (a number, or hex text past 2^53), context, pid, from and to
//            (event indices: live at moment m when from <= m < to), at_ms;
//   limits: {groups, per_moment, buffers_kept, buffers_recorded, marks_recorded}.
nlohmann::json html_data(const std::string& name, const Recording& recording, const Attribution& attribution,
                         const HtmlLimits& limits = {});

}  // namespace allocmon::report
