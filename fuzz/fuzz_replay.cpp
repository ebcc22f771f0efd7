// libFuzzer target: allocmon-replay's trace parser and replayer on arbitrary text (traces are written by
// hand: any input must end in results or a TraceError naming the line, never a crash).
#include <string>

#include "replay/replayer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace allocmon::replay;
  Trace trace;
  try {
    trace = parse_trace(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const TraceError&) {
    return 0;
  }
  Target small;
  small.grid = std::make_pair(2u, 3u);
  for (const Target& target : {trace.target.value_or(Target{}), small}) {
    std::optional<Replayer> replayer;
    try {
      replayer.emplace(target);
    } catch (const std::invalid_argument&) {
      continue;  // regions larger than the memory they are carved from: reported to the user as bad input
    }
    for (const Command& c : trace.commands) {
      const LineResult r = replayer->apply(c);
      (void)format_line(r);
      (void)format_line_json(r);
    }
    (void)format_summary(*replayer);
    (void)format_summary_json(*replayer);
  }
  return 0;
}
