// The full-screen monitor's state and drawing (ncurses). render_tui.cpp runs the loop and the keys;
// tui_draw.cpp draws the views: the mesh (default), one device, and the help overlay.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "address_map.hpp"
#include "history.hpp"
#include "mesh_layout.hpp"
#include "process_table.hpp"
#include "query/query_client.hpp"
#include "view.hpp"

namespace allocmon::monitor {

enum class TuiView { kMesh, kDevice };

struct TuiState {
  ViewOptions options;
  TuiView view = TuiView::kMesh;
  bool help = false;
  bool paused = false;
  bool hide_inactive = false;  // 'i': hide closed devices now (they also go after kHideInactiveMs)
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
  std::optional<LeakReport> device_buffers;   // the selected device's live buffers (device view)
  int64_t device_buffers_ms = 0;
  MeshLayout layout;  // as last drawn (for arrow keys)
};

inline constexpr size_t kHistorySamples = 240;     // at the default 500 ms: two minutes
inline constexpr int64_t kHideInactiveMs = 60000;  // closed devices are hidden after a minute

// Devices the mesh view shows now, in the order they are laid out.
std::vector<int> visible_devices(const TuiState& state, int64_t now_ms);
void draw_screen(TuiState& state, int64_t now_ms);

}  // namespace allocmon::monitor
