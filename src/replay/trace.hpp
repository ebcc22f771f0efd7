// Allocation traces to replay: the plain text format of docs/replay.md, one command per line.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mesh/device_memory.hpp"

namespace allocmon::replay {

// The target device; every field may also be set from the command line.
struct Target {
  std::string architecture = "wormhole_b0";
  std::optional<std::pair<uint32_t, uint32_t>> grid;  // worker grid override (L1 banks = x * y)
  uint64_t l1_small = 0;
  uint64_t trace_region = 0;
  bool operator==(const Target&) const = default;
};

struct Command {
  // kCircularBuffers: a program's static CBs, `size` bytes per core from the L1 base, until `free <id>`.
  enum Kind { kAlloc, kFree, kStats, kCircularBuffers } kind;
  int64_t line = 0;  // in a recording: the event's sequence number
  std::string id;
  mesh::BufferType type = mesh::BufferType::DRAM;
  uint64_t size = 0;
  uint64_t page_size = 0;  // 0: unknown (recordings from v1 clients): spread evenly over the banks
  std::optional<bool> bottom_up;
  uint32_t shards = 0;                       // sharded over this many cores (banks); 0: interleaved
  std::optional<uint64_t> recorded_address;  // a recording's own placement, to check the replay against
};

struct Trace {
  std::optional<Target> target;  // from an `arch` line, or the recorded device's
  std::vector<Command> commands;
  bool recorded = false;           // read from a recording (load_recording)
  std::string source;              // what was read, for the output's first line (recordings)
  std::vector<std::string> notes;  // what was not replayed, and why
};

class TraceError : public std::runtime_error {
 public:
  TraceError(int line, const std::string& what)
      : std::runtime_error("line " + std::to_string(line) + ": " + what), line_(line) {}
  int line() const { return line_; }

 private:
  int line_;
};

// Throws TraceError naming the line for anything it cannot read.
Trace parse_trace(const std::string& text);
// "XxY" -> (X, Y); nullopt when malformed.
std::optional<std::pair<uint32_t, uint32_t>> parse_grid(const std::string& text);
std::optional<mesh::BufferType> parse_buffer_type(const std::string& name);
// The trace format is chosen by content: an SQLite recording, else text.
bool is_sqlite_file(const std::string& path);

}  // namespace allocmon::replay
