// The server's state in the Prometheus text exposition format (version 0.0.4). Pure: no I/O, unit-tested.
#pragma once

#include <string>

#include "accounting.hpp"
#include "snapshot_json.hpp"

namespace allocmon::server {

// Per-process series are capped (label cardinality): the largest `max_processes` holders get their own
// series, the rest are summed under pid="other". 0: none at all, totals only (the default of
// --metrics-address: HTTP cannot say who asks, docs/security.md).
inline constexpr size_t kDefaultMetricsProcessCap = 64;

// The cardinality budget (docs/cluster.md): a 32-chip host with any number of processes stays under these
// many series; tests/test_metrics.cpp checks both with 32 devices and 200 processes.
inline constexpr size_t kSeriesBudgetTotals = 1'500;         // default: totals only
inline constexpr size_t kSeriesBudgetWithProcesses = 4'500;  // --metrics-processes

struct MetricsOptions {
  size_t max_processes = 0;  // see kDefaultMetricsProcessCap
  std::string host;          // the `host` label on every series (--metrics-host-label, else the hostname)
};

std::string prometheus_text(const Accounting& accounting, const ServerInfo& info,
                            const MetricsOptions& options);

// This machine's name for the `host` label (gethostname; "localhost" if it has none).
std::string default_host_label();

}  // namespace allocmon::server
