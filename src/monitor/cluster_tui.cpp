// The cluster view full-screen (allocation_monitor_client --prometheus URL): ask Prometheus each refresh
// (keep the last cluster while it does not answer), draw render_cluster's lines with colours, read keys.
#include "cluster_tui.hpp"

#include <curses.h>

#include <algorithm>
#include <chrono>

#include "cluster_view.hpp"
#include "tui.hpp"
#include "view.hpp"

namespace allocmon::monitor {

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int attributes(Tone tone) {
  switch (tone) {
    case Tone::kGreen:
      return COLOR_PAIR(1);
    case Tone::kYellow:
      return COLOR_PAIR(2);
    case Tone::kRed:
      return COLOR_PAIR(3) | A_BOLD;
    case Tone::kDim:
      return COLOR_PAIR(4) | A_DIM;
    case Tone::kTitle:
      return A_BOLD;
    case Tone::kSelected:
      return A_REVERSE | A_BOLD;
    case Tone::kPlain:
      break;
  }
  return A_NORMAL;
}

void draw(const std::vector<StyledLine>& lines) {
  erase();
  int rows, cols;
  getmaxyx(stdscr, rows, cols);
  for (int y = 0; y < rows && y < static_cast<int>(lines.size()); ++y) {
    int x = 0;
    for (const Segment& s : lines[static_cast<size_t>(y)]) {
      if (x >= cols) break;
      attron(attributes(s.tone));
      mvaddnstr(y, x, s.text.c_str(), cols - x);
      attroff(attributes(s.tone));
      x += static_cast<int>(s.text.size());
    }
  }
  refresh();
}

}  // namespace

int run_cluster_tui(ClusterSource& source, int refresh_ms) {
  SCREEN* screen = open_terminal();
  if (!screen) return -1;
  if (has_colors()) {
    init_pair(1, COLOR_GREEN, -1);
    init_pair(2, COLOR_YELLOW, -1);
    init_pair(3, COLOR_RED, -1);
    init_pair(4, COLOR_WHITE, -1);
  }
  Cluster cluster;
  ClusterViewState state;
  state.url = source.url();
  int64_t next_poll = 0;
  while (!stop_requested()) {
    const int64_t now = now_ms();
    if (!state.paused && now >= next_poll) {
      std::string problem;
      if (auto polled = source.poll(&problem)) cluster = std::move(*polled);
      state.problem = problem;
      state.time_ms = now;
      next_poll = now + refresh_ms;
    }
    state.selected = std::clamp(state.selected, 0, std::max(0, static_cast<int>(cluster.hosts.size()) - 1));
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    draw(render_cluster(cluster, state, cols, rows));
    timeout(static_cast<int>(std::clamp<int64_t>(next_poll - now_ms(), 10, refresh_ms)));
    const int key = getch();
    if (key == ERR || key == KEY_RESIZE) continue;
    if (key == 'q' || key == 'Q') break;
    switch (key) {
      case KEY_UP:
      case 'k':
        if (!state.opened) state.selected = std::max(0, state.selected - 1);
        break;
      case KEY_DOWN:
      case 'j':
        if (!state.opened) ++state.selected;
        break;
      case '\n':
      case '\r':
      case KEY_ENTER:
        if (!state.opened && state.selected < static_cast<int>(cluster.hosts.size()))
          state.opened = cluster.hosts[static_cast<size_t>(state.selected)].name;
        break;
      case 27:  // Esc
      case KEY_BACKSPACE:
      case 127:
        state.opened.reset();
        break;
      case 'p':
        state.paused = !state.paused;
        break;
      case '+':
      case '=':
        refresh_ms = faster_refresh(refresh_ms);
        break;
      case '-':
        refresh_ms = slower_refresh(refresh_ms);
        break;
      default:
        break;
    }
  }
  endwin();
  delscreen(screen);
  return 0;
}

}  // namespace allocmon::monitor
