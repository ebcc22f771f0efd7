// tt-metal's per-chip shared-memory counters, as a foreign wire format: one file per chip,
// /dev/shm/tt_device_<chip_unique_id>_memory, written by every tt-metal process that opens the chip. Defined
// once here from the facts in tt-metal's memory_stats_shm.hpp (layout versions 2-4, x86-64, little endian);
// the server's reader, the emulated mesh's writer and the tests' fixture writer all use this one definition.
// docs/sources.md says what the counters mean.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "allocmon/memory_types.h"

namespace allocmon::tt_shm {

inline constexpr uint32_t kMinVersion = 2;
inline constexpr uint32_t kMaxVersion = 4;  // the newest layout this code reads and writes
inline constexpr uint32_t kVersionWithInitState = 4;
inline constexpr size_t kMaxProcesses = 64;
inline constexpr size_t kMaxChips = 16;
inline constexpr uint32_t kChipUnused = UINT32_MAX;
inline constexpr uint32_t kInitUninitialised = 0;
inline constexpr uint32_t kInitInProgress = 1;
inline constexpr uint32_t kInitReady = 0x52454459;  // 'REDY'

inline constexpr std::string_view kFilePrefix = "tt_device_";
inline constexpr std::string_view kFileSuffix = "_memory";

// The five counted types, in the file's order, and the allocmon memory type each one is.
inline constexpr int kCountedTypes = 5;
inline constexpr allocmon_memory_type kCountedTypeCodes[kCountedTypes] = {
    ALLOCMON_DRAM, ALLOCMON_L1, ALLOCMON_L1_SMALL, ALLOCMON_TRACE, ALLOCMON_CB};

struct ChipStats {
  uint32_t chip_id;  // kChipUnused: empty slot
  uint32_t is_remote;
  uint64_t bytes[kCountedTypes];
};

struct ProcessStats {
  int32_t pid;  // 0: empty slot
  uint32_t padding;
  uint64_t bytes[kCountedTypes];
  uint64_t last_update_ns;
  char name[64];
};

struct Region {
  uint32_t version;
  uint32_t num_active_processes;
  uint64_t last_update_ns;  // ns since the epoch; moves on every allocation and free
  uint32_t reference_count;
  uint32_t padding0;
  uint64_t board_serial;
  uint64_t asic_id;    // the chip's unique id, as in the file name
  uint32_t device_id;  // logical Metal device id of the last process that attached
  uint32_t padding1;
  uint64_t totals[kCountedTypes];
  ChipStats chips[kMaxChips];
  ProcessStats processes[kMaxProcesses];
  uint32_t init_state;  // v4 only (v2/v3 files end before it)
  uint8_t padding2[36];
};

static_assert(sizeof(ChipStats) == 48);
static_assert(sizeof(ProcessStats) == 120);
static_assert(offsetof(Region, last_update_ns) == 8);
static_assert(offsetof(Region, reference_count) == 16);
static_assert(offsetof(Region, board_serial) == 24);
static_assert(offsetof(Region, asic_id) == 32);
static_assert(offsetof(Region, device_id) == 40);
static_assert(offsetof(Region, totals) == 48);
static_assert(offsetof(Region, chips) == 88);
static_assert(offsetof(Region, processes) == 856);
static_assert(offsetof(Region, init_state) == 8536);
static_assert(sizeof(Region) == 8576);

// Bytes a region of this version must have for its fields to be read.
inline constexpr size_t required_size(uint32_t version) {
  return version >= kVersionWithInitState ? offsetof(Region, init_state) + sizeof(uint32_t)
                                          : offsetof(Region, init_state);
}

}  // namespace allocmon::tt_shm
