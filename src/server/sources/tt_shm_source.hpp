// tt-metal's per-chip shared-memory regions (/dev/shm/tt_device_<asic>_memory, layout versions 2-4) as a
// source: every tt-metal process publishes them by default, so a real T3000 or Galaxy is watched with nothing
// rebuilt. Files are read with read(), never mapped, so a truncated file cannot SIGBUS the server.
#pragma once

#include <chrono>
#include <functional>
#include <map>

#include "proc_reader.hpp"
#include "protocol/tt_metal_shm.hpp"
#include "source.hpp"

namespace allocmon::server {

struct TtShmOptions {
  std::string directory = "/dev/shm";
  std::string proc_root = "/proc";
  int interval_ms = 250;
  std::string architecture;  // what the chips are, when known (the regions do not say); "" = unknown
  TypeBytes capacity{};      // per chip, from the architecture
  size_t max_regions = 256;  // more files than this (a hostile user can create them) are not read
  // How often /proc/*/status is walked to find a namespaced pid's process (only while some slot needs it).
  std::chrono::milliseconds namespace_rescan{2000};
};

// One region file as read: the parsed region, or why it cannot be used.
struct RegionRead {
  tt_shm::Region region{};
  size_t size = 0;  // bytes read
  uid_t owner = 0;
  std::string problem;  // empty when the region is usable
};

class TtShmSource : public Source {
 public:
  explicit TtShmSource(TtShmOptions options);
  std::string_view name() const override { return "tt-metal-shm"; }
  int interval_ms() const override { return options_.interval_ms; }
  SourceReport poll() override;

  // Reads one file: open non-blocking without following links, a regular file only, read() of at most one
  // region, re-read while the region's timestamp moves under the read.
  RegionRead read_region(const std::string& path);
  // Tests: runs between the first read of a file and the check of its timestamp (to tear a read).
  std::function<void(const std::string& path)> after_first_read;

 private:
  // Turns a usable region into a device: live slots, stale slots, unattributed bytes.
  SourceDevice describe(const RegionRead& read, const std::string& path, uint64_t asic_id);
  // Sorts one slot into the device's shares, unattributed or stale bytes.
  void place_slot(const tt_shm::ProcessStats& slot, const RegionRead& read, SourceDevice& device);
  // Gives every chip (keyed by asic id) a device id of its own that stays while its file does.
  void assign_ids(std::vector<std::pair<uint64_t, SourceDevice>>& chips,
                  const std::vector<uint64_t>& present);
  std::string permission_problem(const std::string& path, int error);

  TtShmOptions options_;
  ProcReader proc_;
  std::map<uint64_t, int32_t> chip_ids_;  // asic id -> device id shown
  uint64_t boot_minus_monotonic_ns_ = 0;  // this round's CLOCK_BOOTTIME - CLOCK_MONOTONIC (time suspended)
};

}  // namespace allocmon::server
