#include "html_data.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <functional>
#include <set>
#include <tuple>
#include <unordered_map>

#include "protocol/wire.hpp"
#include "timeline.hpp"

namespace allocmon::report {

namespace {

using nlohmann::json;

constexpr int kTypes = wire::kNumMemoryTypes;
constexpr int kGroupings = 2;  // 0: by scope, 1: by op
const char* const kGroupingNames[kGroupings] = {"scope", "op"};
const char* const kNoGroup[kGroupings] = {"(no scope)", "(no op)"};
constexpr const char* kPolled = "(tt-metal region totals)";

// Group names of one grouping, interned: the same id in every chart.
struct Names {
  std::vector<std::string> names;
  std::unordered_map<std::string, int> ids;
  int id(const std::string& name) {
    const auto [it, fresh] = ids.try_emplace(name, static_cast<int>(names.size()));
    if (fresh) names.push_back(name);
    return it->second;
  }
};

// What each event does: its bytes (+ or -), its groups, and for a free the alloc it ends.
struct Resolved {
  std::vector<int64_t> delta;
  std::vector<std::array<int, kGroupings>> group;
  std::vector<int64_t> alloc_of;  // free/reclaim -> its alloc's index (-1: none recorded)
  std::vector<int64_t> end_of;    // alloc -> the index of its free (events.size(): never freed)
  std::vector<int> context;       // alloc -> contexts.id (-1: none)
  std::set<int> polled_devices;
};

Resolved resolve(const Recording& r, const Attribution& a, std::array<Names, kGroupings>& names) {
  const auto& events = r.events;
  const size_t n = events.size();
  Resolved out;
  out.delta.assign(n, 0);
  out.group.assign(n, {0, 0});
  out.alloc_of.assign(n, -1);
  out.end_of.assign(n, static_cast<int64_t>(n));
  out.context.assign(n, -1);
  std::array<int, kGroupings> none{}, polled{};
  for (int g = 0; g < kGroupings; ++g) none[g] = names[g].id(kNoGroup[g]);
  std::map<std::tuple<int64_t, int, uint64_t>, int64_t> live;  // (client, device, buffer id) -> alloc
  std::map<std::pair<int, int>, int64_t> sampled;              // a polled source's last total
  for (size_t i = 0; i < n; ++i) {
    const Event& e = events[i];
    const auto size = static_cast<int64_t>(e.size);
    switch (e.kind) {
      case Event::kAlloc: {
        out.delta[i] = size;
        out.group[i] = none;
        if (const auto id = a.context_of.find(e.seq); id != a.context_of.end()) {
          out.context[i] = static_cast<int>(id->second);
          if (const auto c = a.contexts.find(id->second); c != a.contexts.end()) {
            if (!c->second.scope.empty()) out.group[i][0] = names[0].id(c->second.scope);
            if (!c->second.op.empty()) out.group[i][1] = names[1].id(c->second.op);
          }
        }
        live[{e.client, e.device, e.buffer_id}] = static_cast<int64_t>(i);
        break;
      }
      case Event::kFree:
      case Event::kReclaim: {
        out.delta[i] = -size;
        out.group[i] = none;
        if (const auto it = live.find({e.client, e.device, e.buffer_id}); it != live.end()) {
          out.group[i] = out.group[it->second];
          out.alloc_of[i] = it->second;
          out.end_of[it->second] = static_cast<int64_t>(i);
          live.erase(it);
        }
        break;
      }
      case Event::kSample: {  // a polled total replaces that source's previous one
        int64_t& previous = sampled[{e.device, e.type}];
        out.delta[i] = size - previous;
        previous = size;
        if (out.polled_devices.empty())
          for (int g = 0; g < kGroupings; ++g) polled[g] = names[g].id(kPolled);
        out.group[i] = polled;
        out.polled_devices.insert(e.device);
        break;
      }
    }
  }
  return out;
}

// One chart: a view (a device, or all of them summed) and a memory type.
struct Chart {
  bool used = false;
  std::vector<int64_t> bytes;   // per column: the highest total in it, the one it starts with included
  std::vector<int64_t> moment;  // ... the event it was reached at (-1: before anything)
  std::vector<int64_t> last;    // ... the column's last event (-1: none)
  std::vector<int64_t> at_end;  // ... the total after that event
  int64_t latest = -1;          // the last event so far (while the columns are filled)
  std::vector<std::array<std::vector<std::pair<int, int64_t>>, kGroupings>> stack;  // per column: group bytes
};

// Run-length pairs [value, count, ...]; identical arrays (a mesh in lock-step) are stored once.
struct Pool {
  json arrays = json::array();
  std::map<std::vector<int64_t>, size_t> index;
  size_t add(const std::vector<int64_t>& values) {
    std::vector<int64_t> runs;
    for (size_t i = 0; i < values.size();) {
      size_t j = i;
      while (j < values.size() && values[j] == values[i]) ++j;
      runs.push_back(values[i]);
      runs.push_back(static_cast<int64_t>(j - i));
      i = j;
    }
    const auto [it, fresh] = index.try_emplace(runs, arrays.size());
    if (fresh) arrays.push_back(runs);
    return it->second;
  }
};

json address_json(uint64_t address) {  // exact in JavaScript up to 2^53; beyond, as hex text
  if (address < (uint64_t{1} << 53)) return address;
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(address));
  return text;
}

}  // namespace

