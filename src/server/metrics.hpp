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

std::string prometheus_text(const Accounting& accounting, const ServerInfo& info,
                            size_t max_processes = kDefaultMetricsProcessCap);

}  // namespace allocmon::server
