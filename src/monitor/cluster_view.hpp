// The cluster view's text (allocation_monitor_client --prometheus): every host with its chips laid out as its
// mesh while it fits the terminal, one line per host when it does not; one host's mesh when opened. The same
// lines are printed (--once, --plain) and drawn with colours (cluster_tui.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster_model.hpp"

namespace allocmon::monitor {

enum class Tone { kPlain, kGreen, kYellow, kRed, kDim, kTitle, kSelected };

struct Segment {
  std::string text;
  Tone tone = Tone::kPlain;
};
using StyledLine = std::vector<Segment>;

struct ClusterViewState {
  std::string url;
  int selected = 0;                   // index into the cluster's hosts
  std::optional<std::string> opened;  // the host whose mesh fills the screen (Enter)
  std::string problem;                // why Prometheus did not answer (the last values stay shown)
  int64_t time_ms = 0;
  bool paused = false;
};

std::vector<StyledLine> render_cluster(const Cluster& cluster, const ClusterViewState& state, int width,
                                       int height);
std::string plain_text(const std::vector<StyledLine>& lines);

}  // namespace allocmon::monitor
