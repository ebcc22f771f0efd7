// Full-screen ncurses view: one block per device with a bar per memory type, a process table and a status
// line. Redrawn with erase()+refresh(), which ncurses turns into minimal screen updates (no flicker).
#include <curses.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "snapshot_poller.hpp"
#include "view.hpp"

namespace allocmon::monitor {

namespace {

enum Colors { kGreen = 1, kYellow, kRed, kDim, kTitle };

void draw_bar(int y, int x, int width, double fraction) {
  const double clamped =
      fraction >= 0 && fraction <= 1 ? fraction : (fraction > 1 ? 1 : 0);  // before the cast
  const int filled = static_cast<int>(clamped * width + 0.5);
  const int color = kGreen + fill_level(fraction);
  mvaddch(y, x, '[');
  attron(COLOR_PAIR(color) | A_BOLD);
  for (int i = 0; i < filled; ++i) mvaddch(y, x + 1 + i, '|');
  attroff(COLOR_PAIR(color) | A_BOLD);
  for (int i = filled; i < width; ++i) mvaddch(y, x + 1 + i, ' ');
  mvaddch(y, x + 1 + width, ']');
}

// Returns the next free row.
int draw_device(int y, int id, const DeviceView* d, int cols) {
  if (!d) {
    attron(COLOR_PAIR(kDim));
    mvprintw(y, 0, "Device %d: absent (not seen by the server yet)", id);
    attroff(COLOR_PAIR(kDim));
    return y + 1;
  }
  attron(A_BOLD);
  mvprintw(y, 0, "Device %d", d->id);
  attroff(A_BOLD);
  printw("  %s", d->architecture.c_str());
  if (d->mesh_row >= 0) printw("  mesh(%d,%d)", d->mesh_row, d->mesh_col);
  printw("  %s  buffers %" PRIu64 "  total %s", d->active ? "active" : "closed", d->buffers,
         format_bytes(d->allocated).c_str());
  ++y;
  const int bar_width = std::max(10, cols - 62);
  for (const auto& m : d->memory) {
    if (!shown(m)) continue;
    const double fraction =
        m.capacity ? static_cast<double>(m.allocated) / static_cast<double>(m.capacity) : 0;
    mvprintw(y, 2, "%-8s", m.type.c_str());
    draw_bar(y, 11, bar_width, fraction);
    mvprintw(y, 13 + bar_width, " %10s / %-10s %5.1f%%", format_bytes(m.allocated).c_str(),
             m.capacity ? format_bytes(m.capacity).c_str() : "n/a", fraction * 100.0);
    if (m.largest_free_block) printw("  lfb %s", format_bytes(*m.largest_free_block).c_str());
    ++y;
  }
  return y;
}

void draw(const Frame& frame, const ViewOptions& options) {
  erase();
  int rows, cols;
  getmaxyx(stdscr, rows, cols);
  int y = 0;
  attron(COLOR_PAIR(kTitle) | A_BOLD);
  mvprintw(y++, 0, "allocmon - device memory by device, type and process   (q quits)");
  attroff(COLOR_PAIR(kTitle) | A_BOLD);
  if (!frame.snapshot) {
    attron(COLOR_PAIR(kRed));
    mvprintw(y + 1, 0, "Server %s not reachable: %s", frame.socket_path.c_str(), frame.status.c_str());
    mvprintw(y + 2, 0, "Retrying every %d ms.", options.refresh_ms);
    attroff(COLOR_PAIR(kRed));
  } else {
    const Snapshot& s = *frame.snapshot;
    for (int id : devices_to_show(&s, options)) {
      if (y >= rows - 4) break;
      y = draw_device(y, id, s.device(id), cols) + 0;
    }
    if (y < rows - 3 && !s.processes.empty()) {
      attron(A_BOLD);
      mvprintw(++y, 0, "%8s  %-20s %12s %8s  devices", "PID", "PROCESS", "ALLOCATED", "BUFFERS");
      attroff(A_BOLD);
      for (const auto& p : s.processes) {
        if (++y >= rows - 1) break;
        std::string devices;
        for (const auto& [id, bytes] : p.device_bytes) {
          if (!devices.empty()) devices += ',';
          devices += std::to_string(id);
        }
        mvprintw(y, 0, "%8d  %-20.20s %12s %8" PRIu64 "  %s", p.pid, p.name.c_str(),
                 format_bytes(p.allocated).c_str(), p.buffers, devices.c_str());
      }
    }
    attron(A_REVERSE);
    mvprintw(rows - 1, 0,
             " server %s | %zu devices | %" PRIu64 " buffers | %s | %.0f events/s | refresh %d ms ",
             s.socket.c_str(), s.devices.size(), s.total_buffers, format_bytes(s.total_allocated).c_str(),
             frame.events_per_second, options.refresh_ms);
    attroff(A_REVERSE);
  }
  refresh();
}

}  // namespace

int run_tui(const std::string& socket_path, const ViewOptions& options) {
  SnapshotPoller poller(socket_path);
  initscr();
  cbreak();
  noecho();
  curs_set(0);
  keypad(stdscr, TRUE);
  if (has_colors()) {
    start_color();
    use_default_colors();
    init_pair(kGreen, COLOR_GREEN, -1);
    init_pair(kYellow, COLOR_YELLOW, -1);
    init_pair(kRed, COLOR_RED, -1);
    init_pair(kDim, COLOR_BLUE, -1);
    init_pair(kTitle, COLOR_CYAN, -1);
  }
  timeout(options.refresh_ms);
  Frame frame = poller.poll();
  for (;;) {
    draw(frame, options);
    const int key = getch();
    if (key == 'q' || key == 'Q') break;
    if (key == KEY_RESIZE) continue;  // redraw at the new size with the same data
    frame = poller.poll();
  }
  endwin();
  return 0;
}

}  // namespace allocmon::monitor
