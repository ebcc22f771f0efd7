// allocation_server: one per machine; every tracked process reports to it over a Unix socket.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/unix_socket.hpp"
#include "server.hpp"

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each log line leaves at once (pipes and files included)

  allocmon::server::ServerOptions options;
  options.socket_path = allocmon::socket_path_from_env();
  std::string mode = "0660";
  CLI::App app{"allocmon allocation server: live device-memory accounting for every process on this machine"};
  app.add_option("--socket,-s", options.socket_path, "Unix socket path (env TT_ALLOC_SERVER_SOCKET)")
      ->capture_default_str();
  app.add_flag("--quiet,-q", options.quiet, "Do not log every allocation and free");
  app.add_option("--stats-interval", options.stats_interval_s,
                 "Print the statistics block every S seconds (0: only on SIGUSR1 and at shutdown)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--socket-mode", mode, "Permissions of the socket file, octal")->capture_default_str();
  app.add_option(
      "--metrics-address", options.metrics_address,
      "Serve Prometheus metrics at http://HOST:PORT/metrics (HOST defaults to 127.0.0.1; off by default)");
  app.add_option("--record", options.record_path,
                 "Append every applied event to this SQLite file (docs/recording.md)");
  app.add_option("--socket-group", options.socket_group,
                 "Group that owns the socket (its members may connect)");
  app.add_option("--max-buffers-per-client", options.limits.max_live_buffers,
                 "Live buffers one connection may hold; beyond it the client is told why and disconnected")
      ->capture_default_str();
  app.add_option("--max-events-per-second", options.limits.max_events_per_second,
                 "Sustained event rate one connection may send")
      ->capture_default_str();
  app.add_option("--event-burst", options.limits.event_burst,
                 "Events one connection may send at once above the rate")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    options.socket_mode = static_cast<unsigned>(std::stoul(mode, nullptr, 8));
  } catch (const std::exception&) {
    std::fprintf(stderr, "allocation_server: --socket-mode expects an octal mode such as 0660, got '%s'\n",
                 mode.c_str());
    return 1;
  }

  allocmon::server::Server server(options);
  if (!server.start()) return 1;
  return server.run();
}
