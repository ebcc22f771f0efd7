#include "snapshot_model.hpp"

#include <nlohmann/json.hpp>

namespace allocmon::monitor {

using nlohmann::json;

const DeviceView* Snapshot::device(int id) const {
  for (const auto& d : devices)
    if (d.id == id) return &d;
  return nullptr;
}

std::optional<Snapshot> parse_snapshot(std::string_view text, std::string* error) {
  try {
    const json doc = json::parse(text);
    if (doc.at("schema").get<std::string>() != "allocmon.snapshot/1") {
      if (error) *error = "unsupported snapshot schema " + doc.at("schema").dump();
      return std::nullopt;
    }
    Snapshot s;
    s.socket = doc.at("server").at("socket").get<std::string>();
    s.time_unix_ms = doc.at("time_unix_ms").get<int64_t>();
    s.events_applied = doc.at("counters").at("events_applied").get<uint64_t>();
    s.clients_connected = doc.at("counters").at("clients_connected").get<uint64_t>();
    s.total_allocated = doc.at("totals").at("allocated").get<uint64_t>();
    s.total_buffers = doc.at("totals").at("buffers").get<uint64_t>();
    const auto& types = doc.at("memory_types");
    for (const auto& d : doc.at("devices")) {
      DeviceView device;
      device.id = d.at("id").get<int>();
      device.architecture = d.at("architecture").get<std::string>();
      device.active = d.at("active").get<bool>();
      if (!d.at("mesh").is_null()) {
        device.mesh_row = d.at("mesh").at("row").get<int>();
        device.mesh_col = d.at("mesh").at("col").get<int>();
      }
      device.allocated = d.at("allocated").get<uint64_t>();
      device.buffers = d.at("buffers").get<uint64_t>();
      for (const auto& type : types) {
        const auto& m = d.at("memory").at(type.get<std::string>());
        MemoryView view;
        view.type = type.get<std::string>();
        view.allocated = m.at("allocated").get<uint64_t>();
        view.buffers = m.at("buffers").get<uint64_t>();
        view.peak = m.at("peak").get<uint64_t>();
        view.capacity = m.at("capacity").get<uint64_t>();
        if (m.contains("free")) view.free = m.at("free").get<uint64_t>();
        if (m.contains("largest_free_block"))
          view.largest_free_block = m.at("largest_free_block").get<uint64_t>();
        device.memory.push_back(std::move(view));
      }
      s.devices.push_back(std::move(device));
    }
    for (const auto& p : doc.at("processes")) {
      ProcessView process;
      process.pid = p.at("pid").get<int>();
      process.name = p.at("name").get<std::string>();
      process.allocated = p.at("allocated").get<uint64_t>();
      process.buffers = p.at("buffers").get<uint64_t>();
      for (const auto& d : p.at("devices"))
        process.device_bytes.emplace_back(d.at("id").get<int>(), d.at("allocated").get<uint64_t>());
      s.processes.push_back(std::move(process));
    }
    return s;
  } catch (const json::exception& e) {
    if (error) *error = std::string("malformed snapshot: ") + e.what();
    return std::nullopt;
  }
}

}  // namespace allocmon::monitor
