// Drawing the holders view and the labelled address maps, and their keys (docs/monitor.md, "Holders view").
#include "holders_tui.hpp"

#include <curses.h>

#include <algorithm>
#include <chrono>

#include "tui.hpp"

namespace allocmon::monitor {

namespace {

// tui_draw.cpp's colour pairs, and the labels' own from kLabelPairs on.
enum Colors { kGreen = 1, kYellow, kRed, kDim };
constexpr int kLabelPairs = 16;
constexpr short kLabelColors[] = {COLOR_CYAN,  COLOR_MAGENTA, COLOR_YELLOW,
                                  COLOR_GREEN, COLOR_BLUE,    COLOR_RED};
constexpr int kLabelColorCount = sizeof(kLabelColors) / sizeof(kLabelColors[0]);

// Text at (y, x), cut at `width` characters and at the screen's edge.
void put(int y, int x, const std::string& text, int width = -1) {
  int rows, cols;
  getmaxyx(stdscr, rows, cols);
  if (y < 0 || y >= rows || x < 0 || x >= cols) return;
  const int room = std::min(width < 0 ? cols - x : width, cols - x);
  if (room > 0) mvaddnstr(y, x, text.c_str(), room);
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// The memory types `t` steps through: all, then each type some device has or uses, in the server's order.
std::vector<std::string> type_choices(const TuiState& state) {
  std::vector<std::string> types = {""};
  if (!state.last) return types;
  for (const auto& d : state.last->devices)
    for (const auto& m : d.memory)
      if (shown(m) && std::find(types.begin(), types.end(), m.type) == types.end()) types.push_back(m.type);
  if (!state.last->devices.empty()) {  // in the server's order of types, whichever device has them
    const auto& order = state.last->devices.front().memory;
    std::stable_sort(types.begin() + 1, types.end(), [&](const std::string& a, const std::string& b) {
      auto at = [&](const std::string& t) {
        return std::find_if(order.begin(), order.end(), [&](const MemoryView& m) { return m.type == t; }) -
               order.begin();
      };
      return at(a) < at(b);
    });
  }
  return types;
}

// Left / Right: the previous or next device the monitor shows.
void step_device(TuiState& state, int step) {
  const auto ids = visible_devices(state, now_ms());
  if (ids.empty()) return;
  auto at = std::find(ids.begin(), ids.end(), state.selected);
  if (at == ids.end()) {
    state.selected = ids.front();
    return;
  }
  const auto index =
      (at - ids.begin() + step + static_cast<long>(ids.size())) % static_cast<long>(ids.size());
  state.selected = ids[static_cast<size_t>(index)];
}

HolderQuery query_of(const TuiState& state) {
  const HoldersViewState& h = state.holders;
  HolderQuery q;
  q.group = h.group;
  q.sort = h.sort;
  q.type = h.type;
  q.devices = h.one_device ? std::vector<int>{state.selected} : state.options.device_ids;
  return q;
}

}  // namespace

bool handle_holders_key(TuiState& state, int key) {
  HoldersViewState& h = state.holders;
  auto take_typed = [&] {  // digits typed before the key pick a device
    if (state.typed.empty()) return false;
    state.selected = std::stoi(state.typed);
    state.typed.clear();
    return true;
  };
  if (state.view != TuiView::kHolders) {
    if (key == 'w') {
      h.from_device = state.view == TuiView::kDevice;
      h.one_device = h.from_device || state.options.device_ids.size() == 1;
      if (take_typed()) h.one_device = true;
      if (state.selected < 0 && state.last && !state.last->devices.empty())
        state.selected = state.options.device_ids.empty() ? state.last->devices.front().id
                                                          : state.options.device_ids.front();
      h.scroll = 0;
      state.view = TuiView::kHolders;
      return true;
    }
    if (key == 'g' && state.view == TuiView::kDevice) {  // off, scope, op, site, off
      if (!h.map_labels)
        h.map_labels = HolderGroup::kScope;
      else if (*h.map_labels == HolderGroup::kSite)
        h.map_labels.reset();
      else
        h.map_labels = next_group(*h.map_labels);
      return true;
    }
    return false;
  }
  switch (key) {
    case 27:  // Esc
    case KEY_BACKSPACE:
    case 127:
      if (!state.typed.empty()) return false;  // undo a typed digit
      [[fallthrough]];
    case 'w':
      state.view = h.from_device ? TuiView::kDevice : TuiView::kMesh;
      return true;
    case 'g':
    case '\t':
      h.group = next_group(h.group);
      h.scroll = 0;
      return true;
    case 's':
      h.sort = next_holder_sort(h.sort);
      h.scroll = 0;
      return true;
    case 't': {
      const auto types = type_choices(state);
      auto at = std::find(types.begin(), types.end(), h.type);
      h.type = at == types.end() || at + 1 == types.end() ? types.front() : *(at + 1);
      h.scroll = 0;
      return true;
    }
    case 'a':
      h.one_device = !h.one_device;
      h.scroll = 0;
      return true;
    case KEY_LEFT:
    case KEY_RIGHT:
      if (h.one_device || state.typed.empty()) step_device(state, key == KEY_LEFT ? -1 : 1);
      h.one_device = true;
      h.scroll = 0;
      return true;
    case '\n':
    case '\r':
    case KEY_ENTER:
      if (take_typed()) h.one_device = true;
      h.scroll = 0;
      return true;
    case KEY_UP:
    case 'k':
      h.scroll = std::max(0, h.scroll - 1);
      return true;
    case KEY_DOWN:
    case 'j':
      ++h.scroll;  // drawing keeps it in range
      return true;
    case '[':
    case KEY_PPAGE:
      h.scroll = std::max(0, h.scroll - std::max(1, h.page - 1));
      return true;
    case ']':
    case KEY_NPAGE:
      h.scroll += std::max(1, h.page - 1);
      return true;
    case KEY_HOME:
      h.scroll = 0;
      return true;
    default:
      return false;
  }
}

int holders_report_device(const TuiState& state) {
  if (state.view == TuiView::kHolders) {
    if (state.holders.one_device) return state.selected;
    return state.options.device_ids.size() == 1 ? state.options.device_ids.front() : -1;
  }
  return state.selected;
}

void draw_holders_view(TuiState& state, const Snapshot& s, int top, int bottom, int cols) {
  HoldersViewState& h = state.holders;
  const HolderQuery query = query_of(state);
  int y = top;
  const bool ready = state.device_buffers && state.device_buffers->device_id == holders_report_device(state);
  HolderTable table =
      ready ? build_holders(*state.device_buffers, query) : HolderTable{query, {}, 0, 0, 0, {}};
  attron(A_BOLD);
  const std::string title = holders_title(table);
  if (static_cast<int>(title.size()) + 14 <= cols)
    put(y++, 0, title + "   (Esc: back)");
  else if (static_cast<int>(title.size()) <= cols)
    put(y++, 0, title);
  else
    put(y++, 0, title.substr(0, static_cast<size_t>(std::max(0, cols - 3))) + "...");
  attroff(A_BOLD);

  // What is chosen: the grouping, the memory type, the devices (the current one of each highlighted).
  std::vector<std::pair<std::string, bool>> parts;
  parts.emplace_back("by", false);
  for (int g = 0; g < static_cast<int>(HolderGroup::kCount); ++g)
    parts.emplace_back(group_name(static_cast<HolderGroup>(g)), static_cast<HolderGroup>(g) == h.group);
  parts.emplace_back(" type", false);
  for (const auto& t : type_choices(state)) parts.emplace_back(t.empty() ? "all" : t, t == h.type);
  parts.emplace_back(" on", false);
  parts.emplace_back(state.options.device_ids.size() == 1
                         ? "#" + std::to_string(state.options.device_ids[0])
                         : "all " + std::to_string(visible_devices(state, now_ms()).size()),
                     !h.one_device);
  parts.emplace_back("#" + std::to_string(state.selected), h.one_device);
  parts.emplace_back(" sort", false);
  parts.emplace_back(holder_sort_name(h.sort), true);
  int length = 0;
  for (const auto& [text, on] : parts) length += static_cast<int>(text.size()) + 1;
  if (length > cols)  // only the current choices
    parts.erase(
        std::remove_if(parts.begin(), parts.end(),
                       [](const auto& p) { return !p.second && p.first[0] != ' ' && p.first != "by"; }),
        parts.end());
  int x = 0;
  for (const auto& [text, on] : parts) {
    if (on) attron(A_REVERSE);
    put(y, x + 1, text);
    if (on) attroff(A_REVERSE);
    x += static_cast<int>(text.size()) + 1;
  }
  ++y;

  if (!ready) {
    put(y + 1, 2, "reading the live buffers from the server ...");
    return;
  }
  if (table.rows.empty()) {
    std::string why = "no live buffers here";
    for (int id : query.devices.empty() ? table.devices : query.devices)
      if (const DeviceView* d = s.device(id); d && d->source != "allocmon") {
        why = "device " + std::to_string(id) + " is read from " + d->source +
              ": totals only, no buffers to group (docs/sources.md)";
        break;
      }
    put(y + 1, 2, why, cols - 2);
    return;
  }
  const int bar = cols >= 120 ? 20 : 0;
  const HolderLines lines = holder_lines(table, cols, bar);
  attron(A_BOLD);
  put(y++, 0, lines.heading);
  attroff(A_BOLD);
  const bool has_unattributed = table.unattributed_bytes > 0;
  int room = bottom - y;
  const int count = static_cast<int>(lines.rows.size());
  const bool footnote = has_unattributed && count < room;
  if (footnote) --room;
  if (count > room) --room;  // a line of its own for "N more below, M above"
  h.page = std::max(1, room);
  h.scroll = std::clamp(h.scroll, 0, std::max(0, count - room));
  const int last = y + room;
  int i = h.scroll;
  for (; i < count && y < last; ++i, ++y) {
    const HolderRow& row = table.rows[static_cast<size_t>(i)];
    if (row.unattributed) attron(COLOR_PAIR(kDim));
    put(y, 0, lines.rows[static_cast<size_t>(i)]);
    if (row.unattributed) attroff(COLOR_PAIR(kDim));
    if (lines.bar > 0) {  // the share bar in colour
      const std::string& text = lines.rows[static_cast<size_t>(i)];
      const int from = lines.name_column - lines.bar - 1;
      const size_t filled = std::min<size_t>(
          static_cast<size_t>(lines.bar),
          text.find_first_not_of('|', static_cast<size_t>(from)) - static_cast<size_t>(from));
      attron(COLOR_PAIR(kGreen) | A_BOLD);
      put(y, from, std::string(filled, '|'));
      attroff(COLOR_PAIR(kGreen) | A_BOLD);
    }
  }
  if (i < count || h.scroll > 0) {
    attron(COLOR_PAIR(kDim));
    const std::string more =
        " " + std::to_string(count - i) + " more below, " + std::to_string(h.scroll) + " above (j k [ ]) ";
    put(bottom - 1, std::max(0, cols - static_cast<int>(more.size())), more);
    attroff(COLOR_PAIR(kDim));
  }
  if (footnote) {
    attron(COLOR_PAIR(kDim));
    const std::string what =
        h.group == HolderGroup::kTensor ? "(unattributed)" : "(no " + std::string(group_name(h.group)) + ")";
    const std::string how = h.group == HolderGroup::kScope    ? "allocmon.scope"
                            : h.group == HolderGroup::kTensor ? "allocmon.scope or op"
                                                              : "allocmon.op";
    std::string note = what + ": allocated outside any " + how + " (docs/attribution.md)";
    if (static_cast<int>(note.size()) > cols) note = what + ": allocated outside any " + how;
    put(y + 1 < bottom ? y + 1 : y, 0, note, cols);
    attroff(COLOR_PAIR(kDim));
  }
}

std::string fit_key_line(const std::vector<std::pair<std::string, int>>& parts, int width) {
  std::vector<std::pair<std::string, int>> kept = parts;
  auto text = [&] {
    std::string line;
    for (const auto& [part, drop] : kept)
      if (!part.empty()) line += " " + part;
    return line;
  };
  for (int drop = 1; static_cast<int>(text().size()) > width; ++drop) {
    const auto before = kept.size();
    kept.erase(std::remove_if(kept.begin(), kept.end(), [&](const auto& p) { return p.second == drop; }),
               kept.end());
    if (kept.size() == before &&
        std::none_of(kept.begin(), kept.end(), [&](const auto& p) { return p.second > drop; }))
      break;  // nothing left to leave out: the screen cuts it
  }
  return text();
}

std::string holders_key_line(const TuiState& state, int width) {
  const HoldersViewState& h = state.holders;
  return fit_key_line(
      {{state.typed.empty() ? "?:help" : "go to #" + state.typed + "_", 3},
       {std::string("g:by ") + group_name(h.group), 0},
       {"t:type " + (h.type.empty() ? std::string("all") : h.type), 0},
       {std::string("s:sort ") + holder_sort_name(h.sort), 0},
       {h.one_device ? std::string("a:all") : "a:#" + std::to_string(state.selected) + " only", 0},
       {"<>:device", 2},
       {"jk:scroll", 1},
       {"Esc:back", 4},
       {"q:quit", 0}},
      width);
}

int draw_labeled_map(const TuiState& state, const MemoryView& m, int y, int cols) {
  if (!m.region || !state.holders.map_labels) return y;
  std::vector<LabeledBuffer> buffers;
  if (state.device_buffers) {
    const LeakReport& report = *state.device_buffers;
    for (size_t p = 0; p < report.processes.size(); ++p)
      for (size_t b = 0; b < report.processes[p].buffers.size(); ++b) {
        const auto& buffer = report.processes[p].buffers[b];
        if (buffer.device_id != state.selected || wire::memory_type_name(buffer.memory_type) != m.type)
          continue;
        buffers.push_back({{buffer.address, buffer.size, buffer.page_size, buffer.shard_count},
                           buffer_label(report, p, b, *state.holders.map_labels)});
      }
  }
  const LabeledStrip labeled = label_strip(*m.region, buffers, cols - 6);
  if (has_colors())
    for (int i = 0; i < kLabelColorCount; ++i)
      init_pair(static_cast<short>(kLabelPairs + i), kLabelColors[i], -1);
  put(y, 2, "[");
  for (size_t c = 0; c < labeled.strip.size(); ++c) {
    const char ch = labeled.strip[c];
    const int color = ch >= 'A' && ch <= 'Z' ? kLabelPairs + (ch - 'A') % kLabelColorCount
                      : ch == '#'            ? kRed
                      : ch == '='            ? kGreen
                                             : kDim;
    const attr_t bold = ch >= 'A' && ch <= 'Z' ? A_BOLD : A_NORMAL;
    attron(COLOR_PAIR(color) | bold);
    put(y, 3 + static_cast<int>(c), std::string(1, ch));
    attroff(COLOR_PAIR(color) | bold);
  }
  put(y++, 3 + static_cast<int>(labeled.strip.size()), "]");
  // The legend: "by op: A ttnn.from_torch  B ttnn.matmul  ...", as many as fit, the rest counted.
  std::string heading = std::string("by ") + group_name(*state.holders.map_labels) + ":";
  put(y, 2, heading);
  int x = 3 + static_cast<int>(heading.size());
  for (size_t i = 0; i < labeled.legend.size(); ++i) {
    const auto& [letter, name] = labeled.legend[i];
    const std::string label = elide_left(name, 28);
    const std::string rest = "+" + std::to_string(labeled.legend.size() - i) + " more";
    const bool last = i + 1 == labeled.legend.size();
    if (x + 2 + static_cast<int>(label.size()) + (last ? 0 : static_cast<int>(rest.size()) + 2) > cols) {
      put(y, x, rest);
      break;
    }
    attron(COLOR_PAIR(kLabelPairs + (letter - 'A') % kLabelColorCount) | A_BOLD);
    put(y, x, std::string(1, letter));
    attroff(COLOR_PAIR(kLabelPairs + (letter - 'A') % kLabelColorCount) | A_BOLD);
    put(y, x + 2, label);
    x += 4 + static_cast<int>(label.size());
  }
  if (labeled.legend.empty())
    put(y, x, buffers.empty() ? "no buffers listed" : "(none large enough to show)");
  return y + 1;
}

std::string buffer_origin(const TuiState& state, const wire::LeakBuffer* buffer, int room) {
  if (!state.device_buffers || room < 8) return {};
  const LeakReport& report = *state.device_buffers;
  for (size_t p = 0; p < report.processes.size(); ++p) {
    const auto& buffers = report.processes[p].buffers;
    if (buffers.empty() || buffer < buffers.data() || buffer >= buffers.data() + buffers.size()) continue;
    const LeakReport::Context& c = buffer_context(report, p, static_cast<size_t>(buffer - buffers.data()));
    std::string what = c.op;
    if (!c.site.empty()) what += (what.empty() ? "" : " ") + c.site;
    const int left = room - 2;  // two spaces before it
    const int for_scope = left - static_cast<int>(what.size()) - (what.empty() ? 3 : 4);  // "in ", " in "
    // The most that fits: all of it, the scope cut on the left, the op and site, the op, the site.
    std::vector<std::string> choices;
    if (!c.scope.empty() && for_scope >= 12)
      choices.push_back(what + (what.empty() ? "in " : " in ") + elide_left(c.scope, for_scope));
    choices.insert(choices.end(), {what, c.op, c.site});
    for (const auto& choice : choices)
      if (!choice.empty() && static_cast<int>(choice.size()) <= left) return "  " + choice;
    return {};
  }
  return {};
}

}  // namespace allocmon::monitor
