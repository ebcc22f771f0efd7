// summary.txt: per device and memory type the peak, when it happened and the largest buffers live then
// (devices with the same peak, at the same moment, of the same buffers at the same addresses — a mesh in
// lock-step — on one line), and the leaks: buffers still live when their process ended.
#pragma once

#include <string>

#include "timeline.hpp"

namespace allocmon::report {

std::string summary_text(const std::string& path, const Recording& recording, const Timeline& timeline);

}  // namespace allocmon::report
