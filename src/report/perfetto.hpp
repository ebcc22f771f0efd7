// trace.json for ui.perfetto.dev (Chrome trace format): a counter track per device and memory type, an
// instant event for every process start and exit.
#pragma once

#include <string>

#include "timeline.hpp"

namespace allocmon::report {

std::string perfetto_trace(const Recording& recording, const Timeline& timeline);

}  // namespace allocmon::report
