#include "metrics.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <vector>

namespace allocmon::server {

namespace {

// Label values: backslash, double quote and newline escaped as the exposition format requires.
std::string escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// One metric family: its HELP and TYPE lines, then samples, each with the host label last.
struct Family {
  std::string& out;
  const std::string& host;  // `host="..."`
  Family(std::string& text, const std::string& host_label, const char* name, const char* type,
         const char* help)
      : out(text), host(host_label) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
  }
  void sample(const char* name, const std::string& labels, uint64_t value) {
    char number[32];
    std::snprintf(number, sizeof(number), "%" PRIu64, value);
    out += name;
    out += '{';
    if (!labels.empty()) out += labels + ",";
    out += host;
    out += "} ";
    out += number;
    out += '\n';
  }
};

// Every device series names the device, where its numbers come from and, for real chips, which chip it is.
std::string device_labels(const DeviceRecord& d) {
  std::string labels = "device=\"" + std::to_string(d.id) + "\",source=\"" +
                       escape(d.reported_by_client || d.sources.empty() ? kClientSource : d.sources.front()) +
                       "\"";
  if (d.asic_id) labels += ",asic_id=\"" + std::to_string(*d.asic_id) + "\"";
  return labels;
}

std::string type_label(int type) {
  return ",type=\"" + std::string(wire::kMemoryTypeNames[type]) + "\"";
}

std::string device_labels(const DeviceRecord& d, int type) {
  return device_labels(d) + type_label(type);
}

std::string process_labels(const ProcessRecord& p) {
  return "pid=\"" + std::to_string(p.pid) + "\",name=\"" + escape(p.name) + "\",source=\"" +
         escape(p.sources.empty() ? kClientSource : p.sources.front()) + "\"";
}

}  // namespace

std::string default_host_label() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

