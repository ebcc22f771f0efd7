// The monitor's view of one server snapshot, decoded and validated from the JSON the server sends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace allocmon::monitor {

// The allocator's region of a type (what the runtime described): every bank spans [base, base + bank_size).
struct RegionView {
  uint64_t base = 0;
  uint64_t bank_size = 0;
  uint32_t banks = 0;
  uint32_t page_alignment = 0;
  uint32_t block_alignment = 0;
};

struct MemoryView {
  std::string type;
  uint64_t allocated = 0;
  uint64_t buffers = 0;
  uint64_t peak = 0;
  uint64_t capacity = 0;
  std::optional<uint64_t> free;
  std::optional<uint64_t> largest_free_block;
  uint64_t unattributed = 0;  // polled sources: held, by no process that can be shown
  uint64_t stale = 0;         // polled sources: left by processes that are gone (not in allocated)
  std::optional<RegionView> region;
};

struct DeviceView {
  int id = 0;
  std::string architecture;
  bool active = false;
  int clients = 0;
  int mesh_row = -1;
  int mesh_col = -1;
  std::string source;  // "allocmon", "tt-metal-shm", "drm-fdinfo"
  std::optional<uint64_t> asic_id;
  std::optional<int> logical_id;  // tt-metal's logical id of a chip read from its region
  bool logical_shared = false;    // another device carries the same logical id
  uint64_t allocated = 0;
  uint64_t buffers = 0;
  std::vector<MemoryView> memory;  // in the server's memory_types order

  const MemoryView* type(std::string_view name) const;
  // " (logical 0, asic 123)" where the id alone does not say which chip it is: the logical id differs from
  // the id, or several chips carry it (jobs pinned with TT_VISIBLE_DEVICES); else "".
  std::string chip_note() const;
  // allocated / capacity of the fullest type that has a capacity (0 when none has).
  double fullest_fraction() const;
};

struct ProcessDeviceView {
  int id = 0;
  uint64_t allocated = 0;
  uint64_t buffers = 0;
  std::vector<std::pair<std::string, uint64_t>> memory;  // type -> bytes, only the types it holds
};

struct ProcessView {
  int pid = 0;
  int uid = 0;
  std::string user;
  std::string name;
  std::string cmdline;
  std::string source;
  std::vector<std::string> holds;
  uint64_t allocated = 0;
  uint64_t buffers = 0;
  std::vector<std::pair<int, uint64_t>> device_bytes;
  std::vector<ProcessDeviceView> devices;
};

struct Snapshot {
  std::string socket;
  int64_t time_unix_ms = 0;
  uint64_t events_applied = 0;
  uint64_t clients_connected = 0;
  uint64_t total_allocated = 0;
  uint64_t total_buffers = 0;
  std::vector<DeviceView> devices;
  std::vector<ProcessView> processes;

  const DeviceView* device(int id) const;
};

// nullopt (and a reason) when the text is not a snapshot of a schema this monitor understands.
std::optional<Snapshot> parse_snapshot(std::string_view json, std::string* error);

// The snapshot document with only these devices (and each process's share of them); all when `ids` is empty.
std::string filter_snapshot_json(const std::string& json, const std::vector<int>& ids);

}  // namespace allocmon::monitor
