#include "snapshot_model.hpp"

#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace allocmon::monitor {

using nlohmann::json;

namespace {

// Typed reads that refuse what does not fit (nlohmann's get<> converts a float such as 1e42 with undefined
// behaviour): a hostile or broken server gets "malformed snapshot", never UB.
uint64_t u64(const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0) return static_cast<uint64_t>(j.get<int64_t>());
  throw std::invalid_argument("expected a non-negative integer, got " + j.dump());
}

int64_t i64(const json& j) {
  if (j.is_number_integer() && !(j.is_number_unsigned() && j.get<uint64_t>() > INT64_MAX))
    return j.get<int64_t>();
  throw std::invalid_argument("expected an integer, got " + j.dump());
}

int i32(const json& j) {
  const int64_t v = i64(j);
  if (v < INT32_MIN || v > INT32_MAX) throw std::invalid_argument("integer out of range: " + j.dump());
  return static_cast<int>(v);
}

}  // namespace

const MemoryView* DeviceView::type(std::string_view name) const {
  for (const auto& m : memory)
    if (m.type == name) return &m;
  return nullptr;
}

std::string DeviceView::chip_note() const {
  if (!logical_id || (*logical_id == id && !logical_shared)) return {};
  std::string note = " (logical " + std::to_string(*logical_id);
  if (asic_id) note += ", asic " + std::to_string(*asic_id);
  return note + ")";
}

double DeviceView::fullest_fraction() const {
  double best = 0;
  for (const auto& m : memory)
    if (m.capacity) best = std::max(best, static_cast<double>(m.allocated) / static_cast<double>(m.capacity));
  return best;
}

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
    s.time_unix_ms = i64(doc.at("time_unix_ms"));
    s.events_applied = u64(doc.at("counters").at("events_applied"));
    s.clients_connected = u64(doc.at("counters").at("clients_connected"));
    s.total_allocated = u64(doc.at("totals").at("allocated"));
    s.total_buffers = u64(doc.at("totals").at("buffers"));
    const auto& types = doc.at("memory_types");
    for (const auto& d : doc.at("devices")) {
      DeviceView device;
      device.id = i32(d.at("id"));
      device.architecture = d.at("architecture").get<std::string>();
      device.active = d.at("active").get<bool>();
      if (d.contains("clients")) device.clients = i32(d.at("clients"));
      if (d.contains("source")) device.source = d.at("source").get<std::string>();
      if (d.contains("asic_id")) device.asic_id = u64(d.at("asic_id"));
      if (d.contains("logical_id")) device.logical_id = i32(d.at("logical_id"));
      if (!d.at("mesh").is_null()) {
        device.mesh_row = i32(d.at("mesh").at("row"));
        device.mesh_col = i32(d.at("mesh").at("col"));
      }
      device.allocated = u64(d.at("allocated"));
      device.buffers = u64(d.at("buffers"));
      for (const auto& type : types) {
        const auto& m = d.at("memory").at(type.get<std::string>());
        MemoryView view;
        view.type = type.get<std::string>();
        view.allocated = u64(m.at("allocated"));
        view.buffers = u64(m.at("buffers"));
        view.peak = u64(m.at("peak"));
        view.capacity = u64(m.at("capacity"));
        if (m.contains("free")) view.free = u64(m.at("free"));
        if (m.contains("largest_free_block")) view.largest_free_block = u64(m.at("largest_free_block"));
        if (m.contains("unattributed")) view.unattributed = u64(m.at("unattributed"));
        if (m.contains("stale")) view.stale = u64(m.at("stale"));
        if (m.contains("region")) {
          const auto& r = m.at("region");
          const uint64_t banks = u64(r.at("banks")), page = u64(r.at("page_alignment")),
                         block = u64(r.at("block_alignment"));
          if (banks > UINT32_MAX || page > UINT32_MAX || block > UINT32_MAX)
            throw std::invalid_argument("region field out of range");
          view.region = RegionView{u64(r.at("base")), u64(r.at("bank_size")), static_cast<uint32_t>(banks),
                                   static_cast<uint32_t>(page), static_cast<uint32_t>(block)};
        }
        device.memory.push_back(std::move(view));
      }
      s.devices.push_back(std::move(device));
    }
    for (const auto& p : doc.at("processes")) {
      ProcessView process;
      process.pid = i32(p.at("pid"));
      process.name = p.at("name").get<std::string>();
      process.allocated = u64(p.at("allocated"));
      process.buffers = u64(p.at("buffers"));
      if (p.contains("uid")) process.uid = i32(p.at("uid"));
      if (p.contains("user")) process.user = p.at("user").get<std::string>();
      if (p.contains("cmdline")) process.cmdline = p.at("cmdline").get<std::string>();
      if (p.contains("source")) process.source = p.at("source").get<std::string>();
      if (p.contains("holds"))
        for (const auto& h : p.at("holds")) process.holds.push_back(h.get<std::string>());
      for (const auto& d : p.at("devices")) {
        process.device_bytes.emplace_back(i32(d.at("id")), u64(d.at("allocated")));
        ProcessDeviceView pd;
        pd.id = i32(d.at("id"));
        pd.allocated = u64(d.at("allocated"));
        pd.buffers = u64(d.at("buffers"));
        if (d.contains("memory"))
          for (const auto& [type, m] : d.at("memory").items())
            pd.memory.emplace_back(type, u64(m.at("allocated")));
        process.devices.push_back(std::move(pd));
      }
      s.processes.push_back(std::move(process));
    }
    for (auto& a : s.devices)
      for (const auto& b : s.devices)
        if (&a != &b && a.logical_id && a.logical_id == b.logical_id) a.logical_shared = true;
    return s;
  } catch (const std::exception& e) {  // json::exception and the typed reads above
    if (error) *error = std::string("malformed snapshot: ") + e.what();
    return std::nullopt;
  }
}

std::string filter_snapshot_json(const std::string& text, const std::vector<int>& ids) {
  if (ids.empty()) return text;
  json doc = json::parse(text);
  auto wanted = [&](const json& d) {
    return std::find(ids.begin(), ids.end(), d.at("id").get<int>()) != ids.end();
  };
  json devices = json::array();
  uint64_t allocated = 0, buffers = 0;
  for (auto& d : doc.at("devices"))
    if (wanted(d)) {
      allocated += d.at("allocated").get<uint64_t>();
      buffers += d.at("buffers").get<uint64_t>();
      devices.push_back(std::move(d));
    }
  doc["devices"] = std::move(devices);
  doc["totals"] = {{"allocated", allocated}, {"buffers", buffers}};
  json processes = json::array();
  for (auto& p : doc.at("processes")) {
    json mine = json::array();
    uint64_t bytes = 0, count = 0;
    for (auto& d : p.at("devices"))
      if (wanted(d)) {
        bytes += d.at("allocated").get<uint64_t>();
        count += d.at("buffers").get<uint64_t>();
        mine.push_back(std::move(d));
      }
    if (mine.empty()) continue;
    p["devices"] = std::move(mine);
    p["allocated"] = bytes;
    p["buffers"] = count;
    processes.push_back(std::move(p));
  }
  doc["processes"] = std::move(processes);
  doc["filtered_devices"] = ids;
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace allocmon::monitor
