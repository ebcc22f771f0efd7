#include "replayer.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace allocmon::replay {

using mesh::BufferType;

namespace {

Architecture target_architecture(const Target& target) {
  const Architecture* base = find_architecture(target.architecture);
  if (!base)
    throw std::invalid_argument("unknown architecture '" + target.architecture +
                                "' (wormhole_b0, blackhole)");
  Architecture arch = *base;
  if (target.grid) {
    arch.grid_x = target.grid->first;
    arch.grid_y = target.grid->second;
  }
  return arch;
}

const BufferType kTypes[] = {BufferType::DRAM, BufferType::L1, BufferType::L1_SMALL, BufferType::TRACE};

// Ids come from hand-written traces and names from recordings: bytes that are not UTF-8 are replaced, not
// fatal.
std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string type_name(BufferType t) {
  return std::string(mesh::buffer_type_name(t));
}

}  // namespace

Replayer::Replayer(const Target& target, bool check_recorded_addresses)
    : target_(target),
      check_recorded_(check_recorded_addresses),
      memory_(target_architecture(target), mesh::MemoryOptions{target.l1_small, target.trace_region}) {}

std::string Replayer::describe_target() const {
  const auto& a = memory_.architecture();
  return a.name + " (grid " + std::to_string(a.grid_x) + "x" + std::to_string(a.grid_y) + ", " +
         std::to_string(a.l1_banks()) + " L1 banks, " + std::to_string(a.dram_banks) +
         " DRAM banks, l1_small=" + std::to_string(target_.l1_small) +
         ", trace=" + std::to_string(target_.trace_region) + ")";
}

void Replayer::record_peaks(int64_t line) {
  for (const auto& [type, bytes] : requested_) {
    auto peak = summary_.peak_requested.find(type);
    if (bytes > 0 && (peak == summary_.peak_requested.end() || bytes > peak->second)) {
      summary_.peak_requested[type] = bytes;
      summary_.peak_requested_line[type] = line;
    }
  }
  for (BufferType t : kTypes) {
    const mesh::BankAllocator* a = memory_.allocator(t);
    if (!a || (t == BufferType::TRACE && target_.trace_region == 0)) continue;
    const uint64_t footprint = a->stats().allocated * a->banks();
    auto peak = summary_.peak_bytes.find(t);
    if (footprint > 0 && (peak == summary_.peak_bytes.end() || footprint > peak->second)) {
      summary_.peak_bytes[t] = footprint;
      summary_.peak_line[t] = line;
    }
  }
  const uint64_t largest = memory_.allocator(BufferType::L1)->stats().largest_free_block;
  if (!summary_.lowest_l1_largest_free || largest < *summary_.lowest_l1_largest_free) {
    summary_.lowest_l1_largest_free = largest;
    summary_.lowest_l1_line = line;
  }
}

void Replayer::record_failure(const Command& command, const std::string& message) {
  failed_[command.id] = command.kind == Command::kCircularBuffers;
  if (summary_.first_oom_line) return;
  summary_.first_oom_line = command.line;
  summary_.first_oom_message = message;
  for (const auto& [id, buffer] : live_) summary_.live_at_first_oom.push_back(buffer);
  // In the order they were allocated: the run's own timeline.
  std::sort(summary_.live_at_first_oom.begin(), summary_.live_at_first_oom.end(),
            [](const LiveBuffer& a, const LiveBuffer& b) { return a.line < b.line; });
}

