// Exact live totals: per device x memory type, per process x device x type, and per buffer. Pure bookkeeping
// with no I/O, so every rule is unit-tested directly (tests/test_accounting.cpp).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "attribution.hpp"
#include "buffer_table.hpp"
#include "protocol/buffer_key.hpp"
#include "protocol/wire.hpp"
#include "sources/source.hpp"

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

// The allocator's region of one memory type, as the runtime described it (EventKind::kRegion).
struct Region {
  bool known = false;
  uint64_t base = 0;
  uint64_t bank_size = 0;
  uint32_t banks = 0;
  uint32_t page_alignment = 0;
  uint32_t block_alignment = 0;
};

struct DeviceRecord {
  int32_t id = 0;
  std::string architecture;
  int32_t mesh_row = -1;
  int32_t mesh_col = -1;
  std::array<uint64_t, wire::kNumMemoryTypes> capacity{};
  std::array<FreeSpace, wire::kNumMemoryTypes> free_space{};
  std::array<Region, wire::kNumMemoryTypes> regions{};
  int registrations = 0;  // live clients that registered it; the record stays once seen
  ClientId owner = 0;     // the live registrant whose description is shown (the first; 0: none now)
  // Bytes held now: liballocmon clients' buffers plus what polled sources report (`polled`, included here).
  // `buffers` counts liballocmon buffers only: polled sources have totals, not buffers.
  PerType totals{};

  bool reported_by_client = false;   // a liballocmon client registered it (its description wins)
  std::vector<std::string> sources;  // polled sources describing it now
  std::optional<uint64_t> asic_id;
  std::optional<int32_t> logical_id;  // tt-metal's logical id for the chip (may repeat across chips, change)
  std::string location;               // where a polled source read it (region file, PCI address)
  TypeBytes polled{};                 // part of totals[t].bytes that came from polled sources
  TypeBytes unattributed{};           // held, included in totals, but by no process that can be shown
  TypeBytes stale{};                  // left by processes that no longer exist: not in totals
  std::vector<ProcessShare> stale_processes;
  std::vector<ProcessShare> unattributed_processes;  // slots counted as unattributed, each with its reason
  bool polled_in_use = false;

  bool active() const { return registrations > 0 || polled_in_use; }
  bool polled_only() const { return !reported_by_client && !sources.empty(); }
};

struct BufferRecord {
  uint64_t size;
  uint64_t address;
  int64_t time_ms;  // when the server applied the allocation (unix ms)
  uint8_t memory_type;
  uint8_t layout;        // wire::BufferLayout
  uint16_t shard_count;  // saturated at 65535
  uint32_t page_size;    // 0: unknown
};
static_assert(sizeof(BufferRecord) == 32, "the per-buffer table's size is a performance target");

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
  kConflictingDevice,   // registration of a device another live process describes differently: not applied
  kOverCapacity,  // an alloc took a device's memory type past the capacity it was described with (applied)
  kCount
};
std::string_view problem_name(EventProblem problem);

struct ProcessRecord {
  ClientId client = 0;
  pid_t pid = 0;
  uid_t uid = 0;
  std::string name;
  std::string cmdline;
  std::string user;
  std::vector<std::string> holds;    // device files it has open (from the device-holders source)
  std::vector<std::string> sources;  // empty: a liballocmon client; else the polled sources that name it
  bool polled() const { return client >= kPolledClientBase; }  // a record built from polled sources
  static constexpr ClientId kPolledClientBase = 1ull << 62;
  std::map<int32_t, PerType> per_device;
  std::map<int32_t, wire::RegisterDevice> registered;  // device id -> how this process described it
  // Per event, what a registered device's totals are, without map lookups (device ids below kFastDevices).
  struct DeviceTotals {
    PerType* device = nullptr;                                              // the device's totals
    PerType* mine = nullptr;                                                // this process's on it
    const std::array<uint64_t, wire::kNumMemoryTypes>* capacity = nullptr;  // the device's, per type
  };
  static constexpr int32_t kFastDevices = 1024;
  std::vector<DeviceTotals> fast;
  BufferTable<BufferRecord> buffers;
  // The attributed ones among them (attribution.hpp): empty for a process that never names a context.
  std::unordered_map<BufferKey, BufferOrigin, BufferKeyHash> origins;
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

// What one polled source said last, and how often it has been read.
struct PolledSourceState {
  SourceReport report;
  uint64_t rounds = 0;
  int interval_ms = 0;
};

class Accounting {
 public:
  void add_client(ClientId client, pid_t pid, uid_t uid, std::string name, std::string cmdline = {});
  // Releases everything the client held and forgets it.
  ReclaimReport remove_client(ClientId client);
  // Releases everything the client held but keeps the client (resync after a stall).
  ReclaimReport reset_client(ClientId client);

  // The first live registrant of a device owns its description; another process may register it too (its
  // buffers count) but a different description from it is not applied: kConflictingDevice is returned and
  // counted. When the owner goes, the oldest remaining registrant's description takes over.
  EventProblem register_device(ClientId client, const wire::RegisterDevice& registration);
  ReclaimReport unregister_device(ClientId client, int32_t device_id);
  ApplyResult apply(ClientId client, const wire::Event& event, int64_t now_ms);
  // Same, for callers that resolved the client once per batch.
  ApplyResult apply(ProcessRecord& process, const wire::Event& event, int64_t now_ms);
  ProcessRecord* find(ClientId client);

  // Replaces what polled source `source` said last and merges every source's latest report into the device
  // and process records. A process that also reports through liballocmon is counted once: its per-buffer
  // data wins and the source's bytes for it are left out.
  void set_polled(const std::string& source, SourceReport report, int interval_ms);
  const std::map<std::string, PolledSourceState>& polled_sources() const { return polled_; }

  const std::map<int32_t, DeviceRecord>& devices() const { return devices_; }
  const std::map<ClientId, ProcessRecord>& processes() const { return processes_; }
  const ProcessRecord* process(ClientId client) const;
  const Counters& counters() const { return counters_; }
  Counters& counters() { return counters_; }
  uint64_t live_buffers() const { return live_buffers_; }
  Attribution& attribution() { return attribution_; }
  const Attribution& attribution() const { return attribution_; }
  // Called for every buffer released in bulk (exit, reset, device unregistration), before it is forgotten.
  std::function<void(const ProcessRecord&, const BufferKey&, const BufferRecord&)> on_bulk_release;

 private:
  ReclaimReport release_buffers(ProcessRecord& process, int32_t only_device);
  void release_one(ProcessRecord& process, const BufferKey& key, const BufferRecord& buffer);
  void merge_polled();
  // The totals an event on `device_id` changes; nullptr-filled when the process has not registered it.
  ProcessRecord::DeviceTotals totals_for(ProcessRecord& process, int32_t device_id);
  void forget_registration(ClientId client, int32_t device_id);

  std::map<int32_t, DeviceRecord> devices_;
  std::map<ClientId, ProcessRecord> processes_;
  Counters counters_;
  uint64_t live_buffers_ = 0;
  std::map<std::string, PolledSourceState> polled_;
  Attribution attribution_;
};

}  // namespace allocmon::server
