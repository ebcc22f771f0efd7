// What the bytes are, on the server side (docs/attribution.md): the contexts (scope path, op, call site,
// tensor) that clients name, which context and place in the run each attributed buffer has, the marks
// processes set, and the totals per scope and per op that snapshots show. Buffers of clients that never name
// a context or set a mark carry nothing here and cost nothing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace allocmon::server {

struct Context {
  std::string scope;
  std::string op;
  std::string site;
  std::string tensor;  // what the buffer holds ("bfloat16 TILE [1, 1, 1024, 1024] DRAM interleaved, ...")
};

// An attributed buffer: its context (0: none) and its place in the order the server applied allocations
// (marks carry the same counter, so "allocated between two marks" is exact).
struct BufferOrigin {
  uint32_t context = 0;
  uint64_t seq = 0;
};

struct Mark {
  std::string name;
  pid_t pid = 0;
  uid_t uid = 0;
  uint64_t seq = 0;  // attributed allocations applied before it
  int64_t time_unix_ms = 0;
};

class Attribution {
 public:
  // Bounds: what clients can make the server keep, whatever they send (contexts outlive their clients, so the
  // table's bytes are capped server-wide; a connection's own share is capped in Session).
  static constexpr size_t kMaxContexts = 1u << 20;
  static constexpr size_t kMaxContextBytes = 64u << 20;
  static constexpr size_t kMaxMarks = 4096;  // the oldest are forgotten

  explicit Attribution(size_t max_bytes = kMaxContextBytes) : max_bytes_(max_bytes) {}

  // The server-wide index of a context (from 1), shared by every client naming the same strings; 0 when the
  // table is full (the buffers then count as unattributed).
  uint32_t intern(const Context& context);
  const Context& context(uint32_t index) const { return contexts_[index < contexts_.size() ? index : 0]; }
  size_t contexts() const { return contexts_.size() - 1; }
  size_t bytes() const { return bytes_; }

  uint64_t next_seq() { return ++seq_; }
  void mark(std::string name, pid_t pid, uid_t uid, int64_t time_unix_ms);
  const std::deque<Mark>& marks() const { return marks_; }

 private:
  std::vector<Context> contexts_{Context{}};
  std::unordered_map<std::string, uint32_t> index_;  // scope '\0' op '\0' site '\0' tensor
  uint64_t seq_ = 0;
  size_t bytes_ = 0;  // the strings kept (each context's, twice: in the table and in its key)
  size_t max_bytes_;
  std::deque<Mark> marks_;
};

}  // namespace allocmon::server
