// The full-screen monitor's state and drawing (ncurses). render_tui.cpp runs the loop and the keys;
// tui_draw.cpp draws the views: the mesh (default), one device, and the help overlay.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "address_map.hpp"
#include "history.hpp"
#include "holders_tui.hpp"
#include "mesh_layout.hpp"
#include "process_table.hpp"
#include "query/query_client.hpp"
#include "view.hpp"

typedef struct screen SCREEN;  // ncurses' terminal (curses.h stays out of this header)

namespace allocmon::monitor {

enum class TuiView { kMesh, kDevice, kHolders };

struct TuiState {
  ViewOptions options;
  TuiView view = TuiView::kMesh;
  bool help = false;
  bool paused = false;
  // 'i': closed devices shown (true) or hidden (false) from now on; unset: shown for kHideInactiveMs, then
  // hidden.
  std::optional<bool> show_closed;
  SortKey sort = SortKey::kTotal;
  int selected = -1;  // device id
  std::string typed;  // digits typed to select a device by number
  int process_scroll = 0;
  std::string socket_path;

  std::optional<Snapshot> last;  // the newest snapshot (kept, dimmed, while the server is lost)
  std::string lost;              // why the server is unreachable; empty while it answers
  double events_per_second = 0;
  std::map<int, Ring<MemorySample>> history;  // device -> samples, one per refresh
  std::map<int, int64_t> inactive_since;      // device -> when it was first seen closed (ms)
  std::optional<LeakReport> device_buffers;   // the device or holders view's live buffers
  int64_t device_buffers_ms = 0;
  HoldersViewState holders;  // the holders view ('w') and the address maps' labels ('g')
  MeshLayout layout;         // as last drawn (for arrow keys)
};

inline constexpr size_t kHistorySamples = 240;     // at the default 500 ms: two minutes
inline constexpr int64_t kHideInactiveMs = 60000;  // closed devices are hidden after a minute

// Devices the mesh view shows now, in the order they are laid out; `hidden_closed` counts the closed ones
// left out.
std::vector<int> visible_devices(const TuiState& state, int64_t now_ms, int* hidden_closed = nullptr);
// The refresh periods + and - step through (a -r value between them is kept until the first step).
int faster_refresh(int ms);
int slower_refresh(int ms);
void draw_screen(TuiState& state, int64_t now_ms);
// The terminal set up for a full-screen view (keys, no echo, default colours); null when TERM cannot be
// driven. The caller ends it with endwin() and delscreen().
SCREEN* open_terminal();

}  // namespace allocmon::monitor
