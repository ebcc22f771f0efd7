#include "plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "format.hpp"
#include "protocol/wire.hpp"

namespace allocmon::report {

namespace {

const char* kColors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                         "#b07aa1", "#edc948", "#76b7b2", "#9c755f"};
const std::vector<int> kOffChip = {ALLOCMON_DRAM, ALLOCMON_TRACE};
const std::vector<int> kOnChip = {ALLOCMON_L1, ALLOCMON_L1_SMALL, ALLOCMON_CB, ALLOCMON_KERNEL};

// A chart block: its label (above), the chart, its time labels (below, within kGap).
constexpr int kPanelWidth = 360, kChartHeight = 110, kLeft = 62, kGap = 36, kPad = 24, kTop = 64;

std::string num(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", v);
  return text;
}

// A step of 1, 2 or 5 times a power of ten, giving about `ticks` ticks up to `max`.
double nice_step(double max, int ticks) {
  const double raw = max / ticks;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) return m * power;
  return 10 * power;
}

// Byte ticks in one binary unit: the unit, the step in that unit, and the axis top (a whole number of steps).
struct ByteAxis {
  double unit;
  const char* unit_name;
  double step;  // in units
  double top;   // bytes
};

ByteAxis byte_axis(double max_bytes) {
  const char* names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double unit = 1;
  while (max_bytes / unit >= 1024 && u < 4) unit *= 1024, ++u;
  const double in_units = std::max(max_bytes / unit, 1.0);
  const double step = nice_step(in_units, 3);
  return {unit, names[u], step, std::ceil(in_units / step) * step * unit};
}

struct Chart {
  std::string svg;
  std::set<int> types_drawn;
};

// One stacked chart of `types` at (x, y), its axes and its capacity line.
// The highest stacked bytes of `types` on device `id` over the run.
double stacked_max(const Timeline& t, int id, const std::vector<int>& types) {
  const auto& per_type = t.series.at(id);
  double max = 1;
  for (int c = 0; c < t.columns; ++c) {
    double sum = 0;
    for (int type : types)
      if (t.has(id, type)) sum += static_cast<double>(std::max<int64_t>(0, per_type[type][c]));
    max = std::max(max, sum);
  }
  return max;
}

// shared_max > 0: every device's chart of this kind on that one scale (--shared-scale), so 32 panels compare.
void draw_chart(Chart& chart, const Timeline& t, const Device& device, int id, const std::vector<int>& types,
                const char* label, int x, int y, double shared_max) {
  const auto& per_type = t.series.at(id);
  std::vector<int> present;
  for (int type : types)
    if (t.has(id, type)) present.push_back(type);
  const double max = shared_max > 0 ? shared_max : stacked_max(t, id, types);
  // Capacity: of the first type with one (DRAM; L1 for the on-chip chart), drawn when it is within reach.
  double capacity = 0;
  for (int type : types)
    if (capacity == 0 && type < static_cast<int>(device.capacity.size()))
      capacity = static_cast<double>(device.capacity[type]);
  const bool capacity_on_scale = capacity > 0 && capacity <= max * 1.6;
  const ByteAxis axis = byte_axis(capacity_on_scale ? capacity : max);
  const int w = kPanelWidth - kLeft, h = kChartHeight;
  auto& s = chart.svg;
  s += "<rect x=\"" + std::to_string(x + kLeft) + "\" y=\"" + std::to_string(y) + "\" width=\"" +
       std::to_string(w) + "\" height=\"" + std::to_string(h) + "\" fill=\"#fafafa\" stroke=\"#bbb\"/>\n";
  std::string title = label;
  if (capacity > 0) title += " — capacity " + human_bytes(capacity);
  s += "<text x=\"" + std::to_string(x + kLeft) + "\" y=\"" + std::to_string(y - 4) +
       "\" font-size=\"10\" fill=\"#555\">" + title + "</text>\n";
  // Byte ticks and gridlines.
  for (double v = 0; v <= axis.top / axis.unit + 1e-9; v += axis.step) {
    const double py = y + h - h * (v * axis.unit) / axis.top;
    s += "<line x1=\"" + std::to_string(x + kLeft - 3) + "\" y1=\"" + num(py) + "\" x2=\"" +
         std::to_string(x + kLeft + w) + "\" y2=\"" + num(py) + "\" stroke=\"#e4e4e4\"/>\n";
    char text[32];
    std::snprintf(text, sizeof(text), v == std::floor(v) ? "%.0f %s" : "%.1f %s", v, axis.unit_name);
    s += "<text x=\"" + std::to_string(x + kLeft - 5) + "\" y=\"" + num(py + 3) +
         "\" text-anchor=\"end\" font-size=\"9\">" + text + "</text>\n";
  }
  // Stacked areas, one polygon per type.
  std::vector<double> base(t.columns, 0);
  for (int type : present) {
    std::string upper, lower;
    for (int c = 0; c < t.columns; ++c) {
      const double value = static_cast<double>(std::max<int64_t>(0, per_type[type][c]));
      for (int edge = 0; edge < 2; ++edge) {  // both edges of the column: steps, not slopes
        const double px = x + kLeft + w * (c + edge) / static_cast<double>(t.columns);
        upper += num(px) + "," + num(y + h - h * (base[c] + value) / axis.top) + " ";
        lower = num(px) + "," + num(y + h - h * base[c] / axis.top) + " " + lower;
      }
      base[c] += value;
    }
    s += "<polygon points=\"" + upper + lower + "\" fill=\"" + kColors[type] + "\" opacity=\"0.85\"/>\n";
    chart.types_drawn.insert(type);
  }
  if (capacity_on_scale) {
    const double py = y + h - h * capacity / axis.top;
    s += "<line x1=\"" + std::to_string(x + kLeft) + "\" y1=\"" + num(py) + "\" x2=\"" +
         std::to_string(x + kLeft + w) + "\" y2=\"" + num(py) +
         "\" stroke=\"#c00\" stroke-dasharray=\"4,3\"/>\n";
  }
  // Time ticks in seconds.
  const double span_s = static_cast<double>(t.t_axis - t.t0) / 1000.0;
  const double step = nice_step(std::max(span_s, 0.001), 5);
  for (double v = 0; v <= span_s + 1e-9; v += step) {
    const double px = x + kLeft + w * v / span_s;
    s += "<line x1=\"" + num(px) + "\" y1=\"" + std::to_string(y + h) + "\" x2=\"" + num(px) + "\" y2=\"" +
         std::to_string(y + h + 3) + "\" stroke=\"#777\"/>\n";
    char text[32];
    std::snprintf(text, sizeof(text), v == 0 || step >= 1 ? "%.0f s" : step >= 0.1 ? "%.1f s" : "%.2f s", v);
    s += "<text x=\"" + num(px) + "\" y=\"" + std::to_string(y + h + 12) +
         "\" text-anchor=\"middle\" font-size=\"9\">" + text + "</text>\n";
  }
}

}  // namespace

