// allocation_server: one per machine; every tracked process reports to it over a Unix socket.
#include <fcntl.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "common/command_line.hpp"
#include "common/unix_socket.hpp"
#include "host_port.hpp"
#include "server.hpp"

int main(int argc, char** argv) {
  // A closed stdin, stdout or stderr would give its number to the first socket opened, and log lines to it.
  for (int fd = 0; fd <= 2; ++fd)
    if (::fcntl(fd, F_GETFD) < 0) ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);  // takes that number
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // usage and --help text; the log itself goes through LogWriter

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
      ->check(CLI::Range(0, 86400).description("0 to 86400 seconds"));
  app.add_option("--socket-mode", mode, "Permissions of the socket file, octal")->capture_default_str();
  app.add_option("--metrics-address", options.metrics_address,
                 "Serve Prometheus metrics at http://HOST:PORT/metrics: HOST:PORT, [IPV6]:PORT or :PORT "
                 "(127.0.0.1); port 0 picks a free one. Off by default")
      ->check(CLI::Validator(
          [](const std::string& text) {
            std::string why;
            return allocmon::server::parse_host_port(text, &why) ? std::string() : why;
          },
          "HOST:PORT"));
  app.add_flag("--metrics-processes", options.metrics_processes,
               "Also export who holds what on /metrics (pid, name, bytes per process). Off: totals only, as "
               "anyone who reaches the address reads it (docs/security.md)");
  app.add_option("--metrics-host-label", options.metrics_host_label,
                 "The host label on every /metrics series (default: this machine's hostname)")
      ->check(CLI::Validator(
          [](const std::string& text) {
            return text.empty() || text.size() > 128 ? std::string("1 to 128 characters") : std::string();
          },
          "NAME"));
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
  auto* sources = "Sources (docs/sources.md)";
  app.add_option("--tt-shm-dir", options.tt_shm_dir,
                 "Where tt-metal's per-chip regions (tt_device_<id>_memory) are read from")
      ->capture_default_str()
      ->group(sources);
  app.add_flag("!--no-tt-shm", options.tt_shm, "Do not read tt-metal's shared-memory regions")
      ->group(sources);
  app.add_option("--tt-arch", options.tt_architecture,
                 "Architecture of the chips behind the regions, for their capacity: auto (from sysfs), "
                 "wormhole_b0, blackhole or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "none", "wormhole_b0", "wormhole", "blackhole"}))
      ->group(sources);
  app.add_flag("!--no-device-holders", options.device_holders,
               "Do not list the processes that hold /dev/tenstorrent/N")
      ->group(sources);
  app.add_flag("!--no-drm-fdinfo", options.drm_fdinfo, "Do not read GPU memory from DRM fdinfo")
      ->group(sources);
  bool clients_only = false;
  app.add_flag("--clients-only", clients_only,
               "Show only what liballocmon clients report: none of the polled sources above")
      ->group(sources);
  app.add_option("--poll-interval", options.poll_interval_ms,
                 "Milliseconds between reads of the polled sources (scans of /proc: at least 1000)")
      ->capture_default_str()
      ->check(CLI::Range(10, 60000))
      ->group(sources);
  auto* fixtures = "Test fixtures";
  app.add_option("--proc-root", options.proc_root, "Read /proc from this folder instead (tests)")
      ->group(fixtures);
  app.add_option("--sys-root", options.sys_root, "Read /sys from this folder instead (tests)")
      ->group(fixtures);
  app.add_option("--dev-root", options.dev_root, "Look for /dev entries in this folder instead (tests)")
      ->group(fixtures);
  allocmon::add_version_flag(app, "allocation_server");
  if (const int status = allocmon::parse_command_line(app, argc, argv); status >= 0) return status;
  if (clients_only) options.tt_shm = options.device_holders = options.drm_fdinfo = false;
  char* end = nullptr;
  const unsigned long parsed_mode = std::strtoul(mode.c_str(), &end, 8);
  if (mode.empty() || *end != '\0' || parsed_mode > 07777)
    return allocmon::usage_error("allocation_server",
                                 "--socket-mode expects an octal mode such as 0660, got '" + mode + "'");
  options.socket_mode = static_cast<unsigned>(parsed_mode);

  allocmon::server::Server server(options);
  if (!server.start()) return 1;
  return server.run();
}