std::string prometheus_text(const Accounting& accounting, const ServerInfo& info,
                            const MetricsOptions& options) {
  std::string out;
  const std::string host = "host=\"" + escape(options.host) + "\"";
  const size_t max_processes = options.max_processes;
  const auto& devices = accounting.devices();
  auto per_device_type = [&](const char* name, const char* type, const char* help, auto value,
                             bool skip_zero) {
    Family f(out, host, name, type, help);
    for (const auto& [id, d] : devices)
      for (int t = 0; t < wire::kNumMemoryTypes; ++t) {
        const auto v = value(d, t);
        if (v || !skip_zero) f.sample(name, device_labels(d, t), v);
      }
  };
  per_device_type(
      "allocmon_device_allocated_bytes", "gauge", "Bytes allocated now, per device and memory type.",
      [](const DeviceRecord& d, int t) { return d.totals[t].bytes; }, false);
  per_device_type(
      "allocmon_device_buffers", "gauge", "Live buffers, per device and memory type.",
      [](const DeviceRecord& d, int t) { return d.totals[t].buffers; }, false);
  per_device_type(
      "allocmon_device_peak_bytes", "gauge", "Highest allocated bytes since the server started.",
      [](const DeviceRecord& d, int t) { return d.totals[t].peak; }, false);
  per_device_type(
      "allocmon_device_capacity_bytes", "gauge", "Capacity registered by the runtime (0: unknown).",
      [](const DeviceRecord& d, int t) { return d.capacity[t]; }, true);
  {
    Family f(out, host, "allocmon_device_largest_free_block_bytes", "gauge",
             "Largest free block per bank, as the device's allocator last reported it.");
    for (const auto& [id, d] : devices)
      for (int t = 0; t < wire::kNumMemoryTypes; ++t)
        if (d.free_space[t].known)
          f.sample("allocmon_device_largest_free_block_bytes", device_labels(d, t),
                   d.free_space[t].largest_free_block);
  }
  {
    // One series per device to join on (`* on(host, device) group_left(mesh_row, mesh_col) ...`): dashboards
    // lay chips out as their mesh from it.
    Family f(out, host, "allocmon_device_info", "gauge",
             "Which chip a device is: architecture, mesh position (-1: unknown), asic id; the value is 1.");
    for (const auto& [id, d] : devices)
      f.sample("allocmon_device_info",
               device_labels(d) + ",architecture=\"" + escape(d.architecture) + "\",mesh_row=\"" +
                   std::to_string(d.mesh_row) + "\",mesh_col=\"" + std::to_string(d.mesh_col) + "\"",
               1);
  }
  {
    Family f(out, host, "allocmon_device_active", "gauge",
             "1 while a connected process has the device registered, or a polled source sees it in use.");
    for (const auto& [id, d] : devices)
      f.sample("allocmon_device_active", device_labels(d), d.active() ? 1 : 0);
  }
  per_device_type(
      "allocmon_device_unattributed_bytes", "gauge",
      "Bytes a polled source counts as held (included in allocated) but names no process for.",
      [](const DeviceRecord& d, int t) { return d.unattributed[t]; }, true);
  per_device_type(
      "allocmon_device_stale_bytes", "gauge",
      "Bytes a polled source still lists for processes that no longer exist (not in allocated).",
      [](const DeviceRecord& d, int t) { return d.stale[t]; }, true);
  if (max_processes > 0) {
    // The largest holders get their own series; the rest are summed under pid="other".
    std::vector<const ProcessRecord*> processes;
    for (const auto& [client, p] : accounting.processes()) processes.push_back(&p);
    auto bytes_of = [](const ProcessRecord* p) {
      uint64_t sum = 0;
      for (const auto& [device, per_type] : p->per_device) sum += total_bytes(per_type);
      return sum;
    };
    std::sort(processes.begin(), processes.end(),
              [&](const ProcessRecord* a, const ProcessRecord* b) { return bytes_of(a) > bytes_of(b); });
    Family f(out, host, "allocmon_process_allocated_bytes", "gauge",
             "Bytes a process holds per device (largest holders; the rest summed as pid=\"other\").");
    std::map<int32_t, uint64_t> other;
    for (size_t i = 0; i < processes.size(); ++i) {
      for (const auto& [device, per_type] : processes[i]->per_device) {
        if (i < max_processes)
          f.sample("allocmon_process_allocated_bytes",
                   process_labels(*processes[i]) + ",device=\"" + std::to_string(device) + "\"",
                   total_bytes(per_type));
        else
          other[device] += total_bytes(per_type);
      }
    }
    for (const auto& [device, bytes] : other)
      f.sample("allocmon_process_allocated_bytes",
               "pid=\"other\",name=\"other\",device=\"" + std::to_string(device) + "\"", bytes);

    // The same holders per memory type, summed over devices: what a slow-leak alert watches, at a cost of
    // (processes x types) series instead of (processes x devices x types).
    Family by_type(out, host, "allocmon_process_type_bytes", "gauge",
                   "Bytes a process holds per memory type over all devices (largest holders; the rest as "
                   "pid=\"other\").");
    std::array<uint64_t, wire::kNumMemoryTypes> other_by_type{};
    for (size_t i = 0; i < processes.size(); ++i) {
      std::array<uint64_t, wire::kNumMemoryTypes> sums{};
      for (const auto& [device, per_type] : processes[i]->per_device)
        for (int t = 0; t < wire::kNumMemoryTypes; ++t) sums[t] += per_type[t].bytes;
      for (int t = 0; t < wire::kNumMemoryTypes; ++t) {
        if (sums[t] == 0) continue;
        if (i < max_processes)
          by_type.sample("allocmon_process_type_bytes", process_labels(*processes[i]) + type_label(t),
                         sums[t]);
        else
          other_by_type[t] += sums[t];
      }
    }
    for (int t = 0; t < wire::kNumMemoryTypes; ++t)
      if (other_by_type[t])
        by_type.sample("allocmon_process_type_bytes", "pid=\"other\",name=\"other\"" + type_label(t),
                       other_by_type[t]);
  }
  const Counters& c = accounting.counters();
  Family(out, host, "allocmon_events_applied_total", "counter", "Allocation events applied.")
      .sample("allocmon_events_applied_total", "", c.events_applied);
  Family(out, host, "allocmon_frames_invalid_total", "counter",
         "Frames rejected (the sender was disconnected).")
      .sample("allocmon_frames_invalid_total", "", c.frames_invalid);
  Family(out, host, "allocmon_reclaimed_bytes_total", "counter",
         "Bytes reclaimed from processes that exited or vanished.")
      .sample("allocmon_reclaimed_bytes_total", "", c.reclaimed_bytes);
  {
    Family f(out, host, "allocmon_event_problems_total", "counter", "Events ignored, by problem.");
    for (size_t p = 1; p < c.problems.size(); ++p)
      f.sample("allocmon_event_problems_total",
               "problem=\"" + std::string(problem_name(static_cast<EventProblem>(p))) + "\"", c.problems[p]);
  }
  Family(out, host, "allocmon_clients_connected", "gauge",
         "Connections open now (reporting processes and queries).")
      .sample("allocmon_clients_connected", "", info.clients_connected);
  Family(out, host, "allocmon_live_buffers", "gauge", "Live buffers over all devices.")
      .sample("allocmon_live_buffers", "", accounting.live_buffers());
  Family(out, host, "allocmon_build_info", "gauge", "Build information; the value is always 1.")
      .sample("allocmon_build_info",
              "version=\"" ALLOCMON_VERSION "\",protocol=\"" + std::to_string(wire::kProtocolVersion) + "\"",
              1);
  return out;
}

}  // namespace allocmon::server
