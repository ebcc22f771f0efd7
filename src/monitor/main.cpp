// allocation_monitor_client: live view of the allocation server (full-screen on a terminal, plain text in a
// pipe), or one snapshot as text or JSON for scripts.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cluster_cli.hpp"
#include "common/command_line.hpp"
#include "common/unix_socket.hpp"
#include "holders_cli.hpp"
#include "query_output.hpp"
#include "snapshot_poller.hpp"
#include "view.hpp"

using namespace allocmon::monitor;

namespace {
constexpr const char* kProgram = "allocation_monitor_client";
}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  ViewOptions options;
  std::string socket_path = allocmon::socket_path_from_env();
  bool all = false, once = false, plain = false, json = false;
  int frames = 0;
  CLI::App app{
      "allocmon monitor: live device memory per device, memory type and process.\n"
      "Keys in the full-screen view: arrows/hjkl select a device, a number then Enter picks one by id, Enter "
      "opens\n"
      "it (memory types, history, address maps, largest buffers), Esc goes back, Tab switches views, s sorts "
      "the\n"
      "processes, [ ] scroll them, p pauses, + - change the refresh, i hides closed devices, w shows what "
      "holds\n"
      "the memory (by scope, op, site or tensor), ? help, q quits\n"
      "(docs/monitor.md)"};
  app.add_option("-d,--device", options.device_ids, "Show this device id (repeatable)")
      ->check(CLI::Range(0, 1 << 30).description("a device id, 0 or more"));
  app.add_option("-r,--refresh", options.refresh_ms, "Refresh period in milliseconds")
      ->capture_default_str()
      ->check(CLI::Range(10, 3600000));
  app.add_option("--socket,-s", socket_path, "Server socket (env TT_ALLOC_SERVER_SOCKET)")
      ->capture_default_str();
  app.add_flag("--once", once, "Print one frame and exit");
  auto* plain_flag = app.add_flag("--plain", plain, "Plain text frames instead of the full-screen view");
  auto* compact_flag = app.add_flag("--compact", options.compact, "Plain frames with one line per device");
  auto* frames_option =
      app.add_option("--frames", frames, "Stop after this many plain frames (0: run until interrupted)")
          ->check(CLI::Range(0, 1000000000).description("0 or more"));
  app.add_flag("--json", json,
               "Print the server snapshot as JSON (docs/snapshot.md), only the -d devices if given; implies "
               "--once")
      ->excludes(plain_flag, compact_flag, frames_option);
  std::string query, format = "csv";
  CLI::Option* format_option = nullptr;
  int loop_ms = 0;
  auto* query_option =
      app.add_option("--query", query,
                     "Print these fields, one row per device and memory type (comma-separated: time, device, "
                     "type, allocated, capacity, peak, buffers, free, largest_free, unattributed, stale, "
                     "architecture, source, asic_id, logical_id, active, mesh_row, mesh_col)")
          ->check(CLI::Validator(
              [](const std::string& text) {
                std::string why;
                return parse_query_fields(text, &why) ? std::string() : why;
              },
              "FIELDS"));
  format_option =
      app.add_option("--format", format,
                     "--query or --holders output: csv (a header, then rows) or json (an array per sample; "
                     "--holders: a document)")
          ->check(CLI::IsMember({"csv", "json"}))
          ->capture_default_str();
  app.add_option("--loop", loop_ms,
                 "--query, --holders or --json: repeat every MS milliseconds until interrupted")
      ->check(CLI::Range(10, 3600000));
  query_option->excludes(plain_flag)->excludes(compact_flag)->excludes(frames_option);
  HoldersOptions holders;  // --holders, -t, --sort (holders_cli.cpp)
  add_holders_options(app, holders);
  holders.holders->excludes(query_option)
      ->excludes(plain_flag)
      ->excludes(compact_flag)
      ->excludes(frames_option);
  ClusterOptions cluster;  // --prometheus URL (cluster_cli.cpp)
  add_cluster_options(app, cluster);
  cluster.option->excludes(query_option)->excludes(compact_flag)->excludes(holders.holders);
  auto* all_flag = app.add_flag("-a,--all", all, "Show every device the server knows (the default)");
  (void)all_flag;
  allocmon::add_version_flag(app, "allocation_monitor_client");
  if (const int status = allocmon::parse_command_line(app, argc, argv); status >= 0) return status;
  if (all && !options.device_ids.empty())
    return allocmon::usage_error(kProgram, "-a and -d exclude each other");
  if (format_option->count() > 0 && query.empty() && !holders.requested())
    return allocmon::usage_error(
        kProgram, "--format goes with --query or --holders (--json prints the whole snapshot)");
  if (format_option->count() > 0 && json && format != "json")
    return allocmon::usage_error(kProgram, "--json and --format " + format + " ask for two formats");
  if (loop_ms > 0 && query.empty() && !json && !holders.requested())
    return allocmon::usage_error(kProgram, "--loop goes with --query, --holders or --json");
  if (const std::string why = holders_usage_error(holders); !why.empty())
    return allocmon::usage_error(kProgram, why);
  if (socket_path.size() >= allocmon::kMaxSocketPath)
    return allocmon::usage_error(kProgram, "the socket path is " + std::to_string(socket_path.size()) +
                                               " bytes long; a Unix socket path holds at most " +
                                               std::to_string(allocmon::kMaxSocketPath - 1));

  install_stop_handler();
  if (cluster.requested()) {
    if (!options.device_ids.empty())
      return allocmon::usage_error(kProgram, "-d picks a device of this host; --prometheus shows every host");
    return run_cluster(cluster, {once, plain, json, frames, loop_ms, options.refresh_ms});
  }
  SnapshotPoller poller(socket_path);
  Frame frame = poller.poll();
  if (!frame.snapshot) {  // a runtime failure (1), not a usage error (2)
    std::fprintf(stderr, "allocation_monitor_client: %s\n", frame.status.c_str());
    return 1;
  }
  // A device asked for by id that the server does not know is a mistake in a one-shot query (the live view
  // waits for it instead).
  if (json || once || !query.empty() || holders.requested()) {
    std::string unknown;
    for (int id : options.device_ids)
      if (!frame.snapshot->device(id)) unknown += (unknown.empty() ? "" : ", ") + std::to_string(id);
    if (!unknown.empty()) {
      std::string known;
      for (const auto& d : frame.snapshot->devices) {
        if (!known.empty()) known += ' ';
        known += std::to_string(d.id);
      }
      return allocmon::usage_error(kProgram, "the server knows no device " + unknown +
                                                 " (it knows: " + (known.empty() ? "none yet" : known) + ")");
    }
  }
  // --json and --query print once, or with --loop every MS milliseconds until Ctrl-C or a lost server.
  const auto print_until_stopped = [&](const auto& print) {
    for (bool first = true;; first = false) {
      print(first);
      std::fflush(stdout);
      if (loop_ms <= 0 || !wait_or_stop(loop_ms)) return 0;
      frame = poller.poll();
      if (!frame.snapshot) {
        std::fprintf(stderr, "%s: %s\n", kProgram, frame.status.c_str());
        return 1;
      }
    }
  };
  if (holders.requested())
    return print_holders(holders, socket_path, options.device_ids,
                         format_option->count() > 0 ? format
                         : json                     ? "json"
                                                    : "text",
                         loop_ms);
  if (json)  // one document per line
    return print_until_stopped([&](bool) {
      std::printf("%s\n", filter_snapshot_json(poller.last_json(), options.device_ids).c_str());
    });
  if (!query.empty()) {
    const auto fields = *parse_query_fields(query, nullptr);
    return print_until_stopped([&](bool header) {
      std::fputs(query_rows(*frame.snapshot, fields, format == "csv", options.device_ids, header).c_str(),
                 stdout);
    });
  }
  if (once) {
    std::fputs(render_plain(frame, options).c_str(), stdout);
    return 0;
  }
  if (!plain && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO)) {
    const int status = run_tui(socket_path, options);
    if (status >= 0) return status;
    std::fprintf(stderr, "%s: cannot drive the terminal (TERM=%s); plain frames instead (--plain)\n",
                 kProgram, std::getenv("TERM") ? std::getenv("TERM") : "");
  }

  for (int shown = 1;; ++shown) {
    std::fputs(render_plain(frame, options).c_str(), stdout);
    std::fputs("\n", stdout);
    if (frames > 0 && shown >= frames) return 0;
    if (!wait_or_stop(options.refresh_ms)) return 0;  // the refresh period itself; Ctrl-C ends it
    frame = poller.poll();
  }
}
