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
  enum Outcome {
    kPlaced,
    kOutOfMemory,
    kFreed,
    kUnknownFree,
    kSkippedFree,
    kDuplicateId,
    kStats,
    kCircularBuffers,  // a program's CBs fit below the lowest L1 buffer
    kCbClash,          // ... or they would not: tt-metal refuses to launch the program
  } outcome;
  const Command* command = nullptr;
  mesh::Placement placement;
  uint64_t size = 0;       // freed bytes
  bool freed_cbs = false;  // kFreed/kSkippedFree: of circular buffers
  mesh::BufferType freed_type = mesh::BufferType::DRAM;
  mesh::FreeListStats stats;       // kStats
  std::string message;             // kOutOfMemory, kCbClash
  bool page_size_assumed = false;  // the trace had no page size: spread evenly
  bool recorded_mismatch = false;  // placed elsewhere than the recording says (same target only)
  uint64_t cb_region_end = 0;      // kCircularBuffers
};

struct LiveBuffer {
  std::string id;
  mesh::BufferType type;
  uint64_t size;
  uint64_t block_per_bank;  // the free-list block it holds in each bank
  uint64_t address;
  int64_t line;
};

struct Summary {
  std::map<mesh::BufferType, uint64_t> peak_bytes;  // footprint: bytes per bank x banks
  std::map<mesh::BufferType, int64_t> peak_line;
  // What the monitor and the server count: the sum of live buffers' sizes.
  std::map<mesh::BufferType, uint64_t> peak_requested;
  std::map<mesh::BufferType, int64_t> peak_requested_line;
  std::optional<uint64_t> lowest_l1_largest_free;
  int64_t lowest_l1_line = 0;
  uint64_t peak_cb_bytes = 0;  // per core
  int64_t peak_cb_line = 0;
  // The first failure (out of memory or a CB clash) and what was live then: the buffers that would have to
  // go.
  std::optional<int64_t> first_oom_line;
  std::string first_oom_message;
  std::vector<LiveBuffer> live_at_first_oom;
  int64_t out_of_memory = 0;
  int64_t cb_clashes = 0;
  // Recordings: how many placements equal the recorded address (a replay on the recorded target: all).
  int64_t recorded_checked = 0;
  int64_t recorded_matched = 0;
  std::optional<int64_t> first_mismatch_line;
  int64_t page_sizes_assumed = 0;
  bool fits() const { return out_of_memory == 0 && cb_clashes == 0; }
};

class Replayer {
 public:
  // Throws std::invalid_argument for an unknown architecture or regions that do not fit.
  // check_recorded_addresses: compare placements with a recording's (only meaningful on the recorded target).
  explicit Replayer(const Target& target, bool check_recorded_addresses = true);
  LineResult apply(const Command& command);
  const Summary& summary() const { return summary_; }
  std::string describe_target() const;

 private:
  void record_peaks(int64_t line);
  void record_failure(const Command& command, const std::string& message);

  Target target_;
  bool check_recorded_;
  mesh::DeviceMemory memory_;
  std::map<mesh::BufferType, uint64_t> requested_;  // live bytes per type
  std::map<std::string, LiveBuffer> live_;
  // ids whose allocation (false) or CBs (true) were refused: their frees are skipped, not unknown
  std::map<std::string, bool> failed_;
  std::map<std::string, uint64_t> cbs_;  // live circular-buffer sets, bytes per core
  Summary summary_;
};

// One result as the documented text line and as a JSON object.
std::string format_line(const LineResult& result);
std::string format_line_json(const LineResult& result);
std::string format_summary(const Replayer& replayer, const std::vector<std::string>& notes = {});
std::string format_summary_json(const Replayer& replayer, const std::vector<std::string>& notes = {});

}  // namespace allocmon::replay
