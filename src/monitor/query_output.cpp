#include "query_output.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace allocmon::monitor {

const std::vector<std::string>& query_fields() {
  static const std::vector<std::string> fields = {
      "time",    "device",  "type",         "allocated",    "capacity", "peak",
      "buffers", "free",    "largest_free", "unattributed", "stale",    "architecture",
      "source",  "asic_id", "logical_id",   "active",       "mesh_row", "mesh_col"};
  return fields;
}

std::optional<std::vector<std::string>> parse_query_fields(const std::string& text, std::string* why) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    std::string field = text.substr(start, comma - start);
    field.erase(std::remove(field.begin(), field.end(), ' '), field.end());
    if (field.empty() ||
        std::find(query_fields().begin(), query_fields().end(), field) == query_fields().end()) {
      if (why) {
        *why = "unknown query field '" + field + "' (fields:";
        for (const auto& f : query_fields()) *why += " " + f;
        *why += ")";
      }
      return std::nullopt;
    }
    out.push_back(field);
    start = comma + 1;
  }
  return out;
}

namespace {

nlohmann::ordered_json value(const Snapshot& s, const DeviceView& d, const MemoryView& m,
                             const std::string& field) {
  if (field == "time") return s.time_unix_ms;
  if (field == "device") return d.id;
  if (field == "type") return m.type;
  if (field == "allocated") return m.allocated;
  if (field == "capacity") return m.capacity;
  if (field == "peak") return m.peak;
  if (field == "buffers") return m.buffers;
  if (field == "free") return m.free ? nlohmann::ordered_json(*m.free) : nlohmann::ordered_json();
  if (field == "largest_free")
    return m.largest_free_block ? nlohmann::ordered_json(*m.largest_free_block) : nlohmann::ordered_json();
  if (field == "unattributed") return m.unattributed;
  if (field == "stale") return m.stale;
  if (field == "architecture") return d.architecture;
  if (field == "source") return d.source;
  if (field == "asic_id") return d.asic_id ? nlohmann::ordered_json(*d.asic_id) : nlohmann::ordered_json();
  if (field == "logical_id")
    return d.logical_id ? nlohmann::ordered_json(*d.logical_id) : nlohmann::ordered_json();
  if (field == "active") return d.active;
  if (field == "mesh_row") return d.mesh_row;
  if (field == "mesh_col") return d.mesh_col;
  return nullptr;
}

std::string csv_cell(const nlohmann::ordered_json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) {
    const std::string text = v.get<std::string>();
    if (text.find_first_of(",\"\n") == std::string::npos) return text;
    std::string quoted = "\"";
    for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
  }
  if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
  return v.dump();
}

}  // namespace

std::string query_rows(const Snapshot& s, const std::vector<std::string>& fields, bool csv,
                       const std::vector<int>& devices, bool header) {
  std::string out;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  if (csv && header) {
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i) out += ',';
      out += fields[i];
    }
    out += "\n";
  }
  for (const auto& d : s.devices) {
    if (!devices.empty() && std::find(devices.begin(), devices.end(), d.id) == devices.end()) continue;
    for (const auto& m : d.memory) {
      nlohmann::ordered_json row = nlohmann::ordered_json::object();
      std::string line;
      for (size_t i = 0; i < fields.size(); ++i) {
        const auto v = value(s, d, m, fields[i]);
        if (csv) {
          if (i) line += ',';
          line += csv_cell(v);
        } else
          row[fields[i]] = v;
      }
      if (csv)
        out += line + "\n";
      else
        rows.push_back(std::move(row));
    }
  }
  if (!csv) out = rows.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  return out;
}

}  // namespace allocmon::monitor
