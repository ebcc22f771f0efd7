#include "holders_view.hpp"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/id_ranges.hpp"
#include "view.hpp"

namespace allocmon::monitor {

namespace {

constexpr const char* kGroupNames[] = {"scope", "op", "site", "tensor"};
constexpr const char* kSortNames[] = {"bytes", "name", "buffers"};

std::string printf_string(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string printf_string(const char* format, ...) {
  char text[256];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  return text;
}

std::string joined(std::initializer_list<const std::string*> parts) {
  std::string out;
  for (const std::string* part : parts)
    if (!part->empty()) out += (out.empty() ? "" : " ") + *part;
  return out;
}

// A buffer's context (scope, op, site); all empty when it has none.
const LeakReport::Context& context_of(const LeakReport& report, const LeakReport::Process& p, size_t i) {
  static const LeakReport::Context none;
  if (i < p.origins.size() && p.origins[i].seq)
    if (auto named = report.contexts.find(p.origins[i].context); named != report.contexts.end())
      return named->second;
  return none;
}

// Its name in a grouping; empty when it has none there.
std::string name_in(const LeakReport::Context& context, HolderGroup group) {
  switch (group) {
    case HolderGroup::kScope:
      return context.scope;
    case HolderGroup::kOp:
      return context.op;
    case HolderGroup::kSite:
      return context.site;
    default:
      return joined({&context.scope, &context.op, &context.site});
  }
}

// A tensor with a description but no scope, op or site.
constexpr const char* kDescribedOnly = "(no scope, op or site)";

std::string unattributed_name(HolderGroup group) {
  return group == HolderGroup::kTensor ? "(unattributed)" : std::string("(no ") + group_name(group) + ")";
}

}  // namespace

const char* group_name(HolderGroup group) {
  const int g = static_cast<int>(group);
  return g >= 0 && g < static_cast<int>(HolderGroup::kCount) ? kGroupNames[g] : "?";
}

const char* holder_sort_name(HolderSort sort) {
  const int s = static_cast<int>(sort);
  return s >= 0 && s < static_cast<int>(HolderSort::kCount) ? kSortNames[s] : "?";
}

std::optional<HolderGroup> parse_holder_group(std::string_view text) {
  for (int g = 0; g < static_cast<int>(HolderGroup::kCount); ++g)
    if (text == kGroupNames[g]) return static_cast<HolderGroup>(g);
  return std::nullopt;
}

std::optional<HolderSort> parse_holder_sort(std::string_view text) {
  for (int s = 0; s < static_cast<int>(HolderSort::kCount); ++s)
    if (text == kSortNames[s]) return static_cast<HolderSort>(s);
  return std::nullopt;
}

HolderGroup next_group(HolderGroup group) {
  return static_cast<HolderGroup>((static_cast<int>(group) + 1) % static_cast<int>(HolderGroup::kCount));
}

HolderSort next_holder_sort(HolderSort sort) {
  return static_cast<HolderSort>((static_cast<int>(sort) + 1) % static_cast<int>(HolderSort::kCount));
}

HolderTable build_holders(const LeakReport& report, const HolderQuery& query) {
  HolderTable table;
  table.query = query;
  struct Held {
    HolderRow row;
    std::map<int, uint64_t> per_device;
  };
  std::map<std::string, Held> held;  // by group key
  std::set<int> devices;
  const HolderGroup group = query.group;
  for (const auto& p : report.processes)
    for (size_t i = 0; i < p.buffers.size(); ++i) {
      const wire::LeakBuffer& b = p.buffers[i];
      if (!query.devices.empty() &&
          std::find(query.devices.begin(), query.devices.end(), b.device_id) == query.devices.end())
        continue;
      const std::string type(wire::memory_type_name(b.memory_type));
      if (!query.type.empty() && type != query.type) continue;
      const LeakReport::Context* context = &context_of(report, p, i);
      std::string name = name_in(*context, group);
      const bool unattributed = name.empty() && (group != HolderGroup::kTensor || context->tensor.empty());
      if (name.empty() && !unattributed) name = kDescribedOnly;
      std::string key;
      if (group == HolderGroup::kTensor)  // one mesh allocation: same process, place, size and context
        key = printf_string("%d %s %" PRIu64 " %" PRIu64 " ", p.pid, type.c_str(), b.address, b.size) +
              context->scope + '\0' + context->op + '\0' + context->site + '\0' + context->tensor;
      else
        key = unattributed ? std::string(1, '\0') : name;  // no name can collide with "none"
      auto [it, fresh] = held.try_emplace(std::move(key));
      HolderRow& row = it->second.row;
      if (fresh) {
        row.unattributed = unattributed;
        row.name = unattributed ? unattributed_name(group) : name;
        if (group == HolderGroup::kTensor) {
          row.scope = context->scope;
          row.op = context->op;
          row.site = context->site;
          row.tensor = context->tensor;
          row.type = type;
          row.size = b.size;
          row.address = b.address;
          row.pid = p.pid;
        }
      }
      row.bytes += b.size;
      ++row.buffers;
      it->second.per_device[b.device_id] += b.size;
      devices.insert(b.device_id);
      table.bytes += b.size;
      ++table.buffers;
      if (unattributed) table.unattributed_bytes += b.size;
    }
  for (auto& [key, h] : held) {
    for (const auto& [device, bytes] : h.per_device) {
      h.row.devices.push_back(device);
      h.row.most_on_one = std::max(h.row.most_on_one, bytes);
    }
    table.rows.push_back(std::move(h.row));
  }
  table.devices.assign(devices.begin(), devices.end());
  table.time_unix_ms = report.time_unix_ms;
  sort_holders(table, query.sort);
  return table;
}

void sort_holders(HolderTable& table, HolderSort sort) {
  table.query.sort = sort;
  std::sort(table.rows.begin(), table.rows.end(), [sort](const HolderRow& a, const HolderRow& b) {
    if (sort == HolderSort::kBytes && a.bytes != b.bytes) return a.bytes > b.bytes;
    if (sort == HolderSort::kBuffers && a.buffers != b.buffers) return a.buffers > b.buffers;
    if (sort == HolderSort::kName && a.unattributed != b.unattributed)
      return b.unattributed;  // "(no ...)" last
    if (a.name != b.name) return a.name < b.name;
    if (a.tensor != b.tensor) return a.tensor < b.tensor;
    if (a.type != b.type) return a.type < b.type;
    if (a.address != b.address) return a.address < b.address;
    return a.pid < b.pid;
  });
}

std::string elide_left(const std::string& text, int width, bool at_boundary) {
  if (width <= 0) return {};
  const size_t w = static_cast<size_t>(width);
  if (text.size() <= w) return text;
  if (w <= 3) return text.substr(text.size() - w);
  const size_t keep = w - 3;
  size_t from = text.size() - keep;
  // At a path or word boundary when that keeps two thirds of the room and more than the last part:
  // ".../decoder.3/attention", not ".../attention" for each of decoder.0-3.
  const size_t boundary = text.find_first_of("/ ", from);
  if (at_boundary && boundary != std::string::npos && 3 * (text.size() - boundary) >= 2 * keep &&
      text.find_first_of("/ ", boundary + 1) != std::string::npos)
    return "..." + text.substr(boundary);
  while (from < text.size() && (static_cast<unsigned char>(text[from]) & 0xC0) == 0x80) ++from;  // UTF-8
  return "..." + text.substr(from);
}

std::string holders_title(const HolderTable& table) {
  const auto& q = table.query;
  const std::string what = q.type.empty() ? "memory" : q.type;
  const std::string where = q.devices.size() == 1 ? "device " + std::to_string(q.devices[0])
                            : q.devices.empty()   ? std::string("all devices")
                                                  : "devices " + id_ranges(q.devices);
  return printf_string("What holds %s on %s: %s in %" PRIu64 " buffers", what.c_str(), where.c_str(),
                       format_bytes(table.bytes).c_str(), table.buffers);
}

std::string compact_tensor(const std::string& description) {
  std::string out;
  int depth = 0;
  for (size_t i = 0; i < description.size(); ++i) {  // "[1, 1, 32, 64]" -> "[1,1,32,64]"
    const char c = description[i];
    depth += c == '[' ? 1 : c == ']' && depth > 0 ? -1 : 0;
    if (!(depth > 0 && c == ' ' && i > 0 && description[i - 1] == ',')) out += c;
  }
  static constexpr std::pair<std::string_view, std::string_view> kShorter[] = {
      {"bfloat16", "bf16"},      {"bfloat8_b", "bf8b"}, {"bfloat4_b", "bf4b"}, {"float32", "fp32"},
      {" TILE ", " "},           {"ROW_MAJOR", "RM"},   {" interleaved", ""},  {", sharded dim ", " dim "},
      {", replicated", " repl"}, {" over ", "/"},
  };
  for (const auto& [from, to] : kShorter)
    for (size_t at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size()))
      out.replace(at, from.size(), to);
  return out;
}

namespace {

// `text` in at most `width` columns, cut on the right, after a word where that keeps two thirds of the room
// ("bf16 [8,384,1024]...").
std::string cut_right(const std::string& text, int width) {
  if (width <= 0) return {};
  if (static_cast<int>(text.size()) <= width) return text;
  if (width <= 3) return text.substr(0, static_cast<size_t>(width));
  size_t keep = static_cast<size_t>(width - 3);
  if (const size_t space = text.rfind(' ', keep); space != std::string::npos && 3 * space >= 2 * keep)
    keep = space;
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;  // whole UTF-8
  return text.substr(0, keep) + "...";
}

// A tensor's name in `width` columns, the most that fits of: all of it; the scope (cut on the left, at least
// 16 columns of it) with the op and site; the scope with the site; the op and site; the end of it.
std::string tensor_name(const HolderRow& row, int width, bool at_boundary) {
  if (static_cast<int>(row.name.size()) <= width || row.scope.empty())
    return elide_left(row.name, width, at_boundary);
  for (const std::string& tail : {joined({&row.op, &row.site}), row.site}) {
    if (tail.empty()) continue;
    const int room = width - static_cast<int>(tail.size()) - 1;
    if (room >= std::min<int>(16, static_cast<int>(row.scope.size())))
      return elide_left(row.scope, room, at_boundary) + " " + tail;
  }
  const std::string tail = joined({&row.op, &row.site});
  return elide_left(tail.empty() ? row.name : tail, width, at_boundary);
}

}  // namespace

HolderLines holder_lines(const HolderTable& table, int width, int bar) {
  struct Column {
    std::string heading;
    int width;
    bool left;
    int drop;  // the order columns are left out in (1 first); 0 never
    std::function<std::string(const HolderTable&, const HolderRow&)> cell;
  };
  const bool across = table.devices.size() > 1;
  const HolderSort sort = table.query.sort;
  auto heading = [&](const char* name, HolderSort key) {
    return (sort == key ? "*" : "") + std::string(name);
  };
  std::vector<Column> columns;
  columns.push_back({heading("BYTES", HolderSort::kBytes), 10, false, 0,
                     [](const HolderTable&, const HolderRow& r) { return format_bytes(r.bytes); }});
  columns.push_back({"SHARE", 6, false, 1, [](const HolderTable& t, const HolderRow& r) {
                       return printf_string("%.1f%%", t.bytes ? 100.0 * static_cast<double>(r.bytes) /
                                                                    static_cast<double>(t.bytes)
                                                              : 0.0);
                     }});
  columns.push_back({heading("BUFFERS", HolderSort::kBuffers), 8, false, 5,
                     [](const HolderTable&, const HolderRow& r) { return std::to_string(r.buffers); }});
  if (across) {
    int devices_width = 7;
    for (const auto& r : table.rows)
      devices_width = std::max(devices_width, static_cast<int>(id_ranges(r.devices).size()));
    columns.push_back(
        {"DEVICES", std::min(devices_width, 12), true, 2, [](const HolderTable&, const HolderRow& r) {
           const std::string ranges = id_ranges(r.devices);
           return ranges.size() <= 12 ? ranges : std::to_string(r.devices.size()) + " devices";
         }});
    columns.push_back({"PER DEVICE", 10, false, 3,
                       [](const HolderTable&, const HolderRow& r) { return format_bytes(r.most_on_one); }});
  }
  if (table.query.group == HolderGroup::kTensor && table.query.type.empty())
    columns.push_back({"TYPE", 8, true, 4, [](const HolderTable&, const HolderRow& r) { return r.type; }});
  std::string name_heading =
      table.query.group == HolderGroup::kTensor ? "TENSOR (SCOPE OP SITE)" : group_name(table.query.group);
  std::transform(name_heading.begin(), name_heading.end(), name_heading.begin(), ::toupper);
  if (sort == HolderSort::kName) name_heading = "*" + name_heading;

  // Leave columns out, least useful first, while the name would get less than 24 columns (a tensor's, of
  // scope, op and site, 40).
  const int kNameRoom = table.query.group == HolderGroup::kTensor ? 40 : 24;
  auto used = [&] {
    int sum = bar > 0 ? bar + 1 : 0;
    for (const auto& c : columns) sum += c.width + 1;
    return sum;
  };
  if (width > 0) {
    if (width - used() < kNameRoom) bar = 0;
    for (int drop = 1; drop <= 5 && width - used() < kNameRoom; ++drop)
      columns.erase(
          std::remove_if(columns.begin(), columns.end(), [&](const Column& c) { return c.drop == drop; }),
          columns.end());
  }
  const bool tensor = table.query.group == HolderGroup::kTensor;
  // A tensor's description, in a column of its own after the numbers (header comment).
  std::vector<std::string> described(table.rows.size());
  if (tensor && std::any_of(table.rows.begin(), table.rows.end(),
                            [](const HolderRow& r) { return !r.tensor.empty(); })) {
    constexpr int kDescriptionRoom = 16;
    int full = 11, compact = 11, name = 0;  // at least the heading's width
    for (const auto& r : table.rows) {
      full = std::max(full, static_cast<int>(r.tensor.size()));
      compact = std::max(compact, static_cast<int>(compact_tensor(r.tensor).size()));
      name = std::max(name, static_cast<int>(r.name.size()));
    }
    int column = 0;
    bool shorter = false;
    auto fit = [&](int room) {             // room for the description and the name, a space between them
      const int beside = room - name - 1;  // with every name whole
      if (beside >= full) {
        column = full;
      } else if (beside >= compact) {
        column = compact, shorter = true;
      } else if (std::max(beside, room - kNameRoom - 1) >= kDescriptionRoom) {
        column = std::min(compact, std::max(beside, room - kNameRoom - 1)), shorter = true;
      }
      return column > 0;
    };
    if (width <= 0)
      column = full;
    else if (!fit(width - used()) && bar > 0) {
      bar = 0;  // the description before the share bar
      fit(width - used());
    }
    if (column > 0) {
      for (size_t i = 0; i < table.rows.size(); ++i)
        described[i] =
            width <= 0
                ? table.rows[i].tensor
                : cut_right(shorter ? compact_tensor(table.rows[i].tensor) : table.rows[i].tensor, column);
      columns.push_back({"DESCRIPTION", column, true, 0, [&](const HolderTable& t, const HolderRow& r) {
                           return described[static_cast<size_t>(&r - t.rows.data())];
                         }});
    }
  }
  HolderLines out;
  out.name_column = used();
  out.bar = bar;
  const int name_width = width > 0 ? width - out.name_column : 0;
  // Names as they fit; where two different names would read the same, cut anywhere rather than at a '/'.
  std::vector<std::string> shown(table.rows.size());
  if (width > 0) {
    auto fitted = [&](const HolderRow& r, bool at_boundary) {
      return tensor ? tensor_name(r, name_width, at_boundary) : elide_left(r.name, name_width, at_boundary);
    };
    std::map<std::string, std::set<std::string>> full_names;  // shown -> the names that read so
    for (size_t i = 0; i < table.rows.size(); ++i) {
      shown[i] = fitted(table.rows[i], true);
      full_names[shown[i]].insert(table.rows[i].name);
    }
    for (size_t i = 0; i < table.rows.size(); ++i)
      if (full_names[shown[i]].size() > 1) shown[i] = fitted(table.rows[i], false);
  }
  auto line = [&](auto&& text_of, const HolderRow* row, const std::string& name, double share) {
    std::string text;
    for (const auto& c : columns) {
      std::string cell = text_of(c);
      if (static_cast<int>(cell.size()) > c.width) cell = cell.substr(0, static_cast<size_t>(c.width));
      const std::string pad(static_cast<size_t>(c.width) - cell.size(), ' ');
      text += (c.left ? cell + pad : pad + cell) + " ";
    }
    if (bar > 0) {
      if (share < 0) {
        text += std::string(static_cast<size_t>(bar), ' ') + " ";
      } else {
        int filled = static_cast<int>(share * bar + 0.5);
        if (filled == 0 && share > 0) filled = 1;
        text += std::string(static_cast<size_t>(filled), '|') +
                std::string(static_cast<size_t>(bar - filled), '.') + " ";
      }
    }
    if (width <= 0)
      text += name;
    else
      text += row ? shown[static_cast<size_t>(row - table.rows.data())] : elide_left(name, name_width);
    return text;
  };
  out.heading = line([](const Column& c) { return c.heading; }, nullptr, name_heading, -1);
  for (const auto& r : table.rows)
    out.rows.push_back(
        line([&](const Column& c) { return c.cell(table, r); }, &r, r.name,
             table.bytes ? static_cast<double>(r.bytes) / static_cast<double>(table.bytes) : 0));
  return out;
}

LabeledStrip label_strip(const RegionView& region, const std::vector<LabeledBuffer>& buffers, int width) {
  LabeledStrip out;
  std::vector<MappedBuffer> mapped;
  for (const auto& b : buffers) mapped.push_back(b.buffer);
  out.map = build_address_map(region, mapped);
  out.strip = render_strip(out.map, width);
  if (out.strip.empty()) return out;
  std::map<std::string, uint64_t> held;
  for (const auto& b : buffers) held[b.label] += b.buffer.size;
  std::vector<std::pair<std::string, uint64_t>> ranked(held.begin(), held.end());
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  constexpr int kLetters = 26;
  std::map<std::string, int> letter;
  for (size_t i = 0; i < ranked.size() && i < kLetters; ++i) letter[ranked[i].first] = static_cast<int>(i);
  // Bytes of each label in each column (kLetters: the labels without a letter of their own).
  const AddressMap& map = out.map;
  const double span = static_cast<double>(map.end - map.base);
  auto column = [&](uint64_t address) {
    return std::clamp(static_cast<int>(static_cast<double>(address - map.base) / span * width), 0, width - 1);
  };
  std::vector<std::map<int, uint64_t>> cover(static_cast<size_t>(width));
  for (const auto& b : buffers) {
    const uint64_t start = std::clamp(b.buffer.address, map.base, map.end);
    const uint64_t end = std::clamp(b.buffer.address + block_per_bank(region, b.buffer), map.base, map.end);
    if (end <= start) continue;
    const auto found = letter.find(b.label);
    const int index = found == letter.end() ? kLetters : found->second;
    for (int c = column(start); c <= column(end - 1); ++c) {
      const double lo = static_cast<double>(map.base) + span * c / width;
      const double hi = static_cast<double>(map.base) + span * (c + 1) / width;
      const double overlap =
          std::min(static_cast<double>(end), hi) - std::max(static_cast<double>(start), lo);
      cover[static_cast<size_t>(c)][index] +=
          std::max<uint64_t>(1, static_cast<uint64_t>(std::max(0.0, overlap)));
    }
  }
  for (size_t c = 0; c < out.strip.size(); ++c) {
    if (out.strip[c] != '#' || cover[c].empty()) continue;
    const auto best = std::max_element(cover[c].begin(), cover[c].end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
    if (best->first < kLetters) out.strip[c] = static_cast<char>('A' + best->first);
  }
  for (size_t i = 0; i < ranked.size() && i < kLetters; ++i)  // every lettered label, shown or too small
    out.legend.emplace_back(static_cast<char>('A' + i), ranked[i].first);
  return out;
}

const LeakReport::Context& buffer_context(const LeakReport& report, size_t process, size_t buffer) {
  static const LeakReport::Context none;
  return process < report.processes.size() ? context_of(report, report.processes[process], buffer) : none;
}

std::string buffer_label(const LeakReport& report, size_t process, size_t buffer, HolderGroup group) {
  const std::string name = name_in(buffer_context(report, process, buffer), group);
  return name.empty() ? unattributed_name(group) : name;
}

std::string holders_text(const HolderTable& table) {
  std::string out = holders_title(table) + ", by " + group_name(table.query.group) + " (sorted by " +
                    holder_sort_name(table.query.sort) + ")\n";
  if (table.rows.empty()) return out + "(no buffers listed)\n";
  const HolderLines lines = holder_lines(table, 0);
  out += lines.heading + "\n";
  for (const auto& r : lines.rows) out += r + "\n";
  return out;
}

namespace {

std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

std::string holders_csv(const HolderTable& table, bool header) {
  const bool tensor = table.query.group == HolderGroup::kTensor;
  std::string out;
  if (header) {
    out = std::string("time,") + group_name(table.query.group) + ",bytes,buffers,devices,most_on_one_device";
    out += tensor ? ",description,scope,op,site,type,size,address,pid\n" : "\n";
  }
  for (const auto& r : table.rows) {
    out += std::to_string(table.time_unix_ms) + "," + csv_cell(r.unattributed ? "" : r.name) + "," +
           std::to_string(r.bytes) + "," + std::to_string(r.buffers) + "," + csv_cell(id_ranges(r.devices)) +
           "," + std::to_string(r.most_on_one);
    if (tensor)
      out += "," + csv_cell(r.tensor) + "," + csv_cell(r.scope) + "," + csv_cell(r.op) + "," +
             csv_cell(r.site) + "," + r.type + "," + std::to_string(r.size) + "," +
             std::to_string(r.address) + "," + std::to_string(r.pid);
    out += "\n";
  }
  return out;
}

std::string holders_json(const HolderTable& table) {
  using nlohmann::ordered_json;
  const bool tensor = table.query.group == HolderGroup::kTensor;
  ordered_json rows = ordered_json::array();
  for (const auto& r : table.rows) {
    ordered_json row = {{"name", r.unattributed ? "" : r.name},
                        {"bytes", r.bytes},
                        {"buffers", r.buffers},
                        {"devices", r.devices},
                        {"most_on_one_device", r.most_on_one}};
    if (tensor) {
      row["description"] = r.tensor;
      row["scope"] = r.scope;
      row["op"] = r.op;
      row["site"] = r.site;
      row["type"] = r.type;
      row["size"] = r.size;
      row["address"] = r.address;
      row["pid"] = r.pid;
    }
    rows.push_back(std::move(row));
  }
  const auto& q = table.query;
  ordered_json doc = {{"schema", "allocmon.holders/1"},
                      {"time_unix_ms", table.time_unix_ms},
                      {"by", group_name(q.group)},
                      {"sort", holder_sort_name(q.sort)},
                      {"devices", q.devices.empty() ? ordered_json(nullptr) : ordered_json(q.devices)},
                      {"type", q.type.empty() ? ordered_json(nullptr) : ordered_json(q.type)},
                      {"bytes", table.bytes},
                      {"buffers", table.buffers},
                      {"unattributed_bytes", table.unattributed_bytes},
                      {"rows", std::move(rows)}};
  return doc.dump(-1, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace allocmon::monitor
