#include "replayer.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace allocmon::replay {

using mesh::BufferType;

namespace {

mesh::Architecture target_architecture(const Target& target) {
  const mesh::Architecture* base = mesh::find_architecture(target.architecture);
  if (!base)
    throw std::invalid_argument("unknown architecture '" + target.architecture +
                                "' (wormhole_b0, blackhole)");
  mesh::Architecture arch = *base;
  if (target.grid) {
    arch.grid_x = target.grid->first;
    arch.grid_y = target.grid->second;
  }
  return arch;
}

const BufferType kTypes[] = {BufferType::DRAM, BufferType::L1, BufferType::L1_SMALL, BufferType::TRACE};

std::string type_name(BufferType t) {
  return std::string(mesh::buffer_type_name(t));
}

}  // namespace

Replayer::Replayer(const Target& target)
    : target_(target),
      memory_(target_architecture(target), mesh::MemoryOptions{target.l1_small, target.trace_region}) {}

std::string Replayer::describe_target() const {
  const auto& a = memory_.architecture();
  return a.name + " (grid " + std::to_string(a.grid_x) + "x" + std::to_string(a.grid_y) + ", " +
         std::to_string(a.l1_banks()) + " L1 banks, " + std::to_string(a.dram_banks) +
         " DRAM banks, l1_small=" + std::to_string(target_.l1_small) +
         ", trace=" + std::to_string(target_.trace_region) + ")";
}

