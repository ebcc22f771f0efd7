#include "metrics.hpp"

#include <algorithm>
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

struct Family {
  std::string& out;
  Family(std::string& text, const char* name, const char* type, const char* help) : out(text) {
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
    if (!labels.empty()) out += "{" + labels + "}";
    out += ' ';
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

std::string device_labels(const DeviceRecord& d, int type) {
  return device_labels(d) + ",type=\"" + std::string(wire::kMemoryTypeNames[type]) + "\"";
}

}  // namespace

std::string prometheus_text(const Accounting& accounting, const ServerInfo& info, size_t max_processes) {
  std::string out;
  const auto& devices = accounting.devices();
  auto per_device_type = [&](const char* name, const char* type, const char* help, auto value,
                             bool skip_zero) {
    Family f(out, name, type, help);
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
    Family f(out, "allocmon_device_largest_free_block_bytes", "gauge",
             "Largest free block per bank, as the device's allocator last reported it.");
    for (const auto& [id, d] : devices)
      for (int t = 0; t < wire::kNumMemoryTypes; ++t)
        if (d.free_space[t].known)
          f.sample("allocmon_device_largest_free_block_bytes", device_labels(d, t),
                   d.free_space[t].largest_free_block);
  }
  {
    Family f(out, "allocmon_device_active", "gauge",
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
    Family f(out, "allocmon_process_allocated_bytes", "gauge",
             "Bytes a process holds per device (largest holders; the rest summed as pid=\"other\").");
    std::map<int32_t, uint64_t> other;
    for (size_t i = 0; i < processes.size(); ++i) {
      for (const auto& [device, per_type] : processes[i]->per_device) {
        if (i < max_processes)
          f.sample("allocmon_process_allocated_bytes",
                   "pid=\"" + std::to_string(processes[i]->pid) + "\",name=\"" + escape(processes[i]->name) +
                       "\",source=\"" +
                       escape(processes[i]->sources.empty() ? kClientSource : processes[i]->sources.front()) +
                       "\",device=\"" + std::to_string(device) + "\"",
                   total_bytes(per_type));
        else
          other[device] += total_bytes(per_type);
      }
    }
    for (const auto& [device, bytes] : other)
      f.sample("allocmon_process_allocated_bytes",
               "pid=\"other\",name=\"other\",device=\"" + std::to_string(device) + "\"", bytes);
  }
  const Counters& c = accounting.counters();
  Family(out, "allocmon_events_applied_total", "counter", "Allocation events applied.")
      .sample("allocmon_events_applied_total", "", c.events_applied);
  Family(out, "allocmon_frames_invalid_total", "counter", "Frames rejected (the sender was disconnected).")
      .sample("allocmon_frames_invalid_total", "", c.frames_invalid);
  Family(out, "allocmon_reclaimed_bytes_total", "counter",
         "Bytes reclaimed from processes that exited or vanished.")
      .sample("allocmon_reclaimed_bytes_total", "", c.reclaimed_bytes);
  {
    Family f(out, "allocmon_event_problems_total", "counter", "Events ignored, by problem.");
    for (size_t p = 1; p < c.problems.size(); ++p)
      f.sample("allocmon_event_problems_total",
               "problem=\"" + std::string(problem_name(static_cast<EventProblem>(p))) + "\"", c.problems[p]);
  }
  Family(out, "allocmon_clients_connected", "gauge",
         "Connections open now (reporting processes and queries).")
      .sample("allocmon_clients_connected", "", info.clients_connected);
  Family(out, "allocmon_live_buffers", "gauge", "Live buffers over all devices.")
      .sample("allocmon_live_buffers", "", accounting.live_buffers());
  Family(out, "allocmon_build_info", "gauge", "Build information; the value is always 1.")
      .sample("allocmon_build_info",
              "version=\"" ALLOCMON_VERSION "\",protocol=\"" + std::to_string(wire::kProtocolVersion) + "\"",
              1);
  return out;
}

}  // namespace allocmon::server
