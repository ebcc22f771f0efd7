// Plain-text frames for pipes, logs and `--once`.
#include <cinttypes>
#include <cstdio>

#include "process_table.hpp"
#include "view.hpp"

namespace allocmon::monitor {

namespace {

std::string bar(double fraction, int width) {
  // Clamp before converting: a broken snapshot can claim more than the capacity (or NaN).
  const double clamped = fraction >= 0 && fraction <= 1 ? fraction : (fraction > 1 ? 1 : 0);
  const int filled = static_cast<int>(clamped * width + 0.5);
  std::string text = "[";
  for (int i = 0; i < width; ++i) text += i < filled ? '#' : '.';
  return text + "]";
}

}  // namespace

std::string render_plain(const Frame& frame, const ViewOptions& options) {
  std::string out;
  char line[512];
  if (!frame.snapshot) {
    std::snprintf(line, sizeof(line), "allocmon monitor: server %s not reachable (%s)\n",
                  frame.socket_path.c_str(), frame.status.c_str());
    return line;
  }
  const Snapshot& s = *frame.snapshot;
  char rate[64];
  if (frame.rate_known)
    std::snprintf(rate, sizeof(rate), "%.0f events/s", frame.events_per_second);
  else  // one snapshot has no rate: what the server applied so far
    std::snprintf(rate, sizeof(rate), "%" PRIu64 " events applied", s.events_applied);
  std::snprintf(line, sizeof(line),
                "allocmon monitor | server %s | %zu devices | %" PRIu64 " live buffers, %s | %s | %s\n",
                s.socket.c_str(), s.devices.size(), s.total_buffers, format_bytes(s.total_allocated).c_str(),
                rate, clock_text(s.time_unix_ms).c_str());
  out += line;
  for (int id : devices_to_show(&s, options)) {
    const DeviceView* d = s.device(id);
    if (!d) {
      std::snprintf(line, sizeof(line), "Device %d: absent (not seen by the server)\n", id);
      out += line;
      continue;
    }
    std::string mesh;
    if (d->mesh_row >= 0)
      mesh = " mesh(" + std::to_string(d->mesh_row) + "," + std::to_string(d->mesh_col) + ")";
    if (options.compact) {
      std::snprintf(line, sizeof(line), "Device %d%s%s%s", d->id, d->chip_note().c_str(), mesh.c_str(),
                    d->active ? "" : " closed");
      out += line;
      for (const auto& m : d->memory) {
        if (!shown(m)) continue;
        out += " | " + m.type + " " + format_bytes(m.allocated);
        if (m.capacity) {
          std::snprintf(line, sizeof(line), " (%.1f%%)",
                        100.0 * static_cast<double>(m.allocated) / static_cast<double>(m.capacity));
          out += line;
        }
      }
      out += "\n";
      continue;
    }
    std::snprintf(line, sizeof(line), "Device %d%s  %s%s  %s  buffers %" PRIu64 "  total %s\n", d->id,
                  d->chip_note().c_str(), d->architecture.c_str(), mesh.c_str(),
                  d->active ? "active" : "closed", d->buffers, format_bytes(d->allocated).c_str());
    out += line;
    for (const auto& m : d->memory) {
      if (!shown(m)) continue;
      const double fraction =
          m.capacity ? static_cast<double>(m.allocated) / static_cast<double>(m.capacity) : 0;
      std::string capacity = m.capacity ? format_bytes(m.capacity) : "n/a";
      std::snprintf(line, sizeof(line), "  %-8s %s %10s / %-10s %5.1f%%  buffers %" PRIu64, m.type.c_str(),
                    bar(fraction, 30).c_str(), format_bytes(m.allocated).c_str(), capacity.c_str(),
                    fraction * 100.0, m.buffers);
      out += line;
      if (m.largest_free_block) out += "  largest free " + format_bytes(*m.largest_free_block);
      out += "\n";
    }
  }
  if (!s.processes.empty()) {
    out += "Processes:\n";
    std::snprintf(line, sizeof(line), "  %8s  %-8s %12s %8s  %-8s %s\n", "PID", "USER", "ALLOCATED",
                  "BUFFERS", "DEVICES", "COMMAND");
    out += line;
    for (const auto& r : process_rows(s, options.device_ids, SortKey::kTotal)) {
      std::snprintf(line, sizeof(line), "  %8d  %-8.8s %12s %8" PRIu64 "  %-8s %s\n", r.pid, r.user.c_str(),
                    format_bytes(r.total).c_str(), r.buffers, r.devices.c_str(), r.command.c_str());
      out += line;
    }
  }
  return out;
}

}  // namespace allocmon::monitor
