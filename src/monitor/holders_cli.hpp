// `allocation_monitor_client --holders [scope|op|site|tensor] [-d N] [-t TYPE] [--sort KEY]`: the holders
// view's table for scripts, once (or every `--loop` MS), as text, `--format csv` or `--format json` (or
// `--json`).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace allocmon::monitor {

struct HoldersOptions {
  std::string group;  // empty after a bare --holders: scope
  std::string type;   // a memory type; empty: all
  std::string sort = "bytes";
  CLI::Option* holders = nullptr;
  CLI::Option* type_option = nullptr;
  CLI::Option* sort_option = nullptr;
  bool requested() const { return holders && holders->count() > 0; }
};

void add_holders_options(CLI::App& app, HoldersOptions& options);
// What is wrong with how -t and --sort are used ("" when nothing): they go with --holders.
std::string holders_usage_error(const HoldersOptions& options);
// Prints the table for `devices` (all when empty) in `format` ("text", "csv", "json"); returns the exit
// status (1 when the server cannot be asked).
int print_holders(const HoldersOptions& options, const std::string& socket_path,
                  const std::vector<int>& devices, const std::string& format, int loop_ms);

}  // namespace allocmon::monitor
