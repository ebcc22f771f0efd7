// Text helpers the report's outputs share: sizes with binary units, device lists as ranges, ids in hex.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/id_ranges.hpp"  // device lists as ranges

namespace allocmon::report {

inline std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) bytes /= 1024, ++u;
  char text[32];
  std::snprintf(text, sizeof(text), u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return text;
}

inline std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace allocmon::report
