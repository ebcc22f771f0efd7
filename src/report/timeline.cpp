#include "timeline.hpp"

#include <algorithm>

#include "protocol/wire.hpp"

namespace allocmon::report {

int Timeline::column_of(int64_t time_ms) const {
  const int64_t span = std::max<int64_t>(1, t_axis - t0);
  return std::clamp(static_cast<int>((time_ms - t0) * columns / span), 0, columns - 1);
}

Timeline build_timeline(const Recording& recording, int columns) {
  Timeline t;
  t.columns = columns;
  const auto& events = recording.events;
  if (!events.empty()) {
    t.t0 = events.front().time_ms;
    t.t_end = std::max(events.back().time_ms, t.t0 + 1);
  } else {
    t.t_end = 1;
  }
  // 4 % of the run (at least a column) after the last event: a final free is a visible drop, not a pixel.
  t.t_axis = t.t_end + std::max<int64_t>((t.t_end - t.t0) / 25, 1 + (t.t_end - t.t0) / columns);
  const int types = wire::kNumMemoryTypes;
  for (const auto& [id, d] : recording.devices) t.series[id].assign(types, std::vector<int64_t>(columns, -1));

  std::map<std::pair<int, int>, int64_t> now, sampled;
  // The value at the end of each column (what later columns without events carry), beside its maximum.
  std::map<int, std::vector<std::vector<int64_t>>> last_in_column;
  for (const auto& [id, d] : recording.devices)
    last_in_column[id].assign(types, std::vector<int64_t>(columns, -1));
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    const auto key = std::make_pair(e.device, e.type);
    int64_t& value = now[key];
    switch (e.kind) {
      case Event::kAlloc:
        value += static_cast<int64_t>(e.size);
        break;
      case Event::kFree:
      case Event::kReclaim:
        value -= static_cast<int64_t>(e.size);
        break;
      case Event::kSample:  // a polled total replaces that source's previous one
        value += static_cast<int64_t>(e.size) - sampled[key];
        sampled[key] = static_cast<int64_t>(e.size);
        break;
    }
    const int column = t.column_of(e.time_ms);
    auto& cell = t.series[e.device][e.type][column];
    cell = std::max(cell, value);
    last_in_column[e.device][e.type][column] = value;
    auto [it, first] = t.peak.try_emplace(key, value);
    if (first || value > it->second) {
      it->second = value;
      t.peak_event[key] = i;
    }
  }
  // Columns without events carry the value forward; columns after the last event show where the run ended.
  for (auto& [id, per_type] : t.series)
    for (int type = 0; type < types; ++type) {
      const auto final_it = now.find({id, type});
      const int64_t final_value = final_it == now.end() ? 0 : final_it->second;
      auto& s = per_type[type];
      const auto& ends = last_in_column[id][type];
      int64_t last = 0;
      const int end_column = t.column_of(t.t_end);
      for (int c = 0; c < columns; ++c) {
        if (c > end_column) {
          s[c] = final_value;
        } else if (s[c] < 0) {
          s[c] = last;
        } else {
          last = ends[c];
        }
      }
    }
  for (const auto& [key, value] : now) t.final_bytes[key] = value;
  return t;
}

}  // namespace allocmon::report
