// allocmon-report: what a recording (allocation_server --record) shows after the run.
//   allocmon-report RUN.sqlite [--out DIR]
// writes DIR/memory.svg and DIR/memory.png (memory over time per device, stacked by type, one panel per
// device in mesh layout), DIR/summary.txt (peaks with the largest buffers live at that moment; leaks: buffers
// still live when their process ended) and DIR/trace.json (Chrome/Perfetto trace: a counter track per device
// and type, instant events for process start and exit).
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/command_line.hpp"
#include "common/sqlite.hpp"
#include "protocol/wire.hpp"

namespace {

using nlohmann::json;
namespace sqlite = allocmon::sqlite;
constexpr int kColumns = 600;  // time buckets per chart and per counter track
const char* kColors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                         "#b07aa1", "#edc948", "#76b7b2", "#9c755f"};

struct Event {
  int64_t seq, time_ms, client;
  int pid, device, type;
  std::string kind;
  uint64_t size, buffer_id;
};
struct Process {
  int pid;
  std::string name;
  int64_t start_ms, end_ms;
};
struct Device {
  int row = -1, col = -1;
  std::string architecture;
};

int type_code(const std::string& name) {
  return allocmon::wire::memory_type_from_name(name).value_or(0);
}

std::string human(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) bytes /= 1024, ++u;
  char text[32];
  std::snprintf(text, sizeof(text), u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return text;
}

struct Recording {
  std::vector<Event> events;
  std::map<int64_t, Process> processes;  // by client
  std::map<int, Device> devices;
};

Recording load(const std::string& path) {
  const sqlite::Database db = sqlite::open_readonly(path);
  Recording r;
  auto query = [&](const char* sql, auto row) {
    sqlite::Statement st(db.get(), sql, path + " is not an allocmon recording");
    while (st.step()) row(st);
  };
  query("SELECT seq,time_ms,client,pid,device,type,kind,size,buffer_id FROM events ORDER BY seq",
        [&](const sqlite::Statement& st) {
          r.events.push_back({st.integer(0), st.integer(1), st.integer(2), static_cast<int>(st.integer(3)),
                              static_cast<int>(st.integer(4)), type_code(st.text(5)), st.text(6),
                              static_cast<uint64_t>(st.integer(7)), static_cast<uint64_t>(st.integer(8))});
        });
  query("SELECT client,pid,name,start_ms,COALESCE(end_ms,0) FROM processes", [&](const sqlite::Statement&
                                                                                     st) {
    r.processes[st.integer(0)] = {static_cast<int>(st.integer(1)), st.text(2), st.integer(3), st.integer(4)};
  });
  query("SELECT device,mesh_row,mesh_col,architecture FROM devices ORDER BY time_ms",
        [&](const sqlite::Statement& st) {
          r.devices[static_cast<int>(st.integer(0))] = {static_cast<int>(st.integer(1)),
                                                        static_cast<int>(st.integer(2)), st.text(3)};
        });
  // Devices seen through polled sources (tt-metal's shared-memory regions): totals over time, no buffers.
  if (sqlite::has_column(db.get(), "samples", "bytes")) {
    query("SELECT time_ms,device,type,bytes FROM samples ORDER BY rowid", [&](const sqlite::Statement& st) {
      r.events.push_back({-1, st.integer(0), 0, 0, static_cast<int>(st.integer(1)), type_code(st.text(2)),
                          "sample", static_cast<uint64_t>(st.integer(3)), 0});
    });
    std::stable_sort(r.events.begin(), r.events.end(),
                     [](const Event& a, const Event& b) { return a.time_ms < b.time_ms; });
  }
  for (const auto& e : r.events) r.devices.try_emplace(e.device);
  return r;
}

int64_t delta(const Event& e) {
  return e.kind == "alloc" ? static_cast<int64_t>(e.size) : -static_cast<int64_t>(e.size);
}

}  // namespace

