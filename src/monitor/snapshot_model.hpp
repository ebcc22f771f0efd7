// The monitor's view of one server snapshot, decoded and validated from the JSON the server sends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace allocmon::monitor {

struct MemoryView {
  std::string type;
  uint64_t allocated = 0;
  uint64_t buffers = 0;
  uint64_t peak = 0;
  uint64_t capacity = 0;
  std::optional<uint64_t> free;
  std::optional<uint64_t> largest_free_block;
};

struct DeviceView {
  int id = 0;
  std::string architecture;
  bool active = false;
  int mesh_row = -1;
  int mesh_col = -1;
  uint64_t allocated = 0;
  uint64_t buffers = 0;
  std::vector<MemoryView> memory;  // in the server's memory_types order
};

struct ProcessView {
  int pid = 0;
  std::string name;
  uint64_t allocated = 0;
  uint64_t buffers = 0;
  std::vector<std::pair<int, uint64_t>> device_bytes;
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