LineResult Replayer::apply(const Command& command) {
  LineResult r{LineResult::kStats, &command};
  switch (command.kind) {
    case Command::kAlloc: {
      if (live_.count(command.id)) {
        r.outcome = LineResult::kDuplicateId;
        return r;
      }
      mesh::BankAllocator* a = memory_.allocator(command.type);
      uint64_t size = command.size, page_size = command.page_size;
      if (page_size == 0) {
        // Unknown page size: pages of the type's alignment, which spreads the buffer evenly over the banks.
        const auto& arch = memory_.architecture();
        page_size = command.type == BufferType::L1 || command.type == BufferType::L1_SMALL
                        ? arch.l1_alignment
                        : arch.dram_alignment;
        size = (size + page_size - 1) / page_size * page_size;
        r.page_size_assumed = true;
        ++summary_.page_sizes_assumed;
      }
      auto refused = [&](const char* why) {
        r.outcome = LineResult::kOutOfMemory;
        r.message = why;
        ++summary_.out_of_memory;
        record_failure(command, r.message);
      };
      try {
        if (!a)
          throw mesh::OutOfMemory(
              "Out of Memory: the " + type_name(command.type) +
              " region has size 0 on this target (set l1_small= / trace= on the arch line)");
        r.placement = a->allocate(size, page_size, command.bottom_up, command.shards);
        r.outcome = LineResult::kPlaced;
        live_[command.id] = {command.id,          command.type, command.size, r.placement.block_per_bank,
                             r.placement.address, command.line};
        failed_.erase(command.id);
        requested_[command.type] += command.size;
        record_peaks(command.line);
        if (check_recorded_ && command.recorded_address) {
          ++summary_.recorded_checked;
          r.recorded_mismatch = *command.recorded_address != r.placement.address;
          if (!r.recorded_mismatch)
            ++summary_.recorded_matched;
          else if (!summary_.first_mismatch_line)
            summary_.first_mismatch_line = command.line;
        }
      } catch (const mesh::OutOfMemory& e) {
        refused(e.what());
      } catch (const std::invalid_argument& e) {  // e.g. sharded over more cores than the target has
        refused(e.what());
      }
      return r;
    }
    case Command::kCircularBuffers: {
      if (cbs_.count(command.id) || live_.count(command.id)) {
        r.outcome = LineResult::kDuplicateId;
        return r;
      }
      if (auto conflict = memory_.circular_buffer_conflict(command.size, command.id)) {
        r.outcome = LineResult::kCbClash;
        r.message = *conflict;
        ++summary_.cb_clashes;
        record_failure(command, r.message);
        return r;
      }
      r.outcome = LineResult::kCircularBuffers;
      r.placement.address = memory_.architecture().l1_base;
      r.cb_region_end = memory_.circular_buffer_end(command.size);
      cbs_[command.id] = command.size;
      failed_.erase(command.id);
      if (command.size > summary_.peak_cb_bytes) {
        summary_.peak_cb_bytes = command.size;
        summary_.peak_cb_line = command.line;
      }
      return r;
    }
    case Command::kFree: {
      if (auto cb = cbs_.find(command.id); cb != cbs_.end()) {
        r.outcome = LineResult::kFreed;
        r.freed_cbs = true;
        r.size = cb->second;
        cbs_.erase(cb);
        return r;
      }
      auto it = live_.find(command.id);
      if (it == live_.end()) {
        auto failed = failed_.find(command.id);
        r.outcome = failed != failed_.end() ? LineResult::kSkippedFree : LineResult::kUnknownFree;
        r.freed_cbs = failed != failed_.end() && failed->second;
        if (failed != failed_.end()) failed_.erase(failed);
        return r;
      }
      const LiveBuffer buffer = it->second;
      live_.erase(it);
      // The same address in every bank: free it from the allocator that placed it.
      memory_.allocator(buffer.type)->deallocate(buffer.address);
      requested_[buffer.type] -= buffer.size;
      r.outcome = LineResult::kFreed;
      r.size = buffer.size;
      r.freed_type = buffer.type;
      r.placement.block_per_bank = buffer.block_per_bank;
      return r;
    }
    case Command::kStats: {
      const mesh::BankAllocator* a = memory_.allocator(command.type);
      if (a) r.stats = a->stats();
      return r;
    }
  }
  return r;
}

