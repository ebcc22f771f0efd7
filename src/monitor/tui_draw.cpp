// Drawing the full-screen monitor: title line, the mesh of device cells (or one device), the process table
// and the key line; the help overlay on top. Everything is clipped to the screen: nothing is cut silently —
// what does not fit is counted ("+N more").
#include <curses.h>

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

#include "tui.hpp"

namespace allocmon::monitor {

namespace {

enum Colors { kGreen = 1, kYellow, kRed, kDim, kTitle, kBanner };

int rows_, cols_;

// Text at (y, x), cut at the screen's edge and at `width` characters.
void put(int y, int x, const std::string& text, int width = -1) {
  if (y < 0 || y >= rows_ || x >= cols_) return;
  const int room = std::min(width < 0 ? cols_ - x : width, cols_ - x);
  if (room > 0) mvaddnstr(y, x, text.c_str(), room);
}

// `text` in lines of at most `width` characters, broken at spaces where possible; at most `max_lines` (the
// last one ends in "..." when more was left).
std::vector<std::string> wrap(const std::string& text, int width, int max_lines) {
  std::vector<std::string> lines;
  if (width < 8) return lines;
  size_t at = 0;
  const size_t w = static_cast<size_t>(width);
  while (at < text.size() && static_cast<int>(lines.size()) < max_lines) {
    size_t end = std::min(text.size(), at + w);
    if (end < text.size()) {
      const size_t space = text.rfind(' ', end);
      if (space != std::string::npos && space > at + w / 2) end = space;
    }
    lines.push_back(text.substr(at, end - at));
    at = end;
    while (at < text.size() && text[at] == ' ') ++at;
  }
  if (at < text.size() && !lines.empty()) {
    std::string& last = lines.back();
    last = last.substr(0, std::min(last.size(), w - 3)) + "...";
  }
  return lines;
}

// Text at (y, x) in `width` columns; longer text ends in "..." instead of being cut silently.
void put_ellipsized(int y, int x, const std::string& text, int width) {
  if (width <= 3 || static_cast<int>(text.size()) <= width)
    put(y, x, text, width);
  else
    put(y, x, text.substr(0, static_cast<size_t>(width - 3)) + "...", width);
}

std::string printf_string(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string printf_string(const char* format, ...) {
  char text[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  return text;
}

std::string percent(double fraction) {
  if (fraction <= 0) return "0%";
  if (fraction < 0.1) return printf_string("%.1f%%", fraction * 100);
  return printf_string("%.0f%%", fraction * 100);
}

// "||||    " bars coloured by fill; at least one mark for anything above zero.
void bar(int y, int x, int width, double fraction) {
  if (width <= 0) return;
  const double clamped = fraction >= 0 && fraction <= 1 ? fraction : (fraction > 1 ? 1 : 0);
  int filled = static_cast<int>(clamped * width + 0.5);
  if (filled == 0 && fraction > 0) filled = 1;
  const int color = kGreen + fill_level(fraction);
  attron(COLOR_PAIR(color) | A_BOLD);
  for (int i = 0; i < filled; ++i) put(y, x + i, "|");
  attroff(COLOR_PAIR(color) | A_BOLD);
  for (int i = filled; i < width; ++i) put(y, x + i, ".");
}

double fill(const MemoryView* m) {
  return m && m->capacity ? static_cast<double>(m->allocated) / static_cast<double>(m->capacity) : 0;
}

// "17.8M", "662K", "12.0G": bytes in at most 6 characters, for cells.
std::string short_bytes(uint64_t bytes) {
  const char* units = "BKMGTP";
  double value = static_cast<double>(bytes);
  int u = 0;
  while (value >= 1024 && u < 5) value /= 1024, ++u;
  return u == 0 ? std::to_string(bytes) + "B"
                : printf_string(value < 10 ? "%.1f%c" : "%.0f%c", value, units[u]);
}

// "D 18M  L 662K  CB 12K" in at most `width` characters: whole parts only, never one cut in the middle
// (tighter spacing first, then the last parts left out).
std::string bytes_line(const DeviceView& d, int width) {
  std::vector<std::string> parts;
  const MemoryView* dram = d.type("DRAM");
  parts.push_back("D " + short_bytes(dram ? dram->allocated : 0));
  for (const char* type : {"L1", "CB"}) {
    const MemoryView* m = d.type(type);
    if (m && m->allocated)
      parts.push_back(std::string(type[0] == 'L' ? "L" : type) + " " + short_bytes(m->allocated));
  }
  uint64_t stale = 0;  // polled sources: left by processes that are gone
  for (const auto& m : d.memory) stale += m.stale;
  if (stale) parts.push_back("stale " + short_bytes(stale));
  for (size_t n = parts.size(); n > 0; --n)
    for (const char* gap : {"  ", " "}) {
      std::string text = parts[0];
      for (size_t i = 1; i < n; ++i) text += gap + parts[i];
      if (static_cast<int>(text.size()) <= width) return text;
    }
  return parts[0];
}

// A small chart of one type's fill over the history, `height` lines, newest at the right; the top is the
// capacity, or the peak where a device went over it (nothing is clipped).
void draw_spark(int y, int x, int width, int height, const Ring<MemorySample>& ring, bool l1,
                uint64_t capacity) {
  if (width <= 0 || height <= 0) return;
  uint64_t top = capacity;
  for (size_t i = 0; i < ring.size(); ++i) top = std::max(top, l1 ? ring[i].l1 : ring[i].dram);
  if (!top) return;
  const size_t n = std::min<size_t>(ring.size(), static_cast<size_t>(width));
  for (size_t i = 0; i < n; ++i) {
    const MemorySample& m = ring[ring.size() - n + i];
    const uint64_t value = l1 ? m.l1 : m.dram;
    const double f = static_cast<double>(value) / static_cast<double>(top);
    int filled = static_cast<int>(f * height * 2 + 0.5);  // half lines: '.' and '|'
    if (filled == 0 && value > 0) filled = 1;
    const int color =
        kGreen + fill_level(capacity ? static_cast<double>(value) / static_cast<double>(capacity) : 0);
    attron(COLOR_PAIR(color));
    for (int row = 0; row < height; ++row) {
      const int level = filled - (height - 1 - row) * 2;
      if (level > 0) put(y + row, x + static_cast<int>(width - n + i), level >= 2 ? "|" : ".");
    }
    attroff(COLOR_PAIR(color));
  }
}

// One device's cell in the mesh view: its id always, its position where there is room, the DRAM and L1 fill,
// the bytes on 4 lines, the history below that on taller cells.
void draw_cell(int y, int x, CellSize size, const DeviceView& d, bool selected, bool fullest,
               const Ring<MemorySample>* history) {
  const bool dim = !d.active;
  if (dim) attron(A_DIM);
  const MemoryView* dram = d.type("DRAM");
  const MemoryView* l1 = d.type("L1");
  const int inner = size.width - 1;  // one column of space between cells
  std::string label = "#" + std::to_string(d.id);
  std::string suffix = fullest ? " !" : "";
  if (!d.active && size.width >= 16) suffix += " closed";
  if (d.mesh_row >= 0 && size.height >= 3) {
    const std::string wide = printf_string(" (%d,%d)", d.mesh_row, d.mesh_col);
    const std::string narrow = printf_string(" %d,%d", d.mesh_row, d.mesh_col);
    const int used = static_cast<int>(label.size() + suffix.size());
    if (used + static_cast<int>(wide.size()) <= inner)
      label += wide;
    else if (used + static_cast<int>(narrow.size()) <= inner)
      label += narrow;
  }
  label += suffix;
  if (selected) attron(A_REVERSE);
  if (!dim) attron(A_BOLD);
  put(y, x, label, inner);
  if (!dim) attroff(A_BOLD);
  if (selected) attroff(A_REVERSE);
  if (size.height >= 3) {
    // "D ||||....  12%"
    for (int line = 0; line < 2; ++line) {
      const MemoryView* m = line == 0 ? dram : l1;
      const double f = fill(m);
      const std::string pct = m && m->capacity    ? percent(f)
                              : m && m->allocated ? short_bytes(m->allocated)
                                                  : "-";
      const int bar_width = inner - 2 - 5;
      put(y + 1 + line, x, line == 0 ? "D" : "L");
      if (bar_width >= 2 && m && m->capacity) bar(y + 1 + line, x + 2, bar_width, f);
      put(y + 1 + line, x + inner - static_cast<int>(pct.size()), pct);
    }
    if (size.height >= 4) put(y + 3, x, bytes_line(d, inner), inner);
    const int chart = size.height - 4;
    if (history && chart >= 1) {
      const int each = chart >= 4 ? chart / 2 : chart;
      put(y + 4, x, "D", 1);
      draw_spark(y + 4, x + 2, inner - 2, each, *history, false, dram ? dram->capacity : 0);
      if (chart >= 4) {
        put(y + 4 + each, x, "L", 1);
        draw_spark(y + 4 + each, x + 2, inner - 2, chart - each, *history, true, l1 ? l1->capacity : 0);
      }
    }
  } else {
    // Two lines: "#4 D 12%" / "   L  5%"; the id is never overwritten: what does not fit after it goes below.
    const std::string d_text = "D" + percent(fill(dram)), l_text = "L" + percent(fill(l1));
    const int column = static_cast<int>(label.size()) + 1;
    if (column + static_cast<int>(d_text.size()) <= inner) {
      put(y, x + column, d_text);
      put(y + 1, x + column, l_text, inner - column);
    } else {
      const std::string both = d_text + " " + l_text;
      put(y + 1, x, static_cast<int>(both.size()) <= inner ? both : d_text, inner);
    }
  }
  if (dim) attroff(A_DIM);
}

// The process table from line `y` to `bottom` (exclusive). Returns the rows it could not show.
int draw_processes(TuiState& state, const Snapshot& s, int y, int bottom, const std::vector<int>& devices) {
  if (bottom - y < 2) return 0;
  const auto rows = process_rows(s, devices, state.sort);
  const bool wide = cols_ >= 110;  // CB and the buffer count get their own columns on wide screens
  // The sorted column carries a '*' (total, which has no column, is named after the headings).
  auto h = [&](SortKey key, const char* name) {
    return state.sort == key ? std::string("*") + name : std::string(name);
  };
  std::string heading =
      wide ? printf_string("%7s %-8s %10s %10s %9s %7s %-7s %s", h(SortKey::kPid, "PID").c_str(), "USER",
                           h(SortKey::kDram, "DRAM").c_str(), h(SortKey::kL1, "L1").c_str(), "CB",
                           h(SortKey::kBuffers, "BUFFERS").c_str(), "DEVICES",
                           h(SortKey::kName, "COMMAND").c_str())
           : printf_string("%7s %-8s %10s %10s %-5s %s", h(SortKey::kPid, "PID").c_str(), "USER",
                           h(SortKey::kDram, "DRAM").c_str(), h(SortKey::kL1, "L1").c_str(), "DEV",
                           h(SortKey::kName, "COMMAND").c_str());
  const std::string note = printf_string("   (sorted by %s%s)", sort_name(state.sort),
                                         state.sort == SortKey::kTotal ? " bytes" : "");
  if (static_cast<int>(heading.size() + note.size()) <= cols_) heading += note;
  attron(A_BOLD);
  put(y, 0, heading);
  attroff(A_BOLD);
  state.process_scroll = std::clamp(state.process_scroll, 0, std::max(0, static_cast<int>(rows.size()) - 1));
  int line = y + 1;
  size_t i = static_cast<size_t>(state.process_scroll);
  for (; i < rows.size() && line < bottom; ++i, ++line) {
    const ProcessRow& r = rows[i];
    std::string text =
        wide ? printf_string("%7d %-8.8s %10s %10s %9s %7" PRIu64 " %-7.7s ", r.pid, r.user.c_str(),
                             format_bytes(r.dram).c_str(), format_bytes(r.l1).c_str(),
                             format_bytes(r.cb).c_str(), r.buffers, r.devices.c_str())
             : printf_string("%7d %-8.8s %10s %10s %-5.5s ", r.pid, r.user.c_str(),
                             format_bytes(r.dram).c_str(), format_bytes(r.l1).c_str(), r.devices.c_str());
    if (r.holds_only)
      text = printf_string("%7d %-8.8s %-*s ", r.pid, r.user.c_str(), wide ? 47 : 27, r.devices.c_str());
    put_ellipsized(line, 0, text + r.command, cols_);
  }
  const int more = static_cast<int>(rows.size() - i);
  if (more > 0 || state.process_scroll > 0) {
    attron(COLOR_PAIR(kDim));
    put(bottom - 1, std::max(0, cols_ - 40),
        printf_string(" %d more below, %d above ([ ]) ", std::max(0, more), state.process_scroll));
    attroff(COLOR_PAIR(kDim));
  }
  return more;
}

void draw_mesh_view(TuiState& state, const Snapshot& s, int top, int64_t now_ms) {
  const auto ids = visible_devices(state, now_ms);
  std::vector<Placeable> placeable;
  int fullest_id = -1;
  double fullest = 0;
  for (int id : ids) {
    const DeviceView* d = s.device(id);
    placeable.push_back({id, d ? d->mesh_row : -1, d ? d->mesh_col : -1});
    if (d && d->active && d->fullest_fraction() > fullest) fullest = d->fullest_fraction(), fullest_id = id;
  }
  // The marker names one device; a mesh in lock-step, all equally full, gets none (the note says so).
  int equally_full = 0;
  for (int id : ids) {
    const DeviceView* d = s.device(id);
    if (d && d->active && fullest > 0 && d->fullest_fraction() >= fullest - 1e-12) ++equally_full;
  }
  // The process table keeps at least 4 lines (header and 3 processes) when there are processes.
  const int reserve = s.processes.empty() ? 1 : 5;
  const int room = std::max(2, rows_ - top - 1 - reserve);
  state.layout = layout_mesh(placeable, cols_, room);
  if (state.selected < 0 && !state.layout.cells.empty())  // the top-left cell
    state.selected = std::min_element(state.layout.cells.begin(), state.layout.cells.end(),
                                      [](const PlacedCell& a, const PlacedCell& b) {
                                        return a.y != b.y ? a.y < b.y : a.x < b.x;
                                      })
                         ->id;
  for (const auto& cell : state.layout.cells) {
    const DeviceView* d = s.device(cell.id);
    if (!d) {
      attron(COLOR_PAIR(kDim));
      put(top + cell.y, cell.x, "#" + std::to_string(cell.id) + " absent", state.layout.cell.width - 1);
      attroff(COLOR_PAIR(kDim));
      continue;
    }
    const auto history = state.history.find(cell.id);
    draw_cell(top + cell.y, cell.x, state.layout.cell, *d, cell.id == state.selected,
              equally_full == 1 && cell.id == fullest_id,
              history == state.history.end() ? nullptr : &history->second);
  }
  int y = top + state.layout.height;
  if (state.layout.hidden > 0) {
    attron(COLOR_PAIR(kYellow) | A_BOLD);
    put(y++, 0,
        printf_string("+%d more devices (a larger window shows them; -d N picks devices)",
                      state.layout.hidden));
    attroff(COLOR_PAIR(kYellow) | A_BOLD);
  }
  if (fullest_id >= 0 && y < rows_ - 2) {
    attron(COLOR_PAIR(kDim));
    put(y++, 0,
        equally_full == 1
            ? printf_string("! = closest to running out: #%d at %s", fullest_id, percent(fullest).c_str())
            : printf_string("fullest: %d devices equally, at %s", equally_full, percent(fullest).c_str()));
    attroff(COLOR_PAIR(kDim));
  }
  draw_processes(state, s, y, rows_ - 1, state.options.device_ids);
}

// A small chart of one series over the history, `height` lines, newest at the right.
void draw_history(int y, int x, int width, int height, const Ring<MemorySample>& ring, bool l1,
                  uint64_t capacity, const char* label) {
  uint64_t top = capacity;
  uint64_t peak = 0;
  for (size_t i = 0; i < ring.size(); ++i) peak = std::max(peak, l1 ? ring[i].l1 : ring[i].dram);
  if (!top || peak * 4 < top) top = std::max<uint64_t>(peak + peak / 4, 1);  // zoom in on small use
  top = std::max(top, peak);  // over capacity: the chart grows, nothing is clipped
  put(y, x,
      printf_string(
          "%s over the last %zu samples (top of chart %s%s)", label, ring.size(), format_bytes(top).c_str(),
          top == capacity ? ", the capacity" : (capacity && top > capacity ? ", over capacity" : "")));
  const int plot = width - 1;
  const size_t n = std::min<size_t>(ring.size(), static_cast<size_t>(plot));
  for (size_t i = 0; i < n; ++i) {
    const MemorySample& m = ring[ring.size() - n + i];
    const double value = static_cast<double>(l1 ? m.l1 : m.dram) / static_cast<double>(top);
    const int filled = static_cast<int>(value * height * 2 + 0.5);  // half lines: ':' and '|'
    for (int row = 0; row < height; ++row) {
      const int level = filled - (height - 1 - row) * 2;
      if (level <= 0) continue;
      attron(COLOR_PAIR(
          kGreen +
          fill_level(capacity ? value * static_cast<double>(top) / static_cast<double>(capacity) : 0)));
      put(y + 1 + row, x + static_cast<int>(plot - n + i), level >= 2 ? "|" : ".");
      attroff(COLOR_PAIR(
          kGreen +
          fill_level(capacity ? value * static_cast<double>(top) / static_cast<double>(capacity) : 0)));
    }
  }
}

void draw_device_view(TuiState& state, const Snapshot& s, int top) {
  const DeviceView* d = s.device(state.selected);
  int y = top;
  if (!d) {
    put(y, 0, printf_string("Device %d is not known to the server (Esc: back to the mesh)", state.selected));
    return;
  }
  attron(A_BOLD);
  std::string head = printf_string("Device %d", d->id);
  attroff(A_BOLD);
  if (!d->architecture.empty()) head += "  " + d->architecture;
  if (d->mesh_row >= 0) head += printf_string("  mesh (%d,%d)", d->mesh_row, d->mesh_col);
  head += d->active ? "  active" : "  closed";
  head += "  source " + d->source;
  if (d->asic_id) head += printf_string("  asic %" PRIu64, *d->asic_id);
  if (d->logical_id) head += printf_string("  logical %d", *d->logical_id);
  head += "   (Esc: back)";
  attron(A_BOLD);
  put(y++, 0, head);
  attroff(A_BOLD);
  const bool polled = d->source != "allocmon";
  put(y++, 0,
      printf_string("  %-9s %11s %11s %6s %11s %8s %13s%s", "TYPE", "USED", "CAPACITY", "FILL", "PEAK",
                    "BUFFERS", "LARGEST FREE", polled ? "  UNATTRIBUTED      STALE" : ""));
  for (const auto& m : d->memory) {
    if (!shown(m) || y >= rows_ - 2) continue;
    std::string line =
        printf_string("  %-9s %11s %11s %6s %11s %8" PRIu64 " %13s", m.type.c_str(),
                      format_bytes(m.allocated).c_str(), m.capacity ? format_bytes(m.capacity).c_str() : "-",
                      m.capacity ? percent(fill(&m)).c_str() : "-", format_bytes(m.peak).c_str(), m.buffers,
                      m.largest_free_block ? format_bytes(*m.largest_free_block).c_str() : "-");
    if (polled)
      line +=
          printf_string("  %12s %10s", format_bytes(m.unattributed).c_str(), format_bytes(m.stale).c_str());
    put(y++, 0, line);
  }
  // What follows shares the lines left: the largest buffers first (up to 8), then an address map per type,
  // then the history if there is still room, then the processes of this device.
  std::vector<const wire::LeakBuffer*> largest;
  if (state.device_buffers)
    for (const auto& p : state.device_buffers->processes)
      for (const auto& b : p.buffers) largest.push_back(&b);
  std::vector<const MemoryView*> mapped_types;
  for (const auto& m : d->memory)
    if (m.region && (m.allocated || m.peak)) mapped_types.push_back(&m);
  const int bottom = rows_ - 1;
  const int buffer_lines = 2 + std::min<int>(8, static_cast<int>(largest.size()));
  const int map_lines = (state.holders.map_labels ? 3 : 2) * static_cast<int>(mapped_types.size());
  const bool roomy = bottom - y >= buffer_lines + map_lines + static_cast<int>(mapped_types.size()) + 4;
  // History: DRAM and L1 over the last minutes.
  auto it = state.history.find(d->id);
  const MemoryView* dram = d->type("DRAM");
  const MemoryView* l1 = d->type("L1");
  const int chart_height = rows_ >= 40 ? 4 : 2;
  if (it != state.history.end() &&
      y + 1 + 2 * (chart_height + 1) + buffer_lines + map_lines + (roomy ? 4 : 0) <= bottom) {
    ++y;
    draw_history(y, 2, cols_ - 3, chart_height, it->second, false, dram ? dram->capacity : 0, "DRAM");
    y += chart_height + 1;
    draw_history(y, 2, cols_ - 3, chart_height, it->second, true, l1 ? l1->capacity : 0, "L1");
    y += chart_height + 1;
  }
  // Address maps: the region of each type in one bank, as the allocator holds it.
  for (const MemoryView* mp : mapped_types) {
    const MemoryView& m = *mp;
    if (y + 2 + buffer_lines > bottom && y + 2 > bottom) break;
    std::vector<MappedBuffer> mapped;
    for (const auto* b : largest)
      if (wire::memory_type_name(b->memory_type) == m.type)
        mapped.push_back({b->address, b->size, b->page_size, b->shard_count});
    const AddressMap map = build_address_map(*m.region, mapped);
    if (roomy) ++y;
    // The most detailed heading that fits: sizes as the table above writes them, the exact bytes where there
    // is room, and whether the map agrees with the allocator's own figure.
    const bool agrees = m.largest_free_block && *m.largest_free_block == map.largest_free;
    const std::string allocator = agrees ? ", as the allocator's"
                                  : m.largest_free_block
                                      ? printf_string(", allocator %" PRIu64 " B", *m.largest_free_block)
                                      : std::string(", allocator -");
    const std::vector<std::string> headings = {
        printf_string("%s map: largest free %s (%" PRIu64 " B)%s; %u banks of %s from %#" PRIx64,
                      m.type.c_str(), format_bytes(map.largest_free).c_str(), map.largest_free,
                      allocator.c_str(), m.region->banks, format_bytes(m.region->bank_size).c_str(),
                      m.region->base),
        printf_string("%s map: largest free %s%s; %u banks of %s", m.type.c_str(),
                      format_bytes(map.largest_free).c_str(), allocator.c_str(), m.region->banks,
                      format_bytes(m.region->bank_size).c_str()),
        printf_string("%s map: largest free %s; %u banks of %s", m.type.c_str(),
                      format_bytes(map.largest_free).c_str(), m.region->banks,
                      format_bytes(m.region->bank_size).c_str())};
    std::string heading = headings.back();
    for (const auto& candidate : headings)
      if (static_cast<int>(candidate.size()) <= cols_ - 2) {
        heading = candidate;
        break;
      }
    put_ellipsized(y++, 2, heading, cols_ - 2);
    if (state.holders.map_labels) {  // 'g': letters by scope, op or site, and a legend (holders_tui.cpp)
      y = draw_labeled_map(state, m, y, cols_);
      continue;
    }
    const std::string strip = render_strip(map, cols_ - 6);
    put(y, 2, "[");
    for (size_t c = 0; c < strip.size(); ++c) {
      const int color = strip[c] == '#' ? kRed : strip[c] == '=' ? kGreen : kDim;
      attron(COLOR_PAIR(color));
      put(y, 3 + static_cast<int>(c), std::string(1, strip[c]));
      attroff(COLOR_PAIR(color));
    }
    put(y++, 3 + static_cast<int>(strip.size()), "]");
  }
  if (y + 2 < bottom) {
    std::sort(largest.begin(), largest.end(),
              [](const wire::LeakBuffer* a, const wire::LeakBuffer* b) { return a->size > b->size; });
    if (roomy) ++y;
    std::map<const wire::LeakBuffer*, const LeakReport::Process*> owner;
    if (state.device_buffers)
      for (const auto& p : state.device_buffers->processes)
        for (const auto& b : p.buffers) owner[&b] = &p;
    const size_t listed = std::min<size_t>({largest.size(), 8, static_cast<size_t>(bottom - y - 1)});
    attron(A_BOLD);
    put(y++, 2, printf_string("Largest live buffers (%zu of %zu on this device)", listed, largest.size()));
    attroff(A_BOLD);
    for (size_t i = 0; i < listed; ++i) {
      const auto* b = largest[i];
      const std::string line =
          printf_string("%11s  %-8s at %#10" PRIx64 "  age %5.1f s  pid %d %s", format_bytes(b->size).c_str(),
                        std::string(wire::memory_type_name(b->memory_type)).c_str(), b->address,
                        static_cast<double>(b->age_ms) / 1000.0, owner[b]->pid, owner[b]->name.c_str());
      put_ellipsized(y++, 2, line + buffer_origin(state, b, cols_ - 2 - static_cast<int>(line.size())),
                     cols_ - 2);
    }
  }
  draw_processes(state, s, y + 1, bottom, {d->id});
}

void draw_help() {
  const std::vector<std::string> lines = {
      "allocmon monitor - keys",
      "",
      "  arrows, h j k l   select a device in the mesh (h: help outside the mesh)",
      "  0-9 then Enter    select a device by its id",
      "  Enter             open the selected device (memory types, history,",
      "                    address maps, largest buffers)",
      "  Esc, Backspace    back to the mesh",
      "  Tab               switch between the mesh and the device view",
      "  w                 what holds the memory: by scope, op, site or tensor;",
      "                    there g/Tab group, t type, s sort, a one device/all",
      "  g                 device view: label the address maps by scope/op/site",
      "  s                 sort processes: total, DRAM, L1, buffers, pid, command",
      "  [  ]  PgUp PgDn   scroll the process table",
      "  p                 pause / resume refreshing",
      "  +  -              refresh faster / slower (50 ms to 10 s)",
      "  i                 show / hide closed devices (hidden after a minute)",
      "  ? or F1           this help (any key closes it)",
      "  q                 quit",
  };
  int width = 0;
  for (const auto& l : lines) width = std::max(width, static_cast<int>(l.size()));
  width += 4;
  const int height = static_cast<int>(lines.size()) + 2;
  const int y0 = std::max(0, (rows_ - height) / 2), x0 = std::max(0, (cols_ - width) / 2);
  attron(A_REVERSE);
  for (int r = 0; r < height; ++r)
    put(y0 + r, x0, std::string(static_cast<size_t>(std::min(width, cols_)), ' '));
  for (size_t i = 0; i < lines.size(); ++i) put(y0 + 1 + static_cast<int>(i), x0 + 2, lines[i], width - 3);
  // A border, so the overlay reads as one box over the view behind it.
  const int w = std::min(width, cols_ - x0), hh = std::min(height, rows_ - y0);
  if (w >= 2 && hh >= 2) {
    mvaddch(y0, x0, ACS_ULCORNER);
    mvhline(y0, x0 + 1, ACS_HLINE, w - 2);
    mvaddch(y0, x0 + w - 1, ACS_URCORNER);
    mvvline(y0 + 1, x0, ACS_VLINE, hh - 2);
    mvvline(y0 + 1, x0 + w - 1, ACS_VLINE, hh - 2);
    mvaddch(y0 + hh - 1, x0, ACS_LLCORNER);
    mvhline(y0 + hh - 1, x0 + 1, ACS_HLINE, w - 2);
    mvaddch(y0 + hh - 1, x0 + w - 1, ACS_LRCORNER);
  }
  attroff(A_REVERSE);
}

}  // namespace

std::vector<int> visible_devices(const TuiState& state, int64_t now_ms, int* hidden_closed) {
  std::vector<int> ids;
  if (hidden_closed) *hidden_closed = 0;
  const Snapshot* s = state.last ? &*state.last : nullptr;
  for (int id : devices_to_show(s, state.options)) {
    const DeviceView* d = s ? s->device(id) : nullptr;
    if (d && !d->active && state.options.device_ids.empty()) {
      auto it = state.inactive_since.find(id);
      const bool old = it != state.inactive_since.end() && now_ms - it->second >= kHideInactiveMs;
      if (state.show_closed ? !*state.show_closed : old) {
        if (hidden_closed) ++*hidden_closed;
        continue;
      }
    }
    ids.push_back(id);
  }
  return ids;
}

namespace {
constexpr int kRefreshSteps[] = {50, 100, 200, 250, 500, 1000, 2000, 5000, 10000};
}  // namespace

int faster_refresh(int ms) {
  int out = ms;
  for (int step : kRefreshSteps)
    if (step < ms) out = step;
  return out;
}

int slower_refresh(int ms) {
  for (int step : kRefreshSteps)
    if (step > ms) return step;
  return ms;
}

void draw_screen(TuiState& state, int64_t now_ms) {
  erase();
  getmaxyx(stdscr, rows_, cols_);
  if (has_colors()) {
    init_pair(kGreen, COLOR_GREEN, -1);
    init_pair(kYellow, COLOR_YELLOW, -1);
    init_pair(kRed, COLOR_RED, -1);
    init_pair(kDim, COLOR_BLUE, -1);
    init_pair(kTitle, COLOR_CYAN, -1);
    init_pair(kBanner, COLOR_WHITE, COLOR_RED);
  }
  int y = 0;
  attron(A_REVERSE);
  put(0, 0, std::string(static_cast<size_t>(cols_), ' '));
  std::string title = " allocmon";
  if (state.last) {
    const Snapshot& s = *state.last;
    int hidden = 0;
    const size_t shown_now = visible_devices(state, now_ms, &hidden).size();
    title += hidden > 0 ? printf_string("  %zu of %zu devices (%d closed hidden)", shown_now,
                                        s.devices.size(), hidden)
                        : printf_string("  %zu devices", s.devices.size());
    title += printf_string("  %" PRIu64 " buffers  %s  %.0f events/s  %s", s.total_buffers,
                           format_bytes(s.total_allocated).c_str(), state.events_per_second,
                           clock_text(s.time_unix_ms).c_str());
  }
  if (state.paused) title += "  PAUSED";
  title += "   ? help";
  put(0, 0, title);
  attroff(A_REVERSE);
  ++y;
  if (!state.lost.empty()) {
    // The reason wrapped over up to three lines under a short first one: never cut silently.
    attron(COLOR_PAIR(kBanner) | A_BOLD);
    put(y, 0, std::string(static_cast<size_t>(cols_), ' '));
    put(y++, 0,
        printf_string(" server lost: reconnecting every %d ms (last snapshot below)",
                      state.options.refresh_ms));
    for (const auto& line : wrap(state.lost, cols_ - 2, 3)) {
      put(y, 0, std::string(static_cast<size_t>(cols_), ' '));
      put(y++, 1, line);
    }
    attroff(COLOR_PAIR(kBanner) | A_BOLD);
  }
  if (state.last && state.last->devices.empty()) {
    put(y + 1, 0,
        printf_string(
            " waiting for devices: the server on %s knows none yet (a process registers them when it "
            "opens a mesh or device)",
            state.socket_path.c_str()));
  } else if (state.last) {
    if (state.view == TuiView::kHolders)
      draw_holders_view(state, *state.last, y, rows_ - 1, cols_);
    else if (state.view == TuiView::kDevice)
      draw_device_view(state, *state.last, y);
    else
      draw_mesh_view(state, *state.last, y, now_ms);
  }
  attron(A_REVERSE);
  int hidden_closed = 0, shown_closed = 0;
  for (int id : visible_devices(state, now_ms, &hidden_closed))
    if (const DeviceView* d = state.last ? state.last->device(id) : nullptr; d && !d->active) ++shown_closed;
  const std::string closed = hidden_closed > 0  ? printf_string(" i:show %d closed", hidden_closed)
                             : shown_closed > 0 ? std::string(" i:hide closed")
                                                : std::string();
  const char* labels = state.holders.map_labels ? group_name(*state.holders.map_labels) : "off";
  std::string keys =
      state.view == TuiView::kHolders
          ? holders_key_line(state, cols_)
          : fit_key_line({{state.typed.empty() ? "?:help" : "go to #" + state.typed + "_", 0},
                          {"Enter:open", 3},
                          {"Tab:view", 1},
                          {"w:holders", 0},
                          {state.view == TuiView::kDevice ? std::string("g:map ") + labels : "", 0},
                          {std::string("s:sort ") + sort_name(state.sort), 0},
                          {"p:pause", 2},
                          {printf_string("+-:%dms", state.options.refresh_ms), 0},
                          {closed.empty() ? "" : closed.substr(1), 0},
                          {"q:quit", 0}},
                         cols_);
  put(rows_ - 1, 0,
      keys + std::string(static_cast<size_t>(std::max(0, cols_ - static_cast<int>(keys.size()))), ' '));
  attroff(A_REVERSE);
  if (state.help) draw_help();
  refresh();
}

}  // namespace allocmon::monitor
