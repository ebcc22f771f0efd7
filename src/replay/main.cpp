// allocmon-replay: would this allocation trace fit on another device? Replays it with the emulated mesh's
// allocator and prints one result per command, then a summary (docs/replay.md).
// Exit status: 0 everything fits, 3 an allocation would fail, 1 bad input.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/command_line.hpp"
#include "common/tt_architecture.hpp"
#include "recording.hpp"
#include "replayer.hpp"

using namespace allocmon::replay;

namespace {

std::string short_result(const LineResult& r) {
  switch (r.outcome) {
    case LineResult::kPlaced: {
      char hex[24];
      std::snprintf(hex, sizeof(hex), "@%#" PRIx64, r.placement.address);
      return hex;
    }
    case LineResult::kOutOfMemory:
      return "OUT OF MEMORY";
    case LineResult::kFreed:
      return "freed";
    case LineResult::kUnknownFree:
      return "unknown id";
    case LineResult::kSkippedFree:
      return "skipped";
    case LineResult::kDuplicateId:
      return "duplicate id";
    case LineResult::kStats:
      return "largest free " + std::to_string(r.stats.largest_free_block) + ", free " +
             std::to_string(r.stats.free);
    case LineResult::kCircularBuffers:
      return "CBs to " + std::to_string(r.cb_region_end);
    case LineResult::kCbClash:
      return "CB CLASH";
  }
  return "";
}

// "wormhole_b0 8x8" (the grid given, else the architecture's own).
std::string target_name(const Target& t) {
  std::string name = t.architecture;
  if (t.grid)
    name += " " + std::to_string(t.grid->first) + "x" + std::to_string(t.grid->second);
  else if (const auto* a = allocmon::find_architecture(t.architecture))
    name += " " + std::to_string(a->grid_x) + "x" + std::to_string(a->grid_y);
  return name;
}

// A recording's buffer ids in hex, as the server's log and leak reports write them ("cb:" kept); a text
// trace's ids as written.
std::string shown_id(const std::string& id, bool recorded) {
  const bool cb = id.rfind("cb:", 0) == 0;
  const std::string digits = cb ? id.substr(3) : id;
  if (!recorded || digits.empty() || digits.size() > 19 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return id;
  char hex[24];
  std::snprintf(hex, sizeof(hex), "%#" PRIx64, static_cast<uint64_t>(std::stoull(digits)));
  return (cb ? "cb:" : "") + std::string(hex);
}

std::string command_text(const Command& c, bool recorded) {
  const std::string id = shown_id(c.id, recorded);
  switch (c.kind) {
    case Command::kAlloc:
      return "alloc " + id + " " + std::string(allocmon::mesh::buffer_type_name(c.type)) + " " +
             std::to_string(c.size);
    case Command::kFree:
      return "free " + id;
    case Command::kStats:
      return "stats " + std::string(allocmon::mesh::buffer_type_name(c.type));
    case Command::kCircularBuffers:
      return "cb " + id + " " + std::to_string(c.size);
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  std::string path, arch, grid, compare;
  std::optional<uint64_t> l1_small, trace_region;
  bool json = false;
  std::optional<int> pid, device;
  CLI::App app{"allocmon-replay: replay an allocation trace on a target device and say whether it fits"};
  app.add_option(
         "trace", path,
         "Text trace (docs/replay.md), - for standard input, or a recording (allocation_server --record)")
      ->required();
  app.add_option("--pid", pid, "Recordings: the process to replay (needed when several allocated)");
  app.add_option("--device", device, "Recordings: the device to replay (default: the lowest it used)");
  bool list = false;
  app.add_flag("--list", list, "Recordings: list the processes that allocated, and their devices, then exit");
  app.add_option("--arch", arch,
                 "Target architecture: wormhole_b0 or blackhole (overrides the trace's arch line)")
      ->check(CLI::IsMember({"wormhole_b0", "wormhole", "blackhole"}));
  app.add_option("--grid", grid, "Worker grid XxY, e.g. 8x8 (L1 banks = X*Y)");
  app.add_option("--l1-small", l1_small, "L1_SMALL region per core, bytes");
  app.add_option("--trace-region", trace_region, "TRACE region per DRAM bank, bytes");
  app.add_option("--compare", compare,
                 "Second target to replay on side by side: ARCH[:XxY], e.g. wormhole_b0:4x4");
  app.add_flag("--json", json, "JSON lines instead of text");
  allocmon::add_version_flag(app, "allocmon-replay");
  if (const int status = allocmon::parse_command_line(app, argc, argv); status >= 0) return status;

  if (list) {
    try {
      if (!is_sqlite_file(path)) throw RecordingError(path + " is not a recording (--list reads recordings)");
      std::printf("%s", describe_recording(path).c_str());
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "allocmon-replay: %s\n", e.what());
      return 1;
    }
  }
  Trace trace;
  try {
    trace = load_trace_file(path, RecordingSelection{pid, device});
  } catch (const TraceError& e) {
    std::fprintf(stderr, "allocmon-replay: %s: %s\n", path.c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "allocmon-replay: %s\n", e.what());
    return 1;
  }
  TargetOverrides overrides{arch, std::nullopt, l1_small, trace_region};
  if (!grid.empty() && !(overrides.grid = parse_grid(grid)))
    return allocmon::usage_error("allocmon-replay", "--grid wants XxY, e.g. 8x8, got '" + grid + "'");
  const Target target = resolve_target(trace, overrides);
  // A grid larger than the chip's worker grid is no chip at all (harvested, smaller grids are what-ifs).
  auto grid_fits = [](const Target& t) -> std::string {
    const auto* a = allocmon::find_architecture(t.architecture);
    if (!t.grid || !a ||
        (t.grid->first >= 1 && t.grid->second >= 1 && t.grid->first <= a->grid_x &&
         t.grid->second <= a->grid_y))
      return "";
    return "grid " + std::to_string(t.grid->first) + "x" + std::to_string(t.grid->second) + " does not fit " +
           t.architecture + "'s worker grid of " + std::to_string(a->grid_x) + "x" +
           std::to_string(a->grid_y);
  };
  if (const std::string why = grid_fits(target); !why.empty())
    return allocmon::usage_error("allocmon-replay", why);

  std::vector<Target> targets{target};
  if (!compare.empty()) {
    // The same overrides, with the second architecture (and grid, if given): a recorded grid stays with
    // the recorded architecture.
    TargetOverrides other = overrides;
    const auto colon = compare.find(':');
    other.architecture = compare.substr(0, colon);
    if (colon != std::string::npos && !(other.grid = parse_grid(compare.substr(colon + 1))))
      return allocmon::usage_error("allocmon-replay", "--compare wants ARCH[:XxY], got '" + compare + "'");
    const Target second = resolve_target(trace, other);
    if (const std::string why = grid_fits(second); !why.empty())
      return allocmon::usage_error("allocmon-replay", "--compare: " + why);
    targets.push_back(second);
  }
  std::vector<std::unique_ptr<Replayer>> replayers;
  try {
    for (const auto& t : targets) replayers.push_back(std::make_unique<Replayer>(t, is_own_target(trace, t)));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "allocmon-replay: %s\n", e.what());
    return 1;
  }

  if (!trace.source.empty()) {
    if (json)
      std::printf("%s\n", nlohmann::json{{"source", trace.source}}
                              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                              .c_str());
    else
      std::printf("# %s\n", trace.source.c_str());
  }
  const auto& notes = trace.notes;
  if (replayers.size() == 1) {
    for (const Command& c : trace.commands) {
      const LineResult r = replayers[0]->apply(c);
      std::printf("%s\n", (json ? format_line_json(r) : format_line(r)).c_str());
    }
    std::printf(
        "%s%s",
        (json ? format_summary_json(*replayers[0], notes) : format_summary(*replayers[0], notes)).c_str(),
        json ? "\n" : "");
  } else {
    // Columns named after their targets, each as wide as its longest cell (commands up to 48 characters,
    // longer ones end in "..."), two spaces between them.
    const std::string name_a = "A: " + target_name(targets[0]), name_b = "B: " + target_name(targets[1]);
    struct Row {
      std::string line, command, a, b;
    };
    std::vector<Row> rows;
    size_t cw = 7, aw = name_a.size();
    for (const Command& c : trace.commands) {
      const LineResult a = replayers[0]->apply(c), b = replayers[1]->apply(c);
      if (json) {
        std::printf("{\"A\":%s,\"B\":%s}\n", format_line_json(a).c_str(), format_line_json(b).c_str());
        continue;
      }
      Row row{"L" + std::to_string(c.line), command_text(c, trace.recorded), short_result(a),
              short_result(b)};
      if (row.command.size() > 48) row.command = row.command.substr(0, 45) + "...";
      cw = std::max(cw, row.command.size());
      aw = std::max(aw, row.a.size());
      rows.push_back(std::move(row));
    }
    if (!json) {
      const int c_width = static_cast<int>(cw), a_width = static_cast<int>(aw);
      std::printf("%-7s %-*s  %-*s  %s\n", "line", c_width, "command", a_width, name_a.c_str(),
                  name_b.c_str());
      for (const Row& r : rows)
        std::printf("%-7s %-*s  %-*s  %s\n", r.line.c_str(), c_width, r.command.c_str(), a_width, r.a.c_str(),
                    r.b.c_str());
    }
    for (size_t i = 0; i < replayers.size(); ++i)
      std::printf(
          "%s%s%s", json ? "" : (i ? ("\n" + name_b + "\n").c_str() : ("\n" + name_a + "\n").c_str()),
          (json ? format_summary_json(*replayers[i], notes) : format_summary(*replayers[i], notes)).c_str(),
          json ? "\n" : "");
  }
  for (const auto& r : replayers)
    if (!r->summary().fits()) return 3;
  return 0;
}
