#include "recording.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "allocmon/memory_types.h"
#include "common/id_ranges.hpp"
#include "common/sqlite.hpp"

namespace allocmon::replay {

namespace {

using sqlite::Database;
using sqlite::has_column;
using sqlite::Statement;

struct Candidate {
  int64_t id;
  int64_t allocations;
};

std::string list(const std::vector<Candidate>& candidates, const std::function<std::string(int64_t)>& name) {
  std::string out;
  for (const auto& c : candidates)
    out += (out.empty() ? "" : ", ") + name(c.id) + " (" + std::to_string(c.allocations) + " allocations)";
  return out;
}

Database open_recording(const std::string& path) {
  Database db = sqlite::open_readonly(path);
  if (!has_column(db.get(), "events", "buffer_id"))
    throw RecordingError(path + " is an SQLite file but not an allocmon recording (no events table)");
  return db;
}

}  // namespace

std::string describe_recording(const std::string& path) {
  Database db = open_recording(path);
  std::string out;
  Statement st(
      db.get(),
      "SELECT e.pid, (SELECT name FROM processes p WHERE p.pid=e.pid ORDER BY start_ms DESC LIMIT 1), "
      "COUNT(*), GROUP_CONCAT(DISTINCT e.device) FROM events e WHERE e.kind='alloc' GROUP BY e.pid "
      "ORDER BY MIN(e.seq)");
  while (st.step()) {
    // The devices as ranges in id order ("0-7"), not in the order they were first used.
    std::vector<int> devices;
    std::stringstream ids(st.text(3));
    for (std::string id; std::getline(ids, id, ',');)
      if (!id.empty()) devices.push_back(std::stoi(id));
    out += "pid " + std::to_string(st.integer(0)) + " (" + st.text(1) +
           "): " + std::to_string(st.integer(2)) +
           (st.integer(2) == 1 ? " allocation on " : " allocations on ") +
           (devices.size() == 1 ? "device " : "devices ") + allocmon::id_ranges(devices) + "\n";
  }
  return out.empty() ? path + " has no allocations recorded\n" : out;
}

Trace load_recording(const std::string& path, const RecordingSelection& selection) {
  Database db = open_recording(path);
  const bool has_layout = has_column(db.get(), "events", "page_size");
  const bool has_grid = has_column(db.get(), "devices", "grid_x");

  auto process_name = [&](int64_t pid) {
    Statement st(db.get(), "SELECT name FROM processes WHERE pid=? ORDER BY start_ms DESC LIMIT 1");
    st.bind(1, pid);
    return "pid " + std::to_string(pid) + (st.step() ? " (" + st.text(0) + ")" : std::string());
  };

  // The process: the one that allocated, or the one asked for.
  std::vector<Candidate> processes;
  {
    Statement st(db.get(),
                 "SELECT pid, COUNT(*) FROM events WHERE kind='alloc' GROUP BY pid ORDER BY MIN(seq)");
    while (st.step()) processes.push_back({st.integer(0), st.integer(1)});
  }
  if (processes.empty()) throw RecordingError(path + " has no allocations recorded");
  int64_t pid = processes.front().id;
  if (selection.pid) {
    pid = *selection.pid;
    bool found = false;
    for (const auto& p : processes) found |= p.id == pid;
    if (!found)
      throw RecordingError("process " + std::to_string(pid) + " allocated nothing in " + path +
                           "; processes that did: " + list(processes, process_name));
  } else if (processes.size() > 1) {
    throw RecordingError(std::to_string(processes.size()) + " processes allocated in " + path +
                         "; choose one with --pid: " + list(processes, process_name));
  }

  // The device: devices of a mesh move in lock-step, so any one of them replays the mesh.
  std::vector<Candidate> devices;
  {
    Statement st(
        db.get(),
        "SELECT device, COUNT(*) FROM events WHERE kind='alloc' AND pid=? GROUP BY device ORDER BY device");
    st.bind(1, pid);
    while (st.step()) devices.push_back({st.integer(0), st.integer(1)});
  }
  int64_t device = devices.front().id;
  auto device_name = [](int64_t id) { return "device " + std::to_string(id); };
  if (selection.device) {
    device = *selection.device;
    bool found = false;
    for (const auto& d : devices) found |= d.id == device;
    if (!found)
      throw RecordingError(process_name(pid) + " allocated nothing on device " + std::to_string(device) +
                           "; devices it used: " + list(devices, device_name));
  }

  Trace trace;
  trace.recorded = true;
  Target target;
  {
    Statement st(db.get(),
                 std::string("SELECT architecture, capacity, ") +
                     (has_grid ? "grid_x, grid_y" : "NULL, NULL") +
                     " FROM devices WHERE device=? AND client IN (SELECT DISTINCT client FROM events "
                     "WHERE pid=?) ORDER BY time_ms DESC LIMIT 1");
    st.bind(1, device).bind(2, pid);
    if (st.step()) {
      const std::string architecture = st.text(0);
      if (find_architecture(architecture))
        target.architecture = architecture;
      else
        trace.notes.push_back("recorded architecture '" + architecture + "' is not emulated; replaying on " +
                              target.architecture);
      if (!st.null(2) && !st.null(3) && st.integer(2) > 0 && st.integer(3) > 0)
        target.grid =
            std::make_pair(static_cast<uint32_t>(st.integer(2)), static_cast<uint32_t>(st.integer(3)));
      const Architecture& arch = *find_architecture(target.architecture);
      const uint64_t l1_banks =
          target.grid ? uint64_t{target.grid->first} * target.grid->second : uint64_t{arch.l1_banks()};
      // The regions' sizes per bank, from the capacities the device registered (bytes over all banks).
      const auto capacity = nlohmann::json::parse(st.text(1), nullptr, /*allow_exceptions=*/false);
      if (capacity.is_array() && capacity.size() > ALLOCMON_TRACE &&
          capacity[ALLOCMON_L1_SMALL].is_number_unsigned() && capacity[ALLOCMON_TRACE].is_number_unsigned()) {
        target.l1_small = capacity[ALLOCMON_L1_SMALL].get<uint64_t>() / l1_banks;
        target.trace_region = capacity[ALLOCMON_TRACE].get<uint64_t>() / arch.dram_banks;
      }
    } else {
      trace.notes.push_back("device " + std::to_string(device) + " has no registration; replaying on " +
                            target.architecture);
    }
  }
  trace.target = target;

  Statement st(db.get(),
               std::string("SELECT seq, type, kind, size, address, buffer_id, ") +
                   (has_layout ? "page_size, layout, shard_count, direction" : "NULL, NULL, NULL, NULL") +
                   " FROM events WHERE pid=? AND device=? ORDER BY seq");
  st.bind(1, pid).bind(2, device);
  int64_t allocations = 0, kernels = 0, unknown_types = 0;
  while (st.step()) {
    const std::string type = st.text(1), kind = st.text(2);
    const std::string buffer = std::to_string(static_cast<uint64_t>(st.integer(5)));
    Command c{Command::kFree, st.integer(0), type == "CB" ? "cb:" + buffer : buffer};
    if (type == "KERNEL") {
      kernels += kind == "alloc";
      continue;
    }
    if (kind == "alloc") {
      c.size = static_cast<uint64_t>(st.integer(3));
      if (type == "CB") {
        c.kind = Command::kCircularBuffers;
      } else if (auto buffer_type = parse_buffer_type(type)) {
        c.kind = Command::kAlloc;
        c.type = *buffer_type;
        c.recorded_address = static_cast<uint64_t>(st.integer(4));
        c.page_size = st.null(6) ? 0 : static_cast<uint64_t>(st.integer(6));
        if (st.text(7) == "sharded" && !st.null(8)) c.shards = static_cast<uint32_t>(st.integer(8));
        if (st.text(9) == "bottom_up") c.bottom_up = true;
        if (st.text(9) == "top_down") c.bottom_up = false;
        ++allocations;
      } else {
        ++unknown_types;
        continue;
      }
    } else if (kind != "free" && kind != "reclaim") {
      continue;
    }
    trace.commands.push_back(std::move(c));
  }
  std::string grid = target.grid
                         ? std::to_string(target.grid->first) + "x" + std::to_string(target.grid->second)
                         : std::string("default grid");
  trace.source = "recording " + path + ": " + process_name(pid) + ", device " + std::to_string(device) +
                 " (" + target.architecture + ", " + grid + "), " + std::to_string(allocations) +
                 " allocations";
  if (devices.size() > 1 && !selection.device) {
    // A mesh allocates in lock-step: the same buffers at the same addresses on every device.
    Statement same(
        db.get(),
        "SELECT COUNT(DISTINCT n || ':' || bytes || ':' || places) FROM (SELECT device, COUNT(*) AS n, "
        "SUM(size) AS bytes, SUM(address) AS places FROM events WHERE kind='alloc' AND pid=? AND "
        "type NOT IN ('CB','KERNEL') GROUP BY device)");
    same.bind(1, pid);
    const bool lock_step = same.step() && same.integer(0) == 1;
    trace.notes.push_back(
        lock_step ? "the process allocated the same buffers at the same addresses on " +
                        std::to_string(devices.size()) + " devices (a mesh in lock-step): device " +
                        std::to_string(device) + " stands for all of them"
                  : "the process allocated differently on " + std::to_string(devices.size()) +
                        " devices; this is device " + std::to_string(device) +
                        " (--device picks another: " + list(devices, device_name) + ")");
  }
  if (kernels)
    trace.notes.push_back(
        std::to_string(kernels) +
        " KERNEL allocation(s) not replayed: kernel binaries are not placed by the allocator");
  if (unknown_types)
    trace.notes.push_back(std::to_string(unknown_types) + " allocation(s) of unknown memory types skipped");
  return trace;
}

Trace load_trace_file(const std::string& path, const RecordingSelection& selection) {
  if (path != "-" && is_sqlite_file(path)) return load_recording(path, selection);
  if (selection.pid || selection.device)
    throw RecordingError("--pid and --device select from a recording; " + path + " is a text trace");
  std::stringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream file(path);
    if (!file) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
    text << file.rdbuf();
  }
  return parse_trace(text.str());
}

Target resolve_target(const Trace& trace, const TargetOverrides& overrides) {
  Target target = trace.target.value_or(Target{});
  if (!overrides.architecture.empty()) {
    if (trace.recorded && overrides.architecture != target.architecture) target.grid.reset();
    target.architecture = overrides.architecture;
  }
  if (overrides.grid) target.grid = overrides.grid;
  if (overrides.l1_small) target.l1_small = *overrides.l1_small;
  if (overrides.trace_region) target.trace_region = *overrides.trace_region;
  return target;
}

}  // namespace allocmon::replay
