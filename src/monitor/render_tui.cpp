// The full-screen monitor's loop: poll the server each refresh (keeping the last snapshot while it is lost),
// sample the history, read keys, redraw. Drawing lives in tui_draw.cpp.
#include <curses.h>

#include <algorithm>
#include <chrono>

#include "snapshot_poller.hpp"
#include "tui.hpp"

namespace allocmon::monitor {

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void take(TuiState& state, const Frame& frame, int64_t now) {
  if (!frame.snapshot) {
    state.lost = frame.status;
    return;
  }
  state.lost.clear();
  state.last = *frame.snapshot;
  state.events_per_second = frame.events_per_second;
  for (const auto& d : state.last->devices) {
    const MemoryView* dram = d.type("DRAM");
    const MemoryView* l1 = d.type("L1");
    auto it = state.history.try_emplace(d.id, kHistorySamples).first;
    it->second.push({now, dram ? dram->allocated : 0, l1 ? l1->allocated : 0});
    if (d.active)
      state.inactive_since.erase(d.id);
    else
      state.inactive_since.try_emplace(d.id, now);
  }
}

// The device and holders views' buffers (address maps, largest buffers, holders): at most once a second, only
// the device they show (every device for the holders of the mesh); not while paused.
void refresh_buffers(TuiState& state, QueryClient& buffers, int64_t now) {
  if ((state.view != TuiView::kDevice && state.view != TuiView::kHolders) || !state.lost.empty()) return;
  const int device = holders_report_device(state);
  if (state.device_buffers && state.device_buffers->device_id == device &&
      (state.paused || now - state.device_buffers_ms < 1000))
    return;
  std::string error;
  if (!buffers.connected() && !buffers.connect(state.socket_path, &error)) return;
  state.device_buffers = buffers.leak_report(device, 2000, &error);
  state.device_buffers_ms = now;
}

// Arrow keys move between the cells as they are laid out.
void move_selection(TuiState& state, int dx, int dy) {
  const auto& cells = state.layout.cells;
  auto current =
      std::find_if(cells.begin(), cells.end(), [&](const PlacedCell& c) { return c.id == state.selected; });
  if (current == cells.end()) {
    if (!cells.empty()) state.selected = cells.front().id;
    return;
  }
  const PlacedCell* best = nullptr;
  int best_distance = 1 << 30;
  for (const auto& c : cells) {
    const int ddx = c.x - current->x, ddy = c.y - current->y;
    if ((dx && (ddx * dx <= 0 || ddy != 0)) || (dy && (ddy * dy <= 0))) continue;
    const int distance = std::abs(ddx) + std::abs(ddy) * 4;
    if (distance < best_distance) best_distance = distance, best = &c;
  }
  if (best) state.selected = best->id;
}

// Returns false to quit.
bool handle_key(TuiState& state, int key) {
  if (state.help) {  // any key closes the help
    state.help = false;
    return key != 'q' && key != 'Q';
  }
  if (handle_holders_key(state, key)) return true;  // 'w', the holders view's keys, 'g' (holders_tui.cpp)
  switch (key) {
    case 'q':
    case 'Q':
      return false;
    case '?':
    case KEY_F(1):
      state.help = true;
      break;
    case 'h':
      if (state.view == TuiView::kMesh)
        move_selection(state, -1, 0);
      else
        state.help = true;
      break;
    case KEY_LEFT:
      move_selection(state, -1, 0);
      break;
    case KEY_RIGHT:
    case 'l':
      move_selection(state, 1, 0);
      break;
    case KEY_UP:
    case 'k':
      move_selection(state, 0, -1);
      break;
    case KEY_DOWN:
    case 'j':
      move_selection(state, 0, 1);
      break;
    case '\n':
    case '\r':
    case KEY_ENTER:
      if (!state.typed.empty()) state.selected = std::stoi(state.typed);
      state.typed.clear();
      state.view = TuiView::kDevice;
      state.process_scroll = 0;
      break;
    case '\t':
      state.view = state.view == TuiView::kMesh ? TuiView::kDevice : TuiView::kMesh;
      break;
    case 27:  // Esc
    case KEY_BACKSPACE:
    case 127:
      if (!state.typed.empty())
        state.typed.pop_back();
      else
        state.view = TuiView::kMesh;
      break;
    case 's':
      state.sort = next_sort(state.sort);
      break;
    case 'p':
      state.paused = !state.paused;
      break;
    case '+':
    case '=':
      state.options.refresh_ms = faster_refresh(state.options.refresh_ms);
      break;
    case '-':
      state.options.refresh_ms = slower_refresh(state.options.refresh_ms);
      break;
    case 'i': {  // show the closed devices that are hidden, else hide the ones shown
      int hidden = 0;
      visible_devices(state, now_ms(), &hidden);
      state.show_closed = hidden > 0;
      break;
    }
    case ']':
    case KEY_NPAGE:
      state.process_scroll += 5;
      break;
    case '[':
    case KEY_PPAGE:
      state.process_scroll = std::max(0, state.process_scroll - 5);
      break;
    default:
      if (key >= '0' && key <= '9' && state.typed.size() < 6) state.typed += static_cast<char>(key);
  }
  return true;
}

}  // namespace

SCREEN* open_terminal() {
  // newterm, not initscr: an unknown TERM returns null here instead of exiting with ncurses' message.
  SCREEN* screen = newterm(nullptr, stdout, stdin);
  if (!screen) return nullptr;
  set_term(screen);
  cbreak();
  noecho();
  curs_set(0);
  keypad(stdscr, TRUE);
  set_escdelay(25);
  if (has_colors()) {
    start_color();
    use_default_colors();
  }
  return screen;
}

int run_tui(const std::string& socket_path, const ViewOptions& options) {
  SnapshotPoller poller(socket_path);
  QueryClient buffers;
  TuiState state;
  state.options = options;
  state.socket_path = socket_path;
  SCREEN* screen = open_terminal();
  if (!screen) return -1;
  int64_t next_poll = 0;
  while (!stop_requested()) {  // Ctrl-C: leave like q (exit 0)
    const int64_t now = now_ms();
    if (!state.paused && now >= next_poll) {
      take(state, poller.poll(), now);
      next_poll = now + state.options.refresh_ms;
    }
    refresh_buffers(state, buffers, now);
    draw_screen(state, now);
    // Wait for a key until the next refresh is due (a resize arrives as KEY_RESIZE and redraws at once).
    timeout(static_cast<int>(std::clamp<int64_t>(next_poll - now_ms(), 10, state.options.refresh_ms)));
    const int key = getch();
    if (key == ERR || key == KEY_RESIZE) continue;
    if (!handle_key(state, key)) break;
  }
  endwin();
  delscreen(screen);
  return 0;
}

}  // namespace allocmon::monitor