std::string format_line(const LineResult& r) {
  const Command& c = *r.command;
  const std::string where = "L" + std::to_string(c.line) + " ";
  switch (r.outcome) {
    case LineResult::kPlaced: {
      std::string text = where + "alloc " + c.id + " " + type_name(c.type) + " " + std::to_string(c.size) +
                         " -> address " + std::to_string(r.placement.address) + " (" +
                         std::to_string(r.placement.bytes_per_bank) + " B in each of " +
                         std::to_string(r.placement.banks) + " banks" +
                         (r.placement.block_per_bank != r.placement.bytes_per_bank
                              ? ", a block of " + std::to_string(r.placement.block_per_bank) + " B"
                              : "") +
                         ")";
      if (r.page_size_assumed) text += " [page size unknown: spread evenly]";
      if (r.recorded_mismatch) text += " [recorded at " + std::to_string(*c.recorded_address) + "]";
      return text;
    }
    case LineResult::kCircularBuffers:
      return where + "cb " + c.id + " " + std::to_string(c.size) + " -> L1 " +
             std::to_string(r.placement.address) + ".." + std::to_string(r.cb_region_end) + " per core";
    case LineResult::kCbClash:
      return where + "cb " + c.id + " " + std::to_string(c.size) + " -> " + r.message;
    case LineResult::kOutOfMemory:
      return where + "alloc " + c.id + " " + type_name(c.type) + " " + std::to_string(c.size) + " -> " +
             r.message;
    case LineResult::kDuplicateId:
      return where + "alloc " + c.id + " -> id already live (ignored)";
    case LineResult::kFreed:
      if (r.freed_cbs)
        return where + "free " + c.id + " -> released " + std::to_string(r.size) + " B of CBs per core";
      return where + "free " + c.id + " -> freed " + std::to_string(r.size) + " B of " +
             type_name(r.freed_type);
    case LineResult::kUnknownFree:
      return where + "free " + c.id + " -> unknown id (never allocated or already freed; ignored)";
    case LineResult::kSkippedFree:
      return where + "free " + c.id +
             (r.freed_cbs ? " -> skipped (its circular buffers were refused)"
                          : " -> skipped (its allocation ran out of memory)");
    case LineResult::kStats: {
      const auto& s = r.stats;
      return where + "stats " + type_name(c.type) + " -> allocatable " + std::to_string(s.total) +
             " allocated " + std::to_string(s.allocated) + " free " + std::to_string(s.free) +
             " largest_free_block " + std::to_string(s.largest_free_block) + " lowest_occupied " +
             (s.lowest_occupied ? std::to_string(*s.lowest_occupied) : std::string("none")) + " (per bank)";
    }
  }
  return where;
}

std::string format_line_json(const LineResult& r) {
  const Command& c = *r.command;
  static const char* names[] = {"placed",       "out_of_memory", "freed", "unknown_free", "skipped_free",
                                "duplicate_id", "stats",         "cb",    "cb_clash"};
  nlohmann::json j = {{"line", c.line}, {"result", names[r.outcome]}};
  if (c.kind != Command::kStats) j["id"] = c.id;
  if (c.kind == Command::kAlloc) {
    j["type"] = type_name(c.type);
    j["size"] = c.size;
    j["page_size"] = c.page_size;
    if (c.shards) j["shards"] = c.shards;
    if (c.recorded_address) j["recorded_address"] = *c.recorded_address;
  }
  if (c.kind == Command::kCircularBuffers) {
    j["type"] = "CB";
    j["size"] = c.size;
  }
  if (r.outcome == LineResult::kPlaced) {
    j["address"] = r.placement.address;
    j["bytes_per_bank"] = r.placement.bytes_per_bank;  // tt-metal's aligned_size_per_bank()
    j["block_per_bank"] = r.placement.block_per_bank;  // what the free list reserves
    j["banks"] = r.placement.banks;
    if (r.page_size_assumed) j["page_size_assumed"] = true;
  }
  if (r.outcome == LineResult::kCircularBuffers) {
    j["address"] = r.placement.address;
    j["region_end"] = r.cb_region_end;
  }
  if (r.outcome == LineResult::kOutOfMemory || r.outcome == LineResult::kCbClash) j["message"] = r.message;
  if (r.outcome == LineResult::kFreed) {
    j["type"] = r.freed_cbs ? "CB" : type_name(r.freed_type);
    j["size"] = r.size;
  }
  if (r.outcome == LineResult::kStats) {
    j["type"] = type_name(c.type);
    j["allocatable"] = r.stats.total;
    j["allocated"] = r.stats.allocated;
    j["free"] = r.stats.free;
    j["largest_free_block"] = r.stats.largest_free_block;
    j["lowest_occupied"] =
        r.stats.lowest_occupied ? nlohmann::json(*r.stats.lowest_occupied) : nlohmann::json();
  }
  return dump(j);
}

