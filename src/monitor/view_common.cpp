#include <algorithm>
#include <cstdio>
#include <ctime>

#include "view.hpp"

namespace allocmon::monitor {

std::vector<int> devices_to_show(const Snapshot* snapshot, const ViewOptions& options) {
  if (!options.device_ids.empty()) return options.device_ids;
  std::vector<int> ids;
  if (snapshot)
    for (const auto& d : snapshot->devices) ids.push_back(d.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string format_bytes(uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0)
    std::snprintf(text, sizeof(text), "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(text, sizeof(text), "%.1f %s", value, units[unit]);
  return text;
}

std::string clock_text(int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char text[16];
  std::strftime(text, sizeof(text), "%H:%M:%S", &local);
  return text;
}

int fill_level(double fraction) {
  return fraction >= 0.90 ? 2 : fraction >= 0.75 ? 1 : 0;
}

bool shown(const MemoryView& memory) {
  return memory.capacity > 0 || memory.allocated > 0 || memory.peak > 0;
}

}  // namespace allocmon::monitor
