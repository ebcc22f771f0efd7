#include "process_table.hpp"

#include <pwd.h>

#include <algorithm>
#include <map>

#include "common/id_ranges.hpp"

namespace allocmon::monitor {

const char* sort_name(SortKey key) {
  switch (key) {
    case SortKey::kTotal:
      return "total";
    case SortKey::kDram:
      return "DRAM";
    case SortKey::kL1:
      return "L1";
    case SortKey::kBuffers:
      return "buffers";
    case SortKey::kPid:
      return "pid";
    case SortKey::kName:
      return "command";
    case SortKey::kCount:
      break;
  }
  return "?";
}

SortKey next_sort(SortKey key) {
  return static_cast<SortKey>((static_cast<int>(key) + 1) % static_cast<int>(SortKey::kCount));
}

std::string user_name(int uid) {
  static std::map<int, std::string> cache;
  auto it = cache.find(uid);
  if (it != cache.end()) return it->second;
  std::string name = std::to_string(uid);
  if (const passwd* pw = ::getpwuid(static_cast<uid_t>(uid))) name = pw->pw_name;
  return cache.emplace(uid, name).first->second;
}

std::string short_command(const std::string& cmdline) {
  // Absolute paths lose their directories: "python3 train.py --layers 8", not "/usr/bin/python3 /home/u/...".
  std::string out;
  size_t start = 0;
  while (start < cmdline.size()) {
    size_t end = cmdline.find(' ', start);
    if (end == std::string::npos) end = cmdline.size();
    std::string token = cmdline.substr(start, end - start);
    if (!token.empty() && token.front() == '/' && token.back() != '/') token.erase(0, token.rfind('/') + 1);
    if (!out.empty()) out += ' ';
    out += token;
    start = end + 1;
  }
  return out;
}

std::vector<ProcessRow> process_rows(const Snapshot& snapshot, const std::vector<int>& devices, SortKey key) {
  std::vector<ProcessRow> rows;
  for (const auto& p : snapshot.processes) {
    ProcessRow row;
    row.pid = p.pid;
    row.user = !p.user.empty() ? p.user : p.pid ? user_name(p.uid) : "";
    row.command = p.cmdline.empty() ? p.name : short_command(p.cmdline);
    row.source = p.source;
    std::vector<int> ids;
    for (const auto& d : p.devices) {
      if (!devices.empty() && std::find(devices.begin(), devices.end(), d.id) == devices.end()) continue;
      ids.push_back(d.id);
      row.total += d.allocated;
      row.buffers += d.buffers;
      for (const auto& [type, bytes] : d.memory) {
        if (type == "DRAM") row.dram += bytes;
        if (type == "L1") row.l1 += bytes;
        if (type == "CB") row.cb += bytes;
      }
    }
    row.holds_only = ids.empty() && !p.holds.empty();
    if (!devices.empty() && ids.empty()) continue;
    row.devices =
        row.holds_only ? "holds " + std::to_string(p.holds.size()) + " dev file(s)" : id_ranges(ids);
    rows.push_back(std::move(row));
  }
  auto value = [&](const ProcessRow& r) -> uint64_t {
    switch (key) {
      case SortKey::kDram:
        return r.dram;
      case SortKey::kL1:
        return r.l1;
      case SortKey::kBuffers:
        return r.buffers;
      default:
        return r.total;
    }
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const ProcessRow& a, const ProcessRow& b) {
    if (key == SortKey::kPid) return a.pid < b.pid;
    if (key == SortKey::kName) return a.command < b.command;
    return value(a) != value(b) ? value(a) > value(b) : a.pid < b.pid;
  });
  return rows;
}

}  // namespace allocmon::monitor
