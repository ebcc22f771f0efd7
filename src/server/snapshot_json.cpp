#include "snapshot_json.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>

namespace allocmon::server {

using nlohmann::json;

namespace {

// Strings come from clients (architecture) and /proc (process names): invalid UTF-8 is replaced, never thrown
// (a throw here would take the server down; found by fuzz_session).
std::string dump(const json& doc) {
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

json type_totals_json(const TypeTotals& totals) {
  return {{"allocated", totals.bytes}, {"buffers", totals.buffers}, {"peak", totals.peak}};
}

json type_bytes_json(const TypeBytes& bytes) {
  json out = json::object();
  for (int t = 0; t < wire::kNumMemoryTypes; ++t)
    if (bytes[t]) out[std::string(wire::kMemoryTypeNames[t])] = bytes[t];
  return out;
}

json device_json(const DeviceRecord& device, uid_t viewer) {
  json memory = json::object();
  const bool polled = !device.sources.empty();
  for (int t = 0; t < wire::kNumMemoryTypes; ++t) {
    json entry = type_totals_json(device.totals[t]);
    entry["capacity"] = device.capacity[t];
    if (device.free_space[t].known) {
      entry["free"] = device.free_space[t].free_bytes;
      entry["largest_free_block"] = device.free_space[t].largest_free_block;
    }
    if (const Region& r = device.regions[t]; r.known)
      entry["region"] = {{"base", r.base},
                         {"bank_size", r.bank_size},
                         {"banks", r.banks},
                         {"page_alignment", r.page_alignment},
                         {"block_alignment", r.block_alignment}};
    if (polled) {
      entry["unattributed"] = device.unattributed[t];
      entry["stale"] = device.stale[t];
    }
    memory[std::string(wire::kMemoryTypeNames[t])] = std::move(entry);
  }
  json mesh = nullptr;
  if (device.mesh_row >= 0 && device.mesh_col >= 0)
    mesh = {{"row", device.mesh_row}, {"col", device.mesh_col}};
  json sources = json::array();
  if (device.reported_by_client) sources.push_back(kClientSource);
  for (const auto& name : device.sources) sources.push_back(name);
  json out = {{"id", device.id},
              {"architecture", device.architecture},
              {"active", device.active()},
              {"clients", device.registrations},
              {"source", sources.empty() ? json(kClientSource) : sources[0]},
              {"sources", std::move(sources)},
              {"mesh", mesh},
              {"allocated", total_bytes(device.totals)},
              {"buffers", total_buffers(device.totals)},
              {"memory", std::move(memory)}};
  if (device.asic_id) out["asic_id"] = *device.asic_id;
  if (device.logical_id) out["logical_id"] = *device.logical_id;
  if (!device.location.empty()) out["location"] = device.location;
  if (polled) {
    // A slot's writer cannot be asked for its uid; the slot is as trustworthy as the file, so the file's
    // owner decides who sees its pid and name.
    auto slots = [&](const std::vector<ProcessShare>& shares, const char* hidden) {
      json list = json::array();
      for (const auto& share : shares) {
        const bool visible = may_see(viewer, share.uid);
        list.push_back({{"pid", visible ? share.pid : 0},
                        {"name", visible ? share.name : std::string(hidden)},
                        {"reason", visible ? share.reason : std::string()},
                        {"memory", type_bytes_json(share.bytes)}});
      }
      return list;
    };
    out["stale_processes"] = slots(device.stale_processes, "(gone)");
    out["unattributed_processes"] = slots(device.unattributed_processes, "(hidden)");
  }
  return out;
}

json process_json(const ProcessRecord& process) {
  json devices = json::array();
  uint64_t bytes = 0;
  for (const auto& [device_id, per_type] : process.per_device) {
    json memory = json::object();
    for (int t = 0; t < wire::kNumMemoryTypes; ++t)
      if (per_type[t].buffers || per_type[t].peak)
        memory[std::string(wire::kMemoryTypeNames[t])] = type_totals_json(per_type[t]);
    bytes += total_bytes(per_type);
    devices.push_back({{"id", device_id},
                       {"allocated", total_bytes(per_type)},
                       {"buffers", total_buffers(per_type)},
                       {"memory", std::move(memory)}});
  }
  json problems = json::object();
  for (size_t p = 1; p < process.problems.size(); ++p)
    if (process.problems[p])
      problems[std::string(problem_name(static_cast<EventProblem>(p)))] = process.problems[p];
  json sources = json::array();
  if (process.sources.empty()) sources.push_back(kClientSource);
  for (const auto& name : process.sources) sources.push_back(name);
  return {{"pid", process.pid},
          {"uid", process.uid},
          {"user", process.user},
          {"name", process.name},
          {"cmdline", process.cmdline},
          {"source", sources[0]},
          {"sources", std::move(sources)},
          {"holds", process.holds},
          {"allocated", bytes},
          {"buffers", process.buffers.size()},
          {"devices", std::move(devices)},
          {"problems", std::move(problems)}};
}

json sources_json(const Accounting& accounting) {
  json out = json::array();
  for (const auto& [name, state] : accounting.polled_sources()) {
    json problems = json::array();
    for (const auto& p : state.report.problems) problems.push_back({{"path", p.path}, {"reason", p.reason}});
    out.push_back({{"name", name},
                   {"interval_ms", state.interval_ms},
                   {"rounds", state.rounds},
                   {"devices", state.report.devices.size()},
                   {"items_read", state.report.items_read},
                   {"problems", std::move(problems)}});
  }
  return out;
}

json marks_json(const Accounting& accounting, uid_t viewer) {
  json marks = json::array();
  for (const Mark& mark : accounting.attribution().marks()) {
    const bool visible = may_see(viewer, mark.uid);
    marks.push_back({{"name", visible ? mark.name : std::string("(other user)")},
                     {"pid", visible ? mark.pid : 0},
                     {"seq", mark.seq},
                     {"time_unix_ms", mark.time_unix_ms}});
  }
  return marks;
}

// Bytes per scope, op, call site and tensor description (the largest kMaxHolders of each), per device and
// memory type, over the attributed buffers of the processes the viewer may see.
json holders_json(const Accounting& accounting, uid_t viewer) {
  struct Held {
    uint64_t bytes = 0, buffers = 0;
    std::map<int32_t, std::array<uint64_t, wire::kNumMemoryTypes>> per_device;
  };
  constexpr int kGroups = 4;
  std::map<std::string, Held> by[kGroups];  // scope, op, site, tensor
  const Attribution& attribution = accounting.attribution();
  for (const auto& [client, process] : accounting.processes()) {
    if (process.origins.empty() || !may_see(viewer, process.uid)) continue;
    for (const auto& [key, origin] : process.origins) {
      const BufferRecord* buffer = process.buffers.find(key);
      if (!buffer || !origin.context) continue;
      const Context& context = attribution.context(origin.context);
      const std::string* names[kGroups] = {&context.scope, &context.op, &context.site, &context.tensor};
      for (int g = 0; g < kGroups; ++g) {
        if (names[g]->empty()) continue;
        Held& held = by[g][*names[g]];
        held.bytes += buffer->size;
        ++held.buffers;
        auto [row, fresh] = held.per_device.try_emplace(key.device_id);
        if (fresh) row->second.fill(0);
        row->second[buffer->memory_type] += buffer->size;
      }
    }
  }
  json out = json::object();
  const char* groups[kGroups] = {"scope", "op", "site", "tensor"};
  for (int g = 0; g < kGroups; ++g) {
    std::vector<std::pair<const std::string*, const Held*>> rows;
    for (const auto& [name, held] : by[g]) rows.emplace_back(&name, &held);
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return a.second->bytes != b.second->bytes ? a.second->bytes > b.second->bytes : *a.first < *b.first;
    });
    if (rows.size() > kMaxHolders) rows.resize(kMaxHolders);
    json list = json::array();
    for (const auto& [name, held] : rows) {
      json devices = json::array();
      for (const auto& [device, types] : held->per_device) {
        json memory = json::object();
        for (int t = 0; t < wire::kNumMemoryTypes; ++t)
          if (types[t]) memory[std::string(wire::memory_type_name(t))] = types[t];
        devices.push_back({{"id", device}, {"memory", std::move(memory)}});
      }
      list.push_back({{"name", *name},
                      {"bytes", held->bytes},
                      {"buffers", held->buffers},
                      {"devices", std::move(devices)}});
    }
    out[groups[g]] = std::move(list);
  }
  return out;
}

}  // namespace

