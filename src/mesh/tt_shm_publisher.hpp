// The emulated mesh's counters in tt-metal's own shared-memory layout (v4), written exactly as tt-metal
// writes them: one region per chip, a slot per attached process, totals moved by deltas, dead processes'
// slots reaped by the next process that attaches. Opt-in with ALLOCMON_EMULATED_TT_SHM_DIR=DIR, so tools
// written for tt-metal's files (allocation_server --tt-shm-dir DIR among them) work on the emulated mesh.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "allocmon/memory_types.h"
#include "protocol/tt_metal_shm.hpp"

namespace allocmon::mesh {

inline constexpr const char* kEmulatedShmDirEnvVar = "ALLOCMON_EMULATED_TT_SHM_DIR";
// Emulated chips' unique ids (the number in the file name): a fixed base plus the device id.
inline constexpr uint64_t kEmulatedAsicIdBase = 0x454D5500000000ull;  // "EMU"

class TtShmPublisher {
 public:
  // The process's publisher when ALLOCMON_EMULATED_TT_SHM_DIR is set, else nullptr.
  static TtShmPublisher* instance();
  explicit TtShmPublisher(std::string directory) : directory_(std::move(directory)) {}

  // A mesh opened the device: map its region (creating or re-initialising it) and claim this process's slot.
  void attach(int device_id);
  // Bytes allocated (positive) or freed (negative) on the device; types tt-metal does not count are ignored.
  void record(int device_id, allocmon_memory_type type, int64_t delta);
  // The last mesh holding the device closed it: give back this process's slot and its bytes.
  void detach(int device_id);

 private:
  struct Mapped {
    tt_shm::Region* region = nullptr;
    tt_shm::ProcessStats* slot = nullptr;
    int users = 0;
  };
  void release_slot(tt_shm::Region& region, tt_shm::ProcessStats& slot);

  std::string directory_;
  std::mutex mutex_;
  std::map<int, Mapped> devices_;
};

}  // namespace allocmon::mesh
