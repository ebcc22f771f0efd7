// allocmon._allocmon.replay_run: the what-if replay engine (src/replay) for Python; allocmon/replay.py wraps
// its JSON results in Python objects.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "replay/recording.hpp"
#include "replay/replayer.hpp"

namespace py = pybind11;
using namespace allocmon::replay;

namespace {
// Recorded process names need not be UTF-8: replace such bytes rather than fail.
py::str text(const std::string& s) {
  return py::reinterpret_steal<py::str>(
      PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace"));
}
}  // namespace

void bind_replay(py::module_& m) {
  m.def(
      "replay_run",
      [](std::optional<std::string> path, std::optional<std::string> trace_text, const std::string& arch,
         std::optional<std::pair<uint32_t, uint32_t>> grid, std::optional<uint64_t> l1_small,
         std::optional<uint64_t> trace_region, std::optional<int> pid, std::optional<int> device) {
        Trace trace;
        try {
          trace = path ? load_trace_file(*path, RecordingSelection{pid, device})
                       : parse_trace(trace_text.value_or(""));
        } catch (const std::exception& e) {
          throw py::value_error(e.what());
        }
        const Target target = resolve_target(trace, TargetOverrides{arch, grid, l1_small, trace_region});
        std::optional<Replayer> replayer;
        try {
          replayer.emplace(target, is_own_target(trace, target));
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
        py::list lines;
        for (const Command& c : trace.commands) lines.append(format_line_json(replayer->apply(c)));
        py::dict out;
        py::list notes;
        for (const auto& note : trace.notes) notes.append(text(note));
        out["source"] = text(trace.source);
        out["notes"] = notes;
        out["target"] = replayer->describe_target();
        out["lines"] = lines;
        out["summary"] = format_summary_json(*replayer, trace.notes);
        out["text_summary"] = text(format_summary(*replayer, trace.notes));
        return out;
      },
      py::arg("path") = py::none(), py::arg("text") = py::none(), py::arg("arch") = "",
      py::arg("grid") = py::none(), py::arg("l1_small") = py::none(), py::arg("trace_region") = py::none(),
      py::arg("pid") = py::none(), py::arg("device") = py::none());
}
