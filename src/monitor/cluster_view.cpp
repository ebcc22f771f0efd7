#include "cluster_view.hpp"

#include <algorithm>
#include <cstdio>

#include "view.hpp"

namespace allocmon::monitor {

namespace {

constexpr int kWideCell = 15;    // "31 D 95% L 10% ": chip, DRAM and L1 shares
constexpr int kCompactCell = 8;  // "31  95% ": chip and DRAM share
constexpr int kIndent = 1;       // a mesh row starts here (4 Galaxies' rows of 8 wide cells fit 120 columns)

int percent(uint64_t used, uint64_t capacity) {
  return capacity ? static_cast<int>((used * 100 + capacity / 2) / capacity) : 0;
}

Tone fill_tone(uint64_t used, uint64_t capacity) {
  const double share = capacity ? static_cast<double>(used) / static_cast<double>(capacity) : 0;
  return static_cast<Tone>(static_cast<int>(Tone::kGreen) + fill_level(share));
}

std::string printf_text(const char* format, auto... args) {
  char text[256];
  std::snprintf(text, sizeof(text), format, args...);
  return text;
}

std::string share_text(uint64_t used, uint64_t capacity) {
  return format_bytes(used) + "/" + format_bytes(capacity) + " " + std::to_string(percent(used, capacity)) +
         "%";
}

// `parts` joined with two spaces, each only while the line still fits `room` (the first always).
std::string fitted(const std::vector<std::string>& parts, int room) {
  std::string text;
  for (const auto& part : parts) {
    const std::string next = text.empty() ? part : text + "  " + part;
    if (!text.empty() && static_cast<int>(next.size()) > room) break;  // the rest matter less
    text = next;
  }
  return text;
}

StyledLine host_line(const ClusterHost& h, bool selected, int width) {
  StyledLine line;
  line.push_back({selected ? "> " : "  ", selected ? Tone::kSelected : Tone::kPlain});
  line.push_back({printf_text("%-14s", h.name.c_str()), selected ? Tone::kSelected : Tone::kTitle});
  if (h.up)
    line.push_back({" up   ", Tone::kGreen});
  else
    line.push_back({" DOWN ", Tone::kRed});
  std::string chips = printf_text("%zu chips", h.chips.size());
  if (h.rows > 0) chips += printf_text(" %dx%d", h.rows, h.cols);
  std::vector<std::string> parts{chips, "DRAM " + share_text(h.dram(), h.dram_capacity())};
  if (!h.up) parts.push_back("(last values)");
  parts.push_back("L1 " + std::to_string(percent(h.l1(), h.l1_capacity())) + "%");
  if (const ClusterChip* full = h.fullest_dram())
    parts.push_back("fullest: chip " + std::to_string(full->device) + " " +
                    std::to_string(percent(full->dram, full->dram_capacity)) + "%");
  line.push_back({fitted(parts, width - 22), h.up ? Tone::kPlain : Tone::kDim});
  return line;
}

int mesh_rows(const ClusterHost& h, int per_row) {
  if (h.rows > 0) return h.rows;
  return static_cast<int>((h.chips.size() + static_cast<size_t>(per_row) - 1) / static_cast<size_t>(per_row));
}
int mesh_cols(const ClusterHost& h, int per_row) {
  return h.cols > 0 ? h.cols : std::min<int>(per_row, static_cast<int>(h.chips.size()));
}

// The host's chips as its mesh, one line per mesh row; a down host's in dim.
void add_mesh(std::vector<StyledLine>& lines, const ClusterHost& h, int cell, int width) {
  const int per_row = std::max(1, (width - kIndent + 1) / cell);
  const int rows = mesh_rows(h, per_row), cols = mesh_cols(h, per_row);
  for (int r = 0; r < rows; ++r) {
    StyledLine line{{std::string(kIndent, ' '), Tone::kPlain}};
    for (int c = 0; c < cols; ++c) {
      const ClusterChip* chip = h.rows > 0 ? h.at(r, c)
                                : static_cast<size_t>(r * per_row + c) < h.chips.size()
                                    ? &h.chips[static_cast<size_t>(r * per_row + c)]
                                    : nullptr;
      if (!chip) {
        line.push_back({std::string(static_cast<size_t>(cell), ' ')});
        continue;
      }
      const std::string text =
          cell == kWideCell
              ? printf_text("%2d D%3d%% L%3d%% ", chip->device, percent(chip->dram, chip->dram_capacity),
                            percent(chip->l1, chip->l1_capacity))
              : printf_text("%2d %3d%% ", chip->device, percent(chip->dram, chip->dram_capacity));
      line.push_back({text, h.up ? fill_tone(chip->dram, chip->dram_capacity) : Tone::kDim});
    }
    lines.push_back(std::move(line));
  }
}

// One opened host: its chips in bytes, fullest DRAM first, as many as the screen has lines for.
void add_fullest_chips(std::vector<StyledLine>& lines, const ClusterHost& h, int room) {
  if (room < 3 || h.chips.empty()) return;
  std::vector<const ClusterChip*> chips;
  for (const auto& c : h.chips) chips.push_back(&c);
  const auto share = [](const ClusterChip* c) {
    return c->dram_capacity ? static_cast<double>(c->dram) / static_cast<double>(c->dram_capacity) : 0;
  };
  std::stable_sort(chips.begin(), chips.end(),
                   [&](const ClusterChip* a, const ClusterChip* b) { return share(a) > share(b); });
  lines.push_back({{"  fullest chips    mesh    DRAM                           L1", Tone::kTitle}});
  const size_t shown = std::min(chips.size(), static_cast<size_t>(room - 1));
  for (size_t i = 0; i < shown; ++i) {
    const ClusterChip& c = *chips[i];
    const std::string mesh = c.mesh_row >= 0 ? printf_text("(%d,%d)", c.mesh_row, c.mesh_col) : "-";
    lines.push_back(
        {{printf_text("  chip %-10d %-7s ", c.device, mesh.c_str()), Tone::kPlain},
         {printf_text("%-30s", share_text(c.dram, c.dram_capacity).c_str()),
          h.up ? fill_tone(c.dram, c.dram_capacity) : Tone::kDim},
         {" " + share_text(c.l1, c.l1_capacity), h.up ? fill_tone(c.l1, c.l1_capacity) : Tone::kDim}});
  }
}

// The widest cell every host's mesh fits in, or 0 if not even the compact one does.
int cell_width(const std::vector<const ClusterHost*>& hosts, int width) {
  int widest_mesh = 1;  // chips without mesh positions wrap to the width
  for (const ClusterHost* h : hosts) widest_mesh = std::max(widest_mesh, h->cols);
  for (int cell : {kWideCell, kCompactCell})
    if (kIndent + widest_mesh * cell - 1 <= width) return cell;
  return 0;
}

}  // namespace

std::vector<StyledLine> render_cluster(const Cluster& cluster, const ClusterViewState& state, int width,
                                       int height) {
  std::vector<StyledLine> lines;
  uint64_t dram = 0, dram_capacity = 0;
  for (const auto& h : cluster.hosts) dram += h.dram(), dram_capacity += h.dram_capacity();
  std::vector<std::string> parts{printf_text("allocmon cluster  %zu hosts (%zu down)  %zu chips",
                                             cluster.hosts.size(), cluster.hosts_down(), cluster.chips()),
                                 clock_text(state.time_ms)};
  if (state.paused) parts.push_back("PAUSED");
  parts.push_back("DRAM " + share_text(dram, dram_capacity));
  const std::string title = fitted(parts, width);
  lines.push_back({{title, Tone::kTitle}});
  lines.push_back({{"  from " + state.url, Tone::kDim}});
  if (!state.problem.empty()) lines.push_back({{"  " + state.problem + " (last values shown)", Tone::kRed}});

  const ClusterHost* opened = nullptr;
  if (state.opened)
    for (const auto& h : cluster.hosts)
      if (h.name == *state.opened) opened = &h;
  std::vector<const ClusterHost*> shown;
  if (opened)
    shown.push_back(opened);
  else
    for (const auto& h : cluster.hosts) shown.push_back(&h);

  const int cell = cell_width(shown, width);
  int needed = static_cast<int>(lines.size()) + 2;  // + legend and key lines
  for (const ClusterHost* h : shown)
    needed += 1 + (cell ? mesh_rows(*h, std::max(1, (width - kIndent + 1) / cell)) : 0);
  const bool meshes = cell > 0 && (opened || needed <= height);
  for (size_t i = 0; i < shown.size(); ++i) {
    const ClusterHost& h = *shown[i];
    const bool selected = !opened && static_cast<int>(i) == state.selected;
    lines.push_back(host_line(h, selected, width));
    if (meshes) add_mesh(lines, h, cell, width);
  }
  if (cluster.hosts.empty())
    lines.push_back({{"  no allocation server in Prometheus's `up` for this job yet", Tone::kDim}});
  if (meshes)
    lines.push_back({{cell == kWideCell ? "  cells: chip, DRAM and L1 in use (colour: DRAM)"
                                        : "  cells: chip and DRAM in use",
                      Tone::kDim}});
  if (opened) add_fullest_chips(lines, *opened, height - static_cast<int>(lines.size()) - 1);
  lines.push_back({{opened ? "  Esc back  p pause  +/- refresh  q quit"
                           : "  up/down select a host  Enter its mesh  p pause  +/- refresh  q quit",
                    Tone::kDim}});
  // Nothing runs past the right edge (a plain frame has no terminal to cut it).
  for (auto& line : lines) {
    int room = width;
    for (auto& segment : line) {
      if (static_cast<int>(segment.text.size()) > room)
        segment.text.resize(static_cast<size_t>(std::max(0, room)));
      room -= static_cast<int>(segment.text.size());
    }
  }
  return lines;
}

std::string plain_text(const std::vector<StyledLine>& lines) {
  std::string out;
  for (const auto& line : lines) {
    std::string text;
    for (const auto& segment : line) text += segment.text;
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  }
  return out;
}

}  // namespace allocmon::monitor