std::string format_summary(const Replayer& replayer, const std::vector<std::string>& notes) {
  const Summary& s = replayer.summary();
  std::string out = "Summary for " + replayer.describe_target() + ":\n";
  for (BufferType type : kTypes) {
    const auto requested = s.peak_requested.find(type);
    const auto reserved = s.peak_bytes.find(type);
    if (requested == s.peak_requested.end() && reserved == s.peak_bytes.end()) continue;
    out += "  peak " + type_name(type) + ":";
    if (requested != s.peak_requested.end())
      out += " " + std::to_string(requested->second) + " B of buffers at line " +
             std::to_string(s.peak_requested_line.at(type));
    if (reserved != s.peak_bytes.end())
      out += (requested != s.peak_requested.end() ? "; " : " ") + std::to_string(reserved->second) +
             " B reserved over all banks at line " + std::to_string(s.peak_line.at(type));
    else
      out += " (placed in DRAM: no region of its own on this target)";
    out += "\n";
  }
  if (s.peak_cb_bytes)
    out += "  peak CB: " + std::to_string(s.peak_cb_bytes) + " B per core at line " +
           std::to_string(s.peak_cb_line) + "\n";
  if (s.lowest_l1_largest_free)
    out += "  lowest L1 largest free block: " + std::to_string(*s.lowest_l1_largest_free) +
           " B per bank at line " + std::to_string(s.lowest_l1_line) + "\n";
  if (s.recorded_checked) {
    out += "  recorded addresses reproduced: " + std::to_string(s.recorded_matched) + " of " +
           std::to_string(s.recorded_checked);
    if (s.first_mismatch_line)
      out += " (first difference at line " + std::to_string(*s.first_mismatch_line) + ")";
    out += "\n";
  }
  if (s.page_sizes_assumed)
    out += "  page size unknown for " + std::to_string(s.page_sizes_assumed) +
           " allocation(s): spread evenly over the banks (not reported by the runtime)\n";
  for (const auto& note : notes) out += "  note: " + note + "\n";
  if (s.fits()) {
    out += "  result: fits\n";
  } else {
    out += "  result: DOES NOT FIT (" + std::to_string(s.out_of_memory) + " allocation(s) out of memory, " +
           std::to_string(s.cb_clashes) + " CB clash(es)); first at line " +
           std::to_string(*s.first_oom_line) + ": " + s.first_oom_message + "\n";
    const size_t n = s.live_at_first_oom.size();
    if (n == 0) {
      out += "  nothing else was live at the first failure\n";
    } else {
      out += "  live at the first failure (" + std::to_string(n) + (n == 1 ? " buffer" : " buffers") + "):\n";
      for (const auto& b : s.live_at_first_oom)  // one a line: a long list stays readable
        out += "    " + b.id + " (" + type_name(b.type) + ", " + std::to_string(b.size) + " B, line " +
               std::to_string(b.line) + ")\n";
    }
  }
  return out;
}

std::string format_summary_json(const Replayer& replayer, const std::vector<std::string>& notes) {
  const Summary& s = replayer.summary();
  nlohmann::json peaks = nlohmann::json::object();
  for (const auto& [type, bytes] : s.peak_bytes)
    peaks[type_name(type)] = {{"bytes", bytes}, {"line", s.peak_line.at(type)}};
  for (const auto& [type, bytes] : s.peak_requested) {
    peaks[type_name(type)]["requested"] = bytes;
    peaks[type_name(type)]["requested_line"] = s.peak_requested_line.at(type);
  }
  nlohmann::json live = nlohmann::json::array();
  for (const auto& b : s.live_at_first_oom)
    live.push_back({{"id", b.id}, {"type", type_name(b.type)}, {"size", b.size}, {"line", b.line}});
  nlohmann::json j = {{"summary", replayer.describe_target()},
                      {"fits", s.fits()},
                      {"peaks", peaks},
                      {"out_of_memory", s.out_of_memory},
                      {"cb_clashes", s.cb_clashes}};
  if (s.peak_cb_bytes) j["peak_cb_per_core"] = {{"bytes", s.peak_cb_bytes}, {"line", s.peak_cb_line}};
  if (s.lowest_l1_largest_free)
    j["lowest_l1_largest_free_block"] = {{"bytes", *s.lowest_l1_largest_free}, {"line", s.lowest_l1_line}};
  if (s.recorded_checked) {
    j["recorded_addresses"] = {{"checked", s.recorded_checked}, {"matched", s.recorded_matched}};
    if (s.first_mismatch_line) j["recorded_addresses"]["first_difference_line"] = *s.first_mismatch_line;
  }
  if (s.page_sizes_assumed) j["page_sizes_assumed"] = s.page_sizes_assumed;
  if (!notes.empty()) j["notes"] = notes;
  if (s.first_oom_line)
    j["first_oom"] = {{"line", *s.first_oom_line}, {"message", s.first_oom_message}, {"live", live}};
  return dump(j);
}

}  // namespace allocmon::replay
