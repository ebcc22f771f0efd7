// Replays an allocation trace on a target device with the emulated mesh's own allocator (DeviceMemory), and
// answers "would it fit?": every placement, tt-metal's out-of-memory text, peaks and fragmentation.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "trace.hpp"

namespace allocmon::replay {

struct LineResult {
  enum Outcome { kPlaced, kOutOfMemory, kFreed, kUnknownFree, kSkippedFree, kDuplicateId, kStats } outcome;
  const Command* command = nullptr;
  mesh::Placement placement;
  uint64_t size = 0;  // freed bytes
  mesh::BufferType freed_type = mesh::BufferType::DRAM;
  mesh::FreeListStats stats;  // kStats
  std::string message;        // kOutOfMemory
};

struct LiveBuffer {
  std::string id;
  mesh::BufferType type;
  uint64_t size;
  uint64_t bytes_per_bank;
  uint64_t address;
  int line;
};

struct Summary {
  std::map<mesh::BufferType, uint64_t> peak_bytes;  // footprint: bytes per bank x banks
  std::map<mesh::BufferType, int> peak_line;
  std::optional<uint64_t> lowest_l1_largest_free;
  int lowest_l1_line = 0;
  std::optional<int> first_oom_line;
  std::string first_oom_message;
  std::vector<LiveBuffer> live_at_first_oom;
  int out_of_memory = 0;
  bool fits() const { return out_of_memory == 0; }
};

class Replayer {
 public:
  // Throws std::invalid_argument for an unknown architecture or regions that do not fit.
  explicit Replayer(const Target& target);
  LineResult apply(const Command& command);
  const Summary& summary() const { return summary_; }
  std::string describe_target() const;

 private:
  void record_peaks(int line);

  Target target_;
  mesh::DeviceMemory memory_;
  std::map<std::string, LiveBuffer> live_;
  std::map<std::string, int> failed_;  // ids whose allocation failed: their frees are skipped, not unknown
  Summary summary_;
};

// One result as the documented text line and as a JSON object.
std::string format_line(const LineResult& result);
std::string format_line_json(const LineResult& result);
std::string format_summary(const Replayer& replayer);
std::string format_summary_json(const Replayer& replayer);

}  // namespace allocmon::replay
