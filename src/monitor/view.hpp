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
  bool rate_known = false;  // a rate needs two snapshots; a single one (--once) shows the events applied
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

// Full-screen ncurses view until `q` or Ctrl-C; returns the process exit status, or -1 when the terminal
// cannot be driven (an unknown TERM): the caller falls back to plain frames.
int run_tui(const std::string& socket_path, const ViewOptions& options);

// Ctrl-C and SIGTERM end every loop of the monitor normally (exit 0): set by the handler install_stop_handler
// installs.
void install_stop_handler();
bool stop_requested();
// Waits `ms` milliseconds, or less when stop is requested; false then.
bool wait_or_stop(int ms);

}  // namespace allocmon::monitor
