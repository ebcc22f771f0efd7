// Where each device's cell goes on the screen in the mesh view: devices laid out as the mesh is (row, column
// from their registration), devices outside a mesh in rows after it, cells as large as the screen allows, and
// a count of what did not fit (shown as "+N more", never cut silently). Pure arithmetic, unit-tested.
#pragma once

#include <vector>

namespace allocmon::monitor {

struct Placeable {
  int id = 0;
  int row = -1, col = -1;  // -1: not part of a mesh
};

struct CellSize {
  int width = 0, height = 0;
};

struct PlacedCell {
  int id = 0;
  int x = 0, y = 0;  // top-left, relative to the mesh area
};

struct MeshLayout {
  CellSize cell;
  int columns = 0;  // cells per row
  int height = 0;   // lines used
  std::vector<PlacedCell> cells;
  int hidden = 0;  // devices that did not fit
};

// The cell sizes tried, largest first: the first that shows every device within width x max_height wins; it
// then grows to the screen's share of each cell, up to kMaxCell.
const std::vector<CellSize>& cell_sizes();
inline constexpr CellSize kMaxCell{48, 14};

MeshLayout layout_mesh(const std::vector<Placeable>& devices, int width, int max_height);

}  // namespace allocmon::monitor
