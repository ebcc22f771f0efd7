#include "diff.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "common/id_ranges.hpp"
#include "common/sqlite.hpp"
#include "format.hpp"

namespace allocmon::report {

namespace {

// The events row a mark follows (the latest mark of that name), or throws with the names there are.
int64_t mark_position(sqlite3* db, const std::string& path, const std::string& name) {
  if (!sqlite::has_column(db, "events", "context"))
    throw std::runtime_error(path + " was recorded before marks existed (no attribution in it)");
  sqlite::Statement st(db,
                       "SELECT COALESCE(after_seq, 0) FROM marks WHERE name=? ORDER BY rowid DESC LIMIT 1",
                       path + " is not an allocmon recording");
  st.bind(1, name.c_str());
  if (st.step()) return st.integer(0);
  std::string names;
  sqlite::Statement all(db, "SELECT DISTINCT name FROM marks ORDER BY rowid");
  while (all.step()) names += (names.empty() ? "" : ", ") + all.text(0);
  throw std::runtime_error("no mark named '" + name + "' in " + path +
                           " (marks: " + (names.empty() ? "none" : names) + ")");
}

}  // namespace

std::string diff_text(const std::string& path, const std::string& first, const std::string& second) {
  const sqlite::Database db = sqlite::open_readonly(path);
  const int64_t from = mark_position(db.get(), path, first);
  const int64_t to = mark_position(db.get(), path, second);
  // An alloc is still alive at the end when no later free or reclaim of the same client's buffer follows.
  // Recordings made before tensor descriptions have no contexts.tensor: grouped without it.
  const std::string tensor =
      sqlite::has_column(db.get(), "contexts", "tensor") ? "COALESCE(c.tensor,'')" : "''";
  sqlite::Statement st(
      db.get(), ("SELECT COALESCE(c.scope,''), COALESCE(c.op,''), COALESCE(c.site,''), e.device, e.type, "
                 "SUM(e.size), COUNT(*), " +
                 tensor +
                 " FROM events e LEFT JOIN contexts c ON c.id = e.context "
                 "WHERE e.kind='alloc' AND e.seq > ? AND e.seq <= ? AND NOT EXISTS (SELECT 1 FROM events f "
                 "WHERE f.seq > e.seq AND f.client = e.client AND f.device = e.device AND "
                 "f.buffer_id = e.buffer_id AND f.kind IN ('free','reclaim')) "
                 "GROUP BY 1, 2, 3, 8, 4, 5")
                    .c_str());
  st.bind(1, from).bind(2, to);
  struct Row {
    uint64_t bytes = 0, buffers = 0;
    std::map<int, uint64_t> per_device;
    std::map<std::string, uint64_t> per_type;
  };
  using Key = std::tuple<std::string, std::string, std::string, std::string>;  // scope, op, site, tensor
  std::map<Key, Row> rows;
  while (st.step()) {
    Row& row = rows[{st.text(0), st.text(1), st.text(2), st.text(7)}];
    const auto bytes = static_cast<uint64_t>(st.integer(5));
    row.bytes += bytes;
    row.buffers += static_cast<uint64_t>(st.integer(6));
    row.per_device[static_cast<int>(st.integer(3))] += bytes;
    row.per_type[st.text(4)] += bytes;
  }
  std::vector<std::pair<const Key*, const Row*>> order;
  for (const auto& [key, row] : rows) order.emplace_back(&key, &row);
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a.second->bytes > b.second->bytes; });

  std::string out = "Allocated after mark '" + first + "', up to mark '" + second +
                    "', and still alive at the end of " + path + ":\n";
  if (order.empty()) return out + "  nothing\n";
  for (const auto& [key, row] : order) {
    const auto& [scope, op, site, described] = *key;
    std::vector<int> devices;
    for (const auto& [device, bytes] : row->per_device) devices.push_back(device);
    std::string types;
    for (const auto& [type, bytes] : row->per_type)
      types += (types.empty() ? "" : ", ") + type + " " + human_bytes(static_cast<double>(bytes));
    out += "  " + human_bytes(static_cast<double>(row->bytes)) + " in " + std::to_string(row->buffers) +
           (row->buffers == 1 ? " buffer" : " buffers") + " on devices " + id_ranges(devices) + " (" + types +
           ")\n    scope " + (scope.empty() ? "-" : scope) + "  op " + (op.empty() ? "-" : op) + "  site " +
           (site.empty() ? "-" : site) + "\n";
    if (!described.empty()) out += "    tensor " + described + "\n";
  }
  return out;
}

}  // namespace allocmon::report
