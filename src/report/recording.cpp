#include "recording.hpp"

#include <algorithm>
#include <sstream>

#include "common/sqlite.hpp"
#include "protocol/wire.hpp"

namespace allocmon::report {

namespace {

int type_code(const std::string& name) {
  return wire::memory_type_from_name(name).value_or(0);
}

Event::Kind kind_of(const std::string& name) {
  return name == "alloc" ? Event::kAlloc : name == "free" ? Event::kFree : Event::kReclaim;
}

std::vector<uint64_t> parse_capacity(const std::string& text) {  // "[1,2,3]"
  std::vector<uint64_t> out;
  std::string digits;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (!digits.empty()) {
      out.push_back(std::stoull(digits));
      digits.clear();
    }
  }
  return out;
}

}  // namespace

Recording load_recording(const std::string& path) {
  const sqlite::Database db = sqlite::open_readonly(path);
  Recording r;
  auto query = [&](const char* sql, auto row) {
    sqlite::Statement st(db.get(), sql, path + " is not an allocmon recording");
    while (st.step()) row(st);
  };
  query("SELECT seq,time_ms,client,pid,device,type,kind,size,address,buffer_id FROM events ORDER BY seq",
        [&](const sqlite::Statement& st) {
          r.events.push_back({st.integer(0), st.integer(1), st.integer(2), static_cast<int>(st.integer(3)),
                              static_cast<int>(st.integer(4)), type_code(st.text(5)), kind_of(st.text(6)),
                              static_cast<uint64_t>(st.integer(7)), static_cast<uint64_t>(st.integer(8)),
                              static_cast<uint64_t>(st.integer(9))});
        });
  query("SELECT client,pid,name,start_ms,COALESCE(end_ms,0) FROM processes", [&](const sqlite::Statement&
                                                                                     st) {
    r.processes[st.integer(0)] = {static_cast<int>(st.integer(1)), st.text(2), st.integer(3), st.integer(4)};
  });
  query("SELECT device,mesh_row,mesh_col,architecture,capacity FROM devices ORDER BY time_ms",
        [&](const sqlite::Statement& st) {
          r.devices[static_cast<int>(st.integer(0))] = {static_cast<int>(st.integer(1)),
                                                        static_cast<int>(st.integer(2)), st.text(3),
                                                        parse_capacity(st.text(4))};
        });
  // Devices seen through polled sources (tt-metal's shared-memory regions): totals over time, no buffers.
  if (sqlite::has_column(db.get(), "samples", "bytes")) {
    query("SELECT time_ms,device,type,bytes FROM samples ORDER BY rowid", [&](const sqlite::Statement& st) {
      Event e;
      e.seq = -1;
      e.time_ms = st.integer(0);
      e.device = static_cast<int>(st.integer(1));
      e.type = type_code(st.text(2));
      e.kind = Event::kSample;
      e.size = static_cast<uint64_t>(st.integer(3));
      r.events.push_back(e);
    });
    std::stable_sort(r.events.begin(), r.events.end(),
                     [](const Event& a, const Event& b) { return a.time_ms < b.time_ms; });
  }
  for (const auto& e : r.events) r.devices.try_emplace(e.device);
  return r;
}

}  // namespace allocmon::report
