#include "perfetto.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "protocol/wire.hpp"

namespace allocmon::report {

namespace {
// Perfetto groups tracks by pid: pid 1 holds the process starts and exits, device N's tracks are pid N + 2.
int64_t device_pid(int id) {
  return int64_t{id} + 2;
}
}  // namespace

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
                          {"pid", device_pid(id)},
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
      {{"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"args", {{"name", "allocmon: processes"}}}});
  // One group of tracks per device (its memory types), in device order, instead of every track under one.
  for (const auto& [id, per_type] : t.series) {
    std::string name = "device " + std::to_string(id);
    if (const auto d = r.devices.find(id); d != r.devices.end()) {
      if (d->second.row >= 0)
        name += " (" + std::to_string(d->second.row) + "," + std::to_string(d->second.col) + ")";
      if (!d->second.architecture.empty()) name += " " + d->second.architecture;
    }
    events.push_back(
        {{"name", "process_name"}, {"ph", "M"}, {"pid", device_pid(id)}, {"args", {{"name", name}}}});
    events.push_back({{"name", "process_sort_index"},
                      {"ph", "M"},
                      {"pid", device_pid(id)},
                      {"args", {{"sort_index", id}}}});
  }
  return json{{"traceEvents", events}, {"displayTimeUnit", "ms"}}.dump(-1, ' ', false,
                                                                       json::error_handler_t::replace);
}

}  // namespace allocmon::report