int main(int argc, char** argv) {
  std::string path, out = "allocmon-report";
  CLI::App app{"allocmon-report: plots, peaks, leaks and a Perfetto trace from a recording"};
  app.add_option("recording", path, "SQLite file written by allocation_server --record")->required();
  app.add_option("--out", out, "Output directory")->capture_default_str();
  allocmon::add_version_flag(app, "allocmon-report");
  if (const int status = allocmon::parse_command_line(app, argc, argv); status >= 0) return status;
  Recording rec;
  try {
    rec = load(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "allocmon-report: %s\n", e.what());
    return 1;
  }
  ::mkdir(out.c_str(), 0755);
  const int types = allocmon::wire::kNumMemoryTypes;
  const int64_t t0 = rec.events.empty() ? 0 : rec.events.front().time_ms;
  const int64_t t1 = rec.events.empty() ? 1 : std::max(rec.events.back().time_ms, t0 + 1);
  auto bucket_of = [&](int64_t t) {
    return std::min<int>(kColumns - 1, static_cast<int>((t - t0) * kColumns / (t1 - t0 + 1)));
  };

  // One pass: current bytes per device x type, max per time bucket, peaks and where they happened.
  std::map<int, std::vector<std::vector<int64_t>>> series;  // device -> type -> bucket max
  std::map<std::pair<int, int>, int64_t> now, peak, sampled;
  std::map<std::pair<int, int>, size_t> peak_index;
  for (const auto& [id, d] : rec.devices) series[id].assign(types, std::vector<int64_t>(kColumns, -1));
  for (size_t i = 0; i < rec.events.size(); ++i) {
    const Event& e = rec.events[i];
    const auto key = std::make_pair(e.device, e.type);
    if (e.kind == "sample") {  // a polled total replaces the source's previous one
      now[key] += static_cast<int64_t>(e.size) - sampled[key];
      sampled[key] = static_cast<int64_t>(e.size);
    } else {
      now[key] += delta(e);
    }
    const int64_t value = now[key];
    auto& cell = series[e.device][e.type][bucket_of(e.time_ms)];
    cell = std::max(cell, value);
    if (value > peak[key]) peak[key] = value, peak_index[key] = i;
  }
  // Carry each series forward through buckets without events; the last bucket shows where the run ended (a
  // max there would hide a final free), every other bucket its maximum (so no peak is lost).
  for (auto& [id, per_type] : series)
    for (auto& s : per_type) {
      int64_t last = 0;
      for (auto& v : s) v = v < 0 ? last : (last = v);
    }
  for (const auto& [key, value] : now) series[key.first][key.second][kColumns - 1] = value;

  // ---- summary: peaks with the largest buffers live at that moment, and leaks ----
  std::string summary = "allocmon report for " + path + " (" + std::to_string(rec.events.size()) +
                        " events, " + std::to_string((t1 - t0) / 1000.0).substr(0, 6) + " s)\n\nPeaks:\n";
  for (const auto& [key, bytes] : peak) {
    if (bytes <= 0) continue;
    // Replay to the peak's event to list what was live then (a second pass per peak keeps the first one
    // cheap).
    std::map<std::tuple<int64_t, uint64_t>, const Event*> live;
    for (size_t i = 0; i <= peak_index[key]; ++i) {
      const Event& e = rec.events[i];
      if (e.device != key.first || e.type != key.second) continue;
      if (e.kind == "alloc")
        live[{e.client, e.buffer_id}] = &e;
      else if (e.kind != "sample")
        live.erase({e.client, e.buffer_id});
    }
    std::vector<const Event*> top;
    for (const auto& [k, e] : live) top.push_back(e);
    std::sort(top.begin(), top.end(), [](const Event* a, const Event* b) { return a->size > b->size; });
    const Event& at = rec.events[peak_index[key]];
    summary += "  device " + std::to_string(key.first) + " " +
               std::string(allocmon::wire::kMemoryTypeNames[key.second]) + ": " + std::to_string(bytes) +
               " B (" + human(static_cast<double>(bytes)) + ") at +" + std::to_string(at.time_ms - t0) +
               " ms, " + std::to_string(live.size()) + " buffers live; largest:";
    for (size_t i = 0; i < std::min<size_t>(3, top.size()); ++i)
      summary += " " + std::to_string(top[i]->size) + " B (pid " + std::to_string(top[i]->pid) + ", buffer " +
                 std::to_string(top[i]->buffer_id) + ")";
    summary += "\n";
  }
  summary += "\nLeaks (buffers still live when their process ended):\n";
  std::map<int64_t, std::pair<uint64_t, uint64_t>> leaks;  // client -> (buffers, bytes)
  for (const auto& e : rec.events)
    if (e.kind == "reclaim") ++leaks[e.client].first, leaks[e.client].second += e.size;
  if (leaks.empty()) summary += "  none\n";
  for (const auto& [client, l] : leaks) {
    const auto p = rec.processes.count(client) ? rec.processes.at(client) : Process{0, "?", 0, 0};
    summary += "  pid " + std::to_string(p.pid) + " " + p.name + ": " + std::to_string(l.first) +
               " buffers, " + std::to_string(l.second) + " B\n";
  }
  std::ofstream(out + "/summary.txt") << summary;

  // ---- Perfetto / Chrome trace: a counter track per device x type, instants for process start and exit ----
  json trace_events = json::array();
  for (const auto& [id, per_type] : series)
    for (int t = 0; t < types; ++t) {
      if (!peak.count({id, t})) continue;
      const std::string name =
          "device " + std::to_string(id) + " " + std::string(allocmon::wire::kMemoryTypeNames[t]);
      for (int b = 0; b < kColumns; ++b) {
        const int64_t ts_us = (t0 + (t1 - t0) * b / kColumns - t0) * 1000;
        trace_events.push_back(
            {{"name", name}, {"ph", "C"}, {"ts", ts_us}, {"pid", 1}, {"args", {{"bytes", per_type[t][b]}}}});
      }
    }
  for (const auto& [client, p] : rec.processes) {
    trace_events.push_back({{"name", "start " + p.name + " (pid " + std::to_string(p.pid) + ")"},
                            {"ph", "i"},
                            {"s", "g"},
                            {"ts", std::max<int64_t>(0, p.start_ms - t0) * 1000},
                            {"pid", 1}});
    if (p.end_ms)
      trace_events.push_back({{"name", "exit " + p.name + " (pid " + std::to_string(p.pid) + ")"},
                              {"ph", "i"},
                              {"s", "g"},
                              {"ts", std::max<int64_t>(0, p.end_ms - t0) * 1000},
                              {"pid", 1}});
  }
  trace_events.push_back(
      {{"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"args", {{"name", "allocmon device memory"}}}});
  std::ofstream(out + "/trace.json") << json{{"traceEvents", trace_events}, {"displayTimeUnit", "ms"}}.dump();

  // ---- SVG: one panel per device, laid out in mesh rows and columns when every device has a position ----
  bool mesh = !rec.devices.empty();
  int rows = 0, cols = 0;
  for (const auto& [id, d] : rec.devices) {
    mesh = mesh && d.row >= 0;
    rows = std::max(rows, d.row + 1);
    cols = std::max(cols, d.col + 1);
  }
  std::map<int, std::pair<int, int>> place;
  int index = 0;
  for (const auto& [id, d] : rec.devices) {
    place[id] = mesh ? std::make_pair(d.row, d.col) : std::make_pair(index / 4, index % 4);
    ++index;
  }
  if (!mesh) rows = (index + 3) / 4, cols = std::min(index, 4);
  const int pw = 320, ph = 200, pad = 40;
  const int width = std::max(1, cols) * (pw + pad) + pad, height = std::max(1, rows) * (ph + pad) + pad + 40;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(height) +
                    "\" font-family=\"sans-serif\" font-size=\"11\">\n"
                    "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"" +
                    std::to_string(pad) + "\" y=\"24\" font-size=\"15\">Device memory over " +
                    std::to_string((t1 - t0) / 1000.0).substr(0, 6) + " s, stacked by type</text>\n";
  for (int t = 0; t < types; ++t)
    svg += "<rect x=\"" + std::to_string(pad + 420 + t * 80) +
           "\" y=\"14\" width=\"10\" height=\"10\" fill=\"" + kColors[t] + "\"/><text x=\"" +
           std::to_string(pad + 434 + t * 80) + "\" y=\"23\">" +
           std::string(allocmon::wire::kMemoryTypeNames[t]) + "</text>\n";
  for (const auto& [id, per_type] : series) {
    const int x0 = pad + place[id].second * (pw + pad), y0 = 40 + pad + place[id].first * (ph + pad);
    int64_t top = 1;
    for (int b = 0; b < kColumns; ++b) {
      int64_t sum = 0;
      for (int t = 0; t < types; ++t) sum += per_type[t][b];
      top = std::max(top, sum);
    }
    svg += "<g><rect x=\"" + std::to_string(x0) + "\" y=\"" + std::to_string(y0) + "\" width=\"" +
           std::to_string(pw) + "\" height=\"" + std::to_string(ph) +
           "\" fill=\"#f7f7f7\" stroke=\"#999\"/>\n<text x=\"" + std::to_string(x0) + "\" y=\"" +
           std::to_string(y0 - 6) + "\">device " + std::to_string(id) +
           (rec.devices[id].row >= 0
                ? " (" + std::to_string(rec.devices[id].row) + "," + std::to_string(rec.devices[id].col) + ")"
                : "") +
           " — max " + human(static_cast<double>(top)) + "</text>\n";
    std::vector<int64_t> base(kColumns, 0);
    for (int t = 0; t < types; ++t) {
      if (!peak.count({id, t})) continue;
      std::string lower, upper;
      for (int b = 0; b < kColumns; ++b) {
        const double x = x0 + pw * (b + 0.5) / kColumns;
        const double y_low = y0 + ph - ph * static_cast<double>(base[b]) / static_cast<double>(top);
        const double y_high =
            y0 + ph - ph * static_cast<double>(base[b] + per_type[t][b]) / static_cast<double>(top);
        char p[64];
        std::snprintf(p, sizeof(p), "%.1f,%.1f ", x, y_high);
        upper += p;
        std::snprintf(p, sizeof(p), "%.1f,%.1f ", x, y_low);
        lower = p + lower;
        base[b] += per_type[t][b];
      }
      svg += "<polygon points=\"" + upper + lower + "\" fill=\"" + kColors[t] + "\" opacity=\"0.85\"/>\n";
    }
    svg += "</g>\n";
  }
  svg += "</svg>\n";
  std::ofstream(out + "/memory.svg") << svg;
  const std::string png = "rsvg-convert -o '" + out + "/memory.png' '" + out + "/memory.svg' 2>/dev/null";
  const bool have_png = std::system(png.c_str()) == 0;
  std::fputs(summary.c_str(), stdout);
  std::printf("\nwrote %s/summary.txt, %s/trace.json (open in ui.perfetto.dev), %s/memory.svg%s\n",
              out.c_str(), out.c_str(), out.c_str(),
              have_png ? (", " + out + "/memory.png").c_str() : " (no PNG: install librsvg2-bin)");
  return 0;
}