std::string snapshot_json(const Accounting& accounting, const ServerInfo& info, int64_t now_unix_ms,
                          uid_t viewer) {
  json devices = json::array();
  uint64_t allocated = 0;
  for (const auto& [id, device] : accounting.devices()) {
    devices.push_back(device_json(device, viewer));
    allocated += total_bytes(device.totals);
  }
  json processes = json::array();
  for (const auto& [client, process] : accounting.processes()) {
    json entry = process_json(process);
    if (!may_see(viewer, process.uid)) {
      entry["pid"] = 0;
      entry["name"] = "(other user)";
      entry["cmdline"] = "";
      entry["user"] = "";
      entry["holds"] = json::array();
    }
    processes.push_back(std::move(entry));
  }

  const Counters& c = accounting.counters();
  json problems = json::object();
  for (size_t p = 1; p < c.problems.size(); ++p)
    problems[std::string(problem_name(static_cast<EventProblem>(p)))] = c.problems[p];
  json memory_types = json::array();
  for (auto name : wire::kMemoryTypeNames) memory_types.push_back(std::string(name));

  json doc = {
      {"schema", kSnapshotSchema},
      {"marks", marks_json(accounting, viewer)},
      {"holders", holders_json(accounting, viewer)},
      {"time_unix_ms", now_unix_ms},
      {"server",
       {{"pid", info.pid},
        {"socket", info.socket_path},
        {"protocol_version", wire::kProtocolVersion},
        {"uptime_ms", now_unix_ms - info.started_unix_ms}}},
      {"memory_types", std::move(memory_types)},
      {"totals", {{"allocated", allocated}, {"buffers", accounting.live_buffers()}}},
      {"devices", std::move(devices)},
      {"processes", std::move(processes)},
      {"sources", sources_json(accounting)},
      {"counters",
       {{"events_applied", c.events_applied},
        {"frames_invalid", c.frames_invalid},
        {"reclaimed_bytes", c.reclaimed_bytes},
        {"reclaimed_buffers", c.reclaimed_buffers},
        {"clients_connected", info.clients_connected},
        {"clients_total", c.clients_total},
        {"problems", std::move(problems)}}},
  };
  return dump(doc);
}

