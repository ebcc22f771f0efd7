#include "cluster_cli.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "cluster_source.hpp"
#include "cluster_tui.hpp"
#include "cluster_view.hpp"
#include "view.hpp"

namespace allocmon::monitor {

namespace {

constexpr int kPlainWidth = 120;  // without a terminal: 4 Galaxies' meshes side by side in wide cells

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int plain_width() {
  const char* columns = std::getenv("COLUMNS");
  const int width = columns ? std::atoi(columns) : 0;
  return width >= 40 ? width : kPlainWidth;
}

}  // namespace

void add_cluster_options(CLI::App& app, ClusterOptions& options) {
  auto* group = "Cluster (docs/cluster.md)";
  options.option =
      app.add_option("--prometheus", options.url,
                     "Show every host a Prometheus server scrapes (http://HOST:PORT): each host's "
                     "chips as its mesh, hosts that stopped answering marked down")
          ->check(CLI::Validator([](const std::string& url) { return prometheus_url_problem(url); }, "URL"))
          ->group(group);
  app.add_option("--prometheus-job", options.job, "The scrape job of the allocation servers")
      ->capture_default_str()
      ->group(group);
}

int run_cluster(const ClusterOptions& options, const ClusterOutput& output) {
  ClusterSource source(options.url, options.job);
  std::string problem;
  auto cluster = source.poll(&problem);
  if (!cluster) {  // a runtime failure (1), as an unreachable server is for the local view
    std::fprintf(stderr, "allocation_monitor_client: %s\n", problem.c_str());
    return 1;
  }
  if (output.json) {
    for (;;) {
      std::printf("%s\n", cluster_json(*cluster, options.url).dump().c_str());
      std::fflush(stdout);
      if (output.loop_ms <= 0 || !wait_or_stop(output.loop_ms)) return 0;
      if (auto next = source.poll(&problem)) {
        cluster = std::move(next);
      } else {
        std::fprintf(stderr, "allocation_monitor_client: %s\n", problem.c_str());
        return 1;
      }
    }
  }
  if (!output.once && !output.plain && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO)) {
    const int status = run_cluster_tui(source, output.refresh_ms);
    if (status >= 0) return status;
    std::fprintf(stderr, "allocation_monitor_client: cannot drive the terminal; plain frames instead\n");
  }
  ClusterViewState state;
  state.url = options.url;
  for (int shown = 1;; ++shown) {
    state.time_ms = now_ms();
    std::fputs(plain_text(render_cluster(*cluster, state, plain_width(), 1 << 20)).c_str(), stdout);
    if (output.once || (output.frames > 0 && shown >= output.frames)) return 0;
    std::fputs("\n", stdout);
    if (!wait_or_stop(output.refresh_ms)) return 0;
    if (auto next = source.poll(&problem)) cluster = std::move(next);
    state.problem = problem;
  }
}

}  // namespace allocmon::monitor
