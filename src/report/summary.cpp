#include "summary.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "format.hpp"
#include "protocol/wire.hpp"

namespace allocmon::report {

namespace {

// What was live on (device, type) at event `upto`: the buffers, for the largest ones.
std::vector<const Event*> live_at(const Recording& r, int device, int type, size_t upto) {
  std::map<std::tuple<int64_t, uint64_t>, const Event*> live;
  for (size_t i = 0; i <= upto && i < r.events.size(); ++i) {
    const Event& e = r.events[i];
    if (e.device != device || e.type != type || e.kind == Event::kSample) continue;
    if (e.kind == Event::kAlloc)
      live[{e.client, e.buffer_id}] = &e;
    else
      live.erase({e.client, e.buffer_id});
  }
  std::vector<const Event*> out;
  for (const auto& [key, e] : live) out.push_back(e);
  std::sort(out.begin(), out.end(), [](const Event* a, const Event* b) {
    return a->size != b->size ? a->size > b->size : a->buffer_id < b->buffer_id;
  });
  return out;
}

}  // namespace

std::string summary_text(const std::string& path, const Recording& r, const Timeline& t) {
  char header[256];
  std::snprintf(header, sizeof(header), "allocmon report for %s (%zu events, %.3f s)\n\nPeaks:\n",
                path.c_str(), r.events.size(), static_cast<double>(t.t_end - t.t0) / 1000.0);
  std::string out = header;
  std::set<int> sampled_devices;
  for (const auto& e : r.events)
    if (e.kind == Event::kSample) sampled_devices.insert(e.device);

  // One line per group of devices whose peak reads the same (type, bytes, moment, what was live).
  std::map<std::tuple<int, int64_t, std::string>, std::vector<int>> groups;
  for (const auto& [key, bytes] : t.peak) {
    if (bytes <= 0) continue;
    const auto [device, type] = key;
    const size_t at = t.peak_event.at(key);
    std::string text = ": " + std::to_string(bytes) + " B (" + human_bytes(static_cast<double>(bytes)) +
                       ") at +" + std::to_string(r.events[at].time_ms - t.t0) + " ms";
    if (sampled_devices.count(device)) {
      text += " (totals read from tt-metal's shared-memory regions: no buffers)";
    } else {
      const auto live = live_at(r, device, type, at);
      text += ", " + std::to_string(live.size()) + (live.size() == 1 ? " buffer" : " buffers") +
              " live; largest:";
      for (size_t i = 0; i < std::min<size_t>(3, live.size()); ++i)  // one a line: lines stay short
        text += "\n      " + std::to_string(live[i]->size) + " B at " + hex(live[i]->address) + " (pid " +
                std::to_string(live[i]->pid) + ", buffer " + hex(live[i]->buffer_id) + ")";
    }
    groups[{type, bytes, text}].push_back(device);
  }
  // In device order (then memory type), whatever the peaks' sizes.
  std::vector<std::pair<const std::tuple<int, int64_t, std::string>*, const std::vector<int>*>> ordered;
  for (const auto& [key, devices] : groups) ordered.push_back({&key, &devices});
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.second->front(), std::get<0>(*a.first)) <
           std::make_pair(b.second->front(), std::get<0>(*b.first));
  });
  for (const auto& [key_pointer, devices_pointer] : ordered) {
    const auto& [type, bytes, text] = *key_pointer;
    const auto& devices = *devices_pointer;
    const bool buffers = text.find(" live; largest:") != std::string::npos;
    std::string who = devices.size() == 1
                          ? "device " + std::to_string(devices[0])
                          : std::to_string(devices.size()) + " devices (" + id_ranges(devices) +
                                (buffers ? ", the same buffers at the same addresses)" : ", each)");
    out += "  " + who + " " + std::string(wire::kMemoryTypeNames[type]) + text + "\n";
  }
  if (groups.empty()) out += "  none\n";

  out += "\nLeaks (buffers still live when their process ended):\n";
  struct Leak {
    uint64_t buffers = 0, bytes = 0;
    std::set<int> devices;
  };
  std::map<int64_t, Leak> leaks;  // by client
  for (const auto& e : r.events)
    if (e.kind == Event::kReclaim) {
      Leak& l = leaks[e.client];
      ++l.buffers;
      l.bytes += e.size;
      l.devices.insert(e.device);
    }
  // Buffers still live when the recording ends, of processes that never ended in it: the recording was cut
  // (the server stopped or was killed) while they ran, so whether they leak is not known.
  std::map<std::tuple<int64_t, int, uint64_t>, const Event*> open;  // (client, device, buffer) -> alloc
  for (const auto& e : r.events) {
    if (e.kind == Event::kAlloc)
      open[{e.client, e.device, e.buffer_id}] = &e;
    else if (e.kind == Event::kFree || e.kind == Event::kReclaim)
      open.erase({e.client, e.device, e.buffer_id});
  }
  std::map<int64_t, Leak> running;
  for (const auto& [key, e] : open) {
    if (leaks.count(e->client)) continue;
    Leak& l = running[e->client];
    ++l.buffers;
    l.bytes += e->size;
    l.devices.insert(e->device);
  }
  if (leaks.empty()) out += running.empty() ? "  none\n" : "  none among the processes that ended\n";
  // One line per process: what it held, on which devices.
  const auto held = [&](int64_t client, const Leak& l) {
    const auto it = r.processes.find(client);
    const Process p = it != r.processes.end() ? it->second : Process{0, "?", 0, 0};
    const std::vector<int> devices(l.devices.begin(), l.devices.end());
    out += "  pid " + std::to_string(p.pid) + " " + p.name + ": " + std::to_string(l.buffers) +
           (l.buffers == 1 ? " buffer, " : " buffers, ") + std::to_string(l.bytes) + " B (" +
           human_bytes(static_cast<double>(l.bytes)) + ") on " +
           (devices.size() == 1 ? "device " : "devices ") + id_ranges(devices) + "\n";
  };
  for (const auto& [client, l] : leaks) held(client, l);
  if (!running.empty()) {
    out += "\nStill running when the recording ended (cut short: the server stopped first), holding:\n";
    for (const auto& [client, l] : running) held(client, l);
  }
  return out;
}

}  // namespace allocmon::report
