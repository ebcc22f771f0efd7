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
};

struct Command {
  enum Kind { kAlloc, kFree, kStats } kind;
  int line = 0;
  std::string id;
  mesh::BufferType type = mesh::BufferType::DRAM;
  uint64_t size = 0;
  uint64_t page_size = 0;
  std::optional<bool> bottom_up;
};

struct Trace {
  std::optional<Target> target;  // from an `arch` line
  std::vector<Command> commands;
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

}  // namespace allocmon::replay
