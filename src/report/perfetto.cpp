#include "perfetto.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "protocol/wire.hpp"

namespace allocmon::report {

std::string perfetto_trace(const Recording& r, const Timeline& t) {
  using nlohmann::json;
  json events = json::array();
  for (const auto& [id, per_type] : t.series)
    for (int type = 0; type < wire::kNumMemoryTypes; ++type) {
      if (!t.has(id, type)) continue;
      const std::string name =
          "device " + std::to_string(id) + " " + std::string(wire::kMemoryTypeNames[type]);
      for (int c = 0; c < t.columns; ++c) {
        const int64_t ts_us = (t.t_axis - t.t0) * c / t.columns * 1000;
        events.push_back({{"name", name},
                          {"ph", "C"},
                          {"ts", ts_us},
                          {"pid", 1},
                          {"args", {{"bytes", per_type[type][c]}}}});
      }
    }
  for (const auto& [client, p] : r.processes) {
    const std::string who = p.name + " (pid " + std::to_string(p.pid) + ")";
    events.push_back({{"name", "start " + who},
                      {"ph", "i"},
                      {"s", "g"},
                      {"ts", std::max<int64_t>(0, p.start_ms - t.t0) * 1000},
                      {"pid", 1}});
    if (p.end_ms)
      events.push_back({{"name", "exit " + who},
                        {"ph", "i"},
                        {"s", "g"},
                        {"ts", std::max<int64_t>(0, p.end_ms - t.t0) * 1000},
                        {"pid", 1}});
  }
  events.push_back(
      {{"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"args", {{"name", "allocmon device memory"}}}});
  return json{{"traceEvents", events}, {"displayTimeUnit", "ms"}}.dump(-1, ' ', false,
                                                                       json::error_handler_t::replace);
}

}  // namespace allocmon::report