void Replayer::record_peaks(int line) {
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

LineResult Replayer::apply(const Command& command) {
  LineResult r{LineResult::kStats, &command};
  switch (command.kind) {
    case Command::kAlloc: {
      if (live_.count(command.id)) {
        r.outcome = LineResult::kDuplicateId;
        return r;
      }
      mesh::BankAllocator* a = memory_.allocator(command.type);
      try {
        if (!a)
          throw mesh::OutOfMemory(
              "Out of Memory: the " + type_name(command.type) +
              " region has size 0 on this target (set l1_small= / trace= on the arch line)");
        r.placement = a->allocate(command.size, command.page_size, command.bottom_up);
        r.outcome = LineResult::kPlaced;
        live_[command.id] = {command.id,          command.type, command.size, r.placement.bytes_per_bank,
                             r.placement.address, command.line};
        failed_.erase(command.id);
        record_peaks(command.line);
      } catch (const mesh::OutOfMemory& e) {
        r.outcome = LineResult::kOutOfMemory;
        r.message = e.what();
        failed_[command.id] = command.line;
        if (summary_.out_of_memory++ == 0) {
          summary_.first_oom_line = command.line;
          summary_.first_oom_message = r.message;
          for (const auto& [id, buffer] : live_) summary_.live_at_first_oom.push_back(buffer);
        }
      }
      return r;
    }
    case Command::kFree: {
      auto it = live_.find(command.id);
      if (it == live_.end()) {
        r.outcome = failed_.count(command.id) ? LineResult::kSkippedFree : LineResult::kUnknownFree;
        return r;
      }
      const LiveBuffer buffer = it->second;
      live_.erase(it);
      // The same address in every bank: free it from the allocator that placed it.
      memory_.allocator(buffer.type)->deallocate(buffer.address);
      r.outcome = LineResult::kFreed;
      r.size = buffer.size;
      r.freed_type = buffer.type;
      r.placement.bytes_per_bank = buffer.bytes_per_bank;
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
    case LineResult::kPlaced:
      return where + "alloc " + c.id + " " + type_name(c.type) + " " + std::to_string(c.size) +
             " -> address " + std::to_string(r.placement.address) + " (" +
             std::to_string(r.placement.bytes_per_bank) + " B in each of " +
             std::to_string(r.placement.banks) + " banks)";
    case LineResult::kOutOfMemory:
      return where + "alloc " + c.id + " " + type_name(c.type) + " " + std::to_string(c.size) + " -> " +
             r.message;
    case LineResult::kDuplicateId:
      return where + "alloc " + c.id + " -> id already live (ignored)";
    case LineResult::kFreed:
      return where + "free " + c.id + " -> freed " + std::to_string(r.size) + " B of " +
             type_name(r.freed_type);
    case LineResult::kUnknownFree:
      return where + "free " + c.id + " -> unknown id (never allocated or already freed; ignored)";
    case LineResult::kSkippedFree:
      return where + "free " + c.id + " -> skipped (its allocation ran out of memory)";
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
  static const char* names[] = {"placed",       "out_of_memory", "freed", "unknown_free",
                                "skipped_free", "duplicate_id",  "stats"};
  nlohmann::json j = {{"line", c.line}, {"result", names[r.outcome]}};
  if (c.kind != Command::kStats) j["id"] = c.id;
  if (c.kind == Command::kAlloc) {
    j["type"] = type_name(c.type);
    j["size"] = c.size;
    j["page_size"] = c.page_size;
  }
  if (r.outcome == LineResult::kPlaced) {
    j["address"] = r.placement.address;
    j["bytes_per_bank"] = r.placement.bytes_per_bank;
    j["banks"] = r.placement.banks;
  }
  if (r.outcome == LineResult::kOutOfMemory) j["message"] = r.message;
  if (r.outcome == LineResult::kFreed) {
    j["type"] = type_name(r.freed_type);
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
  return j.dump();
}

std::string format_summary(const Replayer& replayer) {
  const Summary& s = replayer.summary();
  std::string out = "Summary for " + replayer.describe_target() + ":\n";
  for (const auto& [type, bytes] : s.peak_bytes)
    out += "  peak " + type_name(type) + ": " + std::to_string(bytes) + " B (all banks) at line " +
           std::to_string(s.peak_line.at(type)) + "\n";
  if (s.lowest_l1_largest_free)
    out += "  lowest L1 largest free block: " + std::to_string(*s.lowest_l1_largest_free) +
           " B per bank at line " + std::to_string(s.lowest_l1_line) + "\n";
  if (s.fits()) {
    out += "  result: fits\n";
  } else {
    out += "  result: OUT OF MEMORY (" + std::to_string(s.out_of_memory) +
           " allocation(s) failed); first at line " + std::to_string(*s.first_oom_line) + ": " +
           s.first_oom_message + "\n";
    out += "  live at the first failure (" + std::to_string(s.live_at_first_oom.size()) + " buffers):";
    for (const auto& b : s.live_at_first_oom)
      out += " " + b.id + " (" + type_name(b.type) + ", " + std::to_string(b.size) + " B, line " +
             std::to_string(b.line) + ")";
    out += "\n";
  }
  return out;
}

std::string format_summary_json(const Replayer& replayer) {
  const Summary& s = replayer.summary();
  nlohmann::json peaks = nlohmann::json::object();
  for (const auto& [type, bytes] : s.peak_bytes)
    peaks[type_name(type)] = {{"bytes", bytes}, {"line", s.peak_line.at(type)}};
  nlohmann::json live = nlohmann::json::array();
  for (const auto& b : s.live_at_first_oom)
    live.push_back({{"id", b.id}, {"type", type_name(b.type)}, {"size", b.size}, {"line", b.line}});
  nlohmann::json j = {{"summary", replayer.describe_target()},
                      {"fits", s.fits()},
                      {"peaks", peaks},
                      {"out_of_memory", s.out_of_memory}};
  if (s.lowest_l1_largest_free)
    j["lowest_l1_largest_free_block"] = {{"bytes", *s.lowest_l1_largest_free}, {"line", s.lowest_l1_line}};
  if (s.first_oom_line)
    j["first_oom"] = {{"line", *s.first_oom_line}, {"message", s.first_oom_message}, {"live", live}};
  return j.dump();
}

}  // namespace allocmon::replay
