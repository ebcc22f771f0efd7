#include "holders_cli.hpp"

#include <cstdio>

#include "holders_view.hpp"
#include "protocol/wire.hpp"
#include "query/query_client.hpp"
#include "view.hpp"

namespace allocmon::monitor {

void add_holders_options(CLI::App& app, HoldersOptions& options) {
  options.holders =
      app.add_option("--holders", options.group,
                     "Print what holds the memory, one row per scope (the default), op, call site "
                     "or tensor: bytes, share, buffers, devices (-d: only those; -t: one memory "
                     "type); text, or --format csv|json")
          ->expected(0, 1)
          ->check(CLI::IsMember({"scope", "op", "site", "tensor"}));
  std::vector<std::string> types;
  for (auto name : wire::kMemoryTypeNames) types.emplace_back(name);
  options.type_option = app.add_option("-t,--type", options.type, "--holders: only this memory type")
                            ->transform(CLI::IsMember(types, CLI::ignore_case));
  options.sort_option = app.add_option("--sort", options.sort, "--holders: sort by bytes, name or buffers")
                            ->check(CLI::IsMember({"bytes", "name", "buffers"}))
                            ->capture_default_str();
}

std::string holders_usage_error(const HoldersOptions& options) {
  if (options.requested()) return {};
  if (options.type_option->count() > 0) return "-t/--type goes with --holders";
  if (options.sort_option->count() > 0)
    return "--sort goes with --holders (the full-screen view sorts with s)";
  return {};
}

int print_holders(const HoldersOptions& options, const std::string& socket_path,
                  const std::vector<int>& devices, const std::string& format, int loop_ms) {
  HolderQuery query;
  query.group = options.group.empty() ? HolderGroup::kScope : *parse_holder_group(options.group);
  query.sort = *parse_holder_sort(options.sort);
  query.devices = devices;
  query.type = options.type;
  QueryClient client;
  for (bool first = true;; first = false) {
    std::string error;
    std::optional<LeakReport> report;
    if (client.connected() || client.connect(socket_path, &error))
      report = client.leak_report(devices.size() == 1 ? devices.front() : -1, 10000, &error);
    if (!report) {
      std::fprintf(stderr, "allocation_monitor_client: %s\n", error.c_str());
      return 1;
    }
    const HolderTable table = build_holders(*report, query);
    const std::string text = format == "csv"    ? holders_csv(table, first)
                             : format == "json" ? holders_json(table)
                                                : (first ? "" : "\n") + holders_text(table);
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    if (loop_ms <= 0 || !wait_or_stop(loop_ms)) return 0;
  }
}

}  // namespace allocmon::monitor
