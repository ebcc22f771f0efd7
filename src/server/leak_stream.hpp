// Every live buffer as a stream of binary LeakChunk frames (docs/protocol.md), produced a chunk at a time
// while the requester reads: the server never holds more than one chunk of a leak report, however many
// buffers are live, and other clients are served between chunks. Buffers allocated or freed meanwhile may or
// may not be listed (as with a listing of /proc); a process whose table is rebuilt meanwhile is restarted,
// flagged.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "accounting.hpp"

namespace allocmon::server {

class LeakStream {
 public:
  LeakStream(int32_t device_id, uid_t viewer, uint16_t version)
      : device_id_(device_id), viewer_(viewer), version_(version) {}
  // Appends frames worth about `budget` bytes; true once the stream is complete (LeakEnd appended).
  bool produce(const Accounting& accounting, int64_t now_ms, size_t budget, std::string& out);

 private:
  int32_t device_id_;
  uid_t viewer_;
  uint16_t version_;
  ClientId next_client_ = 0;  // the process being listed (or the next one at or after it)
  bool in_process_ = false;
  bool exhausted_ = false;
  size_t slot_ = 0;          // next slot of its table
  uint64_t generation_ = 0;  // its table's generation when listing began (a rebuild restarts it)
  uint64_t sent_ = 0;
  std::unordered_set<uint32_t> contexts_sent_;  // v3: contexts this stream has named (LeakContext)
  std::vector<wire::LeakOrigin> origins_;       // the chunk being built's
  void append_origins(const Attribution& attribution, std::string& out);
};

}  // namespace allocmon::server
