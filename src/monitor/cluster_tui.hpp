// The cluster view full-screen until q or Ctrl-C (exit status), or -1 when the terminal cannot be driven.
#pragma once

#include "cluster_source.hpp"

namespace allocmon::monitor {

int run_cluster_tui(ClusterSource& source, int refresh_ms);

}  // namespace allocmon::monitor
