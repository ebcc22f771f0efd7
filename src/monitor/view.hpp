// What every monitor view shares: which devices to show, byte formatting, fill thresholds, and the two
// renderers.
#pragma once

#include <string>
#include <vector>

#include "snapshot_model.hpp"

namespace allocmon::monitor {

struct ViewOptions {
  std::vector<int> device_ids;  // empty: every device the server knows
  int refresh_ms = 500;
  bool compact = false;  // plain frames: one line per device
};

struct Frame {
  const Snapshot* snapshot = nullptr;  // null: the server is not reachable right now
  std::string socket_path;
  std::string status;  // e.g. why the server is unreachable
  double events_per_second = 0;
};

// Device ids to show, in order: the requested ones (present or not), else every known device by id.
std::vector<int> devices_to_show(const Snapshot* snapshot, const ViewOptions& options);
std::string format_bytes(uint64_t bytes);
// A snapshot's time as the local wall clock, HH:MM:SS.
std::string clock_text(int64_t unix_ms);
// 0 green (< 75 %), 1 yellow (>= 75 %), 2 red (>= 90 %), as the proof of concept's monitor coloured its bars.
int fill_level(double fraction);
// A memory type is worth a line when the device has it or uses it.
bool shown(const MemoryView& memory);

std::string render_plain(const Frame& frame, const ViewOptions& options);

// Full-screen ncurses view until `q`; returns the process exit status.
int run_tui(const std::string& socket_path, const ViewOptions& options);

}  // namespace allocmon::monitor
