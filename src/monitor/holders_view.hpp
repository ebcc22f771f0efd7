// What holds the memory (docs/monitor.md, "Holders view"): every live buffer the server lists, grouped by the
// scope, op or call site it was allocated in (docs/attribution.md), or into tensors (the buffers one mesh
// allocation placed on each device), on one device or all, for one memory type or all — with the table's text
// at any width. Pure: unit-tested (tests/test_holders.cpp); the full-screen view (holders_tui.cpp) and
// `--holders` (holders_cli.cpp) draw what it builds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "address_map.hpp"
#include "query/query_client.hpp"

namespace allocmon::monitor {

enum class HolderGroup { kScope, kOp, kSite, kTensor, kCount };
enum class HolderSort { kBytes, kName, kBuffers, kCount };

const char* group_name(HolderGroup group);      // "scope", "op", "site", "tensor"
const char* holder_sort_name(HolderSort sort);  // "bytes", "name", "buffers"
std::optional<HolderGroup> parse_holder_group(std::string_view text);
std::optional<HolderSort> parse_holder_sort(std::string_view text);
HolderGroup next_group(HolderGroup group);
HolderSort next_holder_sort(HolderSort sort);

struct HolderQuery {
  HolderGroup group = HolderGroup::kScope;
  HolderSort sort = HolderSort::kBytes;
  std::vector<int> devices;  // empty: every device
  std::string type;          // a memory type's name ("L1"); empty: every type
};

struct HolderRow {
  std::string name;           // the scope path, op or site ("(no scope)" ...); a tensor's "scope op site"
  bool unattributed = false;  // the buffers allocated outside any scope (op, site)
  uint64_t bytes = 0;
  uint64_t buffers = 0;
  std::vector<int> devices;  // the devices it holds bytes on, sorted
  uint64_t most_on_one = 0;  // the largest share one device holds
  // Tensors only: one buffer per device, the same size at the same address, from the same context; `tensor`
  // what the runtime said it holds ("bfloat16 TILE [1, 1, 1024, 1024] DRAM interleaved, replicated").
  std::string scope, op, site, tensor, type;
  uint64_t size = 0, address = 0;
  int pid = 0;
};

struct HolderTable {
  HolderQuery query;
  std::vector<HolderRow> rows;  // sorted by query.sort
  uint64_t bytes = 0;           // of every listed buffer (attributed or not)
  uint64_t buffers = 0;
  uint64_t unattributed_bytes = 0;
  std::vector<int> devices;  // the devices any listed buffer is on
  int64_t time_unix_ms = 0;  // the report's
};

// Groups the report's buffers that pass the query's device and type filters.
HolderTable build_holders(const LeakReport& report, const HolderQuery& query);
void sort_holders(HolderTable& table, HolderSort sort);

// `text` in at most `width` characters, cut on the left (where a scope path is most general):
// ".../decoder.3/attention", at a '/' or ' ' when that keeps enough and more than the last part (and
// `at_boundary`), else at any character ("...er.3/attention").
std::string elide_left(const std::string& text, int width, bool at_boundary = true);

// "holders of L1 on device 3 by scope", "holders of all memory on devices 0-7 by op": what a table shows.
std::string holders_title(const HolderTable& table);

// The table as text lines `width` columns wide (0: no limit, nothing cut): a heading, then a row per holder.
// Numbers first (BYTES, SHARE, BUFFERS, and across devices DEVICES and PER DEVICE, for tensors TYPE and
// DESCRIPTION), the name last, cut on the left; columns are left out, least useful first, where a name would
// get less than 24 columns. `bar` > 0 adds a share bar of that many characters before the name (the
// full-screen view). A tensor's description gets what is left once the names are whole (compact_tensor,
// then cut on the right), or at least 16 columns where the names keep 40; else the bar makes room for it,
// else it is left out (80 columns: the numbers and the name come first).
struct HolderLines {
  std::string heading;
  std::vector<std::string> rows;
  int name_column = 0;  // where the name starts
  int bar = 0;          // the share bar's width, before the name (0: none, or no room for one)
};
HolderLines holder_lines(const HolderTable& table, int width, int bar = 0);

// For scripts (`--holders`): the plain table (title line, heading, rows), CSV (a time column first, so that
// `--loop` samples stay apart; the header when `header`), or one JSON document on one line.
std::string holders_text(const HolderTable& table);
std::string holders_csv(const HolderTable& table, bool header = true);
std::string holders_json(const HolderTable& table);

// The device view's address map labelled by holder (`g`): each column of used memory gets the letter of the
// label (a scope, op or site) holding the most of it — letters by bytes held in the map, 'A' the most; '#'
// beyond 'Z' — and free columns stay as render_strip draws them. `legend`: every lettered label (one too
// small to hold the most of any column has its letter but shows none).
struct LabeledBuffer {
  MappedBuffer buffer;
  std::string label;
};
struct LabeledStrip {
  AddressMap map;
  std::string strip;
  std::vector<std::pair<char, std::string>> legend;  // in letter order
};
LabeledStrip label_strip(const RegionView& region, const std::vector<LabeledBuffer>& buffers, int width);

// A listed buffer's context (scope, op, site: empty where it has none).
const LeakReport::Context& buffer_context(const LeakReport& report, size_t process, size_t buffer);
// A tensor description in fewer characters, for narrow columns: ttnn's words shortened, the defaults (tile
// layout, interleaved) left out ("bfloat16 TILE [8, 384, 1024] DRAM interleaved, sharded dim 0 over 8" ->
// "bf16 [8,384,1024] DRAM dim 0/8"); text it does not know stays as it is.
std::string compact_tensor(const std::string& description);

// The label a buffer of the report gets in a grouping: its scope, op or site ("(no op)" ...).
std::string buffer_label(const LeakReport& report, size_t process, size_t buffer, HolderGroup group);

}  // namespace allocmon::monitor
