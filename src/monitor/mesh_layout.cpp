#include "mesh_layout.hpp"

#include <algorithm>
#include <map>

namespace allocmon::monitor {

const std::vector<CellSize>& cell_sizes() {
  // 8-column cells of 3 and 4 lines come before the 2-line ones: below 80 columns a Galaxy's 8 columns keep
  // their ids, positions and both percentages when the height allows.
  static const std::vector<CellSize> sizes = {{30, 4}, {24, 4}, {20, 4}, {16, 3}, {12, 3},
                                              {10, 3}, {10, 2}, {8, 4},  {8, 3},  {8, 2}};
  return sizes;
}

namespace {

// Grid positions (row, col) for every device: the mesh as registered, the rest after it, `columns` per row.
std::vector<std::pair<int, std::pair<int, int>>> grid_positions(const std::vector<Placeable>& devices,
                                                                int columns, int* rows_used) {
  std::vector<std::pair<int, std::pair<int, int>>> out;
  std::map<std::pair<int, int>, int> taken;
  int mesh_rows = 0;
  std::vector<int> loose;
  for (const auto& d : devices) {
    if (d.row >= 0 && d.col >= 0 && d.col < columns && !taken.count({d.row, d.col})) {
      taken[{d.row, d.col}] = d.id;
      out.push_back({d.id, {d.row, d.col}});
      mesh_rows = std::max(mesh_rows, d.row + 1);
    } else {
      loose.push_back(d.id);
    }
  }
  std::sort(loose.begin(), loose.end());
  for (size_t i = 0; i < loose.size(); ++i)
    out.push_back({loose[i], {mesh_rows + static_cast<int>(i) / columns, static_cast<int>(i) % columns}});
  *rows_used = mesh_rows + (static_cast<int>(loose.size()) + columns - 1) / columns;
  return out;
}

}  // namespace

MeshLayout layout_mesh(const std::vector<Placeable>& devices, int width, int max_height) {
  MeshLayout layout;
  if (devices.empty() || width <= 0 || max_height <= 0) {
    layout.hidden = static_cast<int>(devices.size());
    return layout;
  }
  int mesh_columns = 0, loose = 0;
  for (const auto& d : devices)
    if (d.row >= 0 && d.col >= 0)
      mesh_columns = std::max(mesh_columns, d.col + 1);
    else
      ++loose;
  for (const CellSize& size : cell_sizes()) {
    const int fit = width / size.width;
    const bool last = &size == &cell_sizes().back();
    if (fit <= 0 || (mesh_columns > fit && !last))
      continue;  // the mesh's rows stay whole while a size allows
    // The mesh's own width; devices outside a mesh fill rows as wide as the screen allows.
    const int columns = mesh_columns > 0 && mesh_columns <= fit
                            ? std::max(mesh_columns, std::min(fit, loose))
                            : std::min<int>(fit, static_cast<int>(devices.size()));
    int rows = 0;
    auto positions = grid_positions(devices, columns, &rows);
    if (rows * size.height > max_height && !last) continue;
    // Then as large as the screen allows (up to kMaxCell): wide screens get wide cells, tall ones the
    // history.
    CellSize grown = size;
    if (rows * size.height <= max_height) {
      grown.width = std::max(size.width, std::min(kMaxCell.width, width / columns));
      grown.height = std::max(size.height, std::min(kMaxCell.height, max_height / std::max(rows, 1)));
    }
    layout.cell = grown;
    layout.columns = columns;
    for (const auto& [id, rc] : positions) {
      const int y = rc.first * grown.height;
      if (y + grown.height > max_height) {
        ++layout.hidden;
        continue;
      }
      layout.cells.push_back({id, rc.second * grown.width, y});
      layout.height = std::max(layout.height, y + grown.height);
    }
    return layout;
  }
  layout.hidden = static_cast<int>(devices.size());  // not even the smallest cell is this narrow
  return layout;
}

}  // namespace allocmon::monitor
