// The full-screen monitor's holders view (`w`): what holds the memory by scope, op, call site or tensor, on
// the selected device or every device shown, for one memory type or all, sortable; and the device view's
// address maps labelled by holder (`g`). The table itself is holders_view.hpp's; this draws it and reads its
// keys.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "holders_view.hpp"
#include "snapshot_model.hpp"

namespace allocmon::monitor {

struct TuiState;

struct HoldersViewState {
  HolderGroup group = HolderGroup::kScope;
  HolderSort sort = HolderSort::kBytes;
  std::string type;          // a memory type; empty: all
  bool one_device = false;   // the selected device; else every device the monitor shows
  bool from_device = false;  // opened from the device view (Esc goes back there)
  int scroll = 0;
  int page = 10;                          // rows shown, as last drawn ([ ] scroll by it)
  std::optional<HolderGroup> map_labels;  // the device view's address maps: letters by scope, op or site
};

// Keys of the holders view, `w` (open and close it) and `g` in the device view; false when the key is not one
// of these here (the monitor's own keys then apply).
bool handle_holders_key(TuiState& state, int key);
// The device whose buffers the current view needs from the server (-1: every device).
int holders_report_device(const TuiState& state);
void draw_holders_view(TuiState& state, const Snapshot& snapshot, int top, int bottom, int cols);
// The key line: `parts` (text, drop order: 0 never, 1 first) joined and fitted into `width` columns.
std::string fit_key_line(const std::vector<std::pair<std::string, int>>& parts, int width);
std::string holders_key_line(const TuiState& state, int width);
// The device view's map of `type` labelled by holder, from line `y`: the strip and a legend line. Returns the
// next line.
int draw_labeled_map(const TuiState& state, const MemoryView& type, int y, int cols);
// "  ttnn.matmul model.py:57 in model/decoder.3" for a listed buffer of the device view, in at most `room`
// columns (the scope cut on the left first, then the rest); "" when unattributed.
std::string buffer_origin(const TuiState& state, const wire::LeakBuffer* buffer, int room);

}  // namespace allocmon::monitor
