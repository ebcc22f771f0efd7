// The emulated mesh's counters in tt-metal's own shared-memory layout (v4), written by tt-metal's rules so a
// tt-metal process, tt-metal's own readers and allocation_server never disagree about a file they share: one
// region per chip (mode 0600), a slot per attached process named as /proc/PID/comm, totals moved by deltas
// (CB stored whole, as tt-metal's allocator query does), the chip-stats entry of the writer's logical id,
// dead processes' slots reaped on every attach and clean detach through the pid -1 handshake, the totals
// reset by the last process to leave. Opt-in with ALLOCMON_EMULATED_TT_SHM_DIR=DIR;
// TT_METAL_SHM_TRACKING_DISABLED=1 writes nothing, as in tt-metal.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "allocmon/memory_types.h"
#include "protocol/tt_metal_shm.hpp"

namespace allocmon::mesh {

inline constexpr const char* kEmulatedShmDirEnvVar = "ALLOCMON_EMULATED_TT_SHM_DIR";
inline constexpr const char* kTrackingDisabledEnvVar = "TT_METAL_SHM_TRACKING_DISABLED";
// Emulated chips' unique ids (the number in the file name): a fixed base plus the device id.
inline constexpr uint64_t kEmulatedAsicIdBase = 0x454D5500000000ull;  // "EMU"

class TtShmPublisher {
 public:
  // The process's publisher when ALLOCMON_EMULATED_TT_SHM_DIR is set (and tracking is not disabled), else
  // nullptr.
  static TtShmPublisher* instance();
  explicit TtShmPublisher(std::string directory) : directory_(std::move(directory)) {}

  // A mesh opened the device: map its region (creating it, or re-initialising one of another layout nobody
  // holds; waiting for one another process is initialising), reap dead slots, claim this process's slot.
  // `asic_id` 0: the emulated chip's own (kEmulatedAsicIdBase + device_id).
  void attach(int device_id, uint64_t asic_id = 0);
  // Bytes allocated (positive) or freed (negative) on the device; types tt-metal does not count are ignored.
  void record(int device_id, allocmon_memory_type type, int64_t delta);
  // The last mesh holding the device closed it: give back this process's slot and its bytes, reap dead slots,
  // and reset the totals when no process is left attached.
  void detach(int device_id);

 private:
  struct Mapped {
    tt_shm::Region* region = nullptr;
    tt_shm::ProcessStats* slot = nullptr;
    int users = 0;
    uint64_t cb = 0;  // this process's CB bytes on the device (stored whole, not as deltas)
  };
  // Releases `slot` if it still belongs to `pid`: whoever turns the pid to -1 first subtracts its bytes
  // (true). `chip`: the logical id whose chip-stats entry the slot's bytes were counted in, when known.
  static bool release_slot(tt_shm::Region& region, tt_shm::ProcessStats& slot, int32_t pid,
                           std::optional<uint32_t> chip);
  static void reap_dead(tt_shm::Region& region);

  std::string directory_;
  std::mutex mutex_;
  std::map<int, Mapped> devices_;
};

}  // namespace allocmon::mesh
