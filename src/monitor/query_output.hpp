// `--query FIELD,... --format csv|json [--loop MS]`: one row per device and memory type, for scripts (in the
// spirit of nvidia-smi --query-gpu).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "snapshot_model.hpp"

namespace allocmon::monitor {

// Every field a query may name, in the order --help lists them.
const std::vector<std::string>& query_fields();
// nullopt (and why) when a field is unknown.
std::optional<std::vector<std::string>> parse_query_fields(const std::string& text, std::string* why);

// CSV: a header line when `header`, then one line per row; JSON: one array of row objects on one line.
std::string query_rows(const Snapshot& snapshot, const std::vector<std::string>& fields, bool csv,
                       const std::vector<int>& devices, bool header);

}  // namespace allocmon::monitor
