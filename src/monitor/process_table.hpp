// The process table every view shows: who holds memory, sorted and optionally limited to some devices' bytes.
#pragma once

#include <string>
#include <vector>

#include "snapshot_model.hpp"

namespace allocmon::monitor {

enum class SortKey { kTotal, kDram, kL1, kBuffers, kPid, kName, kCount };
const char* sort_name(SortKey key);
SortKey next_sort(SortKey key);

struct ProcessRow {
  int pid = 0;
  std::string user;
  std::string command;  // the command line (a script's name, not just python3), else the process name
  std::string source;
  uint64_t total = 0, dram = 0, l1 = 0, cb = 0, buffers = 0;
  std::string devices;      // "0-7"
  bool holds_only = false;  // holds a device file but reports no memory
};

// `devices` empty: every device; else only the bytes on those devices (and only processes that hold some).
std::vector<ProcessRow> process_rows(const Snapshot& snapshot, const std::vector<int>& devices, SortKey key);

// The command line with the directories of absolute paths dropped.
std::string short_command(const std::string& cmdline);

// User name for a uid (cached; the uid as text when there is none).
std::string user_name(int uid);

}  // namespace allocmon::monitor