std::string memory_svg(const Recording& r, const Timeline& t, bool shared_scale) {
  // Mesh positions when every device has one; else rows of four by id.
  bool mesh = !r.devices.empty();
  int rows = 0, cols = 0;
  for (const auto& [id, d] : r.devices) {
    mesh = mesh && d.row >= 0 && d.col >= 0;
    rows = std::max(rows, d.row + 1);
    cols = std::max(cols, d.col + 1);
  }
  std::map<int, std::pair<int, int>> place;
  int index = 0;
  for (const auto& [id, d] : r.devices)
    place[id] = mesh ? std::make_pair(d.row, d.col) : std::make_pair(index / 4, index % 4), ++index;
  if (!mesh) rows = (index + 3) / 4, cols = std::min(std::max(index, 1), 4);
  bool any_off = false, any_on = false;
  for (const auto& [id, d] : r.devices) {
    for (int type : kOffChip) any_off = any_off || t.has(id, type);
    for (int type : kOnChip) any_on = any_on || t.has(id, type);
  }
  const int charts = (any_off ? 1 : 0) + (any_on ? 1 : 0);
  const int panel_height = 30 + std::max(charts, 1) * (kChartHeight + kGap);
  // At least as wide as the title, and saying so when there is nothing to draw.
  const int width = std::max(std::max(cols, 1) * (kPanelWidth + kPad) + kPad, 620);
  const int height = kTop + std::max(rows, 1) * panel_height + kPad;

  double shared_off = 0, shared_on = 0;
  if (shared_scale)
    for (const auto& [id, d] : r.devices) {
      if (!t.series.count(id)) continue;
      shared_off = std::max(shared_off, stacked_max(t, id, kOffChip));
      shared_on = std::max(shared_on, stacked_max(t, id, kOnChip));
    }
  Chart chart;
  for (const auto& [id, d] : r.devices) {
    const int x = kPad + place[id].second * (kPanelWidth + kPad);
    int y = kTop + place[id].first * panel_height;
    std::string name = "device " + std::to_string(id);
    if (d.row >= 0) name += " (" + std::to_string(d.row) + "," + std::to_string(d.col) + ")";
    if (!d.architecture.empty()) name += " " + d.architecture;
    chart.svg += "<text x=\"" + std::to_string(x + kLeft) + "\" y=\"" + std::to_string(y + 10) +
                 "\" font-size=\"12\" font-weight=\"bold\">" + name + "</text>\n";
    y += 30;
    if (any_off) {
      draw_chart(chart, t, d, id, kOffChip, "off-chip: DRAM, TRACE", x, y, shared_off);
      y += kChartHeight + kGap;
    }
    if (any_on) draw_chart(chart, t, d, id, kOnChip, "on-chip: L1, L1_SMALL, CB, KERNEL", x, y, shared_on);
  }
  char title[160];
  std::snprintf(title, sizeof(title), "Device memory over %.1f s, stacked by type (red dashes: capacity)",
                static_cast<double>(t.t_end - t.t0) / 1000.0);
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(height) +
                    "\" font-family=\"sans-serif\" font-size=\"11\">\n" +
                    "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"" +
                    std::to_string(kPad) + "\" y=\"22\" font-size=\"15\">" + title + "</text>\n";
  int lx = kPad;
  for (int type : chart.types_drawn) {  // the legend lists what is drawn, nothing else
    svg += "<rect x=\"" + std::to_string(lx) + "\" y=\"34\" width=\"11\" height=\"11\" fill=\"" +
           kColors[type] + "\"/><text x=\"" + std::to_string(lx + 15) + "\" y=\"44\">" +
           std::string(wire::kMemoryTypeNames[type]) + "</text>\n";
    lx += 90;
  }
  if (r.devices.empty() || chart.types_drawn.empty())
    svg += "<text x=\"" + std::to_string(kPad) + "\" y=\"" + std::to_string(kTop + 40) +
           "\" font-size=\"18\" fill=\"#888\">no data: the recording holds no device memory events</text>\n";
  return svg + chart.svg + "</svg>\n";
}

}  // namespace allocmon::report
