// Device ids as a person reads them: "0-7", "0,2,5-6" (the monitor's process table, the report's summary).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

namespace allocmon {

inline std::string id_ranges(std::vector<int> ids) {
  std::sort(ids.begin(), ids.end());
  std::string out;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(ids[i]);
    if (j > i) out += (j == i + 1 ? "," : "-") + std::to_string(ids[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace allocmon
