// allocation_monitor_client --prometheus URL [--prometheus-job JOB]: the cluster view instead of one
// server's.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace allocmon::monitor {

struct ClusterOptions {
  std::string url;
  std::string job = "allocmon";
  CLI::Option* option = nullptr;
  bool requested() const { return option && option->count() > 0; }
};

void add_cluster_options(CLI::App& app, ClusterOptions& options);

struct ClusterOutput {
  bool once = false, plain = false, json = false;
  int frames = 0;   // plain frames before stopping (0: until interrupted)
  int loop_ms = 0;  // --json: repeat every MS
  int refresh_ms = 500;
};

// Runs the cluster view and returns the exit status: 1 when Prometheus does not answer a one-shot query.
int run_cluster(const ClusterOptions& options, const ClusterOutput& output);

}  // namespace allocmon::monitor
