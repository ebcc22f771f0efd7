// allocmon._allocmon.replay_run: the what-if replay engine (src/replay) for Python; allocmon/replay.py wraps
// its JSON results in Python objects.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "replay/recording.hpp"
#include "replay/replayer.hpp"

namespace py = pybind11;
using namespace allocmon::replay;

void bind_replay(py::module_& m) {
  m.def(
      "replay_run",
      [](std::optional<std::string> path, std::optional<std::string> text, const std::string& arch,
         std::optional<std::pair<uint32_t, uint32_t>> grid, std::optional<uint64_t> l1_small,
         std::optional<uint64_t> trace_region, std::optional<int> pid, std::optional<int> device) {
        Trace trace;
        try {
          trace =
              path ? load_trace_file(*path, RecordingSelection{pid, device}) : parse_trace(text.value_or(""));
        } catch (const std::exception& e) {
          throw py::value_error(e.what());
        }
        const Target target = resolve_target(trace, TargetOverrides{arch, grid, l1_small, trace_region});
        std::optional<Replayer> replayer;
        try {
          replayer.emplace(target, !trace.target || target == *trace.target);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
        py::list lines;
        for (const Command& c : trace.commands) lines.append(format_line_json(replayer->apply(c)));
        py::dict out;
        out["source"] = trace.source;
        out["notes"] = trace.notes;
        out["target"] = replayer->describe_target();
        out["lines"] = lines;
        out["summary"] = format_summary_json(*replayer, trace.notes);
        out["text_summary"] = format_summary(*replayer, trace.notes);
        return out;
      },
      py::arg("path") = py::none(), py::arg("text") = py::none(), py::arg("arch") = "",
      py::arg("grid") = py::none(), py::arg("l1_small") = py::none(), py::arg("trace_region") = py::none(),
      py::arg("pid") = py::none(), py::arg("device") = py::none());
}
