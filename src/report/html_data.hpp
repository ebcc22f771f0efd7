// The data behind allocmon-report --html (html_report.hpp): memory over time per device, and all devices
// summed, per memory type, stacked by scope and by op; for each time column the moment it shows (its peak);
// the buffers live at those moments with what they are. Bounded whatever the recording's length: a fixed
// number of columns, of groups per chart and of buffers in all (the largest at each moment first).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "contexts.hpp"
#include "recording.hpp"

namespace allocmon::report {

struct HtmlLimits {
  int columns = 600;       // time columns per chart, each showing the highest moment of its interval
  int groups = 12;         // scopes (or ops) drawn per chart; the others are summed as "other"
  int per_moment = 128;    // largest buffers kept per device at each column's moment (the sum: x devices)
  size_t buffers = 60000;  // buffer records in the file in all
};

// The page's data (schema: docs/recording.md, "HTML report"). `name` is what the page calls the recording.
nlohmann::json html_data(const std::string& name, const Recording& recording, const Attribution& attribution,
                         const HtmlLimits& limits = {});

}  // namespace allocmon::report
