// Fixture files for the polled sources: tt-metal shared-memory regions written as tt-metal writes them (from
// the layout facts in src/protocol/tt_metal_shm.hpp), and a fake /proc tree of processes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/tt_metal_shm.hpp"

namespace allocmon::test {

struct FixtureSlot {
  int32_t pid;
  std::string name;
  uint64_t dram = 0, l1 = 0, l1_small = 0, trace = 0, cb = 0;
  uint64_t last_update_ns = 0;
};

// A ready region of `version` whose totals are the sum of its slots plus `extra_dram` (bytes no slot
// explains).
tt_shm::Region make_region(uint32_t version, uint64_t asic_id, uint32_t device_id,
                           const std::vector<FixtureSlot>& slots, uint64_t extra_dram = 0);
// Writes it in place (as tt-metal's mapping changes it) to DIR/tt_device_<asic_id>_memory, `size` bytes
// (0: what the version's layout occupies; v2/v3 files end before init_state). Returns the path.
std::string write_region(const std::string& dir, const tt_shm::Region& region, size_t size = 0);

// DIR/PID/{status,comm,cmdline}; `start_after_boot_s` >= 0 also writes stat (and DIR/stat's btime, 1.7e9).
// `nspids`: the process's pids in nested pid namespaces (a container's), after `pid` in status's NSpid line.
// The tree is the initial pid namespace's (kthreadd is pid 2) unless a test removes DIR/2.
void write_fake_process(const std::string& proc_root, int pid, uid_t uid, const std::string& comm,
                        const std::vector<std::string>& argv = {}, long start_after_boot_s = -1,
                        const std::vector<int>& nspids = {});

// A fresh empty directory under /tmp.
std::string make_temp_dir(const std::string& tag);
void remove_tree(const std::string& path);

}  // namespace allocmon::test
