// Device memory layout of Tenstorrent architectures: what the emulated mesh allocates from, and what the
// server shows as capacity for chips whose shared-memory regions do not say. Numbers from tt-metal's HAL and
// SoC descriptors as listed in shared/reference/tt-metal-allocator.md (verified there at tt-metal commit
// a8c5af0f).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace allocmon {

struct Architecture {
  std::string name;
  uint32_t dram_banks;
  uint64_t dram_bank_size;  // allocatable bytes per DRAM bank (view)
  uint64_t dram_base;       // first allocatable DRAM address
  uint32_t dram_alignment;  // also the free list's minimum block alignment for every buffer type
  uint32_t grid_x, grid_y;  // worker (Tensix) grid; one L1 bank per core
  uint64_t l1_size;         // worker L1 per core
  uint64_t l1_base;         // first allocatable L1 address (firmware, mailboxes, kernel config below)
  uint32_t l1_alignment;
  // Bytes allocated at device open, like tt-metal's system buffers (seen by the proof of concept per device).
  uint64_t system_dram_bytes;
  uint64_t system_l1_bytes;

  uint32_t l1_banks() const { return grid_x * grid_y; }
  uint64_t l1_bank_size() const { return l1_size - l1_base; }
  // Allocatable bytes of a whole chip, before any L1_SMALL or TRACE region is carved out.
  uint64_t dram_capacity() const { return uint64_t{dram_banks} * dram_bank_size; }
  uint64_t l1_capacity() const { return uint64_t{l1_banks()} * l1_bank_size(); }
};

const Architecture& wormhole_b0();
const Architecture& blackhole();
// nullptr when unknown; accepts "wormhole_b0"/"wormhole" and "blackhole".
const Architecture* find_architecture(std::string_view name);

}  // namespace allocmon