std::string leaks_json(const Accounting& accounting, int32_t device_id, int64_t now_unix_ms, uid_t viewer,
                       uint32_t largest) {
  json processes = json::array();
  size_t listed = 0, total = 0;
  for (const auto& [client, process] : accounting.processes()) {
    if (!may_see(viewer, process.uid) || process.buffers.empty()) continue;
    std::vector<std::pair<const BufferKey*, const BufferRecord*>> chosen;
    uint64_t count = 0;
    for (const auto& [key, buffer] : process.buffers) {
      if (device_id >= 0 && key.device_id != device_id) continue;
      ++count;
      chosen.emplace_back(&key, &buffer);
    }
    total += count;
    if (chosen.empty()) continue;
    auto larger = [](const auto& a, const auto& b) {
      return a.second->size != b.second->size ? a.second->size > b.second->size
                                              : a.first->buffer_id < b.first->buffer_id;
    };
    const size_t room = kMaxJsonLeakBuffers > listed ? kMaxJsonLeakBuffers - listed : 0;
    const size_t keep = std::min<size_t>(largest ? largest : chosen.size(), room);
    if (keep < chosen.size()) {
      std::partial_sort(chosen.begin(), chosen.begin() + static_cast<std::ptrdiff_t>(keep), chosen.end(),
                        larger);
      chosen.resize(keep);
    }
    listed += chosen.size();
    json buffers = json::array();
    const Attribution& attribution = accounting.attribution();
    for (const auto& [key, buffer] : chosen) {
      json entry = {
          {"device", key->device_id},    {"type", std::string(wire::memory_type_name(buffer->memory_type))},
          {"size", buffer->size},        {"address", buffer->address},
          {"buffer_id", key->buffer_id}, {"age_ms", now_unix_ms - buffer->time_ms}};
      if (!process.origins.empty())
        if (auto origin = process.origins.find(*key); origin != process.origins.end()) {
          const Context& context = attribution.context(origin->second.context);
          entry["scope"] = context.scope;
          entry["op"] = context.op;
          entry["site"] = context.site;
          entry["tensor"] = context.tensor;
          entry["seq"] = origin->second.seq;
        }
      buffers.push_back(std::move(entry));
    }
    processes.push_back(
        {{"pid", process.pid}, {"name", process.name}, {"count", count}, {"buffers", std::move(buffers)}});
  }
  json doc = {{"schema", kLeaksSchema},
              {"time_unix_ms", now_unix_ms},
              {"device", device_id},
              {"processes", std::move(processes)}};
  if (largest) doc["largest"] = largest;
  if (!largest && listed < total) {
    doc["truncated"] = true;
    doc["total_buffers"] = total;
  }
  return dump(doc);
}

}  // namespace allocmon::server