json html_data(const std::string& name, const Recording& r, const Attribution& a, const HtmlLimits& limits) {
  const auto& events = r.events;
  const size_t n = events.size();
  const int columns = std::max(limits.columns, 1);
  const Timeline t = build_timeline(r, columns);
  std::array<Names, kGroupings> names;
  const Resolved resolved = resolve(r, a, names);

  // Views: 0 is every device summed, then the devices in id order.
  std::map<int, int> view_of;
  std::vector<int> device_of_view = {-1};
  for (const auto& [id, d] : r.devices) {
    view_of[id] = static_cast<int>(device_of_view.size());
    device_of_view.push_back(id);
  }
  const int view_count = static_cast<int>(device_of_view.size());
  std::vector<Chart> charts(static_cast<size_t>(view_count) * kTypes);
  const auto charts_of = [&](const Event& e) {
    return std::array<Chart*, 2>{&charts[static_cast<size_t>(view_of.at(e.device)) * kTypes + e.type],
                                 &charts[static_cast<size_t>(e.type)]};
  };

  // Pass 1: per chart and column the highest total in it (from the total it starts with) and the event that
  // reached it.
  {
    std::vector<int64_t> now(charts.size(), 0);
    for (size_t i = 0; i < n; ++i) {
      const int column = t.column_of(events[i].time_ms);
      for (Chart* c : charts_of(events[i])) {
        if (!c->used) {
          c->used = true;
          c->bytes.assign(columns, 0);
          c->moment.assign(columns, -1);
          c->last.assign(columns, -1);
          c->at_end.assign(columns, 0);
        }
        int64_t& total = now[static_cast<size_t>(c - charts.data())];
        if (c->last[column] < 0) {  // what the column starts with counts too: a drop in it keeps the top
          c->bytes[column] = total;
          c->moment[column] = c->latest;
        }
        total += resolved.delta[i];
        if (total > c->bytes[column]) {
          c->bytes[column] = total;
          c->moment[column] = static_cast<int64_t>(i);
        }
        c->latest = c->last[column] = static_cast<int64_t>(i);
        c->at_end[column] = total;
      }
    }
    for (Chart& c : charts) {  // columns without events show what the last one left
      if (!c.used) continue;
      int64_t moment = -1, bytes = 0;
      for (int col = 0; col < columns; ++col) {
        if (c.last[col] < 0) {
          c.moment[col] = moment;
          c.bytes[col] = bytes;
        } else {
          moment = c.last[col];
          bytes = c.at_end[col];
        }
      }
    }
  }

  // Pass 2: at each column's moment, the bytes of every group and the largest buffers live.
  std::vector<std::tuple<int64_t, size_t, int>> moments;  // (event, chart, column)
  for (size_t k = 0; k < charts.size(); ++k)
    if (charts[k].used) {
      charts[k].stack.resize(columns);
      for (int col = 0; col < columns; ++col)
        if (charts[k].moment[col] >= 0) moments.emplace_back(charts[k].moment[col], k, col);
    }
  std::sort(moments.begin(), moments.end());
  const int devices_summed = std::clamp(static_cast<int>(r.devices.size()), 1, 32);
  std::vector<int> best_rank(n, INT_MAX);  // an alloc's best place among the largest live at any moment
  {
    std::vector<std::array<std::map<int, int64_t>, kGroupings>> running(charts.size());
    using Live = std::set<std::pair<uint64_t, int64_t>, std::greater<>>;  // (size, alloc), largest first
    std::vector<Live> live(charts.size());
    size_t next = 0;
    for (size_t i = 0; i < n && next < moments.size(); ++i) {
      const Event& e = events[i];
      for (Chart* c : charts_of(e)) {
        const auto k = static_cast<size_t>(c - charts.data());
        for (int g = 0; g < kGroupings; ++g) {
          auto& bytes = running[k][g][resolved.group[i][g]];
          bytes += resolved.delta[i];
          if (bytes == 0) running[k][g].erase(resolved.group[i][g]);
        }
        if (e.kind == Event::kAlloc) live[k].emplace(e.size, i);
        if (const int64_t alloc = resolved.alloc_of[i]; alloc >= 0)
          live[k].erase({events[static_cast<size_t>(alloc)].size, alloc});
      }
      for (; next < moments.size() && std::get<0>(moments[next]) == static_cast<int64_t>(i); ++next) {
        const auto [moment, k, col] = moments[next];
        auto& stack = charts[k].stack[col];
        if (next > 0 && std::get<0>(moments[next - 1]) == moment && std::get<1>(moments[next - 1]) == k) {
          stack = charts[k].stack[std::get<2>(moments[next - 1])];  // a column carrying an earlier one's
          continue;
        }
        for (int g = 0; g < kGroupings; ++g) stack[g].assign(running[k][g].begin(), running[k][g].end());
        const bool sum = k < static_cast<size_t>(kTypes);
        const int keep = limits.per_moment * (sum ? devices_summed : 1);
        int rank = 0;
        for (auto it = live[k].begin(); it != live[k].end() && rank < keep; ++it, ++rank) {
          int& best = best_rank[static_cast<size_t>(it->second)];
          best = std::min(best, sum ? rank / devices_summed : rank);
        }
      }
    }
  }

  // Groups: per chart the largest by peak, the others summed as "other"; names in order of their largest
  // peak in any chart, so that a group keeps its place and colour from chart to chart.
  std::array<std::vector<int64_t>, kGroupings> group_peak;
  std::vector<std::array<std::vector<int>, kGroupings>> drawn(charts.size());
  for (size_t k = 0; k < charts.size(); ++k) {
    if (!charts[k].used) continue;
    for (int g = 0; g < kGroupings; ++g) {
      std::map<int, int64_t> peak;
      for (const auto& column : charts[k].stack)
        for (const auto& [group, bytes] : column[g]) peak[group] = std::max(peak[group], bytes);
      std::vector<std::pair<int64_t, int>> order;
      for (const auto& [group, bytes] : peak)
        if (bytes > 0) order.emplace_back(-bytes, group);
      std::sort(order.begin(), order.end());
      if (order.size() > static_cast<size_t>(limits.groups)) order.resize(limits.groups);
      for (const auto& [minus_bytes, group] : order) {
        drawn[k][g].push_back(group);
        auto& p = group_peak[g];
        if (p.size() <= static_cast<size_t>(group)) p.resize(group + 1, 0);
        p[group] = std::max(p[group], -minus_bytes);
      }
    }
  }
  std::array<std::vector<int>, kGroupings> position;  // interned id -> place in the page's list (-1: none)
  json groupings = json::object();
  for (int g = 0; g < kGroupings; ++g) {
    std::vector<std::pair<int64_t, int>> order;
    for (size_t id = 0; id < group_peak[g].size(); ++id)
      if (group_peak[g][id] > 0) order.emplace_back(-group_peak[g][id], static_cast<int>(id));
    std::sort(order.begin(), order.end());
    position[g].assign(names[g].names.size(), -1);
    json list = json::array();
    for (const auto& [minus_bytes, id] : order) {
      position[g][id] = static_cast<int>(list.size());
      list.push_back(names[g].names[id]);
    }
    list.push_back("other");
    groupings[kGroupingNames[g]] = list;
  }

  Pool pool;
  json views = json::array();
  for (int v = 0; v < view_count; ++v) {
    json types = json::object();
    for (int type = 0; type < kTypes; ++type) {
      const size_t k = static_cast<size_t>(v) * kTypes + type;
      const Chart& c = charts[k];
      if (!c.used) continue;
      json chart = {{"total", pool.add(c.bytes)},
                    {"moments", pool.add(c.moment)},
                    {"peak", *std::max_element(c.bytes.begin(), c.bytes.end())}};
      for (int g = 0; g < kGroupings; ++g) {
        std::vector<int> order = drawn[k][g];
        std::sort(order.begin(), order.end(), [&](int x, int y) { return position[g][x] < position[g][y]; });
        std::map<int, size_t> row_of;
        for (size_t row = 0; row < order.size(); ++row) row_of[order[row]] = row;
        std::vector<std::vector<int64_t>> rows(order.size() + 1, std::vector<int64_t>(columns, 0));
        for (int col = 0; col < columns; ++col)
          for (const auto& [group, bytes] : c.stack[col][g]) {
            const auto it = row_of.find(group);
            rows[it == row_of.end() ? order.size() : it->second][col] += bytes;
          }
        json series = json::array();
        for (size_t row = 0; row <= order.size(); ++row) {
          const bool other = row == order.size();
          if (other && std::all_of(rows[row].begin(), rows[row].end(), [](int64_t b) { return b == 0; }))
            continue;
          series.push_back(
              {other ? static_cast<int>(groupings[kGroupingNames[g]].size()) - 1 : position[g][order[row]],
               pool.add(rows[row])});
        }
        chart[kGroupingNames[g]] = series;
      }
      types[std::string(wire::kMemoryTypeNames[type])] = chart;
    }
    views.push_back({{"device", v == 0 ? json(nullptr) : json(device_of_view[v])}, {"types", types}});
  }

  // Buffers: those among the largest live at some column's moment, the best placed first, up to the limit.
  std::vector<std::pair<int, size_t>> candidates;
  size_t allocs = 0;
  for (size_t i = 0; i < n; ++i) {
    allocs += events[i].kind == Event::kAlloc;
    if (best_rank[i] != INT_MAX) candidates.emplace_back(best_rank[i], i);
  }
  std::sort(candidates.begin(), candidates.end());
  if (candidates.size() > limits.buffers) candidates.resize(limits.buffers);
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& x, const auto& y) { return x.second < y.second; });
  json contexts = json::array({json::array({"", "", "", ""})});
  std::map<int, size_t> context_index;
  json device = json::array(), type = json::array(), size = json::array(), address = json::array(),
       context = json::array(), pid = json::array(), from = json::array(), to = json::array(),
       at_ms = json::array();
  for (const auto& [rank, i] : candidates) {
    const Event& e = events[i];
    size_t ctx = 0;
    if (const int id = resolved.context[i]; id >= 0) {
      const auto [it, fresh] = context_index.try_emplace(id, contexts.size());
      if (fresh) {
        const auto known = a.contexts.find(id);
        const Context named = known == a.contexts.end() ? Context{} : known->second;
        contexts.push_back({named.scope, named.op, named.site, named.tensor});
      }
      ctx = it->second;
    }
    device.push_back(e.device);
    type.push_back(e.type);
    size.push_back(e.size);
    address.push_back(address_json(e.address));
    context.push_back(ctx);
    pid.push_back(e.pid);
    from.push_back(i);
    to.push_back(resolved.end_of[i]);
    at_ms.push_back(e.time_ms - t.t0);
  }

  json devices = json::array();
  for (const auto& [id, d] : r.devices)
    devices.push_back({{"id", id},
                       {"row", d.row},
                       {"col", d.col},
                       {"arch", d.architecture},
                       {"capacity", d.capacity},
                       {"polled", resolved.polled_devices.count(id) > 0}});
  json marks = json::array();
  const size_t mark_count = std::min(a.marks.size(), std::max<size_t>(limits.marks, 1));
  for (size_t k = 0; k < mark_count; ++k) {  // all of them, or as many evenly chosen, the last included
    const Mark& m = a.marks[mark_count == a.marks.size() || mark_count == 1
                                ? k
                                : k * (a.marks.size() - 1) / (mark_count - 1)];
    marks.push_back({{"name", m.name},
                     {"t_ms", std::clamp<int64_t>(m.time_ms - t.t0, 0, t.t_axis - t.t0)},
                     {"pid", m.pid}});
  }
  json processes = json::object();
  for (const auto& [client, p] : r.processes) processes[std::to_string(p.pid)] = p.name;
  json types = json::array();
  for (int type_code = 0; type_code < kTypes; ++type_code)
    types.push_back(std::string(wire::kMemoryTypeNames[type_code]));

  return {{"format", 1},
          {"recording", name},
          {"start_unix_ms", t.t0},
          {"end_ms", t.t_end - t.t0},
          {"span_ms", t.t_axis - t.t0},
          {"columns", columns},
          {"events", n},
          {"types", types},
          {"devices", devices},
          {"processes", processes},
          {"marks", marks},
          {"groupings", groupings},
          {"contexts", contexts},
          {"pool", pool.arrays},
          {"views", views},
          {"buffers",
           {{"device", device},
            {"type", type},
            {"size", size},
            {"address", address},
            {"context", context},
            {"pid", pid},
            {"from", from},
            {"to", to},
            {"at_ms", at_ms}}},
          {"limits",
           {{"groups", limits.groups},
            {"per_moment", limits.per_moment},
            {"buffers_kept", candidates.size()},
            {"buffers_recorded", allocs},
            {"marks_recorded", a.marks.size()}}}};
}

}  // namespace allocmon::report
