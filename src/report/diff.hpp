// allocmon-report --diff A B: what a recorded run allocated after mark A, up to mark B, and never freed by
// the end of the recording, grouped by scope, op, call site and tensor description with bytes per device
// (docs/attribution.md).
#pragma once

#include <string>

namespace allocmon::report {

// The table as text; throws std::runtime_error naming the marks the recording has when A or B is not one.
std::string diff_text(const std::string& path, const std::string& first, const std::string& second);

}  // namespace allocmon::report
