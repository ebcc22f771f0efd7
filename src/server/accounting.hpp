// Exact live totals: per device x memory type, per process x device x type, and per buffer. Pure bookkeeping
// with no I/O, so every rule is unit-tested directly (tests/test_accounting.cpp).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/buffer_key.hpp"
#include "protocol/wire.hpp"

namespace allocmon::server {

using ClientId = uint64_t;

struct TypeTotals {
  uint64_t bytes = 0;
  uint64_t buffers = 0;
  uint64_t peak = 0;

  void add(uint64_t size) {
    bytes += size;
    ++buffers;
    if (bytes > peak) peak = bytes;
  }
  void remove(uint64_t size) {
    bytes -= size;
    --buffers;
  }
};
using PerType = std::array<TypeTotals, wire::kNumMemoryTypes>;

inline uint64_t total_bytes(const PerType& t) {
  uint64_t sum = 0;
  for (const auto& x : t) sum += x.bytes;
  return sum;
}
inline uint64_t total_buffers(const PerType& t) {
  uint64_t sum = 0;
  for (const auto& x : t) sum += x.buffers;
  return sum;
}

struct FreeSpace {
  bool known = false;
  uint64_t free_bytes = 0;
  uint64_t largest_free_block = 0;
};

struct DeviceRecord {
  int32_t id = 0;
  std::string architecture;
  int32_t mesh_row = -1;
  int32_t mesh_col = -1;
  std::array<uint64_t, wire::kNumMemoryTypes> capacity{};
  std::array<FreeSpace, wire::kNumMemoryTypes> free_space{};
  int registrations = 0;  // live clients that registered it; the record stays once seen
  PerType totals{};
};

struct BufferRecord {
  uint64_t size;
  uint64_t address;
  int64_t time_ms;  // when the server applied the allocation (unix ms)
  uint8_t memory_type;
};

using wire::BufferKey;
using wire::BufferKeyHash;

// Semantic problems with a client's events: counted, logged once per kind per client, never fatal.
enum class EventProblem : uint8_t {
  kNone = 0,
  kUnknownFree,     // free of a buffer id this client never allocated (or allocated before tracking began)
  kDoubleFree,      // free of a buffer id this client freed recently
  kDuplicateAlloc,  // alloc of a buffer id that is still live for this client: ignored
  kUnregisteredDevice,  // event for a device this client never registered: ignored
  kBadMemoryType,       // memory type code outside the known list: ignored
  kBadEventKind,        // event kind outside the known list: ignored
  kCount
};
std::string_view problem_name(EventProblem problem);

struct ProcessRecord {
  ClientId client = 0;
  pid_t pid = 0;
  uid_t uid = 0;
  std::string name;
  std::map<int32_t, PerType> per_device;
  std::map<int32_t, int> registered;  // device id -> 1 (set semantics, ordered for reports)
  std::unordered_map<BufferKey, BufferRecord, BufferKeyHash> buffers;
  std::array<uint64_t, static_cast<size_t>(EventProblem::kCount)> problems{};
  // Recently freed ids, to tell a double free from a free of something never seen (bounded ring).
  std::array<BufferKey, 256> recent_frees{};
  size_t recent_free_next = 0;
};

struct ApplyResult {
  EventProblem problem = EventProblem::kNone;
  uint64_t size = 0;  // bytes allocated or freed
  uint8_t memory_type = 0;
};

// What a client held when its buffers were released in bulk (exit, reset, device unregistration).
struct ReclaimReport {
  uint64_t buffers = 0;
  uint64_t bytes = 0;
  std::map<int32_t, uint64_t> bytes_per_device;
};

struct Counters {
  uint64_t events_applied = 0;
  uint64_t frames_invalid = 0;
  uint64_t reclaimed_bytes = 0;
  uint64_t reclaimed_buffers = 0;
  uint64_t clients_total = 0;
  std::array<uint64_t, static_cast<size_t>(EventProblem::kCount)> problems{};
};

class Accounting {
 public:
  void add_client(ClientId client, pid_t pid, uid_t uid, std::string name);
  // Releases everything the client held and forgets it.
  ReclaimReport remove_client(ClientId client);
  // Releases everything the client held but keeps the client (resync after a stall).
  ReclaimReport reset_client(ClientId client);

  void register_device(ClientId client, const wire::RegisterDevice& registration);
  ReclaimReport unregister_device(ClientId client, int32_t device_id);
  ApplyResult apply(ClientId client, const wire::Event& event, int64_t now_ms);
  // Same, for callers that resolved the client once per batch.
  ApplyResult apply(ProcessRecord& process, const wire::Event& event, int64_t now_ms);
  ProcessRecord* find(ClientId client);

  const std::map<int32_t, DeviceRecord>& devices() const { return devices_; }
  const std::map<ClientId, ProcessRecord>& processes() const { return processes_; }
  const ProcessRecord* process(ClientId client) const;
  const Counters& counters() const { return counters_; }
  Counters& counters() { return counters_; }
  uint64_t live_buffers() const { return live_buffers_; }
  // Called for every buffer released in bulk (exit, reset, device unregistration), before it is forgotten.
  std::function<void(const ProcessRecord&, const BufferKey&, const BufferRecord&)> on_bulk_release;

 private:
  ReclaimReport release_buffers(ProcessRecord& process, int32_t only_device);
  void release_one(ProcessRecord& process, const BufferKey& key, const BufferRecord& buffer);

  std::map<int32_t, DeviceRecord> devices_;
  std::map<ClientId, ProcessRecord> processes_;
  Counters counters_;
  uint64_t live_buffers_ = 0;
};

}  // namespace allocmon::server
